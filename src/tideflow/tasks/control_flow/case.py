"""``with case(task, value):``: tasks created in the block run only when ``task`` equals
``value``.

Entering the block makes it the *active case*: every task added to a flow while it is active is
recorded by it (:meth:`Flow.add_task <tideflow.flow.Flow.add_task>` tells it). Leaving the block
adds one :class:`~tideflow.tasks.control_flow.conditional.CompareValue` task, fed by ``task``,
upstream of each recorded task that has no upstream task of its own inside the block (the
block's roots). When the comparison fails it raises ``SKIP``, and the skip runs down through the
block, so every task of the block ends ``Skipped``; tasks after the block that must run either
way take the branches through ``merge``.

Blocks nest: the comparison task of an inner block is created once the inner block is left,
while the outer block is active again, so it becomes one of the outer block's tasks and is
gated by the outer comparison in turn.

>>> from tideflow import Flow, task
>>> @task
... def flag() -> str:
...     return "b"
>>> @task
... def say(x: str) -> str:
...     return x
>>> with Flow("branches") as flow:
...     f = flag()
...     with case(f, "a"):
...         a = say("a")
...     with case(f, "b"):
...         b = say("b")
>>> state = flow.run()
>>> state.result[a].name, state.result[b].result
('Skipped', 'b')
"""

from __future__ import annotations

from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tideflow.errors import FlowDefinitionError
from tideflow.parameter import Parameter
from tideflow.task import Task, active_case
from tideflow.tasks.control_flow.conditional import CompareValue

if TYPE_CHECKING:
    from tideflow.flow import Flow

__all__ = ["case"]


class case:  # named as in Prefect 1, where it reads like a keyword
    """Run the tasks created in the ``with`` block only when ``task``'s result equals ``value``.

    Args:
        task: a task (or a constant) whose result decides.
        value: the constant it must equal; not a task (compare to a constant instead).
    """

    def __init__(self, task: Any, value: Any) -> None:
        if isinstance(value, Task):
            raise FlowDefinitionError(
                f"case(..., {value.name!r}): the value to compare with must be a constant, not "
                "a task; to compare two results, make a task that returns True when they match "
                "and use case(that_task, True)"
            )
        self.task = task
        self.value = value
        self._tasks: dict[Flow, list[Task]] = {}
        self._token: Token[Any] | None = None

    def add_task(self, task: Task, flow: Flow) -> None:
        """Called by the flow for each task added while this block is active."""
        self._tasks.setdefault(flow, []).append(task)

    def __enter__(self) -> case:
        if self._token is not None:
            raise FlowDefinitionError("a case block cannot be entered again while it is open")
        self._token = active_case.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None
        active_case.reset(self._token)  # the outer block (if any) records the gate below
        self._token = None
        if exc_type is not None:
            return
        for flow, tasks in self._tasks.items():
            self._gate(flow, tasks)
        self._tasks = {}

    def _gate(self, flow: Flow, tasks: list[Task]) -> None:
        # Parameters are the flow's inputs and take no upstream task: they are never gated, so
        # a task fed only by one is a root of the block.
        inside = {t for t in tasks if not isinstance(t, Parameter)}
        roots = [t for t in tasks if t in inside and not inside & flow.upstream_tasks(t)]
        if not roots:
            return
        gate = CompareValue(self.value)
        gate.bind(value=self.task, flow=flow)
        for root in roots:
            flow.add_edge(gate, root)

    def __repr__(self) -> str:
        return f"case({self.task!r}, {self.value!r})"
