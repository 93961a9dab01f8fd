"""Holding a flow run in the store while it runs: take it over, keep writing, beat, finish.

Whatever a run executes (a Tideflow flow, a plain callable, a command), the process that runs it
does the same four things with the store, and :class:`RunWriter` is the one place they live:

1. **take the run over**: a run a service claimed for this process moves ``Claimed -> Running``
   (:func:`take_over`; only the process the claim names may do it), a run started directly
   (``flow.run()``) is created ``Running``;
2. **keep writing**: task state changes, log lines and results are appended to in-memory buffers
   that one writer thread flushes every :data:`FLUSH_SECONDS` (one insert per kind of record), so
   recording stays off the run's critical path;
3. **beat**: the same thread records the run's heartbeat every :data:`HEARTBEAT_SECONDS`, which
   is how a service on another host tells a live run from a dead one; the store answers with the
   run's state, passed to ``on_state`` (a run asked to stop reads ``Cancelling`` there);
4. **finish**: stop the thread after a last flush and write the final state, retried with
   back-off, since a final state that is not written leaves a run that looks crashed.

Recording never fails a run: a store error while writing is logged once as a warning and what
could not be written is kept for the next flush.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psutil

from tideflow import lifecycle
from tideflow.store.base import RunStore
from tideflow.store.errors import StoreError
from tideflow.store.records import STATE_ROW_WIDTH, FlowRunRecord, LogLine, ResultRow

__all__ = [
    "FINAL_ATTEMPTS",
    "FLUSH_SECONDS",
    "HEARTBEAT_SECONDS",
    "HOST",
    "RunNotClaimedError",
    "RunWriter",
    "claimant_pids",
    "claimed_here",
    "record_final_state",
    "take_over",
    "wait_for_claim",
]

FLUSH_SECONDS = 0.2
HEARTBEAT_SECONDS = 10.0
FINAL_ATTEMPTS = 6
"""How often the final state (and what is left to write at the end of a run) is tried before
giving up: at once, then after 0.25, 0.5, 1, 2 and 4 s (:data:`RETRY_BACKOFF` doubled)."""
RETRY_BACKOFF = 0.125
CLAIM_POLL_SECONDS = 0.05
HOST = socket.gethostname()

log = logging.getLogger("tideflow.flow")


class RunNotClaimedError(StoreError):
    """A run was not claimed for this process when it went to take it over."""


def claimant_pids() -> frozenset[int]:
    """The pids a claim for this process may name: its own, and those of its ancestors in its
    session. A launcher starts a session whose leader may be a wrapper (a shell script, ``uv
    run``) that starts Python as its child rather than replacing itself with it; the claim then
    names the wrapper, which lives exactly as long as its Python does."""
    pids = {os.getpid()}
    session = os.getsid(0)
    pid = os.getppid()
    while pid > 1:
        try:
            if os.getsid(pid) != session:
                break
            pids.add(pid)
            pid = psutil.Process(pid).ppid()
        except (psutil.Error, ProcessLookupError, PermissionError):
            break
    return frozenset(pids)


def claimed_here(run: FlowRunRecord) -> bool:
    """Whether ``run`` is claimed for this process (see :func:`claimant_pids`)."""
    return run.state == lifecycle.CLAIMED and run.host == HOST and run.pid in claimant_pids()


def wait_for_claim(store: RunStore, run_id: str, timeout: float) -> bool:
    """Wait until run ``run_id`` is claimed for this process.

    A launcher starts a run's process first and claims the run for it right after (so the claim
    can name it); the process waits here for that claim. False, at once, when the run went to
    another process or ended meanwhile, or after ``timeout`` seconds of still waiting (the
    service that started this process died before claiming the run; another one runs it).
    """
    deadline = time.monotonic() + timeout
    while True:
        run = store.get_flow_run(run_id)
        if claimed_here(run):
            return True
        if not run.is_waiting or time.monotonic() >= deadline:
            return False
        time.sleep(CLAIM_POLL_SECONDS)


def take_over(store: RunStore, run_id: str, at: datetime, flow_name: str | None) -> FlowRunRecord:
    """Move run ``run_id``, claimed for this process, to ``Running``; the run as it is now.

    Raises:
        RunNotClaimedError: it is not claimed for this process (another process has it, it was
            cancelled or marked crashed meanwhile): it must not run here.
    """
    claimed = store.get_flow_run(run_id)
    pid = claimed.pid if claimed_here(claimed) else os.getpid()
    taken = store.start(run_id, at=at, host=HOST, pid=pid, flow_name=flow_name)
    if taken is None:
        run = store.get_flow_run(run_id)
        raise RunNotClaimedError(
            f"flow run {run_id} is {run.state} (held by process {run.pid} on {run.host}), not "
            f"claimed for this process ({os.getpid()} on {HOST}), so it does not run here"
        )
    return taken


class RunWriter:
    """Buffers what a run records and writes it from one thread; see the module docstring.

    ``states`` takes task state changes flat (:data:`~tideflow.store.records.STATE_ROW_WIDTH`
    values per change, appended with one ``extend``: atomic under the GIL, and no object per
    change for the garbage collector); ``rows`` takes log lines and results.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        on_state: Callable[[str], None] | None = None,
        logger: logging.Logger = log,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.on_state = on_state
        self.log = logger
        self.states: list[Any] = []
        self.rows: deque[LogLine | ResultRow] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed = False

    def begin(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._write, name="tideflow-recorder", daemon=True)
        self._thread.start()

    def end(self, state: str, message: str | None, at: datetime) -> bool:
        """Stop writing (after a last flush) and record the final ``state``; whether it was."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        return record_final_state(self.store, self.run_id, state, message, at, self.log)

    # -- the writer thread -------------------------------------------------------------------

    def _write(self) -> None:
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        stopping = False
        while not stopping:
            stopping = self._stop.wait(FLUSH_SECONDS)
            self.flush()
            if time.monotonic() >= next_beat:
                self._beat()
                next_beat = time.monotonic() + HEARTBEAT_SECONDS
        # The run is over: what could not be written yet gets a few more tries.
        for attempt in range(1, FINAL_ATTEMPTS):
            if not self.states and not self.rows:
                return
            time.sleep(RETRY_BACKOFF * 2**attempt)
            self.flush()
        if self.states or self.rows:
            self.log.error(
                "Run %s: %d task state change(s) and %d log line(s) or result(s) were not recorded",
                self.run_id,
                len(self.states) // STATE_ROW_WIDTH,
                len(self.rows),
            )

    def _beat(self) -> None:
        try:
            state = self.store.heartbeat(self.run_id, datetime.now(UTC))
        except Exception:  # the next beat tries again
            return
        if self.on_state is not None:
            self.on_state(state)

    def flush(self) -> None:
        """Write what was buffered so far; what fails stays buffered, in order."""
        buffer = self.states
        count = len(buffer)
        states = buffer[:count]
        del buffer[:count]
        if states and not self._guard(self.store.record_task_state_rows, self.run_id, states):
            buffer[0:0] = states
        rows = [self.rows.popleft() for _ in range(len(self.rows))]
        for kind, write in (
            (LogLine, self.store.record_logs),
            (ResultRow, self.store.record_results),
        ):
            batch = [row for row in rows if type(row) is kind]
            if batch and not self._guard(write, batch):
                self.rows.extendleft(reversed(batch))

    def _guard(self, write: Callable[..., object], *args: Any) -> bool:
        """Call ``write``; on a store error warn (once) and report False."""
        try:
            write(*args)
        except Exception as exc:
            if not self._failed:
                self._failed = True
                self.log.warning(
                    "Run %s: recording into the run store failed (%s); the run goes on and the "
                    "recorder keeps trying",
                    self.run_id,
                    exc,
                )
            return False
        return True


def record_final_state(
    store: RunStore,
    run_id: str,
    state: str,
    message: str | None,
    at: datetime,
    logger: logging.Logger = log,
) -> bool:
    """Write run ``run_id``'s final ``state``, if it is still running (or paused, or being
    cancelled); whether it was.

    A store error (a locked file, a dropped connection) is retried with back-off. A run that
    is neither was marked by a service meanwhile (crashed, timed out, cancelled) and is left
    as the service decided.
    """
    error: Exception | None = None
    for attempt in range(FINAL_ATTEMPTS):
        if attempt:
            time.sleep(RETRY_BACKOFF * 2**attempt)
        try:
            written = store.finish(
                run_id,
                state,
                message,
                at=at,
                expected={lifecycle.RUNNING, lifecycle.PAUSED, lifecycle.CANCELLING},
            )
        except Exception as exc:
            error = exc
            continue
        if written is None:
            now = store.get_flow_run(run_id).state
            logger.warning(
                "Run %s ended %s, but it was marked %s meanwhile; that is kept", run_id, state, now
            )
        return written is not None
    logger.error("Run %s: its final state %s could not be recorded: %s", run_id, state, error)
    return False
