"""Recording a flow run into a run store, as a run observer.

:class:`StoreRecorder` writes the flow (name, graph hash, graph) and the flow run when the run
starts; then, as they happen, every task state change, every log line of the run (task loggers,
the flow logger, and any logger a task uses while it runs; records replayed from Dask workers
included), each task's metrics and artifacts (:mod:`tideflow.results`) and the return value of
tasks marked ``checkpoint=True`` (or where a task's ``Result`` wrote it, see
:mod:`tideflow.engine.persistence`); and the run's final state when it ends.

Everything but the first and last write goes through a :class:`~tideflow.engine.run_writer.
RunWriter`, the helper every run process shares: buffers flushed every
:data:`~tideflow.engine.run_writer.FLUSH_SECONDS` by one thread, which also beats the run's
heartbeat. A run the service claimed for this process is taken over (``Claimed -> Running``);
a direct ``flow.run()`` is created ``Running``. A run whose process dies keeps what was written
and stays unfinished in the store (``RunStore.unfinished_runs``) until a service marks it
``Crashed``.

A run whose remaining tasks wait for approval is *held* (:meth:`StoreRecorder.hold_paused`): the
recorder moves it to ``Paused`` in the store, and the run's process keeps it (and its heartbeat)
while the run loop polls the store every :data:`PAUSE_POLL_SECONDS` until someone resumes it
(``tideflow resume-run``, :func:`tideflow.actions.resume_run`: back to ``Running``) or cancels
it.

Recording never fails a run: a store error is logged once as a warning, what could not be
written is kept for the next flush, and the final state is retried with back-off. A direct run
whose store cannot even record its start runs unrecorded, with a warning.

Log lines are kept from INFO up. When the ``tideflow`` logger has no level of its own and would
inherit a higher one, the recorder sets it to INFO, so the history is complete however the console
is configured.

With ``TIDEFLOW_RETENTION`` set to a duration (``30d``), finished runs older than that are
pruned after a run ends, at most once an hour per process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tideflow import lifecycle
from tideflow.context import context
from tideflow.durations import parse_duration
from tideflow.engine.logs import ROOT, capturing, flow_logger
from tideflow.engine.observers import Approval, FlowRunInfo, PauseHold, RunObserver
from tideflow.engine.persistence import LOCATION_ARTIFACT
from tideflow.engine.run_writer import (
    FLUSH_SECONDS,
    HEARTBEAT_SECONDS,
    HOST,
    RunNotClaimedError,
    RunWriter,
    claimant_pids,
    record_final_state,
    take_over,
)
from tideflow.secrets import mask, register_secret
from tideflow.store.base import RunStore
from tideflow.store.errors import InvalidRecordError, StoreError
from tideflow.store.records import FlowRecord, FlowRunRecord, LogLine, ResultRow

if TYPE_CHECKING:
    from collections import deque

    from tideflow.flow import Flow
    from tideflow.results import Output
    from tideflow.states import State
    from tideflow.task import Task

__all__ = [
    "FLUSH_SECONDS",
    "HEARTBEAT_SECONDS",
    "PAUSE_POLL_SECONDS",
    "RunNotClaimedError",
    "StoreRecorder",
    "graph_hash",
    "record_final_state",
]

PRUNE_EVERY_SECONDS = 3600.0
PAUSE_POLL_SECONDS = 1.0
"""How often a paused run's process reads its run's state, waiting for the resume."""
_last_prune: float | None = None


def graph_hash(graph: dict[str, Any]) -> str:
    """A stable hash of a graph's plain-data form (changes when tasks or edges change)."""
    return hashlib.sha256(json.dumps(graph, sort_keys=True).encode()).hexdigest()


def json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with anything JSON cannot hold replaced by its repr."""
    return json.loads(json.dumps(value, default=repr))  # type: ignore[no-any-return]


# Per store, the graph hash last written for each flow name, and per flow its graph's plain form and
# hash: a flow run again and again (a schedule) neither re-hashes nor re-writes its graph.
# Graphs only ever grow, so (node count, edge count) tells whether a cached form is current.
_written: weakref.WeakKeyDictionary[RunStore, dict[str, str]] = weakref.WeakKeyDictionary()
_hashed: weakref.WeakKeyDictionary[Flow, tuple[int, int, str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _record_flow(store: RunStore, flow: Flow) -> None:
    graph = flow.graph
    size = (len(graph.nodes), len(graph.edges))
    cached = _hashed.get(flow)
    if cached is None or cached[:2] != size:
        plain = graph.to_dict()
        cached = (*size, graph_hash(plain), plain)
        _hashed[flow] = cached
    digest, plain = cached[2], cached[3]
    written = _written.setdefault(store, {})
    if written.get(flow.name) != digest:
        store.upsert_flow(FlowRecord(name=flow.name, graph_hash=digest, graph=plain))
        written[flow.name] = digest


class StoreRecorder(RunObserver):
    """Records one flow run into ``store``; see the module docstring.

    Args:
        store: where to write.
        deployment: the deployment the run belongs to, if any.
        claimed: the run's row already exists (a service created it and claimed it for this
            process): take it over instead of creating it. If it is not claimed for this
            process, the run does not start (:class:`RunNotClaimedError`).
        parent: the run and task (key, ``key[i]`` for a mapped child) that started this run.
    """

    def __init__(
        self,
        store: RunStore,
        *,
        deployment: str | None = None,
        claimed: bool = False,
        parent: tuple[str, str] | None = None,
    ) -> None:
        self.store = store
        self.deployment = deployment
        self.parent = parent
        self.claimed = claimed
        self._writer: RunWriter | None = None
        self._logs: _LogForwarder | None = None

    # -- observer hooks ------------------------------------------------------------------------

    def flow_run_started(self, run: FlowRunInfo) -> None:
        if self.claimed:
            _record_flow(self.store, run.flow)
            take_over(self.store, run.flow_run_id, run.started_at, run.flow.name)
        elif not self._create(run):
            return
        root = logging.getLogger(ROOT)
        if root.level == logging.NOTSET and root.getEffectiveLevel() > logging.INFO:
            # An application that set only the root logger's level (to WARNING, say) still gets
            # its runs' INFO lines in the history, as Prefect's INFO default gave them.
            root.setLevel(logging.INFO)
        self._writer = RunWriter(self.store, run.flow_run_id, logger=flow_logger())
        self._logs = _LogForwarder(run.flow_run_id, self._writer.rows)
        logging.getLogger().addHandler(self._logs)
        self._writer.begin()

    def _create(self, run: FlowRunInfo) -> bool:
        """Record a direct run as ``Running``; False (with a warning) if the store refuses."""
        try:
            _record_flow(self.store, run.flow)
            self.store.create_flow_run(
                FlowRunRecord(
                    id=run.flow_run_id,
                    flow_name=run.flow.name,
                    deployment=self.deployment,
                    parameters=json_safe(run.parameters),
                    scheduled_start_time=run.scheduled_start_time,
                    start_time=run.started_at,
                    end_time=None,
                    state="Running",
                    state_message=None,
                    lateness=(run.started_at - run.scheduled_start_time).total_seconds(),
                    host=HOST,
                    pid=os.getpid(),
                    heartbeat=run.started_at,
                    parent_run_id=None if self.parent is None else self.parent[0],
                    parent_task=None if self.parent is None else self.parent[1],
                )
            )
        except StoreError as exc:
            flow_logger().warning("This run is not recorded: %s", exc)
            return False
        return True

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        writer = self._writer
        if writer is None:
            return
        secret = getattr(task, "is_secret", False)
        if secret and state.is_successful():
            register_secret(state.result)  # it may have been read on another machine
        message = state.message
        # One extend, atomic under the GIL, so the writer never sees half a change.
        writer.states.extend(
            (
                key,
                task.name,
                map_index,
                type(state).__name__,
                message and mask(message),
                state.timestamp,
            )
        )
        outputs: list[Output] | None = state.context.get("outputs")
        if outputs:
            for output in outputs:
                writer.rows.append(_result_row(run.flow_run_id, key, map_index, output))
        persisted = state.context.get("persisted") if state.context else None
        if persisted is not None and not secret:
            self._persisted(writer, run.flow_run_id, key, task, state, map_index, persisted)
        elif task.checkpoint and not secret and state.is_successful() and not state.is_skipped():
            self._checkpoint(writer, run.flow_run_id, key, task, state, map_index)

    def hold_paused(self, run: FlowRunInfo, waiting: Sequence[str]) -> PauseHold | None:
        if self._writer is None:
            return None
        return _StoreHold(self.store, run.flow_run_id, waiting)

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        if self._logs is not None:
            logging.getLogger().removeHandler(self._logs)
        if self._writer is None:
            return
        self._writer.end(state.name, state.message and mask(state.message), state.timestamp)
        _prune_if_due(self.store)

    # -- internals -----------------------------------------------------------------------------

    @classmethod
    def _persisted(
        cls,
        writer: RunWriter,
        run_id: str,
        key: str,
        task: Task,
        state: State,
        map_index: int | None,
        persisted: tuple[str, str | None],
    ) -> None:
        """Where a Result put the task's value (or the value, for a PrefectResult), so that
        ``tideflow retry --from-failed`` can read it back."""
        kind, location = persisted
        if kind == "store":
            cls._checkpoint(writer, run_id, key, task, state, map_index)
            return
        writer.rows.append(
            ResultRow(
                flow_run_id=run_id,
                task_key=key,
                map_index=map_index,
                name=LOCATION_ARTIFACT,
                kind="artifact",
                value=location,
                number=None,
                timestamp=state.timestamp,
            )
        )

    @staticmethod
    def _checkpoint(
        writer: RunWriter, run_id: str, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        try:
            row = ResultRow(
                flow_run_id=run_id,
                task_key=key,
                map_index=map_index,
                name=task.name,
                kind="result",
                value=state.result,
                number=None,
                timestamp=state.timestamp,
            )
        except InvalidRecordError:
            flow_logger().warning(
                "Task %r has checkpoint=True but returned a %s, which is not "
                "JSON-serialisable; its result was not kept. Return a dict, list, string or "
                "number, or keep a summary with tideflow.log_artifact().",
                key,
                type(state.result).__name__,
            )
            return
        writer.rows.append(row)


class _StoreHold:
    """A run held ``Paused`` in the store by this process; see the module docstring."""

    def __init__(self, store: RunStore, run_id: str, waiting: Sequence[str]) -> None:
        self.store = store
        self.run_id = run_id
        self.interval = PAUSE_POLL_SECONDS
        self._warned = False
        shown = ", ".join(waiting[:5]) + (
            f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        )
        message = f"Waiting for approval of {shown}: tideflow resume-run {run_id}"
        try:
            current = store.get_flow_run(run_id)
            pid = current.pid if current.pid in claimant_pids() else os.getpid()
            paused = store.pause(run_id, at=datetime.now(UTC), message=message, host=HOST, pid=pid)
        except StoreError as exc:
            flow_logger().warning("Run %s could not be paused in the run store: %s", run_id, exc)
            paused = None
        # Not paused (it is being cancelled, held by another process, or the store failed): it
        # is never "resumed", so its paused tasks never run without an approval.
        self._paused = paused is not None

    def poll(self) -> Approval:
        try:
            state = self.store.get_flow_run(self.run_id).state
        except StoreError as exc:  # a dropped connection: the run still waits
            if not self._warned:
                self._warned = True
                flow_logger().warning("Run %s: reading its state failed (%s)", self.run_id, exc)
            return "waiting"
        if state == lifecycle.PAUSED:
            return "waiting"
        if state == lifecycle.RUNNING:
            return "resumed" if self._paused else "ended"
        if state == lifecycle.CANCELLING:
            return "cancelled"
        return "ended"


def _result_row(run_id: str, key: str, map_index: int | None, output: Output) -> ResultRow:
    return ResultRow(
        flow_run_id=run_id,
        task_key=key,
        map_index=map_index,
        name=output.name,
        kind=output.kind,
        value=output.value,
        number=output.number,
        timestamp=output.timestamp,
    )


class _LogForwarder(logging.Handler):
    """Queues the log records of one flow run as :class:`LogLine` rows.

    A record belongs to the run when it carries the run's id (records replayed from another
    process are stamped where they were made, see :mod:`tideflow.engine.logs`) or, failing that,
    when it is emitted while the run's context is current (the flow loop and local tasks).
    """

    def __init__(self, run_id: str, out: deque[LogLine | ResultRow]) -> None:
        super().__init__(logging.INFO)
        self.run_id = run_id
        self.out = out
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        run_id = getattr(record, "tideflow_run_id", None)
        if run_id is not None:
            key = getattr(record, "tideflow_task_key", None)
            index = getattr(record, "tideflow_map_index", None)
        elif capturing():  # captured where it was made; it is recorded when replayed
            return
        else:
            run_id = context.get("flow_run_id")
            key = context.get("task_key")
            index = context.get("map_index")
        if run_id != self.run_id:
            return
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        message = mask(message)
        self.out.append(
            LogLine(
                flow_run_id=run_id,
                task_key=key,
                map_index=index,
                timestamp=datetime.fromtimestamp(record.created, UTC),
                level=record.levelname,
                logger=record.name,
                message=message,
            )
        )


def _prune_if_due(store: RunStore) -> None:
    """Apply ``TIDEFLOW_RETENTION`` (at most once per :data:`PRUNE_EVERY_SECONDS`)."""
    global _last_prune
    setting = os.environ.get("TIDEFLOW_RETENTION", "").strip()
    if not setting:
        return
    now = time.monotonic()
    if _last_prune is not None and now - _last_prune < PRUNE_EVERY_SECONDS:
        return
    _last_prune = now
    log = flow_logger()
    try:
        keep = parse_duration(setting)
    except ValueError as exc:
        log.warning("TIDEFLOW_RETENTION=%r is not a duration (%s); nothing pruned", setting, exc)
        return
    try:
        deleted = store.prune(datetime.now(UTC) - keep)
    except Exception as exc:
        log.warning("pruning the run store failed: %s", exc)
        return
    if deleted:
        log.info("Pruned %d run(s) that ended more than %s ago", deleted, setting)
