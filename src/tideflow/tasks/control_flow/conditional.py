"""``switch``, ``ifelse`` and ``merge``: run one branch of several, and join them again.

``switch(condition, {value: task, ...})`` puts a :class:`CompareValue` task upstream of each
branch task: it passes when ``condition``'s result equals its value and raises ``SKIP``
otherwise, so the branch task (and, through the skip, everything downstream of it) ends
``Skipped``. Only the branch tasks themselves are gated: tasks *upstream* of a branch task still
run. ``ifelse(condition, true_task, false_task)`` is a switch on ``bool(condition)``.

``merge(a, b, ...)`` is a task that passes on the first of its inputs that produced a value:
the result of the branch that ran. It runs unless every input was skipped (trigger
``not_all_skipped``) and does not skip because some were.

With ``mapped=True`` all of these work child by child over mapped tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tideflow.errors import FlowDefinitionError
from tideflow.signals import SKIP, Signal
from tideflow.task import Task
from tideflow.triggers import not_all_skipped

if TYPE_CHECKING:
    from tideflow.flow import Flow

__all__ = ["CompareValue", "Merge", "ifelse", "merge", "switch"]


class CompareValue(Task):
    """Passes (returning None) when its input equals ``value``; raises ``SKIP`` otherwise."""

    def __init__(self, value: Any, name: str | None = None, **task_options: Any) -> None:
        if isinstance(value, Task):
            raise FlowDefinitionError(
                f"a branch value must be a constant, not the task {value.name!r}: compare "
                "against the value itself, or compute a boolean task and branch on True"
            )
        self.value = value
        super().__init__(name=name or f"case({value!r})", **task_options)

    def run(self, value: Any) -> None:
        if value != self.value:
            raise SKIP(f"{value!r} is not {self.value!r}: this branch is skipped")


class _AsBool(Task):
    """``bool(x)``: the condition of ``ifelse``."""

    def run(self, x: Any) -> bool:
        return bool(x)


class Merge(Task):
    """The first of its inputs (``task1``, ``task2``, ...) that is not None (nor a signal)."""

    def __init__(self, **task_options: Any) -> None:
        task_options.setdefault("name", "merge")
        task_options.setdefault("trigger", not_all_skipped)
        task_options.setdefault("skip_on_upstream_skip", False)
        super().__init__(**task_options)

    def run(self, **task_results: Any) -> Any:
        for name in sorted(task_results, key=lambda n: int(n.removeprefix("task"))):
            value = task_results[name]
            # A skipped branch passes None (or, when it raised SKIP itself, the signal).
            if value is not None and not isinstance(value, Signal):
                return value
        return None


def switch(
    condition: Any, cases: dict[Any, Task], mapped: bool = False, flow: Flow | None = None
) -> None:
    """Run only the task of ``cases`` whose key equals ``condition``'s result; skip the others.

    Each task in ``cases`` gets a :class:`CompareValue` upstream that skips it unless
    ``condition`` equals its key. With ``mapped=True`` the comparison is made per mapped child.
    """
    if not isinstance(cases, dict) or not cases:
        raise FlowDefinitionError(
            f"switch needs a dict of {{value: task}} with at least one branch, got {cases!r}"
        )
    for value, branch in cases.items():
        if not isinstance(branch, Task):
            raise FlowDefinitionError(
                f"switch: the branch for {value!r} must be a task, got {branch!r}"
            )
        compare = CompareValue(value)
        # .map binds a copy; bind binds this very task
        gate = compare.map(condition, flow=flow) if mapped else compare.bind(condition, flow=flow)
        branch.set_upstream(gate, mapped=mapped, flow=flow)


def ifelse(
    condition: Any,
    true_task: Task,
    false_task: Task,
    mapped: bool = False,
    flow: Flow | None = None,
) -> None:
    """Run ``true_task`` when ``condition``'s result is truthy, else ``false_task``."""
    as_bool = _AsBool(name="as_bool")
    test = as_bool.map(condition, flow=flow) if mapped else as_bool.bind(condition, flow=flow)
    switch(test, {True: true_task, False: false_task}, mapped=mapped, flow=flow)


def merge(*tasks: Any, flow: Flow | None = None, mapped: bool = False) -> Task:
    """A task whose result is that of the first of ``tasks`` that produced one (not None)."""
    if not tasks:
        raise FlowDefinitionError("merge needs at least one task to merge")
    inputs = {f"task{i}": t for i, t in enumerate(tasks, start=1)}
    return Merge().bind(mapped=mapped, flow=flow, **inputs)
