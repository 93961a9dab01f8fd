"""What each flow-run verb of the store does to a run, as pure functions of the run's record.

The store's verbs (``claim``, ``start``, ``finish``, ...) are the only way a recorded flow run
changes state. Each one is a *decision* made here, from the run as the store holds it at that
instant: either ``None`` (the verb does not apply: the run is not in a state it can leave that
way, or it belongs to another process) or a :class:`Change`, which the backend writes atomically
with one event per step (see ``RunStore._change_run``). Every step is checked against the one
table of :mod:`tideflow.lifecycle`, so no backend can write an illegal move.

Keeping the decisions here, apart from the backends, means the memory store and the SQL store
cannot disagree about them, and the rules read in one place:

- a claim names the process (host, pid) that will run the run, and sets the attempt's deadline
  from the run's timeout;
- only that process may start it;
- a failure with retries left goes on to ``Retrying`` in the same step, so a retry is never lost
  between two writes, whoever recorded the failure (the run's own process, or a service that
  found the process dead or over its deadline);
- a running run whose remaining tasks wait for approval is *paused* by its own process, which
  keeps holding it, and *resumed* (back to ``Running``) by whoever approves it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tideflow import lifecycle
from tideflow.store.errors import InvalidRecordError
from tideflow.store.records import Event, FlowRunRecord

__all__ = [
    "Change",
    "Decision",
    "cancel",
    "claim",
    "events_of",
    "finish",
    "pause",
    "release",
    "request_cancel",
    "reschedule",
    "resume",
    "start",
]


@dataclass(frozen=True)
class Change:
    """How a run changes: the states it moves through (each with its message), in order, and
    the columns that change with them. The last step is the run's new state."""

    steps: tuple[tuple[str, str | None], ...]
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.steps, "a change moves the run at least once"


Decision = Callable[[FlowRunRecord], Change | None]
"""A verb applied to one run: the change to make, or None when the verb does not apply."""


def _path_allowed(old: str, steps: tuple[tuple[str, str | None], ...]) -> bool:
    for new, _ in steps:
        if not lifecycle.allowed(old, new):
            return False
        old = new
    return True


def checked(decide: Decision) -> Decision:
    """``decide``, refusing (None) any change whose steps the lifecycle does not allow."""

    def decision(run: FlowRunRecord) -> Change | None:
        change = decide(run)
        if change is None or not _path_allowed(run.state, change.steps):
            return None
        return change

    return decision


def events_of(run: FlowRunRecord, change: Change, at: datetime) -> list[Event]:
    """The ``flow_run`` events recording ``change`` of ``run``: one per step."""
    after = {**_event_fields(run), **change.fields}
    events = []
    previous = run.state
    for state, message in change.steps:
        data: dict[str, Any] = {"from": previous, "attempts": after["attempts"]}
        for name in ("host", "pid"):
            data[name] = after[name]
        for name in ("deadline", "not_before"):
            if after.get(name) is not None:
                data[name] = after[name].isoformat()
        events.append(
            Event(
                kind="flow_run",
                name=state,
                at=at,
                flow_run_id=run.id,
                deployment=run.deployment,
                message=message,
                data=data,
            )
        )
        previous = state
    return events


def created_event(run: FlowRunRecord) -> Event:
    """The ``flow_run`` event of a run being recorded (in whatever state it starts)."""
    data: dict[str, Any] = {"from": None, "attempts": run.attempts, "origin": run.origin}
    if run.parent_run_id is not None:
        data["parent_run_id"] = run.parent_run_id
        data["parent_task"] = run.parent_task
    return Event(
        kind="flow_run",
        name=run.state,
        at=run.start_time or run.scheduled_start_time,
        flow_run_id=run.id,
        deployment=run.deployment,
        message=run.state_message,
        data=data,
    )


def _event_fields(run: FlowRunRecord) -> dict[str, Any]:
    return {
        "attempts": run.attempts,
        "host": run.host,
        "pid": run.pid,
        "deadline": run.deadline,
        "not_before": run.not_before,
    }


# -- the verbs -----------------------------------------------------------------------------------


def claim(at: datetime, host: str, pid: int) -> Decision:
    """A waiting run is claimed for process ``pid`` on ``host``; its attempt's deadline starts."""

    def decide(run: FlowRunRecord) -> Change | None:
        if not run.is_waiting:
            return None
        deadline = None if run.timeout is None else at + timedelta(seconds=run.timeout)
        return Change(
            ((lifecycle.CLAIMED, f"Claimed for process {pid} on {host}."),),
            {"host": host, "pid": pid, "heartbeat": at, "deadline": deadline},
        )

    return checked(decide)


def release(at: datetime, reason: str) -> Decision:
    """A claimed run that its process never took over waits again, as it waited before."""

    def decide(run: FlowRunRecord) -> Change | None:
        if run.state != lifecycle.CLAIMED:
            return None
        back = lifecycle.RETRYING if run.attempts > 1 else lifecycle.SCHEDULED
        return Change(((back, reason),), {"deadline": None})

    return checked(decide)


def start(at: datetime, host: str, pid: int, flow_name: str | None = None) -> Decision:
    """The process a claim named takes the run over: ``Running``, its start time and lateness."""

    def decide(run: FlowRunRecord) -> Change | None:
        if run.state != lifecycle.CLAIMED or (run.host, run.pid) != (host, pid):
            return None
        fields: dict[str, Any] = {"start_time": at, "end_time": None, "heartbeat": at}
        if run.lateness is None:
            fields["lateness"] = (at - run.scheduled_start_time).total_seconds()
        if flow_name is not None:
            fields["flow_name"] = flow_name
        attempt = f" (attempt {run.attempts})" if run.attempts > 1 else ""
        return Change(((lifecycle.RUNNING, f"Running{attempt}."),), fields)

    return checked(decide)


def finish(
    state: str, message: str | None, at: datetime, expected: Collection[str] | None = None
) -> Decision:
    """The run ends in ``state`` (a final state), if it may from where it is (and is in one of
    ``expected``, when given). A failure with retries left goes on to ``Retrying`` at once, not
    before ``at`` + the run's retry delay."""
    if state not in lifecycle.FINAL:
        raise InvalidRecordError(
            f"finish() takes a final state, got {state!r}; final states: "
            f"{sorted(lifecycle.FINAL)} (a run waiting for approval is paused with pause())"
        )

    def decide(run: FlowRunRecord) -> Change | None:
        if expected is not None and run.state not in expected:
            return None
        steps: list[tuple[str, str | None]] = [(state, message)]
        fields: dict[str, Any] = {"deadline": None, "end_time": at}
        if state in lifecycle.FAILED and run.deployment is not None and run.attempts <= run.retries:
            attempt = run.attempts + 1
            steps.append(
                (
                    lifecycle.RETRYING,
                    f"Attempt {attempt} of {run.retries + 1} after {state}: {message or state}",
                )
            )
            fields["attempts"] = attempt
            fields["not_before"] = at + timedelta(seconds=run.retry_delay)
        return Change(tuple(steps), fields)

    return checked(decide)


def pause(message: str, host: str, pid: int) -> Decision:
    """The running run's remaining tasks wait for approval: ``Paused``; the process that runs it
    (``host``, ``pid``: only that one) keeps holding it and its deadline keeps running."""

    def decide(run: FlowRunRecord) -> Change | None:
        if run.state != lifecycle.RUNNING or run.host != host or run.pid != pid:
            return None
        return Change(((lifecycle.PAUSED, message),))

    return checked(decide)


def resume(message: str) -> Decision:
    """A paused run is approved: ``Running`` again, in the process that held it paused."""

    def decide(run: FlowRunRecord) -> Change | None:
        if run.state != lifecycle.PAUSED:
            return None
        return Change(((lifecycle.RUNNING, message),))

    return checked(decide)


def reschedule(at: datetime, message: str, not_before: datetime | None = None) -> Decision:
    """A failed run gets another attempt (on request): ``Retrying``, due at ``not_before``."""

    def decide(run: FlowRunRecord) -> Change | None:
        if run.state not in lifecycle.FAILED:
            return None
        fields = {"attempts": run.attempts + 1, "not_before": not_before or at, "end_time": None}
        return Change(((lifecycle.RETRYING, message),), fields)

    return checked(decide)


def request_cancel(at: datetime, reason: str) -> Decision:
    """A run asked to stop: a waiting one is ``Cancelled`` at once; one a process holds
    becomes ``Cancelling`` until the process ends it (a paused one does, at once) or a service
    stops the process."""

    def decide(run: FlowRunRecord) -> Change | None:
        if run.is_waiting:
            return Change((("Cancelled", reason),), {"end_time": at, "deadline": None})
        if run.state in (lifecycle.CLAIMED, lifecycle.RUNNING, lifecycle.PAUSED):
            return Change(((lifecycle.CANCELLING, reason),))
        return None

    return checked(decide)


def cancel(at: datetime, message: str) -> Decision:
    """A run whose process was stopped (or never ran) ends ``Cancelled``."""

    def decide(run: FlowRunRecord) -> Change | None:
        if not run.is_active:
            return None
        return Change((("Cancelled", message),), {"end_time": at, "deadline": None})

    return checked(decide)
