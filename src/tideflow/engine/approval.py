"""Waiting for approval: what the run loop does when only paused tasks are left.

A task paused by the ``manual_only`` trigger or by ``PAUSE`` waits, and so does everything
downstream of it; the rest of the run goes on. When nothing else is left, the loop asks its
observers whether one of them holds the run (:meth:`RunObserver.hold_paused
<tideflow.engine.observers.RunObserver.hold_paused>`: the store recorder does, so that
``tideflow resume-run`` can approve it) and, if one does, polls the hold on the run's clock,
every ``hold.interval`` seconds, never in a busy loop, until the run is approved, cancelled or
ended from outside (:func:`await_approval`). Approved, the paused units run again with a
``Resume`` state, and after them the units that a chaining executor had already submitted
downstream of them, which came back without running (:func:`in_run_order`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tideflow.clock import Clock
from tideflow.engine.logs import flow_logger
from tideflow.engine.observers import Approval, FlowRunInfo, RunObserver
from tideflow.engine.readiness import Unit
from tideflow.flow import Flow

__all__ = ["await_approval", "in_run_order"]


def await_approval(
    observers: Sequence[RunObserver], run: FlowRunInfo, waiting: Sequence[str], clock: Clock
) -> Approval | None:
    """Wait until the paused run is approved (``"resumed"``), cancelled or ended; None when no
    observer holds it (it then ends ``Paused``)."""
    for observer in observers:
        hold = observer.hold_paused(run, waiting)
        if hold is not None:
            break
    else:
        return None
    log = flow_logger()
    log.info(
        "Flow run %s is paused: %s wait(s) for approval (tideflow resume-run %s)",
        run.flow_run_id,
        ", ".join(waiting),
        run.flow_run_id,
    )
    answer = hold.poll()
    while answer == "waiting":
        clock.sleep(hold.interval)
        answer = hold.poll()
    if answer == "resumed":
        log.info("Flow run %s was approved: resuming", run.flow_run_id)
    return answer


def in_run_order(flow: Flow, units: Iterable[Unit]) -> list[Unit]:
    """``units`` with each after those it may depend on (topological order, then map index)."""
    order = {key: i for i, key in enumerate(flow.graph.toposort())}
    return sorted(units, key=lambda u: (order[u[0]], -1 if u[1] is None else u[1]))
