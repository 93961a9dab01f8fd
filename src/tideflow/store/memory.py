"""An in-memory run store: the contract with nothing but dicts behind it.

Useful in tests and for runs nobody needs to look back on. One lock guards every method, so each
method is atomic exactly as a SQL transaction would be: a batch is kept whole or not at all, and a
compare-and-set state change cannot interleave with another.

JSON fields (parameters, graphs, result values) go through a JSON round trip on the way in and out,
so the memory store returns what a database would (a tuple comes back as a list) and a caller that
mutates a dict after recording it, or after reading it, does not change the history.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from tideflow.store import verbs
from tideflow.store.base import (
    SCHEMA_VERSION,
    RunStore,
    ambiguous_run,
    check_limit,
    deployment_event,
    deployment_not_found,
    duplicate_id,
    duplicate_slot,
    missing_runs,
    pause_event,
    run_not_found,
    task_runs_event,
)
from tideflow.store.errors import StoreClosedError
from tideflow.store.records import (
    DeploymentRecord,
    DeploymentVersion,
    Event,
    FlowRecord,
    FlowRunRecord,
    LogLine,
    MetricPoint,
    ResultRow,
    TaskRunRecord,
    TaskStateChange,
    as_utc,
    derive_task_runs,
)
from tideflow.store.slots import (
    ConcurrencyLimit,
    ConcurrencySlot,
    check_limit_value,
    check_tag,
    stale,
)

__all__ = ["MemoryStore"]

T = TypeVar("T")


def _copy(value: T) -> T:
    """A deep copy through JSON, which is what a database keeps."""
    copied: T = json.loads(json.dumps(value))
    return copied


class MemoryStore(RunStore):
    """A :class:`~tideflow.store.base.RunStore` that lives and dies with the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._flows: dict[str, FlowRecord] = {}
        self._runs: dict[str, FlowRunRecord] = {}
        self._slots: dict[tuple[str, datetime], str] = {}
        self._task_states: defaultdict[str, list[TaskStateChange]] = defaultdict(list)
        self._logs: defaultdict[str, list[LogLine]] = defaultdict(list)
        # (recording sequence number, row): metrics order ties across runs by it, like an SQL id.
        self._results: defaultdict[str, list[tuple[int, ResultRow]]] = defaultdict(list)
        self._sequence = itertools.count(1)
        self._deployments: dict[str, DeploymentRecord] = {}
        self._events: list[Event] = []
        self._event_ids = itertools.count(1)
        self._limits: dict[str, ConcurrencyLimit] = {}  # kept with slots=(); see _slots_held
        self._slots_held: list[ConcurrencySlot] = []

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise StoreClosedError("the in-memory run store is closed")
            yield

    def _run(self, run_id: str) -> FlowRunRecord:
        try:
            return self._runs[run_id]
        except KeyError:
            raise run_not_found(run_id) from None

    def _check_runs_exist(self, run_ids: Collection[str]) -> None:
        missing = set(run_ids) - self._runs.keys()
        if missing:
            raise missing_runs(missing)

    @staticmethod
    def _out(run: FlowRunRecord) -> FlowRunRecord:
        return replace(run, parameters=_copy(run.parameters))

    def _append(self, event: Event) -> int:
        """Append ``event`` with the next id (the lock is held)."""
        stored = replace(event, id=next(self._event_ids), data=_copy(event.data))
        self._events.append(stored)
        assert stored.id is not None
        return stored.id

    # -- writing -------------------------------------------------------------------------------

    def upsert_flow(self, flow: FlowRecord) -> None:
        with self._locked():
            self._flows[flow.name] = replace(flow, graph=_copy(flow.graph))

    def get_flow(self, name: str) -> FlowRecord | None:
        with self._locked():
            flow = self._flows.get(name)
            return None if flow is None else replace(flow, graph=_copy(flow.graph))

    def create_flow_run(self, run: FlowRunRecord) -> None:
        with self._locked():
            if run.id in self._runs:
                raise duplicate_id(run.id)
            if run.deployment is not None:
                slot = (run.deployment, run.scheduled_start_time)
                if slot in self._slots:
                    raise duplicate_slot(run, self._slots[slot])
                self._slots[slot] = run.id
            self._runs[run.id] = self._out(run)
            self._append(verbs.created_event(run))

    def _change_run(
        self, run_id: str, decide: verbs.Decision, at: datetime
    ) -> FlowRunRecord | None:
        at = as_utc(at, "at")
        with self._locked():
            run = self._run(run_id)
            change = decide(run)
            if change is None:
                return None
            state, message = change.steps[-1]
            changed = replace(run, state=state, state_message=message, **change.fields)
            self._runs[run_id] = changed
            for event in verbs.events_of(run, change, at):
                self._append(event)
            return self._out(changed)

    def heartbeat(self, run_id: str, at: datetime) -> str:
        at = as_utc(at, "at")
        with self._locked():
            run = replace(self._run(run_id), heartbeat=at)
            self._runs[run_id] = run
            return run.state

    def record_task_states(self, changes: Sequence[TaskStateChange]) -> None:
        with self._locked():
            self._check_runs_exist({c.flow_run_id for c in changes})
            by_run: dict[str, list[TaskStateChange]] = {}
            for change in changes:
                self._task_states[change.flow_run_id].append(change)
                by_run.setdefault(change.flow_run_id, []).append(change)
            for run_id, batch in by_run.items():
                self._append(task_runs_event(run_id, batch))

    def record_logs(self, lines: Sequence[LogLine]) -> None:
        with self._locked():
            self._check_runs_exist({line.flow_run_id for line in lines})
            for line in lines:
                self._logs[line.flow_run_id].append(replace(line, id=next(self._sequence)))

    def record_results(self, rows: Sequence[ResultRow]) -> None:
        with self._locked():
            self._check_runs_exist({row.flow_run_id for row in rows})
            for row in rows:
                stored = replace(row, value=_copy(row.value))
                self._results[row.flow_run_id].append((next(self._sequence), stored))

    def record_event(self, event: Event) -> int:
        with self._locked():
            if event.flow_run_id is not None:
                self._check_runs_exist({event.flow_run_id})
            return self._append(event)

    def prune(self, older_than: datetime) -> int:
        cutoff = as_utc(older_than, "older_than")
        with self._locked():
            doomed = [run for run in self._runs.values() if _prunable(run, cutoff)]
            for run in doomed:
                del self._runs[run.id]
                self._slots_held = [s for s in self._slots_held if s.flow_run_id != run.id]
                if run.deployment is not None:
                    del self._slots[(run.deployment, run.scheduled_start_time)]
                for children in (self._task_states, self._logs, self._results):
                    children.pop(run.id, None)
            gone = {run.id for run in doomed}
            self._events = [
                event
                for event in self._events
                if event.flow_run_id not in gone
                and (event.flow_run_id is not None or event.at >= cutoff)
            ]
            return len(doomed)

    # -- deployments ---------------------------------------------------------------------------

    def upsert_deployments(
        self, items: Sequence[tuple[str, dict[str, Any], bool | None]], at: datetime
    ) -> None:
        at = as_utc(at, "at")
        with self._locked():
            for name, spec, paused in items:
                old = self._deployments.get(name)
                if old is None:
                    new = DeploymentRecord(
                        name=name,
                        spec=_copy(spec),
                        paused=bool(paused),
                        created_at=at,
                        updated_at=at,
                    )
                else:
                    new = replace(
                        old,
                        spec=_copy(spec),
                        updated_at=at,
                        paused=old.paused if paused is None else paused,
                    )
                self._deployments[name] = new
                event = deployment_event(old, new, at)
                if event is not None:
                    self._append(event)

    def get_deployment(self, name: str) -> DeploymentRecord | None:
        with self._locked():
            found = self._deployments.get(name)
            return None if found is None else replace(found, spec=_copy(found.spec))

    def list_deployments(self) -> list[DeploymentRecord]:
        with self._locked():
            return [replace(d, spec=_copy(d.spec)) for _, d in sorted(self._deployments.items())]

    def deployment_versions(self) -> list[DeploymentVersion]:
        with self._locked():
            return [
                DeploymentVersion(d.name, d.updated_at, d.last_fire)
                for _, d in sorted(self._deployments.items())
            ]

    def delete_deployment(self, name: str, at: datetime) -> bool:
        at = as_utc(at, "at")
        with self._locked():
            if self._deployments.pop(name, None) is None:
                return False
            self._append(Event(kind="deployment", name="deleted", at=at, deployment=name))
            return True

    def set_deployment_paused(self, name: str, paused: bool, at: datetime) -> bool:
        at = as_utc(at, "at")
        with self._locked():
            old = self._deployment(name)
            if old.paused == paused:
                return False
            self._deployments[name] = replace(old, paused=paused, updated_at=at)
            self._append(pause_event(name, paused, at))
            return True

    def advance_deployment(self, name: str, last_fire: datetime) -> None:
        last_fire = as_utc(last_fire, "last_fire")
        with self._locked():
            found = self._deployment(name)
            if found.last_fire is None or last_fire > found.last_fire:
                self._deployments[name] = replace(found, last_fire=last_fire)

    def _deployment(self, name: str) -> DeploymentRecord:
        try:
            return self._deployments[name]
        except KeyError:
            raise deployment_not_found(name) from None

    # -- reading -------------------------------------------------------------------------------

    def get_flow_run(self, run_id_or_prefix: str) -> FlowRunRecord:
        with self._locked():
            if run_id_or_prefix in self._runs:
                return self._out(self._runs[run_id_or_prefix])
            ids = sorted(i for i in self._runs if i.startswith(run_id_or_prefix))
            if not ids:
                raise run_not_found(run_id_or_prefix)
            if len(ids) > 1:
                raise ambiguous_run(run_id_or_prefix, ids)
            return self._out(self._runs[ids[0]])

    def list_flow_runs(
        self,
        *,
        flow: str | None = None,
        deployment: str | None = None,
        states: Collection[str] | None = None,
        since: datetime | None = None,
        limit: int | None = 50,
        parent_run_id: str | None = None,
    ) -> list[FlowRunRecord]:
        check_limit(limit)
        since = None if since is None else as_utc(since, "since")
        with self._locked():
            runs = [
                run
                for run in self._runs.values()
                if (flow is None or run.flow_name == flow)
                and (parent_run_id is None or run.parent_run_id == parent_run_id)
                and (deployment is None or run.deployment == deployment)
                and (states is None or run.state in states)
                and (since is None or run.scheduled_start_time >= since)
            ]
            runs.sort(key=_newest_first_key, reverse=True)
            return [self._out(run) for run in runs[:limit]]

    def unfinished_runs(self) -> list[FlowRunRecord]:
        with self._locked():
            runs = [run for run in self._runs.values() if not run.is_finished]
            runs.sort(key=lambda run: (run.scheduled_start_time, run.id))
            return [self._out(run) for run in runs]

    def task_states(self, run_id: str) -> list[TaskStateChange]:
        with self._locked():
            # A stable sort keeps recording order for changes with equal timestamps.
            return sorted(self._task_states.get(run_id, ()), key=lambda c: c.timestamp)

    def task_runs(self, run_id: str) -> list[TaskRunRecord]:
        return derive_task_runs(self.task_states(run_id))

    def logs(
        self,
        run_id: str,
        *,
        task_key: str | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[LogLine]:
        check_limit(limit)
        with self._locked():
            lines = [
                line
                for line in self._logs.get(run_id, ())
                if (task_key is None or line.task_key == task_key)
                and (after_id is None or (line.id or 0) > after_id)
            ]
            return lines[:limit]

    def results(self, run_id: str) -> list[ResultRow]:
        with self._locked():
            rows = sorted(self._results.get(run_id, ()), key=lambda r: (r[1].timestamp, r[0]))
            return [replace(row, value=_copy(row.value)) for _, row in rows]

    def metrics(
        self, flow_name: str, name: str | None = None, limit: int | None = None
    ) -> list[MetricPoint]:
        check_limit(limit)
        with self._locked():
            found: list[tuple[Any, MetricPoint]] = []
            for run in self._runs.values():
                if run.flow_name != flow_name:
                    continue
                for seq, row in self._results.get(run.id, ()):
                    if row.kind == "metric" and (name is None or row.name == name):
                        key = (run.scheduled_start_time, row.timestamp, seq)
                        found.append((key, _point(run, row)))
        found.sort(key=lambda item: item[0])
        points = [point for _, point in found]
        return points if limit is None else points[len(points) - limit :]

    def events(
        self,
        *,
        after_id: int | None = None,
        limit: int | None = None,
        kinds: Collection[str] | None = None,
        flow_run_id: str | None = None,
        deployment: str | None = None,
    ) -> list[Event]:
        check_limit(limit)
        with self._locked():
            found = [
                replace(event, data=_copy(event.data))
                for event in self._events
                if (after_id is None or (event.id or 0) > after_id)
                and (kinds is None or event.kind in kinds)
                and (flow_run_id is None or event.flow_run_id == flow_run_id)
                and (deployment is None or event.deployment == deployment)
            ]
        return found[:limit]

    def last_event_id(self) -> int:
        with self._locked():
            return self._events[-1].id or 0 if self._events else 0

    # -- concurrency limits --------------------------------------------------------------------

    def set_concurrency_limit(self, tag: str, limit: int, at: datetime) -> None:
        record = ConcurrencyLimit(
            tag=check_tag(tag), limit=check_limit_value(limit), updated_at=as_utc(at, "at")
        )
        with self._locked():
            self._limits[tag] = record

    def delete_concurrency_limit(self, tag: str) -> bool:
        with self._locked():
            if self._limits.pop(tag, None) is None:
                return False
            self._slots_held = [s for s in self._slots_held if s.tag != tag]
            return True

    def concurrency_limits(self) -> list[ConcurrencyLimit]:
        with self._locked():
            return [
                replace(limit, slots=tuple(s for s in self._slots_held if s.tag == tag))
                for tag, limit in sorted(self._limits.items())
            ]

    def acquire_slots(
        self,
        tags: Collection[str],
        *,
        flow_run_id: str,
        task_key: str,
        map_index: int | None,
        at: datetime,
        stale_before: datetime,
    ) -> list[str]:
        at = as_utc(at, "at")
        stale_before = as_utc(stale_before, "stale_before")
        with self._locked():
            self._run(flow_run_id)
            limited = sorted({tag for tag in tags if tag in self._limits})
            if not limited:
                return []
            self._slots_held = [
                s
                for s in self._slots_held
                if not stale(self._runs.get(s.flow_run_id), stale_before)
            ]
            unit = (flow_run_id, task_key, map_index)
            mine = {
                s.tag for s in self._slots_held if (s.flow_run_id, s.task_key, s.map_index) == unit
            }
            full = [
                tag
                for tag in limited
                if tag not in mine
                and sum(s.tag == tag for s in self._slots_held) >= self._limits[tag].limit
            ]
            if full:
                return full
            self._slots_held.extend(
                ConcurrencySlot(
                    tag=tag,
                    flow_run_id=flow_run_id,
                    task_key=task_key,
                    map_index=map_index,
                    acquired_at=at,
                )
                for tag in limited
                if tag not in mine
            )
            return []

    def release_slots(
        self, flow_run_id: str, task_key: str | None = None, map_index: int | None = None
    ) -> int:
        with self._locked():
            kept = [
                s
                for s in self._slots_held
                if s.flow_run_id != flow_run_id
                or (task_key is not None and (s.task_key, s.map_index) != (task_key, map_index))
            ]
            released = len(self._slots_held) - len(kept)
            self._slots_held = kept
            return released

    # -- housekeeping --------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._locked():
            return SCHEMA_VERSION

    def close(self) -> None:
        with self._lock:
            self._closed = True


def _prunable(run: FlowRunRecord, cutoff: datetime) -> bool:
    ended = run.end_time or run.start_time or run.scheduled_start_time
    return run.is_finished and ended < cutoff


def _newest_first_key(run: FlowRunRecord) -> tuple[Any, ...]:
    # Sorted in reverse: scheduled time, then started runs before unstarted ones, then start, id.
    started = run.start_time is not None
    return (run.scheduled_start_time, started, run.start_time or run.scheduled_start_time, run.id)


def _point(run: FlowRunRecord, row: ResultRow) -> MetricPoint:
    assert row.number is not None  # ResultRow guarantees it for metrics
    return MetricPoint(
        flow_run_id=run.id,
        name=row.name,
        number=row.number,
        timestamp=row.timestamp,
        scheduled_start_time=run.scheduled_start_time,
    )
