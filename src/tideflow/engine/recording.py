"""Recording a flow run into a run store, as a run observer.

:class:`StoreRecorder` writes the flow (name, graph hash, graph) and the flow run when the run
starts; then, as they happen, every task state change, every log line of the run (task loggers,
the flow logger, and any logger a task uses while it runs; records replayed from Dask workers
included), each task's metrics and artifacts (:mod:`tideflow.results`) and the return value of
tasks marked ``checkpoint=True``; and the run's final state when it ends.

Everything but the first and last write is appended to in-memory buffers (state changes to a
flat list, one ``extend`` per change: no object per change for the garbage collector to walk)
that one writer thread flushes every :data:`FLUSH_SECONDS`, each flush one insert per kind of
record. The writer also beats the run's heartbeat every :data:`HEARTBEAT_SECONDS`, which is how
the service tells a live run from a dead one. :meth:`StoreRecorder.flow_run_finished` stops the
writer after a last flush and writes the final state before ``flow.run()`` returns. A run whose
process dies keeps what was written and stays unfinished in the store
(``RunStore.unfinished_runs``).

Recording never fails a run: a store error is logged once as a warning, what could not be
written is kept for the next flush, and the final state is retried with back-off
(:func:`record_final_state`).

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
import socket
import threading
import time
import weakref
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tideflow.context import context
from tideflow.durations import parse_duration
from tideflow.engine.logs import ROOT, flow_logger
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.store.base import RunStore
from tideflow.store.errors import InvalidRecordError, StoreError
from tideflow.store.records import (
    STATE_ROW_WIDTH,
    FlowRecord,
    FlowRunRecord,
    LogLine,
    ResultRow,
)

if TYPE_CHECKING:
    from tideflow.flow import Flow
    from tideflow.results import Output
    from tideflow.states import State
    from tideflow.task import Task

FLUSH_SECONDS = 0.2
HEARTBEAT_SECONDS = 10.0
PRUNE_EVERY_SECONDS = 3600.0
_last_prune: float | None = None


class RunNotClaimedError(StoreError):
    """A claimed run was no longer Pending when its process went to start it."""


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
        claimed: the run's row already exists (the service created it and claimed it for this
            process): move it from ``Pending`` to ``Running``, taking it over (flow name, host,
            pid), instead of creating it. If it is no longer ``Pending``, the run does not start
            (:class:`RunNotClaimedError`).
    """

    def __init__(
        self, store: RunStore, *, deployment: str | None = None, claimed: bool = False
    ) -> None:
        self.store = store
        self.deployment = deployment
        self.claimed = claimed
        self._states: list[Any] = []  # flat, see STATE_ROW_WIDTH
        self._other: deque[LogLine | ResultRow] = deque()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._logs: _LogForwarder | None = None
        self._failed = False
        self._run_id = ""

    # -- observer hooks ------------------------------------------------------------------------

    def flow_run_started(self, run: FlowRunInfo) -> None:
        self._run_id = run.flow_run_id
        lateness = (run.started_at - run.scheduled_start_time).total_seconds()
        _record_flow(self.store, run.flow)
        if self.claimed:
            taken = self.store.set_flow_run_state(
                run.flow_run_id,
                "Running",
                "Running flow.",
                run.started_at,
                expected={"Pending"},
                start_time=run.started_at,
                lateness=lateness,
                flow_name=run.flow.name,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
            if not taken:
                state = self.store.get_flow_run(run.flow_run_id).state
                raise RunNotClaimedError(
                    f"flow run {run.flow_run_id} is {state}, not Pending: it was not claimed "
                    "for this process (another process started it, or it was marked crashed), "
                    "so it is not run again"
                )
        else:
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
                    lateness=lateness,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    heartbeat=run.started_at,
                )
            )
        root = logging.getLogger(ROOT)
        if root.level == logging.NOTSET and root.getEffectiveLevel() > logging.INFO:
            # An application that set only the root logger's level (to WARNING, say) still gets
            # its runs' INFO lines in the history, as Prefect's INFO default gave them.
            root.setLevel(logging.INFO)
        self._logs = _LogForwarder(run.flow_run_id, self._other)
        logging.getLogger().addHandler(self._logs)
        self._writer = threading.Thread(target=self._write, name="tideflow-recorder", daemon=True)
        self._writer.start()

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        # One extend, atomic under the GIL, so the writer never sees half a change.
        self._states.extend(
            (key, task.name, map_index, type(state).__name__, state.message, state.timestamp)
        )
        outputs: list[Output] | None = state.context.get("outputs")
        if outputs:
            for output in outputs:
                self._other.append(_result_row(run.flow_run_id, key, map_index, output))
        if task.checkpoint and state.is_successful() and not state.is_skipped():
            self._checkpoint(run.flow_run_id, key, task, state, map_index)

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        if self._logs is not None:
            logging.getLogger().removeHandler(self._logs)
        if self._writer is not None:
            self._stop.set()
            self._writer.join()
        record_final_state(self.store, run.flow_run_id, state.name, state.message, state.timestamp)
        _prune_if_due(self.store)

    # -- internals -----------------------------------------------------------------------------

    def _checkpoint(
        self, run_id: str, key: str, task: Task, state: State, map_index: int | None
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
        self._other.append(row)

    def _write(self) -> None:
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        stopping = False
        while not stopping:
            stopping = self._stop.wait(FLUSH_SECONDS)
            self._flush()
            if time.monotonic() >= next_beat:
                self._guard(self.store.heartbeat, self._run_id, datetime.now(UTC))
                next_beat = time.monotonic() + HEARTBEAT_SECONDS
        # The run is over: what could not be written yet gets a few more tries.
        for attempt in range(1, FINAL_ATTEMPTS):
            if not self._states and not self._other:
                return
            time.sleep(RETRY_BACKOFF * 2**attempt)
            self._flush()
        if self._states or self._other:
            flow_logger().error(
                "Run %s: %d task state change(s) and %d log line(s) or result(s) were not recorded",
                self._run_id,
                len(self._states) // STATE_ROW_WIDTH,
                len(self._other),
            )

    def _flush(self) -> None:
        # Take the changes recorded so far; the loop goes on appending behind them meanwhile.
        buffer = self._states
        count = len(buffer)
        states = buffer[:count]
        del buffer[:count]
        if states and not self._guard(self.store.record_task_state_rows, self._run_id, states):
            buffer[0:0] = states  # kept, in order, for the next flush
        other = _drain(self._other)
        for kind, write in (
            (LogLine, self.store.record_logs),
            (ResultRow, self.store.record_results),
        ):
            rows = [r for r in other if type(r) is kind]
            if rows and not self._guard(write, rows):
                self._other.extendleft(reversed(rows))

    def _guard(self, write: Any, *args: Any) -> bool:
        """Call ``write``; on a store error warn (once) and report False: the caller keeps what
        it could not write for the next flush. Recording never fails the run."""
        try:
            write(*args)
        except Exception as exc:
            if not self._failed:
                self._failed = True
                flow_logger().warning(
                    "Run %s: recording into the run store failed (%s); the run goes on and the "
                    "recorder keeps trying",
                    self._run_id,
                    exc,
                )
            return False
        return True


FINAL_ATTEMPTS = 6
"""How often the final state (and what is left to write at the end of a run) is tried before
giving up: at once, then after 0.25, 0.5, 1, 2 and 4 s (:data:`RETRY_BACKOFF` doubled)."""
RETRY_BACKOFF = 0.125


def record_final_state(
    store: RunStore, run_id: str, state: str, message: str | None, at: datetime
) -> bool:
    """Write run ``run_id``'s final ``state``, if it is still ``Running``; whether it was.

    A store error (a locked file, a dropped connection) is retried with back-off: a final state
    that is not written leaves a run that looks crashed, and the service would run it again.
    A run no longer ``Running`` was marked by the service meanwhile (crashed, timed out,
    cancelled) and is left as the service decided.
    """
    error: Exception | None = None
    for attempt in range(FINAL_ATTEMPTS):
        if attempt:
            time.sleep(RETRY_BACKOFF * 2**attempt)
        try:
            written = store.set_flow_run_state(
                run_id, state, message, at, expected={"Running"}, end_time=at
            )
        except Exception as exc:
            error = exc
            continue
        if not written:
            now = store.get_flow_run(run_id).state
            flow_logger().warning(
                "Run %s ended %s, but it was marked %s meanwhile; that is kept",
                run_id,
                state,
                now,
            )
        return written
    flow_logger().error(
        "Run %s: its final state %s could not be recorded: %s", run_id, state, error
    )
    return False


def _drain(buffer: deque[Any]) -> list[Any]:
    """Take what is in ``buffer`` now; other threads may go on appending meanwhile."""
    return [buffer.popleft() for _ in range(len(buffer))]


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
