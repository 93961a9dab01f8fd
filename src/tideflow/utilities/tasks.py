"""Prefect 1's ``prefect.utilities.tasks``: ``task``, ``as_task``, ``defaults_from_attrs``,
``pause_task``, ``unmapped`` and ``flatten`` under their old path.

>>> from tideflow import Task
>>> class Greet(Task):
...     def __init__(self, greeting: str = "hello", **kwargs: object) -> None:
...         self.greeting = greeting
...         super().__init__(**kwargs)
...     @defaults_from_attrs("greeting")
...     def run(self, name: str, greeting: str | None = None) -> str:
...         return f"{greeting}, {name}"
>>> Greet(greeting="hi").run("Ada")
'hi, Ada'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from tideflow.builtin_tasks import Constant
from tideflow.context import context
from tideflow.edge_annotations import EdgeAnnotation, flatten, mapped, unmapped
from tideflow.mapping import apply_map
from tideflow.signals import PAUSE
from tideflow.tag_context import tags
from tideflow.task import FunctionTask, Task, active_flow, task

__all__ = [
    "apply_map",
    "as_task",
    "defaults_from_attrs",
    "flatten",
    "mapped",
    "pause_task",
    "tags",
    "task",
    "unmapped",
]

F = TypeVar("F", bound=Callable[..., Any])


def as_task(x: Any) -> Task:
    """``x`` as a task: a task stays itself, a function becomes a ``FunctionTask``, a collection
    holding tasks becomes a collecting task of the active flow, anything else a ``Constant``."""
    if isinstance(x, EdgeAnnotation):
        return as_task(x.value)
    if isinstance(x, Task):
        return x
    flow = active_flow.get()
    if flow is not None:
        collector = flow._as_task(x)
        if collector is not None:
            return collector
    if callable(x) and not isinstance(x, type):
        return FunctionTask(x)
    return Constant(x)


def defaults_from_attrs(*attrs: str) -> Callable[[F], F]:
    """Decorate a ``run`` method: each named argument that is not given takes the task
    attribute of the same name, so a task made with options keeps them as defaults."""

    def decorate(run: F) -> F:
        @functools.wraps(run)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            for attr in attrs:
                kwargs.setdefault(attr, getattr(self, attr))
            return run(self, *args, **kwargs)

        return method  # type: ignore[return-value]

    return decorate


def pause_task(message: str | None = None) -> None:
    """Pause the running task for approval (unless the run was resumed): it ends ``Paused``,
    and runs again, from the start, when the flow runs again with ``context={"resume": True}``."""
    if not context.get("resume"):
        raise PAUSE(message or "the task paused itself with pause_task()")
