"""Running a flow on its schedule: ``flow.run()`` on a flow that has one.

The loop asks the schedule for the next fire time strictly after now, waits for it on the
injected clock, runs the flow once for it, and repeats until the schedule is exhausted or it is
asked to stop. Each run is a separate flow run: its own ``flow_run_id``, its fire time as
``scheduled_start_time``, and its parameters built in three layers, later ones winning:

1. each ``Parameter``'s default,
2. the parameters given to ``flow.run()``,
3. the ``parameter_defaults`` of the clock that fired (the clock wins, as in Prefect 1, so one
   schedule can run the same flow with different settings at different times).

When clocks fire at the same instant with different ``parameter_defaults`` (or labels), the loop
runs the flow once for each, one after the other, in the order the schedule lists them (as
Prefect 1 does); all of them have that instant as ``scheduled_start_time``.

An exhausted schedule (or an empty one, ``Schedule(clocks=[])``) at the call raises Prefect 1's
``ValueError``, "Flow has no more scheduled runs.", with what to do instead.

Runs never overlap. When a run ends after the next fire time, the fire times it overran are
skipped, and logged as skipped; the loop goes on with the first fire time after now.

Stopping: the first SIGINT (Ctrl-C) or SIGTERM lets the current run finish and then ends the
loop; a second one interrupts the current run (it ends ``Cancelled``). Either way the loop logs a
summary of the runs it made and ``flow.run()`` returns the last run's state, whose
``context["scheduled_runs"]`` lists every run of the loop.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import takewhile
from types import FrameType
from typing import Any, Protocol

from tideflow.clock import SYSTEM_CLOCK, Clock
from tideflow.engine.logs import flow_logger
from tideflow.engine.parameters import resolve_parameters
from tideflow.errors import ScheduleError
from tideflow.flow import Flow
from tideflow.states import Cancelled, State

# Fire times skipped after an overrun are counted up to this many (a one-second schedule
# overrun by a day would otherwise list 86,400 of them).
MAX_SKIPS_COUNTED = 10_000


class RunOnce(Protocol):
    """Runs the flow once for one fire time (``tideflow.engine.api.run_once`` in practice)."""

    def __call__(
        self, flow: Flow, parameters: dict[str, Any], *, scheduled_start_time: datetime
    ) -> State: ...


@dataclass(frozen=True)
class ScheduledRun:
    """One run the loop made."""

    scheduled_start_time: datetime
    flow_run_id: str
    state: str
    lateness: float


class StopRequest:
    """A thread-safe "stop after this run" flag, set by signals or by a caller."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.requested = False

    def stop(self, reason: str = "stop requested") -> None:
        self.requested = True
        self.queue.put(reason)

    def stopped(self) -> bool:
        """Whether a stop was asked for (a call, so it is read afresh after each run)."""
        return self.requested


def run_on_schedule(
    flow: Flow,
    given: Mapping[str, Any],
    run_once: RunOnce,
    *,
    clock: Clock | None = None,
    stop: StopRequest | None = None,
    handle_signals: bool = True,
) -> State:
    """Run ``flow`` at each fire time of ``flow.schedule``; see the module docstring."""
    clock = clock or SYSTEM_CLOCK
    stop = stop or StopRequest()
    _check_parameters_for_every_clock(flow, given)
    log = flow_logger()
    runs: list[ScheduledRun] = []
    last: State | None = None
    batch = _next_events(flow, clock.now())
    if not batch:
        why = (
            "it has no clocks"
            if not getattr(flow.schedule, "clocks", True)
            else (f"it has no fire time after {clock.now():%Y-%m-%d %H:%M:%S %Z}")
        )
        raise ScheduleError(
            f"Flow has no more scheduled runs. (flow {flow.name!r}: {why}; run it once with "
            "flow.run(run_on_schedule=False))"
        )
    with _signals_stop(stop, handle_signals):
        while batch and not stop.requested:
            fired = batch[0].start_time
            log.info("Waiting for next scheduled run at %s", fired.isoformat())
            if clock.wait(stop.queue, _seconds_until(fired, clock)) is not None:
                break
            for index, event in enumerate(batch):
                if index and stop.stopped():
                    break  # stop asked during the first run of this instant: no more
                last = _run_event(flow, given, event, run_once)
                runs.append(_record(event.start_time, last))
                if last.context.get("interrupted"):
                    stop.stop("interrupted")
                    break
            if stop.stopped():
                break
            batch = _after_run(flow, fired, clock)
    return _summarise(flow, runs, last)


def _run_event(flow: Flow, given: Mapping[str, Any], event: Any, run_once: RunOnce) -> State:
    """One scheduled run for ``event``; an interrupted run ends ``Cancelled``."""
    try:
        return run_once(
            flow,
            resolve_parameters(flow, {**given, **event.parameter_defaults}),
            scheduled_start_time=event.start_time,
        )
    except KeyboardInterrupt:
        when = event.start_time.isoformat()
        flow_logger().warning("Scheduled run for %s interrupted", when)
        cancelled = Cancelled(f"The scheduled run for {when} was interrupted.")
        cancelled.context["interrupted"] = True
        return cancelled


def _next_events(flow: Flow, after: datetime) -> list[Any]:
    """The events of the first fire time after ``after``: one per parameter set at it."""
    events = flow.schedule.events(after)
    first = next(events, None)
    if first is None:
        return []
    moment = _instant(first.start_time)  # not ==: same-zone datetimes compare ignoring fold
    return [first, *takewhile(lambda event: _instant(event.start_time) == moment, events)]


def _instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _seconds_until(when: datetime, clock: Clock) -> float:
    return max((when - clock.now()).total_seconds(), 0.0)


def _after_run(flow: Flow, fired: datetime, clock: Clock) -> list[Any]:
    """The next fire time after now, logging the fire times skipped since ``fired``."""
    now = clock.now()
    skipped: list[datetime] = []
    cursor = fired
    while len(skipped) < MAX_SKIPS_COUNTED:
        found = flow.schedule.next(100, after=cursor)
        skipped += sorted({_instant(t) for t in found if t <= now})
        if len(found) < 100 or found[-1] > now:
            break
        cursor = found[-1]
    if skipped:
        flow_logger().warning(
            "The run for %s overran %d fire time(s) (%s%s); skipped them so runs do not overlap",
            fired.isoformat(),
            len(skipped),
            skipped[0].astimezone(fired.tzinfo).isoformat(),
            f" .. {skipped[-1].astimezone(fired.tzinfo).isoformat()}" if len(skipped) > 1 else "",
        )
    return _next_events(flow, now)


def _record(scheduled: datetime, state: State) -> ScheduledRun:
    return ScheduledRun(
        scheduled,
        str(state.context.get("flow_run_id", "")),
        state.name,
        float(state.context.get("lateness", 0.0)),
    )


def _summarise(flow: Flow, runs: list[ScheduledRun], last: State | None) -> State:
    counts = Counter(r.state for r in runs)
    detail = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "none"
    flow_logger().info(
        "Schedule loop for flow %r stopped after %d run(s): %s", flow.name, len(runs), detail
    )
    final = last if last is not None else Cancelled("Stopped before the first scheduled run.")
    final.context["scheduled_runs"] = runs
    return final


def _check_parameters_for_every_clock(flow: Flow, given: Mapping[str, Any]) -> None:
    """Fail now, not at the first fire time, if some clock's runs would lack a parameter."""
    clocks = getattr(flow.schedule, "clocks", None) or [None]
    for clock in clocks:
        defaults = getattr(clock, "parameter_defaults", None) or {}
        resolve_parameters(flow, {**given, **defaults})


@contextmanager
def _signals_stop(stop: StopRequest, enabled: bool) -> Iterator[None]:
    """First SIGINT/SIGTERM: stop after the current run. Second: interrupt it."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        flow_logger().warning(
            "%s received: stopping after the current run (send it again to abort the run)", name
        )
        stop.stop(name)

    with stop_signals(handler, enabled=enabled):
        yield


@contextmanager
def stop_signals(
    handler: Callable[[int, FrameType | None], None], *, enabled: bool = True
) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM inside the block, the previous handlers after it.

    Python runs signal handlers on the main thread only, so elsewhere (or when not
    ``enabled``) this does nothing.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
