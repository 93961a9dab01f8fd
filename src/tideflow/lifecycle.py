"""The flow-run lifecycle: the states a *flow run* moves through, and the one table of moves.

Task runs have their machine in :mod:`tideflow.states`; a flow run recorded in a run store has this
one, which every store backend enforces on every change (an illegal move is refused, never
written). The states, by what holds the run::

    waiting     Scheduled ──claim──> Claimed ──start──> Running ──finish──> Success | Failed | ...
                Retrying ──claim──┘      │               │   ^
                   ^                     │           pause   resume
                   │                     │               v   │
                   │                     │              Paused ──finish──> Cancelled | TimedOut
                   │                     └─release─> Scheduled (or Retrying: as it waited)
                   └──── a failure with retries left (finish), or a retry requested
    active      Claimed, Running, Paused, Cancelling   (a process holds the run)
    cancelling  Claimed | Running | Paused ──request cancel──> Cancelling ──cancel──> Cancelled

- **Scheduled**: created for a fire time, a trigger or a backfill; waits for its time and for room
  under the deployment's overlap policy.
- **Retrying**: a failed attempt with retries left; waits until its ``not_before`` time.
- **Claimed**: a service chose the run and named the process that will run it (host and pid).
  The process takes it over with *start*; until then only that process's death (or an expired
  heartbeat) makes the run ``Crashed``: the death of the service that launched it does not.
- **Running**: the process took it over and beats its heartbeat.
- **Cancelling**: someone asked for the run to stop; a live service stops its process tree.
- **Paused**: a flow run whose remaining tasks wait for approval (a ``manual_only`` task, or
  ``PAUSE``). Its process still holds it, beats its heartbeat and waits for *resume* (``tideflow
  resume-run``), which moves it back to ``Running`` in the same process, with the results it
  has; or for a cancel request. Its deadline still runs, and its process dying makes it
  ``Crashed``, as for a running run.
- The final states are those of :mod:`tideflow.states` (``Success``, ``Failed``, ``TimedOut``,
  ``Crashed``, ``Cancelled``, ``Skipped``, ...). A failed one may go back to ``Retrying``.

>>> allowed("Scheduled", "Claimed"), allowed("Success", "Running")
(True, False)
>>> sorted(TRANSITIONS["Claimed"])[:3]
['Cancelled', 'Cancelling', 'Crashed']
"""

from __future__ import annotations

from tideflow.states import TRANSITIONS as TASK_TRANSITIONS
from tideflow.states import Failed, Finished, Looped

__all__ = [
    "ACTIVE",
    "CANCELLING",
    "CLAIMED",
    "FAILED",
    "FINAL",
    "PAUSED",
    "RETRYING",
    "RUNNING",
    "SCHEDULED",
    "STATES",
    "TRANSITIONS",
    "WAITING",
    "allowed",
    "describe_refusal",
]

SCHEDULED = "Scheduled"
RETRYING = "Retrying"
CLAIMED = "Claimed"
RUNNING = "Running"
CANCELLING = "Cancelling"
PAUSED = "Paused"

FINAL: frozenset[str] = frozenset(
    cls.__name__
    for cls in TASK_TRANSITIONS
    if issubclass(cls, Finished) and cls is not Looped  # a task's iteration, never a run's end
)
"""The final states: a run in one of them is over (but a failed one may be retried)."""

FAILED: frozenset[str] = frozenset(
    cls.__name__ for cls in TASK_TRANSITIONS if issubclass(cls, Failed)
)
"""The final states that count as failures: retries apply to them."""

WAITING: frozenset[str] = frozenset({SCHEDULED, RETRYING})
"""Waiting to be claimed by a service."""

ACTIVE: frozenset[str] = frozenset({CLAIMED, RUNNING, PAUSED, CANCELLING})
"""Held by a process (named by the run's host and pid)."""

STATES: frozenset[str] = WAITING | ACTIVE | FINAL
"""Every state a flow run can be in."""

TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({CLAIMED, "Cancelled", "Skipped"}),
    RETRYING: frozenset({CLAIMED, "Cancelled"}),
    # A claimed run may fail to start (its process could not be started, died first, or was
    # stopped with the service), time out before it started, or be handed back (released).
    CLAIMED: frozenset(
        {RUNNING, SCHEDULED, RETRYING, CANCELLING, "Cancelled", "Crashed", "Failed", "TimedOut"}
    ),
    RUNNING: frozenset({CANCELLING, PAUSED} | FINAL),
    # A run asked to stop may still end on its own before its process is stopped.
    CANCELLING: FINAL,
    # A paused run's process waits for the resume; it may be cancelled, time out or die.
    PAUSED: frozenset({RUNNING, CANCELLING} | FINAL),
    # A failed run may be retried (automatically, within its retries, or on request).
    **{name: frozenset({RETRYING}) for name in FAILED},
    **{name: frozenset() for name in FINAL - FAILED},
}
"""For each flow-run state, the states it may move to next."""

assert set(TRANSITIONS) == STATES, "every flow-run state has a row"
assert all(targets <= STATES for targets in TRANSITIONS.values()), "targets are states"


def allowed(old: str, new: str) -> bool:
    """Whether a flow run may move from ``old`` to ``new``."""
    return new in TRANSITIONS.get(old, frozenset())


def describe_refusal(run_id: str, old: str, new: str) -> str:
    """Why the move is refused, in words, for logs and errors."""
    targets = ", ".join(sorted(TRANSITIONS.get(old, ()))) or "nothing (it is final)"
    return (
        f"flow run {run_id} is {old}, which cannot become {new}; from {old} it may become {targets}"
    )
