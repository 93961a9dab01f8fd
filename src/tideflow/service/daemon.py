"""The service loop: supervise, plan, launch, and stop cleanly, on an injected clock.

Each tick :meth:`Service.tick`:

1. takes a :class:`~tideflow.service.registry.Snapshot` of the store: deployments, their
   histories, every unfinished run;
2. **supervises** the unfinished runs (:meth:`Service._supervise`), whoever launched them:

   - a run held by a process on this host whose process is gone ends ``Crashed`` (or
     ``TimedOut`` past its deadline, ``Cancelled`` when it was being cancelled); on another
     host, one whose heartbeat is older than :data:`STALE_AFTER`;
   - a run past its deadline (its timeout, stored with it when it was claimed) ends
     ``TimedOut`` and its process tree is stopped; a run asked to stop (``Cancelling``) has its
     process tree stopped and ends ``Cancelled``. Any live service does this for the runs on
     its host, so a deadline outlives the service that launched the run;
   - a waiting run of a deployment that no longer exists is cancelled, saying so;

   a failure with retries left goes back to ``Retrying`` in the same store transaction, due
   after the retry delay (:mod:`tideflow.store.verbs`);
3. asks the planner (:func:`tideflow.planner.plan`) what to create, launch and skip, applies it,
   and plans once more so the runs just created launch in the same tick;
4. starts (or, after a crash, restarts with back-off) the long-lived process of every
   persistent deployment.

Launching goes through a :class:`~tideflow.service.launchers.Launcher`: it starts the run's
process, then the service claims the run for that process (``Scheduled -> Claimed``, naming its
host and pid, atomically: of several services, one wins and the others stop the process they
started). The process waits for that claim and takes the run over. So the run is held by its own
process from the start: the service may die at any instant and the run neither runs twice nor
is taken for crashed.

Between ticks the service waits, on the injected clock, until the next thing it knows is due (a
fire time, a retry, a deadline, a restart), at most ``tick`` seconds, and wakes at once when a
process it started ends, so a queue drains at the speed of process starts.

SIGTERM or SIGINT stop planning; runs in progress get ``grace`` seconds to finish, then their
process trees are stopped and the runs recorded ``Cancelled`` with the reason. A second signal
stops them at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from tideflow import actions, lifecycle
from tideflow.clock import SYSTEM_CLOCK, Clock
from tideflow.deployments import Deployment
from tideflow.engine.scheduled import stop_signals
from tideflow.planner import Create, History, Launch, RunRef, Skip, plan, survey
from tideflow.service.launchers import Launcher, LaunchError, LocalLauncher
from tideflow.service.registry import Registry, Snapshot
from tideflow.store import DuplicateRunError, FlowRunRecord, RunStore
from tideflow.store.sql import SQLStore

__all__ = ["BACKOFF_MAX", "STALE_AFTER", "Service"]

log = logging.getLogger("tideflow.service")

STALE_AFTER = timedelta(seconds=60)
"""A run on another host whose heartbeat is older than this is taken for dead."""

BACKOFF_MAX = 60.0
"""The longest wait, in seconds, before restarting a persistent process that keeps dying."""

_WAKE = -1  # on the signal queue: a process ended, tick now


@dataclass
class _Persistent:
    """A persistent deployment's long-lived process, as the service keeps it."""

    pid: int | None = None
    failures: int = 0
    restart_at: datetime | None = None
    started: datetime | None = None


class Service:
    """Keeps the deployments in ``store`` running; see the module docstring.

    Args:
        store: the run store (its runs' processes reach it through the launcher).
        deployments: specs to register before starting (from ``tideflow.toml``).
        source: the file ``deployments`` came from; its deployments no longer in it are
            deleted (see :func:`tideflow.actions.deploy`).
        clock: time, injected.
        launcher: how run processes start and stop; by default processes on this machine
            (which needs a SQL store they can reach).
        tick: the longest wait between two looks at the store, in seconds.
        grace: seconds runs in progress get to finish after a stop request.
    """

    def __init__(
        self,
        store: RunStore,
        deployments: Sequence[Deployment] = (),
        *,
        clock: Clock = SYSTEM_CLOCK,
        launcher: Launcher | None = None,
        tick: float = 1.0,
        grace: float = 30.0,
        source: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        if launcher is None:
            if not isinstance(store, SQLStore):
                raise TypeError("a Service without a launcher needs a SQLStore its runs can reach")
            launcher = LocalLauncher(store.url)
        self.launcher = launcher
        self.tick_seconds = tick
        self.grace = grace
        self.registry = Registry(store)
        self.persistent: dict[str, _Persistent] = {}
        self.stopping = False
        self._signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._signal_count = 0
        launcher.on_exit = self.wake
        now = clock.now()
        deployed = actions.deploy(store, deployments, at=now, source=source)
        self.registry.seed((d.deployment for d in deployed), now)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Tick until a stop is requested (SIGTERM, SIGINT or :meth:`request_stop`)."""
        log.info("Tideflow service started (pid %d), run store %s", os.getpid(), self._where())
        with self._signal_handlers():
            try:
                while not self.stopping:
                    self._wait(self._guarded_tick())
            finally:
                self._shutdown()

    def _wait(self, wake: datetime | None) -> None:
        """Wait until ``wake`` (at most a tick), a process ending, or a signal."""
        delay = self.tick_seconds
        if wake is not None:
            delay = min(delay, max(0.0, (wake - self.clock.now()).total_seconds()))
        item = self.clock.wait(self._signals, delay)
        if item is not None and item != _WAKE:
            self._on_signal()

    def _guarded_tick(self) -> datetime | None:
        """:meth:`tick`, with any error logged rather than stopping the service: every step of
        a tick is safe to repeat (creating a slot twice is refused by the store, a claim is
        atomic), so the next tick simply tries again."""
        try:
            return self.tick()
        except Exception:
            log.exception("A service tick failed; trying again in %g s", self.tick_seconds)
            return None

    def wake(self) -> None:
        """Tick now (thread-safe): a process ended, or something is waiting."""
        self._signals.put(_WAKE)

    def request_stop(self) -> None:
        """Stop scheduling; runs in progress get the grace period (thread-safe)."""
        self._signals.put(signal.SIGTERM)

    def tick(self) -> datetime | None:
        """One pass (see the module docstring); when to look again, if known."""
        now = self.clock.now()
        snapshot = self.registry.snapshot()
        if self._supervise(snapshot, now):
            snapshot = self.registry.snapshot()
        unready = self._supervise_persistent(snapshot.deployments, now)
        found = survey(now, snapshot.deployments, snapshot.histories)
        if not self.stopping and found.due:
            created = self._apply(now, found.due, snapshot.histories, unready)
            if created:
                # Runs created just now have ids only now: plan their deployments again, with
                # the new runs waiting, so they launch this tick.
                again = {
                    name: _with_created(snapshot.histories[name], runs)
                    for name, runs in created.items()
                }
                due = [d for d in found.due if d.name in again]
                self._apply(now, due, again, unready)
        return self._next_wake(now, snapshot, found.wakeup)

    def _next_wake(
        self, now: datetime, snapshot: Snapshot, wakeup: datetime | None
    ) -> datetime | None:
        times = [wakeup]
        times += [
            run.deadline
            for run in snapshot.unfinished
            if run.is_active and run.host == self.launcher.host
        ]
        times += [keeper.restart_at for keeper in self.persistent.values()]
        found = [moment for moment in times if moment is not None and moment > now]
        return min(found, default=None)

    # -- planning ------------------------------------------------------------------------------

    def _apply(
        self,
        now: datetime,
        deployments: list[Deployment],
        histories: Mapping[str, History],
        unready: set[str],
    ) -> dict[str, list[FlowRunRecord]]:
        """Carry out the plan for ``now``; the runs it created, by deployment (they launch on
        a second plan)."""
        by_name = {deployment.name: deployment for deployment in deployments}
        newest: dict[str, datetime] = {}
        created: dict[str, list[FlowRunRecord]] = {}
        for action in plan(now, deployments, histories, unready):
            deployment = by_name[action.deployment]
            if isinstance(action, Create):
                run = self._create(deployment, action.scheduled_time, action.parameters)
                if run is not None:
                    created.setdefault(deployment.name, []).append(run)
                newest[deployment.name] = max(
                    action.scheduled_time, newest.get(deployment.name, action.scheduled_time)
                )
            elif isinstance(action, Launch):
                self._launch(deployment, action.run_id, now)
            elif isinstance(action, Skip):
                self.store.finish(
                    action.run_id,
                    "Skipped",
                    action.reason,
                    at=now,
                    expected={lifecycle.SCHEDULED},
                )
        for name, when in newest.items():
            self.store.advance_deployment(name, when)
        return created

    def _create(
        self, deployment: Deployment, scheduled: datetime, parameters: Mapping[str, Any]
    ) -> FlowRunRecord | None:
        """The run created for the slot, with its clock's parameters; None when the slot has one
        already (another service instance, or a backfill, made it: it runs once)."""
        run = actions.new_run(deployment, scheduled, parameters=parameters)
        try:
            self.store.create_flow_run(run)
        except DuplicateRunError:
            return None
        return run

    def _launch(self, deployment: Deployment, run_id: str, now: datetime) -> None:
        if deployment.kind == "persistent":
            self._hand_to_persistent(deployment, run_id, now)
            return
        try:
            pid = self.launcher.start_run(deployment, run_id)
        except LaunchError as exc:
            self._claim_and_fail(run_id, now, f"its process could not be started: {exc}")
            return
        if self.store.claim(run_id, at=now, host=self.launcher.host, pid=pid) is None:
            # Another service claimed it first; the process started for it finds the run
            # claimed for another and exits, but there is no need to wait for that.
            self.launcher.stop(pid)
            return
        log.info("Started run %s of %s (pid %d)", run_id, deployment.name, pid)

    def _claim_and_fail(self, run_id: str, now: datetime, message: str) -> None:
        """Record, for a run whose process could not start, why (retried if it may be)."""
        if self.store.claim(run_id, at=now, host=self.launcher.host, pid=os.getpid()):
            self.store.finish(run_id, "Failed", f"Failed: {message}", at=now)
            log.error("Run %s: %s", run_id, message)

    def _hand_to_persistent(self, deployment: Deployment, run_id: str, now: datetime) -> None:
        keeper = self.persistent.get(deployment.name)
        pid = None if keeper is None else keeper.pid
        if pid is None or not self.launcher.alive(pid):
            return  # it is (re)starting; the deployment is unready and plans no launches
        if self.store.claim(run_id, at=now, host=self.launcher.host, pid=pid) is None:
            return
        if not self.launcher.notify(pid, run_id):
            # It ended between the check and the write: the run never started; hand it back.
            self.store.release(run_id, at=now, reason="Its persistent process had just ended.")

    # -- supervision ---------------------------------------------------------------------------

    def _supervise(self, snapshot: Snapshot, now: datetime) -> bool:
        """Settle what the store shows happened (see the module docstring); whether anything
        changed."""
        changed = False
        for run in snapshot.unfinished:
            if run.is_waiting and run.deployment not in snapshot.registered:
                if run.deployment is not None:
                    reason = f"Cancelled: deployment {run.deployment!r} no longer exists."
                    changed |= self.store.request_cancel(run.id, at=now, reason=reason) is not None
            elif run.is_active and run.host == self.launcher.host:
                changed |= self._supervise_here(run, now)
            elif run.is_active and _stale(run, now):
                beat = run.heartbeat.isoformat() if run.heartbeat else "never"
                message = (
                    f"Crashed: no heartbeat from its process {run.pid} on {run.host} for more "
                    f"than {STALE_AFTER.total_seconds():g} s (last: {beat})."
                )
                changed |= self._end(run, "Crashed", message, now)
        return changed

    def _supervise_here(self, run: FlowRunRecord, now: datetime) -> bool:
        """A run held by a process on this host: ended, over its deadline, or to be stopped."""
        if not self.launcher.alive(run.pid):
            state, why = self._why_gone(run, now)
            return self._end(run, state, why, now)
        if run.state == lifecycle.CANCELLING:
            self.launcher.stop(run.pid)
            why = run.state_message or "on request"
            message = f"Cancelled: {why}; its process tree was stopped."
            ended = self.store.cancel(run.id, at=now, message=message) is not None
            if ended:
                log.info("Run %s of %s was cancelled", run.id, run.deployment)
            return ended
        if run.deadline is not None and now >= run.deadline:
            timeout = f"{run.timeout:g} s" if run.timeout is not None else "its timeout"
            message = f"TimedOut: it ran past {timeout}; its process tree was stopped."
            ended = self._end(run, "TimedOut", message, now)
            if ended:
                self.launcher.stop(run.pid)
            return ended
        return False

    def _why_gone(self, run: FlowRunRecord, now: datetime) -> tuple[str, str]:
        status = self.launcher.exit_status(run.pid)
        exited = "exited" if status is None else f"exited with status {status}"
        gone = f"its process {run.pid} {exited} without recording a final state"
        if run.state == lifecycle.CANCELLING:
            return "Cancelled", f"Cancelled: {run.state_message or 'on request'}; {gone}."
        if run.deadline is not None and now >= run.deadline:
            return "TimedOut", f"TimedOut: it ran past its deadline; {gone}."
        return "Crashed", f"Crashed: {gone}."

    def _end(self, run: FlowRunRecord, state: str, message: str, now: datetime) -> bool:
        ended = self.store.finish(run.id, state, message, at=now, expected=lifecycle.ACTIVE)
        if ended is None:
            return False  # it ended on its own meanwhile
        log.warning("Run %s of %s: %s", run.id, run.deployment or run.flow_name, message)
        if ended.state == lifecycle.RETRYING:
            log.info("Run %s: %s", run.id, ended.state_message)
        return True

    def _supervise_persistent(self, deployments: list[Deployment], now: datetime) -> set[str]:
        """Keep one process per unpaused persistent deployment; the names of those whose
        process is not there to take runs now (their runs wait)."""
        wanted = {
            d.name: d
            for d in deployments
            if d.kind == "persistent" and not d.paused and not self.stopping
        }
        for name, keeper in list(self.persistent.items()):
            if name not in wanted:
                if keeper.pid is not None:
                    self.launcher.retire(keeper.pid)
                del self.persistent[name]
        unready = set()
        for name, deployment in wanted.items():
            keeper = self.persistent.setdefault(name, _Persistent())
            if keeper.pid is not None and self.launcher.alive(keeper.pid):
                assert keeper.started is not None
                if (now - keeper.started).total_seconds() > BACKOFF_MAX:
                    keeper.failures = 0  # it has stayed up: the next crash restarts at once
                continue
            if keeper.pid is not None:  # it exited: restart with back-off
                keeper.failures += 1
                delay = min(BACKOFF_MAX, 2.0 ** (keeper.failures - 1))
                keeper.restart_at = now + timedelta(seconds=delay)
                log.warning(
                    "The persistent process of %s exited with status %s; restarting in %g s",
                    name,
                    self.launcher.exit_status(keeper.pid),
                    delay,
                )
                keeper.pid = None
            if keeper.restart_at is None or now >= keeper.restart_at:
                try:
                    keeper.pid = self.launcher.start_persistent(deployment)
                except LaunchError as exc:
                    log.error("The persistent process of %s could not start: %s", name, exc)
                    keeper.pid = None
                    keeper.failures += 1
                    keeper.restart_at = now + timedelta(
                        seconds=min(BACKOFF_MAX, 2.0 ** (keeper.failures - 1))
                    )
                    unready.add(name)
                    continue
                keeper.started, keeper.restart_at = now, None
                log.info("Started the persistent process of %s (pid %d)", name, keeper.pid)
            else:
                unready.add(name)
        return unready

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
            if keeper.pid is not None:
                self.launcher.retire(keeper.pid)
        deadline = self.clock.now() + timedelta(seconds=self.grace)
        while self.clock.now() < deadline and self.launcher.started():
            remaining = (deadline - self.clock.now()).total_seconds()
            item = self.clock.wait(self._signals, min(remaining, self.tick_seconds))
            if item is not None and item != _WAKE:
                break  # a second signal: stop them now
            self._guarded_tick()  # supervision goes on: deadlines, cancels, exits
        self.close()
        log.info("Tideflow service stopped")

    def close(self) -> None:
        """Stop every process this service started that is still going, recording its runs
        ``Cancelled``; wait for them."""
        now = self.clock.now()
        mine = set(self.launcher.started())
        message = "Cancelled: the service stopped before the run finished."
        for run in self.store.unfinished_runs():
            ours = run.is_active and run.host == self.launcher.host and run.pid in mine
            if ours and self.store.cancel(run.id, at=now, message=message) is not None:
                log.warning("Run %s of %s was cut short", run.id, run.deployment)
        self.launcher.close()
        self.persistent.clear()

    def _signal_handlers(self) -> contextlib.AbstractContextManager[None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            self._signals.put(signum)

        return stop_signals(handler)

    def _where(self) -> str:
        return str(getattr(self.store, "where", type(self.store).__name__))


def _with_created(history: History, runs: list[FlowRunRecord]) -> History:
    """``history`` with the runs just created waiting, and its schedule planned up to them."""
    refs = [RunRef(run.id, run.scheduled_start_time, run.state, run.origin) for run in runs]
    newest = max(run.scheduled_start_time for run in runs)
    last = newest if history.last_fire is None else max(history.last_fire, newest)
    return replace(history, last_fire=last, waiting=(*history.waiting, *refs))


def _stale(run: FlowRunRecord, now: datetime) -> bool:
    beat = run.heartbeat or run.start_time or run.scheduled_start_time
    return now - beat > STALE_AFTER
