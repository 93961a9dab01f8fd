"""``tideflow.toml``: deployments read from a file, every problem of the file reported at once.

:func:`load_deployments` reads one ``[deployments.NAME]`` table per deployment (the keys are in
the package docstring). :func:`from_table` turns one table into a deployment: the keys that hold a
field's value as is go through the field table's checks (:mod:`tideflow.deployments.fields`);
the entrypoint (``flow`` | ``callable`` | ``command``), the schedule (``cron`` | ``interval`` |
``rrule``, ``timezone``, ``start``) and the ``executor`` have readers here. A key no field has
gets the closest spelling as a hint. Relative paths are resolved against the file's directory.

``tideflow deploy`` (:mod:`tideflow.deployments.options`) builds a table from its options and
reads it with :func:`from_table` too, so both are checked alike.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tideflow.deployments.checks import check_name, duration, frequent_enough
from tideflow.deployments.entrypoint import ENTRYPOINT_KINDS, Entrypoint, check_entrypoint
from tideflow.deployments.executor import ExecutorSpec, parse_executor
from tideflow.deployments.fields import FIELDS, TOML_KEYS, Field, check_fields
from tideflow.deployments.problems import (
    Invalid,
    Problem,
    attempt,
    line,
    raise_problems,
    suggest,
    unknown_field,
)
from tideflow.deployments.spec import Deployment
from tideflow.entrypoints import is_file_ref, split_ref
from tideflow.errors import DeploymentError, ScheduleError
from tideflow.schedules import CronSchedule, IntervalSchedule, RRuleSchedule, Schedule
from tideflow.schedules.zones import get_zone

__all__ = ["READERS", "from_table", "load_deployments"]

# Fields people reach for that Tideflow spells differently.
_HINTS = {
    "schedule": 'give cron = "0 6 * * *", interval = "1h" or rrule = "FREQ=DAILY" instead',
    "tz": "did you mean 'timezone'?",
    "name": "the name is the table's key: [deployments.NAME]",
}

# Paths resolved against the file's directory, and whether a bare name is a path too.
_PATHS = {"working_dir": True, "python": False}


def load_deployments(path: str | os.PathLike[str]) -> list[Deployment]:
    """The deployments declared in a ``tideflow.toml`` file, in file order.

    Raises:
        DeploymentError: listing every problem of the file, one per line, each starting with the
            file name as given.
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise DeploymentError(f"{where}: cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DeploymentError(f"{where}: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeploymentError(f"{where}: {_toml_error_text(exc)}") from None
    base = Path(os.path.abspath(where)).parent
    return _deployments_from_data(data, where, base)


def _toml_error_text(exc: tomllib.TOMLDecodeError) -> str:
    """``line 3, column 9: invalid TOML: Invalid value`` from tomllib's message."""
    text = str(exc)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", text)
    if found:
        return f"line {found[2]}, column {found[3]}: invalid TOML: {found[1]}"
    return "invalid TOML: " + text.replace("(at end of document)", "at the end of the file")


def _deployments_from_data(data: Mapping[str, Any], where: str, base: Path) -> list[Deployment]:
    lines = [
        f"{where}: unknown top-level key {key!r}; {suggest(key, ['deployments'])}"
        for key in data
        if key != "deployments"
    ]
    tables = data.get("deployments", {})
    if not isinstance(tables, dict):
        lines.append(f"{where}: 'deployments' must hold [deployments.NAME] tables")
        tables = {}
    found: list[Deployment] = []
    for name, table in tables.items():
        deployment, problems = from_table(name, table, base)
        lines += [line(where, name, problem) for problem in problems]
        if deployment is not None:
            found.append(deployment)
    raise_problems(lines)
    return found


def from_table(name: str, table: object, base: Path) -> tuple[Deployment | None, list[Problem]]:
    """One ``[deployments.NAME]`` table: the deployment, or every problem found in it.

    Relative paths are resolved against ``base``.
    """
    if not isinstance(table, dict):
        text = f'expected a table such as [deployments.{name}] with flow = "file.py:flow"'
        return None, [Problem(None, f"{text}, got {table!r}")]
    problems: list[Problem] = []
    attempt(problems, None, check_name, name)
    problems += [
        Problem(key, unknown_field(key, TOML_KEYS, _HINTS)) for key in table if key not in TOML_KEYS
    ]
    built = {field: read(table, base, problems) for field, read in READERS.items()}
    given = {spec.name: table[spec.name] for spec in FIELDS if _as_value(spec, table)}
    values, more = check_fields(given)
    problems += more
    if problems or built["entrypoint"] is None:
        return None, problems
    for key, always in _PATHS.items():
        values[key] = _resolve_path(values.get(key), base, always=always)
    return Deployment(name=name, **built, **values), []


def _as_value(spec: Field, table: Mapping[str, Any]) -> bool:
    """Whether ``table`` gives ``spec``'s value as is, under the field's name."""
    return spec.toml_keys is None and spec.name in table


def _entrypoint_from_table(
    table: Mapping[str, Any], base: Path, problems: list[Problem]
) -> Entrypoint | None:
    given = [kind for kind in ENTRYPOINT_KINDS if kind in table]
    if len(given) != 1:
        found = f"; found {' and '.join(given)}" if given else ""
        text = 'give exactly one of flow, callable or command, e.g. flow = "path/to/file.py:flow"'
        problems.append(Problem(None, text + found))
        return None
    kind = given[0]
    target = attempt(problems, kind, lambda value: check_entrypoint(kind, value), table[kind])
    if target is None:
        return None
    if isinstance(target, str):
        where, attr = split_ref(target)
        if is_file_ref(where):
            where = str(_resolve_path(where, base, always=True))
            target = where if attr is None else f"{where}:{attr}"
    return Entrypoint(kind, target)  # type: ignore[arg-type]  # kind is one of the three


def _resolve_path(text: str | None, base: Path, *, always: bool) -> str | None:
    """``text`` made absolute against ``base`` (``~`` expanded); bare names left alone unless
    ``always`` (a ``python = "python3"`` is found on PATH, a ``working_dir = "data"`` is not)."""
    if text is None or (not always and os.sep not in text and "/" not in text):
        return text
    path = Path(text).expanduser()
    return os.path.normpath(path if path.is_absolute() else base / path)


def _executor_from_table(
    table: Mapping[str, Any], base: Path, problems: list[Problem]
) -> ExecutorSpec | None:
    if "executor" not in table:
        return None
    executor, more = parse_executor(table["executor"])
    problems += more
    return executor


def _schedule_from_table(
    table: Mapping[str, Any], base: Path, problems: list[Problem]
) -> Schedule | None:
    """The schedule from ``cron``, ``interval`` or ``rrule`` with ``timezone`` and ``start``, if
    any."""
    given = [key for key in _SCHEDULE_SOURCES if table.get(key) is not None]
    if len(given) > 1:
        both = " and ".join(given) if len(given) == 2 else ", ".join(given)
        problems.append(Problem(None, f"{both} are both given; keep one"))
        return None
    count = len(problems)
    zone = None
    if "timezone" in table:
        zone = attempt(problems, "timezone", _zone, table["timezone"])
    start = attempt(problems, "start", _start, table.get("start"))
    if not given:
        for key in ("timezone", "start"):
            if key in table:
                problems.append(Problem(key, "is given without cron, interval or rrule; add one"))
        return None
    if len(problems) > count:
        zone, start = None, None  # still check cron/interval/rrule on their own
    source = given[0]
    schedule = _SCHEDULE_SOURCES[source](table[source], zone, start, problems)
    return schedule if len(problems) == count else None


# How each field that is not one key = its value is read from a table, in field order.
READERS: Mapping[str, Callable[[Mapping[str, Any], Path, list[Problem]], Any]] = {
    "entrypoint": _entrypoint_from_table,
    "schedule": _schedule_from_table,
    "executor": _executor_from_table,
}


def _zone(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a time zone name such as 'Europe/Berlin', got {value!r}")
    try:
        get_zone(value)
    except ScheduleError as exc:
        raise Invalid(str(exc).removeprefix("tz: ")) from None
    return value


def _start(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(f"expected a datetime such as 2026-01-01T06:00:00, got {value!r}")


def _cron_schedule(
    cron: object, zone: str | None, start: datetime | None, problems: list[Problem]
) -> Schedule | None:
    if not isinstance(cron, str):
        problems.append(
            Problem("cron", f"expected a cron expression such as '0 6 * * *', got {cron!r}")
        )
        return None
    try:
        return CronSchedule(cron, start_date=start, tz=zone)
    except ScheduleError as exc:
        problems.append(Problem(_schedule_error_field(exc, "cron"), str(exc)))
        return None


def _interval_schedule(
    interval: object, zone: str | None, start: datetime | None, problems: list[Problem]
) -> Schedule | None:
    every = attempt(problems, "interval", _interval, interval)
    if every is None:
        return None
    try:
        return IntervalSchedule(interval=every, start_date=start, tz=zone)
    except ScheduleError as exc:
        problems.append(Problem(_schedule_error_field(exc, "interval"), str(exc)))
        return None


def _rrule_schedule(
    rule: object, zone: str | None, start: datetime | None, problems: list[Problem]
) -> Schedule | None:
    """An RFC 5545 rule (``FREQ=WEEKLY;BYDAY=MO;BYHOUR=9``, optionally after a ``DTSTART:`` line);
    without ``DTSTART`` it is anchored at ``start``, else at 2019-01-01 00:00 (see
    :class:`~tideflow.schedules.RRuleClock`)."""
    if not isinstance(rule, str):
        example = "'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9'"
        problems.append(Problem("rrule", f"expected a rule such as {example}, got {rule!r}"))
        return None
    try:
        return RRuleSchedule(rule, start_date=start, tz=zone)
    except ScheduleError as exc:
        message = str(exc).removeprefix("rrule: ")
        problems.append(Problem(_schedule_error_field(exc, "rrule"), message))
        return None


_SCHEDULE_SOURCES: Mapping[
    str, Callable[[object, str | None, datetime | None, list[Problem]], Schedule | None]
] = {"cron": _cron_schedule, "interval": _interval_schedule, "rrule": _rrule_schedule}


def _interval(value: object) -> timedelta:
    """A positive duration, at least a second (the service's tick)."""
    return frequent_enough(duration(value, positive=True))


def _schedule_error_field(exc: ScheduleError, default: str) -> str:
    """The TOML field a schedule's message is about: it starts with the argument's name."""
    text = str(exc)
    return "start" if text.startswith("start_date") else default
