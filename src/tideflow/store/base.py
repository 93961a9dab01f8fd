"""The run store contract: what every backend promises, written down once.

:class:`RunStore` is the interface between Tideflow and its run history. The engine writes flow
runs, task state changes, log lines and results; the service claims scheduled runs and finds crashed
ones; the CLI and the dashboard read everything back. Backends (:class:`~tideflow.store.memory.
MemoryStore`, :class:`~tideflow.store.sql.SQLStore` on SQLite or PostgreSQL) differ only in where
the data lives: ``tests/store/test_conformance.py`` holds every one of them to the promises below.

The model, in short:

- A flow run is one row identified by a string id. When it belongs to a deployment, the pair
  (deployment, scheduled start time) is unique too: that is the "exactly once per slot" guarantee.
- A run's state follows the lifecycle of :mod:`tideflow.lifecycle` and changes only through the
  named verbs (:meth:`~RunStore.claim`, :meth:`~RunStore.start`, :meth:`~RunStore.finish`,
  :meth:`~RunStore.reschedule`, :meth:`~RunStore.request_cancel`, :meth:`~RunStore.cancel`,
  :meth:`~RunStore.release`), each an atomic read-decide-write of one run (the decisions are in
  :mod:`tideflow.store.verbs`), so two schedulers that race to claim a run cannot both win and
  no backend can write an illegal move.
- Every change is also an :class:`~tideflow.store.records.Event` in the event log, written in
  the same transaction, with ids that increase in the order the changes were made.
- Task history is append-only (state changes, logs, results), written in batches, each batch in
  one transaction: a process killed mid-run leaves everything it had written, and its run is still
  listed by :meth:`RunStore.unfinished_runs` so the service can mark it crashed. Task state
  changes are kept as ``task_runs`` events.
- Every datetime in and out is timezone-aware UTC.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from tideflow.store import verbs
from tideflow.store.errors import (
    AmbiguousRunError,
    DeploymentNotFoundError,
    DuplicateRunError,
    InvalidRecordError,
    RunNotFoundError,
)
from tideflow.store.records import (
    STATE_NAMES,
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
    changes_from_flat,
)
from tideflow.store.slots import ConcurrencyLimit

__all__ = ["AMBIGUOUS_SHOWN", "SCHEMA_VERSION", "RunStore", "deployment_not_found"]

SCHEMA_VERSION = 5
"""The version of the stored data model this release reads and writes (see ``schema.py``)."""

AMBIGUOUS_SHOWN = 5
"""How many matching ids an :class:`AmbiguousRunError` lists."""


class RunStore(abc.ABC):
    """Where flow runs and everything they produce are recorded. Thread-safe in every backend."""

    # -- writing -------------------------------------------------------------------------------

    @abc.abstractmethod
    def upsert_flow(self, flow: FlowRecord) -> None:
        """Record ``flow``, replacing the hash and graph of a flow with the same name."""

    @abc.abstractmethod
    def get_flow(self, name: str) -> FlowRecord | None:
        """The flow called ``name`` as last recorded by :meth:`upsert_flow`, or None."""

    @abc.abstractmethod
    def create_flow_run(self, run: FlowRunRecord) -> None:
        """Record a new flow run.

        Raises:
            DuplicateRunError: a run with ``run.id`` exists, or ``run.deployment`` is set and a
                run of that deployment is already recorded for ``run.scheduled_start_time``.
                The check and the insert are one atomic step, so of two processes creating the
                same slot exactly one succeeds.
        """

    # -- the flow-run lifecycle (see tideflow.lifecycle and tideflow.store.verbs) ----------------

    @abc.abstractmethod
    def _change_run(
        self, run_id: str, decide: verbs.Decision, at: datetime
    ) -> FlowRunRecord | None:
        """Apply ``decide`` to run ``run_id`` atomically: read the run, ask ``decide`` for the
        change, write it and append its events (:func:`~tideflow.store.verbs.events_of`, each
        stamped ``at``) in one transaction that no other change of the run can interleave with.

        Returns:
            The run as changed, or None when ``decide`` declined (nothing is written).

        Raises:
            RunNotFoundError: no run has the id ``run_id`` (an exact id, not a prefix).
        """

    def claim(self, run_id: str, *, at: datetime, host: str, pid: int) -> FlowRunRecord | None:
        """``Scheduled``/``Retrying`` -> ``Claimed`` for process ``pid`` on ``host``, with the
        attempt's deadline (``at`` + the run's timeout). Of concurrent claimers exactly one gets
        the run; the others get None."""
        return self._change_run(run_id, verbs.claim(as_utc(at, "at"), host, pid), at)

    def release(self, run_id: str, *, at: datetime, reason: str) -> FlowRunRecord | None:
        """``Claimed`` -> waiting again (the process named never took the run over)."""
        return self._change_run(run_id, verbs.release(as_utc(at, "at"), reason), at)

    def start(
        self, run_id: str, *, at: datetime, host: str, pid: int, flow_name: str | None = None
    ) -> FlowRunRecord | None:
        """``Claimed`` -> ``Running``, by the process the claim named (``host``, ``pid``) only;
        records the start time, the lateness (first attempt) and the flow's name."""
        return self._change_run(run_id, verbs.start(as_utc(at, "at"), host, pid, flow_name), at)

    def finish(
        self,
        run_id: str,
        state: str,
        message: str | None,
        *,
        at: datetime,
        expected: Collection[str] | None = None,
    ) -> FlowRunRecord | None:
        """The run ends in ``state`` (a final state) if the lifecycle allows it from its
        current state (and that state is one of ``expected``, when given). A failure with
        retries left moves on to ``Retrying`` in the same transaction (see
        :func:`tideflow.store.verbs.finish`).

        Raises:
            InvalidRecordError: ``state`` is not final.
        """
        return self._change_run(
            run_id, verbs.finish(state, message, as_utc(at, "at"), expected), at
        )

    def pause(
        self, run_id: str, *, at: datetime, message: str, host: str, pid: int
    ) -> FlowRunRecord | None:
        """``Running`` -> ``Paused``, by the process that runs it (``host``, ``pid``), which keeps
        holding it while its remaining tasks wait for approval. None otherwise."""
        return self._change_run(run_id, verbs.pause(message, host, pid), at)

    def resume(self, run_id: str, *, at: datetime, message: str) -> FlowRunRecord | None:
        """``Paused`` -> ``Running``: the waiting tasks are approved, and the process holding the
        run runs them. None when the run is not paused."""
        return self._change_run(run_id, verbs.resume(message), at)

    def reschedule(
        self, run_id: str, *, at: datetime, message: str, not_before: datetime | None = None
    ) -> FlowRunRecord | None:
        """A failed run -> ``Retrying`` (another attempt, on request), due at ``not_before``."""
        decide = verbs.reschedule(as_utc(at, "at"), message, not_before)
        return self._change_run(run_id, decide, at)

    def request_cancel(self, run_id: str, *, at: datetime, reason: str) -> FlowRunRecord | None:
        """Ask run ``run_id`` to stop: waiting -> ``Cancelled``; ``Claimed``, ``Running`` or
        ``Paused`` -> ``Cancelling`` (its process ends it, or a service stops the process and
        cancels it with :meth:`cancel`). None when it is already cancelling or finished."""
        return self._change_run(run_id, verbs.request_cancel(as_utc(at, "at"), reason), at)

    def cancel(self, run_id: str, *, at: datetime, message: str) -> FlowRunRecord | None:
        """A run held by a process (``Claimed``, ``Running``, ``Paused``, ``Cancelling``) ->
        ``Cancelled``, once its process is stopped."""
        return self._change_run(run_id, verbs.cancel(as_utc(at, "at"), message), at)

    @abc.abstractmethod
    def heartbeat(self, run_id: str, at: datetime) -> str:
        """Record ``at`` as the latest sign of life of run ``run_id``'s process; the run's
        state (so its process learns of a cancel request).

        Raises:
            RunNotFoundError: no run has the id ``run_id``.
        """

    @abc.abstractmethod
    def record_task_states(self, changes: Sequence[TaskStateChange]) -> None:
        """Append task state changes, all in one transaction (all or none are kept).

        Raises:
            RunNotFoundError: a change names a flow run that does not exist; nothing is kept.
        """

    def record_task_state_rows(self, flow_run_id: str, flat: Sequence[Any]) -> None:
        """:meth:`record_task_states` for the engine's hot path: the changes of run
        ``flow_run_id`` as a flat sequence, :data:`~tideflow.store.records.STATE_ROW_WIDTH`
        values per change (``task_key, task_name, map_index, state, message, timestamp``), which
        the caller guarantees are valid (they come from State objects). Backends may store them
        without building records; the promise is the same."""
        self.record_task_states(changes_from_flat(flow_run_id, flat))

    @abc.abstractmethod
    def record_logs(self, lines: Sequence[LogLine]) -> None:
        """Append log lines in one transaction; the store gives each a new, increasing id.

        Raises:
            RunNotFoundError: a line names a flow run that does not exist; nothing is kept.
        """

    @abc.abstractmethod
    def record_results(self, rows: Sequence[ResultRow]) -> None:
        """Append results, artifacts and metrics in one transaction.

        Raises:
            RunNotFoundError: a row names a flow run that does not exist; nothing is kept.
        """

    @abc.abstractmethod
    def record_event(self, event: Event) -> int:
        """Append ``event`` (an action, typically) to the event log; its id."""

    @abc.abstractmethod
    def prune(self, older_than: datetime) -> int:
        """Delete finished runs that ended before ``older_than``, with their task states, logs,
        results and events, and the events of no run from before ``older_than``. A run
        without an end time counts by its start, then its scheduled time. Unfinished runs are
        never deleted, however old.

        Returns:
            The number of flow runs deleted.
        """

    # -- reading -------------------------------------------------------------------------------

    @abc.abstractmethod
    def get_flow_run(self, run_id_or_prefix: str) -> FlowRunRecord:
        """The run whose id is ``run_id_or_prefix``, or else the one run whose id starts with it.

        Raises:
            RunNotFoundError: no id starts with the prefix (the message names it).
            AmbiguousRunError: several ids start with it (the message names the prefix and up
                to :data:`AMBIGUOUS_SHOWN` of them).
        """

    @abc.abstractmethod
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
        """Runs matching every filter given, newest first, at most ``limit`` (None: all).
        ``parent_run_id`` keeps the runs that run started (its child runs).

        ``states`` are exact state names (``{"Failed"}`` does not include ``TimedOut``);
        ``since`` keeps runs scheduled at or after it. Order: scheduled start time descending,
        then start time descending (runs not started yet last), then id descending.
        """

    @abc.abstractmethod
    def unfinished_runs(self) -> list[FlowRunRecord]:
        """Every run not in a finished state (waiting, active or paused), oldest scheduled
        first. The service plans with them and checks their processes to find crashed runs."""

    @abc.abstractmethod
    def task_states(self, run_id: str) -> list[TaskStateChange]:
        """Run ``run_id``'s task state changes by time (ties in recording order); [] if unknown."""

    @abc.abstractmethod
    def task_runs(self, run_id: str) -> list[TaskRunRecord]:
        """Run ``run_id``'s task runs, derived from its state changes (see
        :func:`~tideflow.store.records.derive_task_runs`), by first change; [] if unknown."""

    @abc.abstractmethod
    def logs(
        self,
        run_id: str,
        *,
        task_key: str | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[LogLine]:
        """Run ``run_id``'s log lines by increasing id: only task ``task_key``'s when given, only
        those with an id above ``after_id`` when given (to follow a running run), the first
        ``limit`` of them when given; [] if the run is unknown."""

    @abc.abstractmethod
    def results(self, run_id: str) -> list[ResultRow]:
        """Run ``run_id``'s results, artifacts and metrics by time, then recording order."""

    @abc.abstractmethod
    def metrics(
        self, flow_name: str, name: str | None = None, limit: int | None = None
    ) -> list[MetricPoint]:
        """Metric values recorded by runs of ``flow_name`` (only metric ``name`` when given),
        oldest first by the run's scheduled time, then recording time. With ``limit``, the latest
        ``limit`` points, still oldest first."""

    @abc.abstractmethod
    def events(
        self,
        *,
        after_id: int | None = None,
        limit: int | None = None,
        kinds: Collection[str] | None = None,
        flow_run_id: str | None = None,
        deployment: str | None = None,
    ) -> list[Event]:
        """Events by increasing id: those after ``after_id`` when given, of the given ``kinds``,
        run and deployment, at most ``limit``. An event is visible only once every event with
        a smaller id is: a reader that goes on from the last id it saw misses none."""

    @abc.abstractmethod
    def last_event_id(self) -> int:
        """The id of the latest event (0 when there is none): where a follower starts."""

    # -- deployments ---------------------------------------------------------------------------

    def upsert_deployment(
        self, name: str, spec: dict[str, Any], at: datetime, *, paused: bool | None = None
    ) -> None:
        """Register deployment ``name`` with ``spec`` (JSON), or replace the spec of an existing
        one. A new deployment is created at ``at``, paused if ``paused`` is True; an existing
        one keeps its creation time and last fire time, and its paused flag unless ``paused``
        is given. Appends a ``deployment`` event (``created``, or ``updated`` when the spec or
        paused flag changed)."""
        self.upsert_deployments([(name, spec, paused)], at)

    @abc.abstractmethod
    def upsert_deployments(
        self, items: Sequence[tuple[str, dict[str, Any], bool | None]], at: datetime
    ) -> None:
        """:meth:`upsert_deployment` for each ``(name, spec, paused)``, all in one transaction
        (registering thousands of deployments from a file costs one commit)."""

    @abc.abstractmethod
    def get_deployment(self, name: str) -> DeploymentRecord | None:
        """Deployment ``name``, or None."""

    @abc.abstractmethod
    def list_deployments(self) -> list[DeploymentRecord]:
        """Every deployment, by name."""

    @abc.abstractmethod
    def deployment_versions(self) -> list[DeploymentVersion]:
        """Every deployment's name, last change and last planned fire time, by name: what a
        service reads each tick to learn which specs it must read again."""

    @abc.abstractmethod
    def delete_deployment(self, name: str, at: datetime) -> bool:
        """Forget deployment ``name`` (its runs stay in the history), with a ``deleted`` event.
        False if it was unknown."""

    @abc.abstractmethod
    def set_deployment_paused(self, name: str, paused: bool, at: datetime) -> bool:
        """Pause or resume deployment ``name``; whether that changed it (a ``paused`` or
        ``resumed`` event is appended when it did).

        Raises:
            DeploymentNotFoundError: no deployment is called ``name``.
        """

    @abc.abstractmethod
    def advance_deployment(self, name: str, last_fire: datetime) -> None:
        """Record that the schedule of ``name`` has been planned up to ``last_fire``; the stored
        value only ever moves forward (an earlier ``last_fire`` is ignored).

        Raises:
            DeploymentNotFoundError: no deployment is called ``name``.
        """

    # -- concurrency limits (see tideflow.store.slots) ------------------------------------------

    @abc.abstractmethod
    def set_concurrency_limit(self, tag: str, limit: int, at: datetime) -> None:
        """At most ``limit`` task runs tagged ``tag`` run at once from now on (slots held
        beyond a lowered limit are kept until released; no new one is given meanwhile).

        Raises:
            InvalidRecordError: ``tag`` is empty or ``limit`` is not a whole number >= 0.
        """

    @abc.abstractmethod
    def delete_concurrency_limit(self, tag: str) -> bool:
        """Lift the limit on ``tag`` (its slots go with it); False when there was none."""

    @abc.abstractmethod
    def concurrency_limits(self) -> list[ConcurrencyLimit]:
        """Every limit with the slots held now, by tag."""

    @abc.abstractmethod
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
        """Take one slot of every limited tag in ``tags`` for task run ``task_key``
        (``map_index``) of run ``flow_run_id``, all or none, in one atomic step: of concurrent
        callers, no more than a limit's number hold its slots. Slots of runs that ended or whose
        latest sign of life is older than ``stale_before`` are reclaimed first. A task run that
        holds a slot of a tag already keeps it (acquiring again is harmless); tags without a
        limit need none.

        Returns:
            The limited tags that had no free slot, sorted ([] when the task run may start).

        Raises:
            RunNotFoundError: no run has the id ``flow_run_id``.
        """

    @abc.abstractmethod
    def release_slots(
        self, flow_run_id: str, task_key: str | None = None, map_index: int | None = None
    ) -> int:
        """Give back the slots task run ``task_key`` (``map_index``) of run ``flow_run_id``
        holds, or, with no ``task_key``, every slot of the run. How many were released."""

    # -- housekeeping --------------------------------------------------------------------------

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the data this store holds (:data:`SCHEMA_VERSION` once open)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and files. Idempotent; any later call raises StoreClosedError."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- helpers shared by the backends, so they word their errors identically ----------------------


def check_state(state: str) -> str:
    """``state`` if it names a state class, else :class:`InvalidRecordError`."""
    if state not in STATE_NAMES:
        raise InvalidRecordError(f"unknown state name {state!r}; known: {sorted(STATE_NAMES)}")
    return state


def check_limit(limit: int | None) -> None:
    """Refuse negative limits, which SQL backends would read as "no limit"."""
    if limit is not None and (isinstance(limit, bool) or limit < 0):
        raise ValueError(f"limit must be None or an integer >= 0, got {limit!r}")


def run_not_found(prefix: str) -> RunNotFoundError:
    """The error for a run id or prefix that matches nothing."""
    return RunNotFoundError(f"no flow run has an id starting with {prefix!r}")


def ambiguous_run(prefix: str, ids: Sequence[str]) -> AmbiguousRunError:
    """The error for a prefix matching ``ids`` (sorted; one more than shown means "and more")."""
    shown = ", ".join(ids[:AMBIGUOUS_SHOWN])
    more = " and more" if len(ids) > AMBIGUOUS_SHOWN else ""
    return AmbiguousRunError(
        f"run id prefix {prefix!r} is ambiguous: it matches {shown}{more}; give more characters"
    )


def missing_runs(ids: Collection[str]) -> RunNotFoundError:
    """The error for records that name flow runs not in the store."""
    listed = ", ".join(sorted(ids))
    return RunNotFoundError(
        f"no flow run with id {listed}; record the run with create_flow_run() first"
    )


def duplicate_id(run_id: str) -> DuplicateRunError:
    """The error for creating a run whose id exists."""
    return DuplicateRunError(f"a flow run with id {run_id!r} already exists")


def duplicate_slot(run: FlowRunRecord, existing_id: str) -> DuplicateRunError:
    """The error for creating a second run of one deployment for one scheduled time."""
    return DuplicateRunError(
        f"deployment {run.deployment!r} already has a run scheduled at "
        f"{run.scheduled_start_time.isoformat()} (run {existing_id}); "
        f"each (deployment, scheduled time) slot runs once, so run {run.id} was not created"
    )


def deployment_event(
    old: DeploymentRecord | None, new: DeploymentRecord, at: datetime
) -> Event | None:
    """The ``deployment`` event of an upsert from ``old`` to ``new``; None when nothing changed."""
    if old is None:
        name = "created"
    elif old.spec == new.spec and old.paused == new.paused:
        return None
    else:
        name = "updated"
    data = {"paused": new.paused}
    return Event(kind="deployment", name=name, at=at, deployment=new.name, data=data)


def pause_event(name: str, paused: bool, at: datetime) -> Event:
    """The event of deployment ``name`` being paused or resumed."""
    return Event(kind="deployment", name="paused" if paused else "resumed", at=at, deployment=name)


def task_change_row(change: TaskStateChange) -> list[Any]:
    """A task state change as the row an event's ``data["changes"]`` lists it in."""
    return [
        change.task_key,
        change.task_name,
        change.map_index,
        change.state,
        change.message,
        change.timestamp.isoformat(),
    ]


def task_runs_event(run_id: str, changes: Sequence[TaskStateChange]) -> Event:
    """The ``task_runs`` event of a batch of task state changes of run ``run_id``."""
    return Event(
        kind="task_runs",
        name="states",
        at=max(change.timestamp for change in changes),
        flow_run_id=run_id,
        data={"changes": [task_change_row(change) for change in changes]},
    )


def deployment_not_found(name: str) -> DeploymentNotFoundError:
    """The error for a deployment name that matches nothing."""
    return DeploymentNotFoundError(
        f"no deployment is called {name!r}; `tideflow deployments` lists them"
    )
