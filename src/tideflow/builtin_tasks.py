"""Tasks the flow builder creates on the user's behalf.

``[a, b]``, ``(a, b)``, ``{a, b}`` and ``{"x": a}`` literals that hold tasks become a ``List``,
``Tuple``, ``Set`` or ``Dict`` task whose items arrive as keyword arguments ``arg_0``, ``arg_1``...;
``t[key]`` and tuple unpacking become ``GetItem`` tasks.
"""

from __future__ import annotations

from typing import Any

from tideflow.task import Task
from tideflow.tasks.core.operators import GetItem

__all__ = ["Constant", "Dict", "GetItem", "List", "Set", "Tuple"]


def _ordered(items: dict[str, Any]) -> list[Any]:
    return [items[k] for k in sorted(items, key=lambda k: int(k.rpartition("_")[2]))]


class List(Task):
    """Collects its ``arg_i`` inputs into a list."""

    def run(self, **items: Any) -> list[Any]:
        return _ordered(items)


class Tuple(Task):
    """Collects its ``arg_i`` inputs into a tuple."""

    def run(self, **items: Any) -> tuple[Any, ...]:
        return tuple(_ordered(items))


class Set(Task):
    """Collects its ``arg_i`` inputs into a set."""

    def run(self, **items: Any) -> set[Any]:
        return set(_ordered(items))


class Dict(Task):
    """Builds a dict from the constant ``keys`` and the ``arg_i`` values."""

    def run(self, keys: list[Any], **values: Any) -> dict[Any, Any]:
        return dict(zip(keys, _ordered(values), strict=True))


class Constant(Task):
    """A fixed value as a task: used when a constant is mapped over (``add.map([1, 2, 3])``)."""

    def __init__(self, value: Any, name: str | None = None) -> None:
        super().__init__(name=name or "Constant")
        self.value = value

    def run(self) -> Any:
        return self.value
