"""Concurrency limits by task tag, as library functions: set, list and delete them.

A limit says how many task runs carrying a tag may run at once across every flow run that
records into the same store (every process, every machine sharing a PostgreSQL store): at most
two tasks tagged ``"warehouse"`` query the warehouse, however many runs are due. The engine
enforces it (:mod:`tideflow.engine.limits`); ``tideflow limits`` is a thin caller of these.

>>> from datetime import UTC, datetime
>>> from tideflow.store import MemoryStore
>>> store = MemoryStore()
>>> at = datetime(2026, 3, 1, 12, tzinfo=UTC)
>>> set_limit(store, "warehouse", 2, at=at).limit
2
>>> [(limit.tag, limit.limit, limit.in_use) for limit in list_limits(store, at=at)]
[('warehouse', 2, 0)]
>>> delete_limit(store, "warehouse", at=at)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tideflow.actions import ActionError
from tideflow.engine.limits import STALE_AFTER
from tideflow.store import Event, RunNotFoundError, RunStore
from tideflow.store.errors import InvalidRecordError
from tideflow.store.slots import ConcurrencyLimit, stale

__all__ = ["delete_limit", "list_limits", "set_limit"]


def set_limit(store: RunStore, tag: str, limit: int, *, at: datetime) -> ConcurrencyLimit:
    """At most ``limit`` task runs tagged ``tag`` run at once (0 holds them all); replaces the
    tag's limit if it had one. Runs read the limits when they start.

    Raises:
        ActionError: ``tag`` is empty or ``limit`` is not a whole number >= 0.
    """
    try:
        store.set_concurrency_limit(tag, limit, at)
    except InvalidRecordError as exc:
        raise ActionError(str(exc)) from None
    store.record_event(
        Event(kind="action", name="limit set", at=at, data={"tag": tag, "limit": limit})
    )
    return next(found for found in list_limits(store, at=at) if found.tag == tag)


def delete_limit(store: RunStore, tag: str, *, at: datetime) -> None:
    """Lift the limit on ``tag``: its tasks run without waiting for a slot.

    Raises:
        ActionError: ``tag`` has no limit.
    """
    if not store.delete_concurrency_limit(tag):
        known = ", ".join(limit.tag for limit in store.concurrency_limits()) or "none"
        raise ActionError(
            f"no concurrency limit on tag {tag!r} (limits: {known}); `tideflow limits` lists them"
        )
    store.record_event(Event(kind="action", name="limit deleted", at=at, data={"tag": tag}))


def list_limits(store: RunStore, *, at: datetime) -> list[ConcurrencyLimit]:
    """Every limit, by tag, with the slots held at ``at``: a slot of a run that ended or stopped
    beating (it is reclaimed by the next task that asks for one) is not counted."""
    found = []
    runs: dict[str, bool] = {}
    for limit in store.concurrency_limits():
        for slot in limit.slots:
            if slot.flow_run_id not in runs:
                try:
                    run = store.get_flow_run(slot.flow_run_id)
                except RunNotFoundError:
                    run = None
                runs[slot.flow_run_id] = not stale(run, at - STALE_AFTER)
        live = tuple(slot for slot in limit.slots if runs[slot.flow_run_id])
        found.append(replace(limit, slots=live))
    return found
