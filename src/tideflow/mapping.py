"""``apply_map``: map a whole sub-graph, built by a function, over mapped inputs.

``apply_map(fn, xs, unmapped(y))`` calls ``fn`` *once*, while flow building, with stand-ins
for its arguments, in a scratch flow; then copies the tasks ``fn`` created into the real flow
as **mapped** tasks:

- an edge from a mapped argument stays mapped (``flatten(xs)`` stays flattened);
- an edge between two tasks ``fn`` created links child ``i`` to child ``i``;
- an edge from anything else (an ``unmapped`` argument, a task of the flow ``fn`` reached by
  closure) passes that task's whole result to every child;
- a task ``fn`` created that depends on no mapped input (it takes only constants) still runs
  once per item: it gets a data-less mapped edge from the first mapped argument.

So ``fn`` may use ordinary task calls, ``case`` blocks (a ``case`` inside ``fn`` decides per
item) and ``merge``; what it returns (a task, a tuple of tasks, anything) is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tideflow.builtin_tasks import Constant
from tideflow.edge_annotations import EdgeAnnotation, flatten, unmapped
from tideflow.errors import FlowDefinitionError
from tideflow.flow import Flow
from tideflow.task import Task, active_case, active_flow

__all__ = ["apply_map"]


def apply_map(fn: Callable[..., Any], *args: Any, flow: Flow | None = None, **kwargs: Any) -> Any:
    """Build ``fn(*args, **kwargs)`` into the flow once per mapped item; see the module docstring.

    Arguments are mapped unless wrapped in ``unmapped(...)``; ``flatten(...)`` maps over a
    flattened list. Returns what ``fn`` returned.
    """
    target = flow if flow is not None else active_flow.get()
    if target is None:
        raise FlowDefinitionError(
            f"apply_map({_name(fn)}, ...) was called outside a `with Flow(...)` block; call it "
            "inside one, or pass flow=..."
        )
    mapped_tasks: dict[Task, bool] = {}  # mapped argument task -> flattened?

    def stand_in(arg: Any) -> Any:
        if isinstance(arg, unmapped):
            return arg.value
        flattened = isinstance(arg, flatten)
        value = arg.value if isinstance(arg, EdgeAnnotation) else arg
        task = value if isinstance(value, Task) else Constant(value)
        mapped_tasks[task] = flattened or mapped_tasks.get(task, False)
        return task

    scratch_args = [stand_in(a) for a in args]
    scratch_kwargs = {k: stand_in(v) for k, v in kwargs.items()}
    if not mapped_tasks:
        raise FlowDefinitionError(
            f"apply_map({_name(fn)}, ...) has no mapped argument: every argument is unmapped; "
            f"call {_name(fn)}(...) directly instead"
        )
    scratch = Flow(f"apply_map({_name(fn)})")
    case_token = active_case.set(None)  # an enclosing case sees the copies, not the scratch
    try:
        with scratch:
            returned = fn(*scratch_args, **scratch_kwargs)
    finally:
        active_case.reset(case_token)
    _copy_mapped(scratch, target, mapped_tasks)
    return returned


def _copy_mapped(scratch: Flow, target: Flow, mapped_tasks: dict[Task, bool]) -> None:
    outside = set(mapped_tasks) | {t for t in scratch.tasks if t in target}
    created = [t for t in scratch.sorted_tasks() if t not in outside]
    for task in created:
        target.add_task(task)
        if task in scratch.constants:
            target.constants[task] = dict(scratch.constants[task])
    first = next(iter(mapped_tasks))
    for task in created:
        has_mapped_input = False
        for edge in scratch.edges_to(task):
            upstream = scratch.task(edge.upstream)
            if upstream in mapped_tasks:
                is_mapped, flattened = True, mapped_tasks[upstream]
            else:
                is_mapped, flattened = upstream not in outside, False
            has_mapped_input |= is_mapped
            target.add_edge(upstream, task, edge.key, is_mapped, flattened)
        if not has_mapped_input:
            target.add_edge(first, task, None, True, mapped_tasks[first])


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", repr(fn))
