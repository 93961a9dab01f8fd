"""The records a run store keeps: plain, frozen, validated data.

A store keeps six kinds of things, each written by the engine or the service and read back by the
CLI and the dashboard:

- :class:`FlowRecord`: a flow's name, a hash of its graph and the graph itself (for drawing it);
- :class:`FlowRunRecord`: one run of a flow, with its current state and timing;
- :class:`TaskStateChange`: every state a task run (or a mapped child) entered, with its time;
  the store derives one :class:`TaskRunRecord` per task run from them (see
  :func:`derive_task_runs`), so the history is append-only and a crash loses nothing written;
- :class:`LogLine`: one log record of a run, optionally tied to a task run;
- :class:`ResultRow`: a task's JSON result, a named artifact or a numeric metric; metrics read
  across runs come back as :class:`MetricPoint`;
- :class:`Event`: the event log, one entry per change (flow-run and task-run states, deployment
  changes, actions), with increasing ids, for whoever follows the store (the dashboard, alerts).

Records are validated when built, so a bad value fails where it is made rather than deep inside a
database driver: every datetime must be timezone-aware (it is converted to UTC), every state name
must be one of :mod:`tideflow.states` (tasks) or :mod:`tideflow.lifecycle` (flow runs), and JSON
fields must be JSON-serialisable.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, get_args

from tideflow import lifecycle
from tideflow.states import TRANSITIONS, Looped, Running
from tideflow.store.errors import InvalidRecordError

__all__ = [
    "EVENT_KINDS",
    "FINISHED_STATES",
    "ORIGINS",
    "STATE_NAMES",
    "STATE_ROW_WIDTH",
    "TASK_STATE_NAMES",
    "DeploymentRecord",
    "DeploymentVersion",
    "Event",
    "EventKind",
    "FlowRecord",
    "FlowRunRecord",
    "LogLine",
    "MetricPoint",
    "Origin",
    "ResultKind",
    "ResultRow",
    "TaskRunRecord",
    "TaskStateChange",
    "as_utc",
    "changes_from_flat",
    "derive_task_runs",
]

TASK_STATE_NAMES: frozenset[str] = frozenset(cls.__name__ for cls in TRANSITIONS)
"""The states a task run can be in (:mod:`tideflow.states`)."""
STATE_NAMES: frozenset[str] = TASK_STATE_NAMES | lifecycle.STATES
"""Every state name a store keeps: task-run and flow-run (:mod:`tideflow.lifecycle`) states."""
FINISHED_STATES: frozenset[str] = lifecycle.FINAL
_RUNNING = Running.__name__
_LOOPED = Looped.__name__

Origin = Literal["schedule", "trigger", "backfill", "direct"]
"""What created a flow run: a deployment's schedule, a manual trigger, a backfill, or a direct
``flow.run()`` (no deployment)."""
ORIGINS: tuple[str, ...] = get_args(Origin)

EventKind = Literal["flow_run", "task_runs", "deployment", "action"]
"""What an :class:`Event` records: a flow run's state change, a batch of task-run state changes,
a change to a deployment, or an action someone took (a trigger, a cancel request, ...)."""
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

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


def _state(record: object, name: str, value: object, known: frozenset[str] = STATE_NAMES) -> str:
    if value not in known:
        raise _fail(record, name, f"must be a state name, got {value!r}; known: {sorted(known)}")
    return str(value)


def _choice(record: object, name: str, value: object, known: tuple[str, ...]) -> None:
    if value not in known:
        raise _fail(record, name, f"must be one of {', '.join(known)}, got {value!r}")


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


def _seconds(record: object, name: str, value: object) -> float | None:
    number = _number(record, name, value)
    if number is not None and (not math.isfinite(number) or number < 0):
        raise _fail(record, name, f"must be a finite number of seconds >= 0, got {value!r}")
    return number


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
    """One run of a flow; its ``state`` follows :mod:`tideflow.lifecycle`.

    ``deployment`` is None for direct ``flow.run()`` calls; ``origin`` says what created the run
    (:data:`Origin`). ``host`` and ``pid`` name the process that holds the run (the one a claim
    named, then the one that took it over); ``heartbeat`` is its latest sign of life.
    ``lateness`` is in seconds; ``attempts`` counts the attempts so far (retries included).
    ``timeout`` (seconds), ``retries`` and ``retry_delay`` (seconds) are the deployment's, taken
    when the run was created; ``deadline`` is when the current attempt times out (set by the
    claim) and ``not_before`` when a retrying run may be claimed again. A run started by a task
    of another run (flows of flows) names that run in ``parent_run_id`` and the task (its key,
    ``key[i]`` for a mapped child) in ``parent_task``.
    """

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
    origin: Origin = "direct"
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 0.0
    deadline: datetime | None = None
    not_before: datetime | None = None
    parent_run_id: str | None = None
    parent_task: str | None = None

    def __post_init__(self) -> None:
        _text(self, "id", self.id)
        _text(self, "parent_run_id", self.parent_run_id, optional=True)
        _text(self, "parent_task", self.parent_task, optional=True)
        _text(self, "flow_name", self.flow_name)
        _text(self, "deployment", self.deployment, optional=True)
        _choice(self, "origin", self.origin, ORIGINS)
        _set(self, "timeout", _seconds(self, "timeout", self.timeout))
        _int(self, "retries", self.retries)
        _set(self, "retry_delay", _seconds(self, "retry_delay", self.retry_delay) or 0.0)
        _json(self, "parameters", self.parameters, mapping=True)
        _set(
            self,
            "scheduled_start_time",
            _utc(self, "scheduled_start_time", self.scheduled_start_time),
        )
        for name in ("start_time", "end_time", "heartbeat", "deadline", "not_before"):
            _set(self, name, _utc(self, name, getattr(self, name), optional=True))
        _set(self, "state", _state(self, "state", self.state, lifecycle.STATES))
        _text(self, "state_message", self.state_message, optional=True)
        _set(self, "lateness", _number(self, "lateness", self.lateness))
        _str(self, "host", self.host)
        _int(self, "pid", self.pid)
        _int(self, "attempts", self.attempts)

    @property
    def is_finished(self) -> bool:
        """Whether the run is in a final state (Success, Failed, Cancelled and their subclasses)."""
        return self.state in FINISHED_STATES

    @property
    def is_active(self) -> bool:
        """Whether a process holds the run (Claimed, Running or Cancelling)."""
        return self.state in lifecycle.ACTIVE

    @property
    def is_waiting(self) -> bool:
        """Whether the run waits to be claimed (Scheduled or Retrying)."""
        return self.state in lifecycle.WAITING

    @property
    def due_time(self) -> datetime:
        """When a waiting run may be claimed: its scheduled time, or later while retrying."""
        if self.not_before is not None and self.not_before > self.scheduled_start_time:
            return self.not_before
        return self.scheduled_start_time


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
        _set(self, "state", _state(self, "state", self.state, TASK_STATE_NAMES))
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """One entry of the store's event log: every change, in the order the store made it.

    ``id`` increases with every event (None until the store assigns it), so a reader that
    remembers the last id it saw can ask for what came after. ``kind`` (:data:`EventKind`) and
    ``name`` say what happened:

    - ``flow_run``: run ``flow_run_id`` entered state ``name``; ``data`` has ``from`` (the state
      it left), ``attempts`` and, where they apply, ``host``, ``pid`` and ``deadline``;
    - ``task_runs``: ``name`` is ``"states"``; ``data["changes"]`` lists task state changes of
      run ``flow_run_id`` as ``[task_key, task_name, map_index, state, message, timestamp]``;
    - ``deployment``: deployment ``deployment`` was ``created``, ``updated``, ``paused``,
      ``resumed`` or ``deleted``;
    - ``action``: someone asked for something (``trigger``, ``backfill``, ``cancel``, ``retry``,
      ...), with what they gave in ``data``.
    """

    kind: EventKind
    name: str
    at: datetime
    flow_run_id: str | None = None
    deployment: str | None = None
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def __post_init__(self) -> None:
        _choice(self, "kind", self.kind, EVENT_KINDS)
        _text(self, "name", self.name)
        _set(self, "at", _utc(self, "at", self.at))
        _text(self, "flow_run_id", self.flow_run_id, optional=True)
        _text(self, "deployment", self.deployment, optional=True)
        _text(self, "message", self.message, optional=True)
        _json(self, "data", self.data, mapping=True)
        _int(self, "id", self.id, optional=True)


class DeploymentVersion(NamedTuple):
    """What changes about a deployment between two looks: its spec or paused flag (both move
    ``updated_at``) and how far its schedule has been planned. Cheap to read for thousands."""

    name: str
    updated_at: datetime
    last_fire: datetime | None


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

    ``attempts`` counts the ``Running`` states (not those that start a LOOP's next iteration),
    ``start_time`` is the first ``Running`` time and ``end_time`` the time of the last change
    when that change is a finished state. The result is ordered by each task run's first change
    (ties keep the input order).
    """
    runs: dict[tuple[str, int | None], _Accumulator] = {}
    for change in changes:
        acc = runs.setdefault(
            (change.task_key, change.map_index),
            _Accumulator(first=change, last=change, order=len(runs)),
        )
        looped = acc.last.state == _LOOPED  # the next iteration of a LOOP, not an attempt
        acc.last = change
        if change.state == _RUNNING and not looped:
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
