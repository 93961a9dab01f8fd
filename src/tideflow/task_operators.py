"""The operators of :class:`~tideflow.task.Task`: each builds an operator task in the flow.

Kept apart from ``task.py`` so that the task's own code stays short; see
:mod:`tideflow.tasks.core.operators` for the semantics (Prefect 1's): ``a + b`` adds an ``Add``
task, ``a | b`` makes ``b`` wait for ``a``, ``==`` stays identity and ``is_equal`` compares values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from tideflow.errors import TaskDefinitionError

if TYPE_CHECKING:
    from tideflow.flow import Flow
    from tideflow.task import Task


class TaskOperators:
    """Operator methods, mixed into :class:`~tideflow.task.Task`."""

    __slots__ = ()

    if TYPE_CHECKING:
        name: str

        def _operator(self, kind: str, *args: Any, name: str | None = None) -> Task: ...

        def _require_flow(self, action: str) -> Flow: ...

    def __add__(self, other: Any) -> Task:
        return self._operator("Add", self, other)

    def __radd__(self, other: Any) -> Task:
        return self._operator("Add", other, self)

    def __sub__(self, other: Any) -> Task:
        return self._operator("Sub", self, other)

    def __rsub__(self, other: Any) -> Task:
        return self._operator("Sub", other, self)

    def __mul__(self, other: Any) -> Task:
        return self._operator("Mul", self, other)

    def __rmul__(self, other: Any) -> Task:
        return self._operator("Mul", other, self)

    def __truediv__(self, other: Any) -> Task:
        return self._operator("Div", self, other)

    def __rtruediv__(self, other: Any) -> Task:
        return self._operator("Div", other, self)

    def __floordiv__(self, other: Any) -> Task:
        return self._operator("FloorDiv", self, other)

    def __rfloordiv__(self, other: Any) -> Task:
        return self._operator("FloorDiv", other, self)

    def __mod__(self, other: Any) -> Task:
        return self._operator("Mod", self, other)

    def __rmod__(self, other: Any) -> Task:
        return self._operator("Mod", other, self)

    def __pow__(self, other: Any) -> Task:
        return self._operator("Pow", self, other)

    def __rpow__(self, other: Any) -> Task:
        return self._operator("Pow", other, self)

    def __and__(self, other: Any) -> Task:
        return self._operator("And", self, other)

    def __rand__(self, other: Any) -> Task:
        return self._operator("And", other, self)

    def __gt__(self, other: Any) -> Task:
        return self._operator("GreaterThan", self, other)

    def __ge__(self, other: Any) -> Task:
        return self._operator("GreaterThanOrEqual", self, other)

    def __lt__(self, other: Any) -> Task:
        return self._operator("LessThan", self, other)

    def __le__(self, other: Any) -> Task:
        return self._operator("LessThanOrEqual", self, other)

    # ``==``/``!=`` stay identity (tasks are dictionary keys); these compare values.
    def is_equal(self, other: Any) -> Task:
        """A task giving ``self == other`` when the flow runs."""
        return self._operator("Equal", self, other)

    def not_equal(self, other: Any) -> Task:
        """A task giving ``self != other`` when the flow runs (also ``is_not_equal``)."""
        return self._operator("NotEqual", self, other)

    is_not_equal = not_equal

    def not_(self) -> Task:
        """A task giving ``not self`` when the flow runs."""
        return self._operator("Not", self)

    def and_(self, other: Any) -> Task:
        """A task giving ``self and other`` when the flow runs."""
        return self._operator("And", self, other)

    def or_(self, other: Any) -> Task:
        """A task giving ``self or other`` when the flow runs."""
        return self._operator("Or", self, other)

    def pipe(self, _task: Task, **kwargs: Any) -> Task:
        """``_task(self, **kwargs)``: call ``_task`` with this task as its first argument."""
        return _task(self, **kwargs)

    def __or__(self, other: Any) -> Any:
        """``a | b``: ``b`` waits for ``a`` (a state dependency, no data); returns ``b``."""
        if not isinstance(other, TaskOperators):  # every Task is one
            raise TaskDefinitionError(
                f"task {self.name!r} | {other!r}: the right side of | must be a task, the one "
                "that waits for this task to finish"
            )
        self._require_flow("chain").add_edge(self, cast("Task", other))
        return other

    def __ror__(self, other: Any) -> Task:
        """``x | b`` with ``x`` not a task: ``b`` waits for ``x`` (a constant becomes a task)."""
        me = cast("Task", self)
        self._require_flow("chain").add_edge(other, me)
        return me
