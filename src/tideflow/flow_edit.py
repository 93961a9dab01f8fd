"""Editing a built flow: merging another flow into it, replacing a task, checking an edge.

These are the less common building steps of :class:`~tideflow.flow.Flow` (``flow.update``,
``flow.replace``, eager edge checks with ``Flow(validate=True)``), kept out of ``flow.py`` so
that the builder itself stays small. Each works on the flow's own data (the graph of keys, the
task behind each key, the bound constants) and leaves the graph acyclic.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from tideflow import builtin_tasks
from tideflow.errors import FlowDefinitionError
from tideflow.graph import Edge, Graph, Node
from tideflow.parameter import Parameter
from tideflow.task import Task

if TYPE_CHECKING:
    from tideflow.flow import Flow


def slugify(name: str) -> str:
    """``name`` lower-cased, every run of other characters than letters and digits one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "flow"


def check_edge(flow: Flow, task: Task, edge: Edge) -> None:
    """Eager validation: ``edge``'s key is an argument of ``task``, and no other edge has it."""
    if edge.key is None:
        return
    params = task.signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if edge.key not in params and not takes_any:
        raise FlowDefinitionError(
            f"flow {flow.name!r}: task {task.name!r} has no argument {edge.key!r} for the edge "
            f"{edge}; its arguments are {', '.join(params) or 'none'}"
        )
    for other in flow.graph.upstream_edges(edge.downstream):
        if other.key == edge.key and other != edge:
            raise FlowDefinitionError(
                f"flow {flow.name!r}: task {task.name!r} already gets argument {edge.key!r} "
                f"from {other.upstream!r}; an argument takes one upstream task"
            )


def update(flow: Flow, other: Flow, merge_parameters: bool, validate: bool | None) -> None:
    """Add ``other``'s tasks, edges and constants to ``flow`` (see :meth:`Flow.update`)."""
    ours = {p.name: p for p in flow.parameters()}
    same: dict[Task, Task] = {}
    for t in other.sorted_tasks():
        if isinstance(t, Parameter) and t.name in ours and ours[t.name] is not t:
            if not merge_parameters:
                raise FlowDefinitionError(
                    f"flow {flow.name!r} already has a parameter {t.name!r}, and flow "
                    f"{other.name!r} has another one; pass merge_parameters=True to share ours"
                )
            same[t] = ours[t.name]
            continue
        same[t] = flow.add_task(t)
    for e in other.graph.edges:
        up, down = same[other.task(e.upstream)], same[other.task(e.downstream)]
        flow.add_edge(up, down, e.key, e.mapped, e.flattened, validate=validate)
    for t, constants in other.constants.items():
        flow.constants.setdefault(same[t], {}).update(constants)


def replace(flow: Flow, old: Task, new: Any, validate: bool) -> None:
    """Put ``new`` in ``old``'s place in ``flow`` (see :meth:`Flow.replace`).

    Edges keep their keys; the constants bound to ``old`` go to ``new`` where it takes an
    argument of that name.
    """
    old_key = flow.key(old)
    if not isinstance(new, Task):
        new = builtin_tasks.Constant(new)
    if new is old:
        return
    if new in flow:
        raise FlowDefinitionError(
            f"flow {flow.name!r}: cannot replace {old!r} by {new!r}, which is already in the "
            "flow; replace it by a new task or a copy (new.copy())"
        )
    del flow._tasks[old_key]
    del flow._keys[old]
    new_key = flow._new_key(new)
    flow._tasks[new_key] = new
    flow._keys[new] = new_key
    node = Node(new_key, new.name, type(new).__name__, tuple(sorted(new.tags)))
    nodes = {
        (new_key if k == old_key else k): (node if k == old_key else n)
        for k, n in flow.graph.nodes.items()
    }

    def moved(key: str) -> str:
        return new_key if key == old_key else key

    edges = [
        Edge(moved(e.upstream), moved(e.downstream), e.key, e.mapped, e.flattened)
        for e in flow.graph.edges
    ]
    flow.graph = Graph(flow.graph.name, nodes, edges)
    constants = flow.constants.pop(old, {})
    params = new.signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kept = {k: v for k, v in constants.items() if takes_any or k in params}
    if kept:  # the arguments bound to the old task that the new one takes
        flow.constants[new] = kept
    flow._reference = [new if t is old else t for t in flow._reference]
    if validate:
        flow.validate()
