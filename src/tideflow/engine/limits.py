"""Concurrency limits in the run loop: a task with a limited tag starts only with a free slot.

A limit (``tideflow limits set db 2``) says at most two task runs tagged ``db`` run at once across
every flow run that records into the same store. The run loop asks its :class:`SlotGate` before
handing a ready unit to the executor, so the rule is the same on every executor: the unit starts
when the store gives it one slot of each limited tag it carries
(:meth:`~tideflow.store.base.RunStore.acquire_slots`), else it waits, told as ``Queued``, while
the loop goes on with every other ready unit and asks again every :data:`POLL_SECONDS` (at
once when a unit of this run gives its slots back). The slots are given back when the unit's
attempt ends, whatever its end, and all of the run's when the run ends; the store reclaims the
slots of runs that died (see :mod:`tideflow.store.slots`).

The limits are read once, when the run starts: a run whose tasks carry no limited tag has no
gate and pays nothing. A run recorded nowhere (``store=None``, ``TIDEFLOW_STORE=off``) shares
no store with other runs, so limits do not apply to it.

On executors that chain futures (Dask), a unit is submitted as soon as its upstream units are,
so it holds its slots from then until it ends, including while its upstream still runs and
while a retry waits on its worker: never more than the limit run, and sometimes fewer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tideflow.engine.logs import flow_logger
from tideflow.flow import Flow
from tideflow.store.base import RunStore
from tideflow.store.errors import RunNotFoundError, StoreError
from tideflow.task import Task

__all__ = ["POLL_SECONDS", "STALE_AFTER", "SlotGate"]

POLL_SECONDS = 0.5
"""How often a run with queued units asks the store again for slots (other runs' releases are
not announced)."""

STALE_AFTER = timedelta(seconds=60)
"""A run whose heartbeat is older than this holds no slot (its process is taken for dead): the
rule a service applies to runs on other hosts. Recording runs beat every 10 s."""

Unit = tuple[str, int | None]


class SlotGate:
    """Which units of one run need slots, and taking and giving them back; see the module."""

    def __init__(
        self,
        store: RunStore,
        flow_run_id: str,
        limits: dict[str, int],
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.flow_run_id = flow_run_id
        self.limits = limits
        self._now = now
        self._tags: dict[str, frozenset[str]] = {}
        self._held: set[Unit] = set()
        self._warned = False

    @classmethod
    def for_run(
        cls, store: RunStore | None, flow: Flow, flow_run_id: str, now: Callable[[], datetime]
    ) -> SlotGate | None:
        """The gate of a run of ``flow``, or None when none of its tasks has a limited tag."""
        if store is None:
            return None
        tags = frozenset().union(*(task.tags for task in flow.tasks))
        if not tags:
            return None
        try:
            limits = {limit.tag: limit.limit for limit in store.concurrency_limits()}
        except StoreError as exc:
            flow_logger().warning("Concurrency limits are not applied to this run: %s", exc)
            return None
        used = {tag: limits[tag] for tag in tags & limits.keys()}
        return cls(store, flow_run_id, used, now) if used else None

    def tags(self, key: str, task: Task) -> frozenset[str]:
        """The limited tags of task ``key``."""
        found = self._tags.get(key)
        if found is None:
            found = self._tags[key] = task.tags & self.limits.keys()
        return found

    def acquire(self, unit: Unit, tags: frozenset[str]) -> list[str]:
        """Take a slot of each of ``tags`` for ``unit``; the tags that were full ([]: taken)."""
        now = self._now()
        key, index = unit
        try:
            full = self.store.acquire_slots(
                tags,
                flow_run_id=self.flow_run_id,
                task_key=key,
                map_index=index,
                at=now,
                stale_before=now - STALE_AFTER,
            )
        except RunNotFoundError:
            # The run could not be recorded (a warning said so): no slot can name it.
            self._warn("this run is not in the store")
            return []
        except StoreError as exc:
            self._warn(str(exc))
            return sorted(tags)  # the limit holds: wait and ask again
        if not full:
            self._held.add(unit)
        return full

    def release(self, unit: Unit) -> None:
        """Give back ``unit``'s slots, if it holds any."""
        if unit not in self._held:
            return
        self._held.discard(unit)
        key, index = unit
        try:
            self.store.release_slots(self.flow_run_id, key, index)
        except StoreError as exc:  # reclaimed when the run ends, or when it stops beating
            self._warn(str(exc))

    def release_all(self) -> None:
        """Give back every slot of the run (it ended, or was interrupted)."""
        self._held.clear()
        try:
            self.store.release_slots(self.flow_run_id)
        except StoreError as exc:
            self._warn(str(exc))

    def describe(self, tags: list[str]) -> str:
        """How a waiting unit's full tags are named in its ``Queued`` state."""
        named = ", ".join(f"{tag!r} (limit {self.limits[tag]})" for tag in tags)
        return f"Waiting for a free slot of concurrency limit {named}."

    def _warn(self, problem: str) -> None:
        if not self._warned:
            self._warned = True
            flow_logger().warning("Concurrency limits: %s", problem)
