"""Operator tasks: what Python operators on tasks build inside ``with Flow(...)``.

Inside a flow, ``total = a + b`` does not add two tasks: it adds an :class:`Add` task to the flow
whose inputs are ``a`` and ``b`` (a task or a constant each) and returns it, so the sum is
computed when the flow runs. The same goes for ``-``, ``*``, ``/``, ``//``, ``%``, ``**``, ``&``,
the comparisons ``<``, ``<=``, ``>``, ``>=`` and ``t[key]``; the methods ``t.is_equal(x)``,
``t.not_equal(x)`` (also ``is_not_equal``), ``t.not_()``, ``t.and_(x)`` and ``t.or_(x)`` build
the tasks that have no operator of their own.

``==`` and ``!=`` are *not* operators on tasks: tasks are compared (and hashed) by identity,
because flows keep them as dictionary keys; use ``is_equal``/``not_equal`` to compare values.
Attribute access is explicit too, ``GetAttr()(t, "name")`` (a ``__getattr__`` that built tasks
would turn every misspelt attribute of a task into a silent new task). ``a | b`` is not a
value either: it makes ``b`` wait for ``a`` (a state dependency) and returns ``b``, so
``a | b | c`` runs them in that order.

>>> from tideflow import Flow, task
>>> @task
... def two() -> int:
...     return 2
>>> with Flow("ops") as flow:
...     t = two()
...     result = (t + 1) * 10
>>> flow.run().result[result].result
30
"""

from __future__ import annotations

import operator
from operator import attrgetter
from typing import Any

from tideflow.task import Task

__all__ = [
    "Add",
    "And",
    "Div",
    "Equal",
    "FloorDiv",
    "GetAttr",
    "GetItem",
    "GreaterThan",
    "GreaterThanOrEqual",
    "LessThan",
    "LessThanOrEqual",
    "Mod",
    "Mul",
    "Not",
    "NotEqual",
    "Or",
    "Pow",
    "Sub",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Any = _NoDefault()


class GetItem(Task):
    """``task_result[key]``; with ``default`` set, a missing key gives ``default`` instead."""

    def __init__(self, default: Any = NO_DEFAULT, **task_options: Any) -> None:
        super().__init__(**task_options)
        self.default = default

    def run(self, task_result: Any, key: Any) -> Any:
        try:
            return task_result[key]
        except (KeyError, IndexError):
            if self.default is NO_DEFAULT:
                raise
            return self.default


class GetAttr(Task):
    """``task_result.attr`` (``"a.b"`` follows nested attributes); ``default`` when missing."""

    def __init__(self, default: Any = NO_DEFAULT, **task_options: Any) -> None:
        super().__init__(**task_options)
        self.default = default

    def run(self, task_result: Any, attr: str) -> Any:
        try:
            return attrgetter(attr)(task_result)
        except AttributeError:
            if self.default is NO_DEFAULT:
                raise
            return self.default


class _Binary(Task):
    """``op(x, y)``; subclasses name the operation."""

    op: Any = None

    def run(self, x: Any, y: Any) -> Any:
        return type(self).op(x, y)


class Add(_Binary):
    """``x + y``"""

    op = operator.add


class Sub(_Binary):
    """``x - y``"""

    op = operator.sub


class Mul(_Binary):
    """``x * y``"""

    op = operator.mul


class Div(_Binary):
    """``x / y``"""

    op = operator.truediv


class FloorDiv(_Binary):
    """``x // y``"""

    op = operator.floordiv


class Mod(_Binary):
    """``x % y``"""

    op = operator.mod


class Pow(_Binary):
    """``x ** y``"""

    op = operator.pow


class And(Task):
    """``x and y`` (the value, as Python gives it: ``x`` when it is falsy, else ``y``)."""

    def run(self, x: Any, y: Any) -> Any:
        return x and y


class Or(Task):
    """``x or y`` (``x`` when it is truthy, else ``y``)."""

    def run(self, x: Any, y: Any) -> Any:
        return x or y


class Not(Task):
    """``not x``"""

    def run(self, x: Any) -> bool:
        return not x


class Equal(_Binary):
    """``x == y``"""

    op = operator.eq


class NotEqual(_Binary):
    """``x != y``"""

    op = operator.ne


class GreaterThan(_Binary):
    """``x > y``"""

    op = operator.gt


class GreaterThanOrEqual(_Binary):
    """``x >= y``"""

    op = operator.ge


class LessThan(_Binary):
    """``x < y``"""

    op = operator.lt


class LessThanOrEqual(_Binary):
    """``x <= y``"""

    op = operator.le
