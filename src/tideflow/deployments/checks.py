"""Value checks: each takes a value as a person or a file gave it and returns it normalised, or
raises :class:`~tideflow.deployments.problems.Invalid` saying what is wrong and what is allowed.

The checks know nothing of where a value came from: the field table
(:mod:`tideflow.deployments.fields`) says which check each deployment field uses, and the readers
place the problems. Durations are accepted as timedeltas, numbers of seconds or text::

    >>> duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> duration(-5)
    Traceback (most recent call last):
    ...
    tideflow.deployments.problems.Invalid: must be 0 or more, got '-5s'

Interval schedules of a deployment fire at most once a second (:data:`MIN_INTERVAL`): the
service plans and claims runs on a one-second tick, so a shorter interval would only pile up
runs. ``flow.run()`` has no such limit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from tideflow.deployments.problems import Invalid
from tideflow.durations import format_duration, parse_duration
from tideflow.schedules import IntervalClock, Schedule

__all__ = [
    "MIN_INTERVAL",
    "check_name",
    "check_schedule",
    "choice",
    "count",
    "duration",
    "env",
    "flag",
    "frequent_enough",
    "instance",
    "json_object",
    "optional_positive_count",
    "optional_positive_duration",
    "optional_text",
    "secret_env",
]

_T = TypeVar("_T")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

MIN_INTERVAL = timedelta(seconds=1)
"""The shortest interval a deployment's schedule may have."""


def check_name(value: object) -> str:
    """A deployment name: up to 100 letters, digits, ``-``, ``_`` and ``.``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise Invalid(
            f"the name {value!r} is not valid; use up to 100 letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    return value


def choice(options: Sequence[str]) -> Callable[[object], str]:
    """A check that the value is one of ``options``."""

    def check(value: object) -> str:
        if value not in options:
            raise Invalid(f"{value!r} is not one of {', '.join(options)}")
        return str(value)

    return check


def count(value: object) -> int:
    """A whole number, 0 or more (``True`` is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"expected a whole number, 0 or more, got {value!r}")
    return value


def optional_positive_count(value: object) -> int | None:
    """``None`` or a whole number, 1 or more."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise Invalid(f"expected a whole number, 1 or more, got {value!r}")
    return value


def flag(value: object) -> bool:
    """``True`` or ``False``."""
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {value!r}")
    return value


def optional_text(value: object) -> str | None:
    """``None`` or a string that is not blank."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise Invalid(f"expected a non-empty string, got {value!r}")
    return value


def duration(value: object, *, positive: bool = False) -> timedelta:
    """A timedelta from a timedelta, a number of seconds, or text such as ``"1h30m"``."""
    try:
        if isinstance(value, timedelta):
            delta = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise OverflowError
            delta = timedelta(seconds=value)
        elif isinstance(value, str):
            delta = parse_duration(value)
        else:
            raise Invalid(f"expected a duration such as '30s', '10m' or '1h30m', got {value!r}")
    except OverflowError:
        raise Invalid(f"the duration {value!r} is too large") from None
    except ValueError as exc:  # parse_duration's message names the text and shows examples
        raise Invalid(str(exc)) from None
    if delta < timedelta(0) or (positive and not delta):
        allowed = "positive" if positive else "0 or more"
        raise Invalid(f"must be {allowed}, got {format_duration(delta)!r}")
    return delta


def optional_positive_duration(value: object) -> timedelta | None:
    """``None`` or a positive :func:`duration`."""
    return None if value is None else duration(value, positive=True)


def frequent_enough(interval: timedelta) -> timedelta:
    """``interval``, if a deployment may fire that often: :data:`MIN_INTERVAL` or longer.

    >>> frequent_enough(timedelta(milliseconds=1))
    Traceback (most recent call last):
    ...
    tideflow.deployments.problems.Invalid: 1 ms is too short; ... so use at least 1s
    """
    if interval < MIN_INTERVAL:
        milliseconds = interval / timedelta(milliseconds=1)
        raise Invalid(
            f"{milliseconds:g} ms is too short; the service runs a deployment at most once a "
            f"second, so use at least {format_duration(MIN_INTERVAL)}"
        )
    return interval


def check_schedule(value: object) -> Schedule | None:
    """``None`` or a :class:`~tideflow.schedules.Schedule` whose interval clocks fire at most
    once a second."""
    schedule = instance(Schedule, "CronSchedule('0 6 * * *')")(value)
    for clock in schedule.clocks if schedule is not None else ():
        if isinstance(clock, IntervalClock):
            frequent_enough(clock.interval)
    return schedule


def _json_problem(value: object, where: str) -> str | None:
    """Why ``value`` (the value of ``where``) is not plain JSON data, or ``None``."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"the value of {where} is {value!r}, not JSON"
    if isinstance(value, list | tuple):
        found = (_json_problem(v, f"{where}[{i}]") for i, v in enumerate(value))
        return next((problem for problem in found if problem), None)
    if isinstance(value, Mapping):
        return _json_mapping_problem(value, where + "[{!r}]")
    return (
        f"the value of {where} is a {type(value).__name__} ({value!r}), not a JSON value; "
        "use a string, number, boolean, list or table"
    )


def _json_mapping_problem(value: Mapping[Any, Any], where: str) -> str | None:
    """:func:`_json_problem` for a mapping; ``where`` formats a key into its location."""
    for key, item in value.items():
        if not isinstance(key, str):
            return f"the key {key!r} is not a string"
        problem = _json_problem(item, where.format(key))
        if problem:
            return problem
    return None


def json_object(value: object) -> dict[str, Any]:
    """A private copy of a JSON object (so a frozen deployment cannot change under its owner)."""
    if not isinstance(value, Mapping):
        raise Invalid(f"expected a table of names to JSON values, got {value!r}")
    problem = _json_mapping_problem(value, "{!r}")
    if problem:
        raise Invalid(problem)
    copied: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return copied


def env(value: object) -> dict[str, str]:
    """Environment variables: a table of names to strings (a copy)."""
    if not isinstance(value, Mapping):
        raise Invalid(f"expected a table of variable names to strings, got {value!r}")
    for key, text in value.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise Invalid(f"{key!r} is not a valid environment variable name")
        if not isinstance(text, str):
            raise Invalid(
                f"the value of {key!r} is {text!r}; environment values are strings, "
                f'write {key} = "{text}"'
            )
    return dict(value)


def secret_env(value: object) -> dict[str, str]:
    """Secret environment variables: a table of variable names to secret names (a copy)."""
    if not isinstance(value, Mapping):
        raise Invalid(
            "expected a table of variable names to secret names, e.g. "
            f'{{ DB_PASSWORD = "PROD_DB_PASSWORD" }}, got {value!r}'
        )
    for key, secret in value.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise Invalid(f"{key!r} is not a valid environment variable name")
        if not isinstance(secret, str) or not secret.strip():
            raise Invalid(
                f"the secret of {key!r} must be a secret's name such as {key!r} (its value is "
                f"read from the service's secrets when a run starts), got {secret!r}"
            )
    return dict(value)


def instance(kind: type[_T], example: str) -> Callable[[object], _T | None]:
    """A check that the value is ``None`` or a ``kind``; ``example`` shows how to build one."""

    def check(value: object) -> _T | None:
        if value is not None and not isinstance(value, kind):
            raise Invalid(f"expected a {kind.__name__} or None, e.g. {example}, got {value!r}")
        return value

    return check
