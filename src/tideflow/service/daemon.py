"""The service loop: plan, launch, supervise, and stop cleanly.

Each tick :meth:`Service.tick`:

1. reaps the run processes that exited; a run whose process ended without recording a final
   state is marked ``Crashed``;
2. stops runs over their deployment's timeout (the whole process tree) and marks them
   ``TimedOut``;
3. marks ``Crashed`` every unfinished run (of a deployment or not) whose process is gone: on this
   host by its pid, elsewhere by a heartbeat older than :data:`STALE_AFTER`;
4. gives failed, timed-out and crashed runs of deployments with ``retries`` left another attempt
   (the same run, back to ``Scheduled`` after ``retry_delay``);
5. asks the planner (:func:`tideflow.planner.plan`) what to create, launch and skip, applies it,
   and plans once more so the runs just created launch in the same tick;
6. starts (or, after a crash, restarts with back-off) the long-lived process of every persistent
   deployment.

Between ticks it sleeps until the next fire time (:func:`tideflow.planner.next_wakeup`), at most
``tick`` seconds, on the injected clock. Launching claims the run atomically (``Scheduled ->
Pending``, with this host and pid) before any process starts, and a run process takes the run
over only from ``Pending``; so however many services share a store, and wherever one is killed,
a slot runs at most once.

SIGTERM or SIGINT stop scheduling; runs in progress get ``grace`` seconds to finish, then their
process trees are stopped and the runs recorded ``Cancelled`` with the reason. A second signal
stops them at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

from tideflow.clock import SYSTEM_CLOCK, Clock
from tideflow.deployments import Deployment
from tideflow.engine.scheduled import stop_signals
from tideflow.planner import Create, History, Launch, Skip, next_wakeup, plan
from tideflow.service.processes import kill_tree, pid_alive, spawn
from tideflow.service.registry import Registry, register
from tideflow.store import DuplicateRunError, FlowRunRecord
from tideflow.store.records import FINISHED_STATES
from tideflow.store.sql import SQLStore

__all__ = ["STALE_AFTER", "Service"]

log = logging.getLogger("tideflow.service")

STALE_AFTER = timedelta(seconds=60)
"""A run on another host whose heartbeat is older than this is taken for dead."""

RUNNING_STATES = frozenset({"Pending", "Running"})
FAILED_STATES = frozenset(
    name for name in FINISHED_STATES if name in {"Failed", "TimedOut", "Crashed", "TriggerFailed"}
)
BACKOFF_MAX = 60.0
HOST = socket.gethostname()


@dataclass
class _Launched:
    """A run handed to a process, kept by run id."""

    deployment: Deployment
    process: subprocess.Popen[str]
    started: float  # monotonic


@dataclass
class _Persistent:
    process: subprocess.Popen[str] | None = None
    failures: int = 0
    restart_at: float = 0.0  # monotonic
    started: float = 0.0


class Service:
    """Keeps the deployments in ``store`` running; see the module docstring.

    Args:
        store: a SQL run store (its processes reach it through its URL).
        deployments: specs to register before starting (from ``tideflow.toml``).
        source: the file ``deployments`` came from; its deployments no longer in it are
            removed (see :func:`~tideflow.service.registry.register`).
        clock: time, injected.
        tick: the longest sleep between two looks at the store, in seconds.
        grace: seconds runs in progress get to finish after a stop request.
    """

    def __init__(
        self,
        store: SQLStore,
        deployments: Sequence[Deployment] = (),
        *,
        clock: Clock = SYSTEM_CLOCK,
        tick: float = 1.0,
        grace: float = 30.0,
        source: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.tick_seconds = tick
        self.grace = grace
        self.registry = Registry(store)
        self.launched: dict[str, _Launched] = {}
        self.persistent: dict[str, _Persistent] = {}
        self.retired: list[subprocess.Popen[str]] = []  # persistent processes let go of
        self.holding: dict[str, datetime] = {}  # run id -> not before (retry delay)
        self.stopping = False
        self.started_at = clock.now()
        self._signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._signal_count = 0
        register(store, deployments, clock.now(), source=source)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Tick until a stop is requested (SIGTERM, SIGINT or :meth:`request_stop`)."""
        log.info("Tideflow service started (pid %d), run store %s", os.getpid(), self.store.where)
        with self._signal_handlers():
            try:
                while not self.stopping:
                    wake = self._guarded_tick()
                    delay = self.tick_seconds
                    if wake is not None:
                        delay = min(delay, max(0.0, (wake - self.clock.now()).total_seconds()))
                    if self.clock.wait(self._signals, delay) is not None:
                        self._on_signal()
            finally:
                self._shutdown()

    def _guarded_tick(self) -> datetime | None:
        """:meth:`tick`, with any error logged rather than stopping the service: every step of
        a tick is safe to repeat (creating a slot twice is refused by the store, a claim is a
        compare-and-set), so the next tick simply tries again."""
        try:
            return self.tick()
        except Exception:
            log.exception("A service tick failed; trying again in %g s", self.tick_seconds)
            return None

    def request_stop(self) -> None:
        """Stop scheduling; runs in progress get the grace period (thread-safe)."""
        self._signals.put(signal.SIGTERM)

    def tick(self) -> datetime | None:
        """One pass (see the module docstring); the next fire time, if any."""
        now = self.clock.now()
        self._reap(now)
        self._enforce_timeouts(now)
        deployments, histories, unfinished = self.registry.snapshot(self._held(now))
        self._detect_crashed(unfinished, {d.name: d for d in deployments}, now)
        if not self.stopping and self._apply(now, deployments, histories):
            # Runs created just now have ids only now: plan again so they launch this tick.
            deployments, histories, _ = self.registry.snapshot(self._held(now))
            self._apply(now, deployments, histories)
        self._supervise_persistent(deployments)
        wake = next_wakeup(now, deployments, histories)
        if self.holding:
            soonest = min(self.holding.values())
            wake = soonest if wake is None else min(wake, soonest)
        return wake

    # -- planning ------------------------------------------------------------------------------

    def _apply(
        self, now: datetime, deployments: list[Deployment], histories: dict[str, History]
    ) -> bool:
        """Carry out the plan for ``now``; whether it created runs (they launch on a re-plan)."""
        by_name = {d.name: d for d in deployments}
        newest: dict[str, datetime] = {}
        for action in plan(now, deployments, histories):
            deployment = by_name[action.deployment]
            if isinstance(action, Create):
                self._create(deployment, action.scheduled_time)
                newest[deployment.name] = max(
                    action.scheduled_time, newest.get(deployment.name, action.scheduled_time)
                )
            elif isinstance(action, Launch):
                self._launch(deployment, action.run_id, now)
            elif isinstance(action, Skip):
                self.store.set_flow_run_state(
                    action.run_id, "Skipped", action.reason, now, expected={"Scheduled"}
                )
        for name, when in newest.items():
            self.store.advance_deployment(name, when)
        return bool(newest)

    def _create(self, deployment: Deployment, scheduled: datetime) -> None:
        # Another service instance, or a backfill, may have this slot already: it runs once.
        with contextlib.suppress(DuplicateRunError):
            self.store.create_flow_run(new_run(deployment, scheduled))

    def _launch(self, deployment: Deployment, run_id: str, now: datetime) -> None:
        if self.stopping:
            return
        if deployment.kind == "persistent":
            self._hand_to_persistent(deployment, run_id, now)
            return
        if not self._claim(run_id, now, os.getpid()):
            return
        try:
            process = spawn(
                deployment, "tideflow.service.child", [run_id], self.store.url, stdin_pipe=False
            )
        except OSError as exc:  # a missing interpreter or working directory
            message = f"Failed: its process could not be started: {exc}"
            self.store.set_flow_run_state(run_id, "Failed", message, now, expected={"Pending"})
            log.error("Run %s of %s: %s", run_id, deployment.name, message)
            self._maybe_retry(self.store.get_flow_run(run_id), deployment, now)
            return
        self.launched[run_id] = _Launched(deployment, process, time.monotonic())
        log.info("Started run %s of %s (pid %d)", run_id, deployment.name, process.pid)

    def _claim(self, run_id: str, now: datetime, pid: int) -> bool:
        """``Scheduled -> Pending`` for this host and ``pid``; False if someone else has it."""
        claimed = self.store.set_flow_run_state(
            run_id,
            "Pending",
            "Claimed by the Tideflow service.",
            now,
            expected={"Scheduled"},
            host=HOST,
            pid=pid,
        )
        if claimed:
            # A service on another host judges a Pending run by its heartbeat: start it now.
            self.store.heartbeat(run_id, now)
        return claimed

    def _hand_to_persistent(self, deployment: Deployment, run_id: str, now: datetime) -> None:
        keeper = self.persistent.setdefault(deployment.name, _Persistent())
        process = keeper.process
        if process is None or process.poll() is not None:
            return  # it is (re)starting; the run stays waiting and launches on a later tick
        if not self._claim(run_id, now, process.pid):
            return
        try:
            assert process.stdin is not None
            process.stdin.write(run_id + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            # It died between the check and the write: the run never started; hand it back.
            self.store.set_flow_run_state(
                run_id, "Scheduled", None, now, expected={"Pending"}, pid=os.getpid()
            )
            return
        self.launched.setdefault(run_id, _Launched(deployment, process, time.monotonic()))

    # -- supervision ---------------------------------------------------------------------------

    def _reap(self, now: datetime) -> None:
        for run_id, launched in list(self.launched.items()):
            code = launched.process.poll()
            if code is None and launched.deployment.kind != "persistent":
                continue  # its own process is still on it
            run = self.store.get_flow_run(run_id)
            if code is None and not run.is_finished:
                continue  # the persistent process is still on it (or has it queued)
            del self.launched[run_id]
            # Only a run still held by the process that went away is ours to call crashed; one
            # the process never took over (exit status 3) may be another instance's by now.
            if not run.is_finished and run.pid in (launched.process.pid, os.getpid()):
                self._crashed(run, f"its process exited with status {code}", now)
                run = self.store.get_flow_run(run_id)
            self._maybe_retry(run, launched.deployment, now)

    def _enforce_timeouts(self, now: datetime) -> None:
        for run_id, launched in list(self.launched.items()):
            timeout = launched.deployment.timeout
            if timeout is None or time.monotonic() - launched.started < timeout.total_seconds():
                continue
            del self.launched[run_id]
            kill_tree(launched.process.pid)
            launched.process.wait()
            message = f"timed out after {timeout.total_seconds():g} s; its process tree was stopped"
            self.store.set_flow_run_state(
                run_id, "TimedOut", message, self.clock.now(), expected=RUNNING_STATES
            )
            log.warning("Run %s of %s %s", run_id, launched.deployment.name, message)
            self._maybe_retry(self.store.get_flow_run(run_id), launched.deployment, now)

    def _detect_crashed(
        self, unfinished: list[FlowRunRecord], by_name: dict[str, Deployment], now: datetime
    ) -> None:
        for run in unfinished:
            if run.state not in RUNNING_STATES or run.id in self.launched:
                continue
            if run.host == HOST:
                if pid_alive(run.pid) and not self._earlier_self(run):
                    continue
                reason = f"its process {run.pid} on {HOST} is gone"
            else:
                seen = run.heartbeat or run.start_time or run.scheduled_start_time
                if now - seen < STALE_AFTER:
                    continue
                reason = f"no heartbeat from {run.host} since {seen.isoformat()}"
            if self._crashed(run, reason, now):
                deployment = by_name.get(run.deployment or "")
                if deployment is not None:
                    self._maybe_retry(self.store.get_flow_run(run.id), deployment, now)

    def _earlier_self(self, run: FlowRunRecord) -> bool:
        """Whether ``run`` names this process but was claimed before this service started: an
        earlier service that had the same pid (after a container restart, say) claimed it."""
        seen = run.heartbeat or run.start_time or run.scheduled_start_time
        return run.pid == os.getpid() and seen < self.started_at

    def _crashed(self, run: FlowRunRecord, reason: str, now: datetime) -> bool:
        changed = self.store.set_flow_run_state(
            run.id, "Crashed", f"Crashed: {reason}.", now, expected={run.state}
        )
        if changed:
            log.warning("Run %s (%s) crashed: %s", run.id, run.deployment or run.flow_name, reason)
        return changed

    def _maybe_retry(self, run: FlowRunRecord, deployment: Deployment, now: datetime) -> None:
        if run.state not in FAILED_STATES or run.attempts > deployment.retries:
            return
        attempt = run.attempts + 1
        message = f"Attempt {attempt} of {deployment.retries + 1} after: {run.state_message}"
        if self.store.set_flow_run_state(
            run.id, "Scheduled", message, now, expected={run.state}, attempts=attempt
        ):
            self.holding[run.id] = now + deployment.retry_delay
            log.info("Run %s of %s: %s", run.id, deployment.name, message)

    def _held(self, now: datetime) -> set[str]:
        for run_id, until in list(self.holding.items()):
            if until <= now:
                del self.holding[run_id]
        return set(self.holding)

    def _supervise_persistent(self, deployments: list[Deployment]) -> None:
        wanted = {
            d.name: d
            for d in deployments
            if d.kind == "persistent" and not d.paused and not self.stopping
        }
        for name, keeper in list(self.persistent.items()):
            if name not in wanted:
                self._retire(keeper)
                del self.persistent[name]
        for retired in list(self.retired):
            if retired.poll() is not None:  # reaped: no zombie left behind
                self.retired.remove(retired)
        for name, deployment in wanted.items():
            keeper = self.persistent.setdefault(name, _Persistent())
            process = keeper.process
            if process is not None and process.poll() is None:
                if time.monotonic() - keeper.started > BACKOFF_MAX:
                    keeper.failures = 0  # it has stayed up: the next crash restarts at once
                continue
            if process is not None:  # it exited: restart with back-off
                self._retire(keeper)
                keeper.failures += 1
                delay = min(BACKOFF_MAX, 2.0 ** (keeper.failures - 1))
                keeper.restart_at = time.monotonic() + delay
                log.warning(
                    "The persistent process of %s exited with status %s; restarting in %g s",
                    name,
                    process.returncode,
                    delay,
                )
            if time.monotonic() >= keeper.restart_at:
                keeper.process = spawn(
                    deployment,
                    "tideflow.service.persistent",
                    [name],
                    self.store.url,
                    stdin_pipe=True,
                )
                keeper.started = time.monotonic()
                log.info("Started the persistent process of %s (pid %d)", name, keeper.process.pid)

    @staticmethod
    def _close_persistent(keeper: _Persistent) -> None:
        process = keeper.process
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # end of input: it finishes its run and exits

    def _retire(self, keeper: _Persistent) -> None:
        """Let go of a keeper's process: close its input, and keep it to reap (or stop)."""
        if keeper.process is not None:
            self._close_persistent(keeper)
            self.retired.append(keeper.process)
            keeper.process = None

    # -- stopping ------------------------------------------------------------------------------

    def _on_signal(self) -> None:
        self._signal_count += 1
        if self._signal_count == 1:
            log.info(
                "Stopping: no new runs; runs in progress get %g s to finish (signal again to "
                "stop them now)",
                self.grace,
            )
            self.stopping = True

    def _shutdown(self) -> None:
        for keeper in self.persistent.values():
            self._close_persistent(keeper)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline and self._in_progress():
            if self.clock.wait(self._signals, 0.1) is not None:
                self._signal_count += 1
                break
            try:
                self._reap(self.clock.now())
            except Exception:
                log.exception("Checking runs in progress failed; trying again")
        self.close()
        log.info("Tideflow service stopped")

    def close(self) -> None:
        """Stop every run process still going, recording its run ``Cancelled``; reap all."""
        now = self.clock.now()
        for run_id, launched in list(self.launched.items()):
            if launched.process.poll() is None:
                kill_tree(launched.process.pid)
                self.store.set_flow_run_state(
                    run_id,
                    "Cancelled",
                    "Cancelled: the service stopped before the run finished.",
                    now,
                    expected=RUNNING_STATES,
                )
                log.warning("Run %s of %s was cut short", run_id, launched.deployment.name)
            launched.process.wait()
        self.launched.clear()
        for keeper in self.persistent.values():
            self._retire(keeper)
        self.persistent.clear()
        for process in self.retired:
            if process.poll() is None:
                kill_tree(process.pid)
            process.wait()
        self.retired.clear()

    def _in_progress(self) -> bool:
        alive = [p.process for p in self.persistent.values() if p.process is not None]
        return bool(self.launched) or any(p.poll() is None for p in [*alive, *self.retired])

    def _signal_handlers(self) -> contextlib.AbstractContextManager[None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            self._signals.put(signum)

        return stop_signals(handler)


def new_run(
    deployment: Deployment, scheduled: datetime, *, run_id: str | None = None
) -> FlowRunRecord:
    """A waiting (``Scheduled``) run of ``deployment`` for ``scheduled``."""
    return FlowRunRecord(
        id=run_id or str(uuid.uuid4()),
        flow_name=deployment.name,  # the run's process records the flow's own name
        deployment=deployment.name,
        parameters=dict(deployment.parameters),
        scheduled_start_time=scheduled,
        start_time=None,
        end_time=None,
        state="Scheduled",
        state_message=None,
        lateness=None,
        host=HOST,
        pid=os.getpid(),
        heartbeat=None,
    )
