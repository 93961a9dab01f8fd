"""Concurrency limits by task tag, held against every store backend (memory, SQLite, PostgreSQL).

At most ``limit`` task runs with a tag hold a slot at once, whoever asks and however many ask at
the same instant; slots of runs that ended or stopped beating are reclaimed so no dead run holds
one forever.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.store.test_conformance import T0, at, flow_run, race

from tideflow.store import InvalidRecordError, RunNotFoundError, RunStore
from tideflow.store.slots import ConcurrencyLimit

FRESH = at(-60)  # stale_before: runs that beat after it are alive


def running(store: RunStore, *run_ids: str) -> None:
    for run_id in run_ids:
        store.create_flow_run(flow_run(run_id, state="Running", start_time=T0, heartbeat=T0))


def acquire(
    store: RunStore, run_id: str, key: str, *tags: str, index: int | None = None
) -> list[str]:
    return store.acquire_slots(
        tags, flow_run_id=run_id, task_key=key, map_index=index, at=at(1), stale_before=FRESH
    )


def in_use(store: RunStore) -> dict[str, int]:
    return {limit.tag: limit.in_use for limit in store.concurrency_limits()}


def test_a_limit_is_set_listed_changed_and_deleted(store: RunStore) -> None:
    store.set_concurrency_limit("db", 2, T0)
    store.set_concurrency_limit("api", 5, T0)
    store.set_concurrency_limit("db", 3, at(5))
    assert store.concurrency_limits() == [
        ConcurrencyLimit(tag="api", limit=5, updated_at=T0),
        ConcurrencyLimit(tag="db", limit=3, updated_at=at(5)),
    ]
    assert store.delete_concurrency_limit("db") is True
    assert store.delete_concurrency_limit("db") is False
    assert [limit.tag for limit in store.concurrency_limits()] == ["api"]


@pytest.mark.parametrize(("tag", "limit"), [("", 1), ("db", -1), ("db", 1.5), ("db", True)])
def test_bad_limits_are_refused_naming_the_value(store: RunStore, tag: str, limit: object) -> None:
    with pytest.raises(InvalidRecordError, match="concurrency limit"):
        store.set_concurrency_limit(tag, limit, T0)  # type: ignore[arg-type]


def test_no_more_task_runs_than_the_limit_hold_a_slot(store: RunStore) -> None:
    running(store, "run-1", "run-2")
    store.set_concurrency_limit("db", 2, T0)
    assert acquire(store, "run-1", "load", "db") == []
    assert acquire(store, "run-2", "load", "db", "untagged-limitless") == []
    assert acquire(store, "run-2", "save", "db") == ["db"]
    assert acquire(store, "run-1", "load", "db") == []  # holding one already: kept, not doubled
    assert in_use(store) == {"db": 2}
    slot = store.concurrency_limits()[0].slots[0]
    assert (slot.flow_run_id, slot.task_key, slot.map_index, slot.acquired_at) == (
        "run-1",
        "load",
        None,
        at(1),
    )
    assert store.release_slots("run-1", "load") == 1
    assert acquire(store, "run-2", "save", "db") == []


def test_a_task_run_takes_every_limited_tag_or_none(store: RunStore) -> None:
    running(store, "run-1")
    store.set_concurrency_limit("db", 1, T0)
    store.set_concurrency_limit("api", 1, T0)
    assert acquire(store, "run-1", "a", "db") == []
    assert acquire(store, "run-1", "b", "db", "api") == ["db"]
    assert in_use(store) == {"api": 0, "db": 1}  # api was not taken by the refused task


def test_mapped_children_hold_slots_of_their_own(store: RunStore) -> None:
    running(store, "run-1")
    store.set_concurrency_limit("db", 2, T0)
    assert acquire(store, "run-1", "load", "db", index=0) == []
    assert acquire(store, "run-1", "load", "db", index=1) == []
    assert acquire(store, "run-1", "load", "db", index=2) == ["db"]
    assert store.release_slots("run-1", "load", 0) == 1
    assert acquire(store, "run-1", "load", "db", index=2) == []


def test_untagged_or_unlimited_tasks_need_no_slot(store: RunStore) -> None:
    running(store, "run-1")
    assert acquire(store, "run-1", "a") == []
    assert acquire(store, "run-1", "a", "free") == []
    assert store.concurrency_limits() == []


def test_a_limit_of_zero_holds_every_task_with_the_tag(store: RunStore) -> None:
    running(store, "run-1")
    store.set_concurrency_limit("frozen", 0, T0)
    assert acquire(store, "run-1", "a", "frozen") == ["frozen"]


def test_slots_of_ended_or_silent_runs_are_reclaimed(store: RunStore) -> None:
    running(store, "ended", "silent", "alive", "asking")
    store.set_concurrency_limit("db", 3, T0)
    for run_id in ("ended", "silent", "alive"):
        assert acquire(store, run_id, "t", "db") == []
    assert acquire(store, "asking", "t", "db") == ["db"]
    store.finish("ended", "Crashed", "killed", at=at(2))
    # "silent" last beat at T0; "alive" beat since. A caller judging silence from at(1) on:
    store.heartbeat("alive", at(30))
    reclaimed = store.acquire_slots(
        ["db"], flow_run_id="asking", task_key="t", map_index=None, at=at(40), stale_before=at(1)
    )
    assert reclaimed == []
    holders = sorted(slot.flow_run_id for slot in store.concurrency_limits()[0].slots)
    assert holders == ["alive", "asking"]


def test_releasing_a_run_gives_back_all_its_slots(store: RunStore) -> None:
    running(store, "run-1", "run-2")
    store.set_concurrency_limit("db", 5, T0)
    for key in ("a", "b"):
        acquire(store, "run-1", key, "db")
    acquire(store, "run-2", "a", "db")
    assert store.release_slots("run-1") == 2
    assert store.release_slots("run-1") == 0
    assert in_use(store) == {"db": 1}


def test_deleting_a_limit_frees_its_slots_and_tasks_need_none(store: RunStore) -> None:
    running(store, "run-1")
    store.set_concurrency_limit("db", 1, T0)
    acquire(store, "run-1", "a", "db")
    assert store.delete_concurrency_limit("db") is True
    assert acquire(store, "run-1", "b", "db") == []
    store.set_concurrency_limit("db", 1, T0)
    assert in_use(store) == {"db": 0}


def test_pruning_a_run_frees_its_slots(store: RunStore) -> None:
    running(store, "run-1")
    store.set_concurrency_limit("db", 1, T0)
    acquire(store, "run-1", "a", "db")
    store.finish("run-1", "Success", None, at=at(2))
    assert store.prune(at(3) + timedelta(days=1)) == 1
    assert in_use(store) == {"db": 0}


def test_acquiring_for_a_missing_run_is_refused(store: RunStore) -> None:
    store.set_concurrency_limit("db", 1, T0)
    with pytest.raises(RunNotFoundError, match="ghost"):
        acquire(store, "ghost", "a", "db")


def test_of_many_concurrent_acquirers_only_the_limit_win(store: RunStore) -> None:
    running(store, *(f"run-{i}" for i in range(8)))
    store.set_concurrency_limit("db", 3, T0)
    outcomes = race(8, lambda i: acquire(store, f"run-{i}", "t", "db"))
    assert sorted(map(repr, outcomes)) == ["['db']"] * 5 + ["[]"] * 3
    assert in_use(store) == {"db": 3}
