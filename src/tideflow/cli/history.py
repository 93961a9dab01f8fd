"""What the run-history commands share: opening the store, reading durations, shaping output.

The commands (``tideflow runs``, ``runs show``, ``logs``, ``metrics``, ``prune``) are thin: each
parses its arguments, opens the store with :func:`history_store`, calls one or two
:class:`~tideflow.store.RunStore` methods and formats the records with the helpers here. Every
expected problem (history turned off, a store that cannot be opened, an unknown or ambiguous run
id) becomes one ``Error:`` line and exit status 2; ``--json`` output goes through
:func:`print_json` so nothing but JSON reaches standard output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.markup import escape

from tideflow.cli.output import fail, format_seconds
from tideflow.durations import format_duration, parse_duration
from tideflow.errors import TideflowError
from tideflow.store import (
    FlowRunRecord,
    LogLine,
    RunStore,
    StoreError,
    TaskRunRecord,
    configured_location,
    open_store,
)

__all__ = [
    "history_store",
    "human_seconds",
    "iso",
    "log_json",
    "minutes",
    "opened_store",
    "parse_age",
    "plain",
    "print_json",
    "run_duration",
    "run_json",
    "task_duration",
    "task_json",
    "task_label",
]


@contextmanager
def history_store() -> Iterator[RunStore]:
    """The configured run store (see :func:`tideflow.store.open_store`), closed afterwards.

    History turned off, a store that cannot be opened and any
    :class:`~tideflow.store.StoreError` raised inside the block (an unknown run id, a locked file)
    print one ``Error:`` line and exit with status 2.
    """
    with opened_store(honour_off=True) as store:
        yield store


_SQL_NEEDED = (
    "deployments live in the run store, which the service, its runs and every tideflow "
    "command share, so they need a SQL store (SQLite or PostgreSQL)"
)
_SQL_HINT = (
    "unset TIDEFLOW_DATABASE_URL to use $TIDEFLOW_HOME/tideflow.db, or set it to a sqlite:/// "
    "or postgresql+psycopg:// URL"
)


@contextmanager
def opened_store(*, honour_off: bool = False, sql_only: bool = False) -> Iterator[RunStore]:
    """The configured run store, closed afterwards: what every command that reads or writes
    the store opens.

    With ``honour_off``, ``TIDEFLOW_STORE=off`` is an error (it turns off the run history the
    command would read); without it the store is opened anyway (it turns off recording, not the
    store deployments live in). With ``sql_only``, an in-memory store is refused: the service
    and its runs are other processes. A store that cannot be opened and any Tideflow error
    raised inside the block (an unknown run or deployment, a locked file, a bad schedule) print
    one ``Error:`` line and exit with status 2.
    """
    from tideflow.store.sql import SQLStore

    try:
        store = open_store() if honour_off else open_store(configured_location())
    except StoreError as exc:  # also a bad TIDEFLOW_DATABASE_URL or TIDEFLOW_HOME, named there
        fail(str(exc))
    if store is None:
        setting = os.environ.get("TIDEFLOW_STORE", "off").strip()
        fail(
            f"run history is turned off (TIDEFLOW_STORE={setting}); "
            "unset it to record and read runs"
        )
    if sql_only and (not isinstance(store, SQLStore) or store.where in (":memory:", "")):
        store.close()
        fail(
            f"{_SQL_NEEDED}, not {configured_location()} (in memory: other processes cannot "
            f"see it, and it is gone when this command ends); {_SQL_HINT}"
        )
    try:
        yield store
    except TideflowError as exc:
        fail(str(exc))
    finally:
        store.close()


def parse_age(option: str, text: str) -> datetime:
    """The moment ``text`` (a duration such as ``2h`` or ``30d``) ago, in UTC.

    A bad duration prints one ``Error:`` line naming ``option`` and exits with status 2.
    """
    try:
        age = parse_duration(text)
    except ValueError as exc:
        fail(f"{option}: {exc}")
    return datetime.now(UTC) - age


def iso(moment: datetime | None) -> str | None:
    """``moment`` in ISO 8601, UTC (``2026-03-01T12:00:00+00:00``), or None."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def minutes(moment: datetime | None) -> str:
    """``moment`` in UTC to the minute, for tables: ``2026-03-01 12:00``; ``-`` for None.

    >>> minutes(datetime(2026, 3, 1, 12, 0, 59, tzinfo=UTC))
    '2026-03-01 12:00'
    """
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"


def human_seconds(seconds: float | None) -> str:
    """A duration for people: ``850.0 ms``, ``4.20 s``, ``2m30s``, ``1d3h``; ``-`` for None.

    >>> human_seconds(150.2)
    '2m30s'
    >>> human_seconds(-4.2)
    '-4.20 s'
    """
    if seconds is None:
        return "-"
    if seconds < 0:
        return "-" + human_seconds(-seconds)
    if seconds < 60:
        return format_seconds(seconds)
    return format_duration(timedelta(seconds=round(seconds)))


def plain(text: str) -> str:
    """``text`` with rich markup escaped, so brackets in names and messages print as typed.

    >>> print(plain("[bold]not bold[/]"))
    \\[bold]not bold\\[/]
    """
    return escape(text)


def _elapsed(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def run_duration(run: FlowRunRecord) -> float | None:
    """Seconds from the run's start to its end, or None until both are known."""
    return _elapsed(run.start_time, run.end_time)


def task_duration(task: TaskRunRecord) -> float | None:
    """Seconds from the task run's first ``Running`` state to its final state, or None."""
    return _elapsed(task.start_time, task.end_time)


def task_label(task_key: str | None, map_index: int | None) -> str:
    """``say_hello``, ``square[2]`` for a mapped child, ``""`` for a line outside any task."""
    if task_key is None:
        return ""
    return task_key if map_index is None else f"{task_key}[{map_index}]"


def run_json(run: FlowRunRecord) -> dict[str, Any]:
    """A flow run as JSON-ready data: ISO 8601 UTC datetimes, durations in seconds."""
    return {
        "id": run.id,
        "flow": run.flow_name,
        "deployment": run.deployment,
        "state": run.state,
        "state_message": run.state_message,
        "finished": run.is_finished,
        "parameters": run.parameters,
        "scheduled_start_time": iso(run.scheduled_start_time),
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "duration": run_duration(run),
        "lateness": run.lateness,
        "host": run.host,
        "pid": run.pid,
        "heartbeat": iso(run.heartbeat),
        "attempts": run.attempts,
        "parent_run_id": run.parent_run_id,
        "parent_task": run.parent_task,
    }


def task_json(task: TaskRunRecord) -> dict[str, Any]:
    """A task run as JSON-ready data."""
    return {
        "task_key": task.task_key,
        "task_name": task.task_name,
        "map_index": task.map_index,
        "state": task.state,
        "message": task.message,
        "attempts": task.attempts,
        "start_time": iso(task.start_time),
        "end_time": iso(task.end_time),
        "duration": task_duration(task),
    }


def log_json(line: LogLine) -> dict[str, Any]:
    """A log line as JSON-ready data."""
    return {
        "id": line.id,
        "flow_run_id": line.flow_run_id,
        "task_key": line.task_key,
        "map_index": line.map_index,
        "timestamp": iso(line.timestamp),
        "level": line.level,
        "logger": line.logger,
        "message": line.message,
    }


def print_json(data: object, *, indent: int | None = 2) -> None:
    """``data`` as JSON on standard output, bypassing rich (no wrapping, no highlighting)."""
    typer.echo(json.dumps(data, indent=indent, ensure_ascii=False))
