"""The snapshot the service plans with: each deployment's waiting and active runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tideflow import actions
from tideflow.deployments import Deployment, Entrypoint
from tideflow.schedules import IntervalSchedule
from tideflow.service.registry import Registry
from tideflow.store import MemoryStore

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_the_snapshot_gives_each_deployment_its_waiting_and_active_runs() -> None:
    store = MemoryStore()
    every_minute = Deployment(
        name="etl",
        entrypoint=Entrypoint("command", ("true",)),
        schedule=IntervalSchedule(interval=timedelta(minutes=1)),
    )
    actions.deploy(store, [every_minute], at=T0)
    store.advance_deployment("etl", T0)
    waiting = actions.new_run(every_minute, T0 + timedelta(minutes=1))
    active = actions.new_run(every_minute, T0)
    retrying = actions.new_run(every_minute, T0 - timedelta(minutes=1), origin="backfill")
    for run in (waiting, active, retrying):
        store.create_flow_run(run)
    store.claim(active.id, at=T0, host="h", pid=1)
    store.claim(retrying.id, at=T0, host="h", pid=2)
    store.start(retrying.id, at=T0, host="h", pid=2)
    store.finish(retrying.id, "Failed", "boom", at=T0)
    store.reschedule(retrying.id, at=T0, message="again", not_before=T0 + timedelta(seconds=30))
    snapshot = Registry(store).snapshot()
    history = snapshot.histories["etl"]
    assert (history.registered_at, history.last_fire) == (T0, T0)
    assert [ref.id for ref in history.waiting] == [retrying.id, waiting.id]
    assert [ref.id for ref in history.active] == [active.id]
    (ref,) = [ref for ref in history.waiting if ref.id == retrying.id]
    assert (ref.origin, ref.state, ref.due_time) == (
        "backfill",
        "Retrying",
        T0 + timedelta(seconds=30),
    )
    assert {run.id for run in snapshot.unfinished} == {waiting.id, active.id, retrying.id}
    assert snapshot.registered == {"etl"}
