"""Registering deployments: pauses survive re-registration, a file owns what it declares."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tideflow.deployments import Deployment, Entrypoint
from tideflow.schedules import IntervalSchedule
from tideflow.service.registry import Registry, register
from tideflow.store import MemoryStore

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def command(name: str, **fields: object) -> Deployment:
    return Deployment(name=name, entrypoint=Entrypoint("command", ("true",)), **fields)  # type: ignore[arg-type]


def test_a_pause_survives_registering_the_same_spec_again() -> None:
    store = MemoryStore()
    register(store, [command("etl")], T0)
    store.set_deployment_paused("etl", True, T0)
    register(store, [command("etl")], T0 + timedelta(hours=1))
    (deployment,) = Registry(store).snapshot()[0]
    assert deployment.paused is True


def test_editing_paused_into_the_spec_pauses_and_out_of_it_resumes() -> None:
    store = MemoryStore()
    register(store, [command("etl")], T0)
    register(store, [command("etl", paused=True)], T0)
    assert Registry(store).snapshot()[0][0].paused is True
    register(store, [command("etl", paused=False)], T0)
    assert Registry(store).snapshot()[0][0].paused is False


def test_a_file_s_deployments_it_no_longer_declares_are_removed_others_kept() -> None:
    store = MemoryStore()
    register(store, [command("a"), command("b")], T0, source="/srv/tideflow.toml")
    register(store, [command("by-hand")], T0)
    register(store, [command("a")], T0, source="/srv/tideflow.toml")
    assert [d.name for d in store.list_deployments()] == ["a", "by-hand"]


def test_the_snapshot_gives_each_deployment_its_waiting_and_active_runs() -> None:
    from tideflow.service.daemon import new_run

    store = MemoryStore()
    every_minute = command("etl", schedule=IntervalSchedule(interval=timedelta(minutes=1)))
    register(store, [every_minute], T0)
    store.advance_deployment("etl", T0)
    waiting = new_run(every_minute, T0 + timedelta(minutes=1))
    active = new_run(every_minute, T0)
    store.create_flow_run(waiting)
    store.create_flow_run(active)
    store.set_flow_run_state(active.id, "Running", None, T0)
    _, histories, unfinished = Registry(store).snapshot()
    history = histories["etl"]
    assert (history.registered_at, history.last_fire) == (T0, T0)
    assert [ref.id for ref in history.waiting] == [waiting.id]
    assert [ref.id for ref in history.active] == [active.id]
    assert {run.id for run in unfinished} == {waiting.id, active.id}
    held = Registry(store).snapshot({waiting.id})[1]["etl"]
    assert held.waiting == ()


def test_taking_paused_out_of_the_file_resumes_without_catching_the_pause_up() -> None:
    store = MemoryStore()
    hourly = command("etl", schedule=IntervalSchedule(interval=timedelta(hours=1)))
    register(store, [replace(hourly, paused=True)], T0)
    register(store, [hourly], T0 + timedelta(hours=5, minutes=30))
    record = store.get_deployment("etl")
    assert record is not None
    assert record.paused is False
    assert record.last_fire == T0 + timedelta(hours=5, minutes=30)
