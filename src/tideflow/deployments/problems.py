"""Problems: every bad value of a deployment is collected, then all are raised together.

A check (:mod:`tideflow.deployments.checks`) raises :class:`Invalid` with a text that says what
is wrong and what is allowed, but not where. :func:`attempt` runs a check and records its failure
as a :class:`Problem` on a field, so a reader can go on and find the other problems. When a
deployment is read, :func:`line` places each problem (file, deployment, field) and
:func:`raise_problems` raises them at once, one line each, as a
:class:`~tideflow.errors.DeploymentError`::

    tideflow.toml: deployment 'etl', field 'overlap': 'sometimes' is not one of skip, queue, allow

:func:`unknown_field` words the problem of a key that no field has, with the closest spelling.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tideflow.errors import DeploymentError

__all__ = ["Invalid", "Problem", "attempt", "line", "raise_problems", "suggest", "unknown_field"]

_T = TypeVar("_T")


class Invalid(Exception):
    """One bad value; the text says what is wrong and what is allowed (no location)."""


@dataclass(frozen=True)
class Problem:
    """What is wrong (``text``) with one ``field`` (``None``: the deployment as a whole)."""

    field: str | None
    text: str


def line(where: str, name: str, problem: Problem) -> str:
    """The problem's line: ``where`` (a file, or ``""``), the deployment ``name``, the field."""
    head = f"{where}: " if where else ""
    if problem.field is None:
        return f"{head}deployment {name!r}: {problem.text}"
    return f"{head}deployment {name!r}, field {problem.field!r}: {problem.text}"


def raise_problems(lines: Sequence[str]) -> None:
    """Raise ``lines`` as one :class:`~tideflow.errors.DeploymentError`, if there are any."""
    if lines:
        raise DeploymentError("\n".join(lines), lines)


def attempt(
    problems: list[Problem], name: str | None, check: Callable[[Any], _T], value: object
) -> _T | None:
    """``check(value)``, or ``None`` with its problem recorded under field ``name``."""
    try:
        return check(value)
    except Invalid as exc:
        problems.append(Problem(name, str(exc)))
        return None


def suggest(key: str, known: Sequence[str]) -> str:
    """``did you mean 'x'?`` for a close spelling (``-`` read as ``_``), else the known keys."""
    close = difflib.get_close_matches(key.replace("-", "_"), known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of {', '.join(known)}"


def unknown_field(key: str, known: Sequence[str], hints: Mapping[str, str] | None = None) -> str:
    """The text for a ``key`` that is none of ``known``: a hint for it, else a suggestion."""
    hint = (hints or {}).get(key)
    return f"unknown field; {hint or suggest(key, known)}"
