"""The records a run store keeps: plain, frozen, validated data.

A store keeps five kinds of things, each written by the engine or the service and read back by the
CLI and the dashboard:

- :class:`FlowRecord`: a flow's name, a hash of its graph and the graph itself (for drawing it);
- :class:`FlowRunRecord`: one run of a flow, with its current state and timing;
- :class:`TaskStateChange`: every state a task run (or a mapped child) entered, with its time;
  the store derives one :class:`TaskRunRecord` per task run from them (see
  :func:`derive_task_runs`), so the history is append-only and a crash loses nothing written;
- :class:`LogLine`: one log record of a run, optionally tied to a task run;
- :class:`ResultRow`: a task's JSON result, a named artifact or a numeric metric; metrics read
  across runs come back as :class:`MetricPoint`.

Records are validated when built, so a bad value fails where it is made rather than deep inside a
database driver: every datetime must be timezone-aware (it is converted to UTC), every state name
must be one of :mod:`tideflow.states`, and JSON fields must be JSON-serialisable.

>>> from datetime import UTC, datetime
>>> change = TaskStateChange(flow_run_id="r1", task_key="t-1", task_name="t", map_index=None,
...     state="Running", message=None, timestamp=datetime(2026, 3, 1, 12, tzinfo=UTC))
>>> change.state
'Running'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from tideflow.states import TRANSITIONS, Finished, Running
from tideflow.store.errors import InvalidRecordError

__all__ = [
    "FINISHED_STATES",
    "STATE_NAMES",
    "STATE_ROW_WIDTH",
    "DeploymentRecord",
    "FlowRecord",
    "FlowRunRecord",
    "LogLine",
    "MetricPoint",
    "ResultKind",
    "ResultRow",
    "TaskRunRecord",
    "TaskStateChange",
    "as_utc",
    "changes_from_flat",
    "derive_task_runs",
]

STATE_NAMES: frozenset[str] = frozenset(cls.__name__ for cls in TRANSITIONS)
FINISHED_STATES: frozenset[str] = frozenset(
    cls.__name__ for cls in TRANSITIONS if issubclass(cls, Finished)
)
_RUNNING = Running.__name__

STATE_ROW_WIDTH = 6
"""The engine hands task state changes to a store as flat lists: for each change, ``task_key,
task_name, map_index, state, message, timestamp`` laid end to end (see
:meth:`~tideflow.store.base.RunStore.record_task_state_rows`). Flat, because a tuple per change
is an object per change for the garbage collector to walk, which on a 10,000-task run costs more
than writing the rows."""

ResultKind = Literal["result", "artifact", "metric"]
_RESULT_KINDS: tuple[str, ...] = get_args(ResultKind)


# -- validation helpers: each returns the (possibly normalised) value or raises ------------------


def _fail(record: object, name: str, problem: str) -> InvalidRecordError:
    return InvalidRecordError(f"{type(record).__name__}.{name} {problem}")


def as_utc(value: object, what: str) -> datetime:
    """``value`` converted to UTC; naive datetimes are refused because their zone is a guess.

    >>> as_utc(datetime(2026, 3, 1, 12), "at")
    Traceback (most recent call last):
    ...
    tideflow.store.errors.InvalidRecordError: at must be timezone-aware (UTC), got the naive ...
    """
    if not isinstance(value, datetime):
        raise InvalidRecordError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecordError(
            f"{what} must be timezone-aware (UTC), got the naive datetime {value.isoformat()}; "
            "use datetime.now(UTC) or attach tzinfo=UTC"
        )
    return value.astimezone(UTC)


def _utc(record: object, name: str, value: object, *, optional: bool = False) -> datetime | None:
    if value is None and optional:
        return None
    return as_utc(value, f"{type(record).__name__}.{name}")


def _state(record: object, name: str, value: object) -> str:
    if value not in STATE_NAMES:
        raise _fail(
            record, name, f"must be a state name, got {value!r}; known: {sorted(STATE_NAMES)}"
        )
    return str(value)


def _text(record: object, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or (not optional and not value):
        raise _fail(record, name, f"must be a non-empty string, got {value!r}")


def _str(record: object, name: str, value: object) -> None:
    if not isinstance(value, str):
        raise _fail(record, name, f"must be a string, got {value!r}")


def _int(record: object, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(record, name, f"must be an integer >= 0, got {value!r}")


def _number(record: object, name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(record, name, f"must be a number, got {value!r}")
    return float(value)


def _json(record: object, name: str, value: object, *, mapping: bool = False) -> None:
    if mapping and not isinstance(value, dict):
        raise _fail(record, name, f"must be a dict, got {type(value).__name__}")
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise _fail(record, name, f"must be JSON-serialisable: {exc}") from None


def _set(record: object, name: str, value: object) -> None:
    # Frozen dataclasses forbid assignment; normalising in __post_init__ is the documented escape.
    object.__setattr__(record, name, value)


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class FlowRecord:
    """A flow as last seen: its name, a hash of its graph, and the graph as JSON-ready data."""

    name: str
    graph_hash: str
    graph: dict[str, Any]

    def __post_init__(self) -> None:
        _text(self, "name", self.name)
        _text(self, "graph_hash", self.graph_hash)
        _json(self, "graph", self.graph, mapping=True)


@dataclass(frozen=True, kw_only=True, slots=True)
class FlowRunRecord:
    """One run of a flow. ``deployment`` is None for ad-hoc runs; ``lateness`` is in seconds;
    ``attempts`` counts the times the service started the run (retries included)."""

    id: str
    flow_name: str
    deployment: str | None
    parameters: dict[str, Any]
    scheduled_start_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    state: str
    state_message: str | None
    lateness: float | None
    host: str
    pid: int
    heartbeat: datetime | None
    attempts: int = 1

    def __post_init__(self) -> None:
        _text(self, "id", self.id)
        _text(self, "flow_name", self.flow_name)
        _text(self, "deployment", self.deployment, optional=True)
        _json(self, "parameters", self.parameters, mapping=True)
        _set(
            self,
            "scheduled_start_time",
            _utc(self, "scheduled_start_time", self.scheduled_start_time),
        )
        for name in ("start_time", "end_time", "heartbeat"):
            _set(self, name, _utc(self, name, getattr(self, name), optional=True))
        _set(self, "state", _state(self, "state", self.state))
        _text(self, "state_message", self.state_message, optional=True)
        _set(self, "lateness", _number(self, "lateness", self.lateness))
        _str(self, "host", self.host)
        _int(self, "pid", self.pid)
        _int(self, "attempts", self.attempts)

    @property
    def is_finished(self) -> bool:
        """Whether the run is in a final state (Success, Failed, Cancelled and their subclasses)."""
        return self.state in FINISHED_STATES


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskStateChange:
    """Task run ``task_key`` (mapped child ``map_index``) entered ``state`` at ``timestamp``."""

    flow_run_id: str
    task_key: str
    task_name: str
    map_index: int | None
    state: str
    message: str | None
    timestamp: datetime

    def __post_init__(self) -> None:
        _text(self, "flow_run_id", self.flow_run_id)
        _text(self, "task_key", self.task_key)
        _text(self, "task_name", self.task_name)
        _int(self, "map_index", self.map_index, optional=True)
        _set(self, "state", _state(self, "state", self.state))
        _text(self, "message", self.message, optional=True)
        _set(self, "timestamp", _utc(self, "timestamp", self.timestamp))


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskRunRecord:
    """A task run as derived from its state changes (see :func:`derive_task_runs`)."""

    flow_run_id: str
    task_key: str
    task_name: str
    map_index: int | None
    state: str
    message: str | None
    attempts: int
    start_time: datetime | None
    end_time: datetime | None

    def __post_init__(self) -> None:
        _text(self, "flow_run_id", self.flow_run_id)
        _text(self, "task_key", self.task_key)
        _int(self, "map_index", self.map_index, optional=True)
        _set(self, "state", _state(self, "state", self.state))
        _int(self, "attempts", self.attempts)
        _set(self, "start_time", _utc(self, "start_time", self.start_time, optional=True))
        _set(self, "end_time", _utc(self, "end_time", self.end_time, optional=True))


@dataclass(frozen=True, kw_only=True, slots=True)
class LogLine:
    """One log record. ``id`` is None until the store assigns one; ids only ever increase."""

    flow_run_id: str
    task_key: str | None
    map_index: int | None
    timestamp: datetime
    level: str
    logger: str
    message: str
    id: int | None = None

    def __post_init__(self) -> None:
        _text(self, "flow_run_id", self.flow_run_id)
        _text(self, "task_key", self.task_key, optional=True)
        _int(self, "map_index", self.map_index, optional=True)
        _set(self, "timestamp", _utc(self, "timestamp", self.timestamp))
        _text(self, "level", self.level)
        _str(self, "logger", self.logger)
        _str(self, "message", self.message)
        _int(self, "id", self.id, optional=True)


@dataclass(frozen=True, kw_only=True, slots=True)
class ResultRow:
    """A task's result, a named artifact, or a metric (``kind="metric"`` needs ``number``)."""

    flow_run_id: str
    task_key: str | None
    map_index: int | None
    name: str
    kind: ResultKind
    value: Any
    number: float | None
    timestamp: datetime

    def __post_init__(self) -> None:
        _text(self, "flow_run_id", self.flow_run_id)
        _text(self, "task_key", self.task_key, optional=True)
        _int(self, "map_index", self.map_index, optional=True)
        _text(self, "name", self.name)
        if self.kind not in _RESULT_KINDS:
            raise _fail(self, "kind", f"must be one of {list(_RESULT_KINDS)}, got {self.kind!r}")
        _json(self, "value", self.value)
        _set(self, "number", _number(self, "number", self.number))
        if self.kind == "metric" and (self.number is None or not math.isfinite(self.number)):
            raise _fail(
                self, "number", f"must be a finite number for a metric, got {self.number!r}"
            )
        _set(self, "timestamp", _utc(self, "timestamp", self.timestamp))


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricPoint:
    """One value of metric ``name`` in one run, placed in time by the run's scheduled start."""

    flow_run_id: str
    name: str
    number: float
    timestamp: datetime
    scheduled_start_time: datetime

    def __post_init__(self) -> None:
        _text(self, "flow_run_id", self.flow_run_id)
        _text(self, "name", self.name)
        _set(self, "number", _number(self, "number", self.number))
        _set(self, "timestamp", _utc(self, "timestamp", self.timestamp))
        _set(
            self,
            "scheduled_start_time",
            _utc(self, "scheduled_start_time", self.scheduled_start_time),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DeploymentRecord:
    """A registered deployment: its spec (JSON, see :mod:`tideflow.deployments`), whether it is
    paused, when it was registered and last changed, and how far its schedule has been planned."""

    name: str
    spec: dict[str, Any]
    paused: bool
    created_at: datetime
    updated_at: datetime
    last_fire: datetime | None = None

    def __post_init__(self) -> None:
        _text(self, "name", self.name)
        _json(self, "spec", self.spec, mapping=True)
        if not isinstance(self.paused, bool):
            raise _fail(self, "paused", f"must be True or False, got {self.paused!r}")
        _set(self, "created_at", _utc(self, "created_at", self.created_at))
        _set(self, "updated_at", _utc(self, "updated_at", self.updated_at))
        _set(self, "last_fire", _utc(self, "last_fire", self.last_fire, optional=True))


def changes_from_flat(
    flow_run_id: str, flat: Sequence[Any], timestamp: Callable[[Any], datetime] | None = None
) -> list[TaskStateChange]:
    """The :class:`TaskStateChange` records of ``flat`` (:data:`STATE_ROW_WIDTH` values per
    change), their timestamps read with ``timestamp`` when given."""
    read = timestamp or (lambda value: value)
    return [
        TaskStateChange(
            flow_run_id=flow_run_id,
            task_key=flat[i],
            task_name=flat[i + 1],
            map_index=flat[i + 2],
            state=flat[i + 3],
            message=flat[i + 4],
            timestamp=read(flat[i + 5]),
        )
        for i in range(0, len(flat), STATE_ROW_WIDTH)
    ]


# -- derivation ----------------------------------------------------------------------------------


@dataclass
class _Accumulator:
    first: TaskStateChange
    last: TaskStateChange
    attempts: int = 0
    start_time: datetime | None = None
    order: int = 0


def derive_task_runs(changes: Iterable[TaskStateChange]) -> list[TaskRunRecord]:
    """One :class:`TaskRunRecord` per (task key, map index), from state changes in time order.

    ``attempts`` counts the ``Running`` states, ``start_time`` is the first ``Running`` time and
    ``end_time`` the time of the last change when that change is a finished state. The result is
    ordered by each task run's first change (ties keep the input order).
    """
    runs: dict[tuple[str, int | None], _Accumulator] = {}
    for change in changes:
        acc = runs.setdefault(
            (change.task_key, change.map_index),
            _Accumulator(first=change, last=change, order=len(runs)),
        )
        acc.last = change
        if change.state == _RUNNING:
            acc.attempts += 1
            acc.start_time = acc.start_time or change.timestamp
    ordered = sorted(runs.values(), key=lambda a: (a.first.timestamp, a.order))
    return [_task_run(acc) for acc in ordered]


def _task_run(acc: _Accumulator) -> TaskRunRecord:
    last = acc.last
    return TaskRunRecord(
        flow_run_id=last.flow_run_id,
        task_key=last.task_key,
        task_name=last.task_name,
        map_index=last.map_index,
        state=last.state,
        message=last.message,
        attempts=acc.attempts,
        start_time=acc.start_time,
        end_time=last.timestamp if last.state in FINISHED_STATES else None,
    )
