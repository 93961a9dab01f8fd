"""Concurrency limits by task tag: the records a store keeps for them, and the rules.

A *concurrency limit* names a task tag and a number: at most that many task runs carrying the tag
may run at once, across every flow run recorded in the store (every process, every machine that
shares it). A task run that may start takes one *slot* of each limited tag it carries, all in one
atomic step (:meth:`~tideflow.store.base.RunStore.acquire_slots`), and gives them back when its
attempt ends (:meth:`~tideflow.store.base.RunStore.release_slots`).

A process can die holding slots. So that a killed run never holds a slot forever, every acquire
first *reclaims* the slots of runs that no longer run: runs in a final state, and runs whose
heartbeat (or, before the first one, their start) is older than the ``stale_before`` the caller
gives, the same rule by which a service declares a run on another host crashed.

>>> from datetime import UTC, datetime
>>> ConcurrencyLimit(tag="db", limit=2, updated_at=datetime(2026, 3, 1, tzinfo=UTC)).in_use
0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tideflow.store.errors import InvalidRecordError
from tideflow.store.records import FlowRunRecord, as_utc

__all__ = ["ConcurrencyLimit", "ConcurrencySlot", "check_limit_value", "check_tag", "stale"]


def check_tag(tag: object) -> str:
    """``tag`` when it can name a limit (a non-empty string), else :class:`InvalidRecordError`."""
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 255:
        raise InvalidRecordError(
            f"a concurrency limit's tag must be a non-empty string of at most 255 characters, "
            f"got {tag!r}"
        )
    return tag


def check_limit_value(limit: object) -> int:
    """``limit`` when it is a whole number >= 0, else :class:`InvalidRecordError`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidRecordError(
            f"a concurrency limit must be a whole number >= 0 (0 holds every task with the tag), "
            f"got {limit!r}"
        )
    return limit


@dataclass(frozen=True, kw_only=True, slots=True)
class ConcurrencySlot:
    """Task run ``task_key`` (child ``map_index``) of run ``flow_run_id`` holds a slot of
    ``tag`` since ``acquired_at``."""

    tag: str
    flow_run_id: str
    task_key: str
    map_index: int | None
    acquired_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "acquired_at", as_utc(self.acquired_at, "acquired_at"))


@dataclass(frozen=True, kw_only=True, slots=True)
class ConcurrencyLimit:
    """At most ``limit`` task runs tagged ``tag`` run at once; ``slots`` are those held now."""

    tag: str
    limit: int
    updated_at: datetime
    slots: tuple[ConcurrencySlot, ...] = ()

    def __post_init__(self) -> None:
        check_tag(self.tag)
        check_limit_value(self.limit)
        object.__setattr__(self, "updated_at", as_utc(self.updated_at, "updated_at"))

    @property
    def in_use(self) -> int:
        """How many slots are held."""
        return len(self.slots)


def stale(run: FlowRunRecord | None, stale_before: datetime) -> bool:
    """Whether the slots of ``run`` (None: a run no longer in the store) may be reclaimed: it
    ended, or its latest sign of life is older than ``stale_before``."""
    if run is None or run.is_finished:
        return True
    alive = run.heartbeat or run.start_time or run.scheduled_start_time
    return alive < stale_before
