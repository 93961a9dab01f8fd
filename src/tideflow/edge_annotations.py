"""Wrappers that change how an argument of a task call is treated.

``unmapped(x)`` passes ``x`` whole to every mapped child instead of one item each;
``flatten(x)`` un-nests ``x`` one level before mapping over it (``[[1], [2, 3]]`` maps over
``1, 2, 3``); ``mapped(x)`` maps over ``x`` inside an ordinary call, so ``add(mapped(xs), y)``
is ``add.map(xs, unmapped(y))``.
"""

from __future__ import annotations

from typing import Any


class EdgeAnnotation:
    """Base class: holds the wrapped value."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class unmapped(EdgeAnnotation):
    """Give this argument whole to every mapped child."""


class flatten(EdgeAnnotation):
    """Un-nest this argument one level before mapping over it."""


class mapped(EdgeAnnotation):
    """Map over this argument in an ordinary call (the other arguments are given whole)."""
