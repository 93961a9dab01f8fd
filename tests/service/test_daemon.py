"""The service loop, one tick at a time on a fake clock, against a real SQLite store.

Runs launched here are real processes (the deployments run ``flows.py`` from ``support``); each
test stops whatever it started.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.executors.support import wait_until
from tests.service.support import stop_run_processes, write_flows

from tideflow.clock import FakeClock
from tideflow.deployments import Deployment, Entrypoint
from tideflow.schedules import IntervalSchedule
from tideflow.service.daemon import STALE_AFTER, Service, new_run
from tideflow.service.registry import Registry, register
from tideflow.store import FlowRunRecord, StoreError, sqlite_store
from tideflow.store.sql import SQLStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLStore]:
    opened = sqlite_store(tmp_path / "tideflow.db")
    yield opened
    stop_run_processes(opened)
    opened.close()


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    return write_flows(tmp_path)


@pytest.fixture
def other_store(store: SQLStore, tmp_path: Path) -> Iterator[SQLStore]:
    """A second connection to the same file, as a second service instance would have."""
    opened = sqlite_store(tmp_path / "tideflow.db")
    yield opened
    opened.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Services a test makes; their run processes are reaped (or stopped) afterwards."""
    made: list[Service] = []
    yield made
    for service in made:
        service.close()


def deployment(flows: Path, name: str = "greet", **fields: Any) -> Deployment:
    values: dict[str, Any] = {
        "name": name,
        "entrypoint": Entrypoint("flow", f"{flows}:greeting"),
        "schedule": IntervalSchedule(interval=timedelta(minutes=1)),
        "overlap": "allow",
    }
    return Deployment(**(values | fields))


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


_minutes = iter(range(5, 10_000))


def running_run(dep: Deployment, clock: FakeClock, **fields: Any) -> FlowRunRecord:
    """A run of ``dep`` said to be Running, by default in a process that has exited."""
    scheduled = clock.now() - timedelta(minutes=next(_minutes))
    values: dict[str, Any] = {
        "state": "Running",
        "start_time": scheduled,
        "host": socket.gethostname(),
        "pid": dead_pid(),
    }
    return replace(new_run(dep, scheduled), **(values | fields))


def test_a_run_whose_process_is_gone_is_marked_crashed_not_left_running(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows, schedule=None)
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    gone = running_run(dep, fake_clock)
    alive = running_run(dep, fake_clock, id="alive", pid=os.getppid())
    store.create_flow_run(gone)
    store.create_flow_run(alive)
    service.tick()
    crashed = store.get_flow_run(gone.id)
    assert crashed.state == "Crashed"
    assert crashed.state_message == (
        f"Crashed: its process {gone.pid} on {socket.gethostname()} is gone."
    )
    assert store.get_flow_run("alive").state == "Running"


def test_a_run_on_another_host_is_crashed_only_when_its_heartbeat_is_stale(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows, schedule=None)
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    now = fake_clock.now()
    fresh = running_run(dep, fake_clock, id="fresh", host="elsewhere", heartbeat=now)
    stale = running_run(
        dep, fake_clock, id="stale", host="elsewhere", heartbeat=now - STALE_AFTER * 2
    )
    for run in (fresh, stale):
        store.create_flow_run(run)
    service.tick()
    assert store.get_flow_run("fresh").state == "Running"
    assert store.get_flow_run("stale").state == "Crashed"
    assert "no heartbeat from elsewhere since" in (store.get_flow_run("stale").state_message or "")


def test_a_crashed_run_with_retries_left_runs_again_after_its_delay(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows, schedule=None, retries=1, retry_delay=timedelta(seconds=30))
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    run = running_run(dep, fake_clock)
    store.create_flow_run(run)
    service.tick()
    waiting = store.get_flow_run(run.id)
    assert (waiting.state, waiting.attempts) == ("Scheduled", 2)
    assert waiting.state_message is not None
    assert waiting.state_message.startswith("Attempt 2 of 2 after: Crashed: its process")
    fake_clock.advance(10)
    service.tick()
    assert store.get_flow_run(run.id).state == "Scheduled"  # still waiting out its delay
    fake_clock.advance(25)
    service.tick()
    assert run.id in service.launched
    wait_until(lambda: store.get_flow_run(run.id).is_finished, 60, "the retried run to end")
    assert store.get_flow_run(run.id).state == "Success"


def test_each_slot_is_created_and_started_once_by_two_services_sharing_a_store(
    store: SQLStore,
    flows: Path,
    fake_clock: FakeClock,
    other_store: SQLStore,
    services: list[Service],
) -> None:
    dep = deployment(flows)
    first = Service(store, [dep], clock=fake_clock)
    second = Service(other_store, [dep], clock=fake_clock)
    services += [first, second]
    fake_clock.advance(60)
    first.tick()
    second.tick()
    fake_clock.advance(60)
    second.tick()
    first.tick()
    runs = store.list_flow_runs(deployment="greet", limit=None)
    assert sorted(run.scheduled_start_time for run in runs) == sorted(
        {run.scheduled_start_time for run in runs}
    )
    assert len(runs) == 3  # 12:00 (when both registered it), 12:01 and 12:02
    assert len(first.launched) + len(second.launched) == 3
    assert set(first.launched).isdisjoint(second.launched)
    wait_until(lambda: all(r.is_finished for r in store.list_flow_runs()), 60, "the runs")
    assert {r.state for r in store.list_flow_runs()} == {"Success"}


def test_a_paused_deployment_starts_nothing_and_resume_does_not_catch_up_the_pause(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows)
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    store.set_deployment_paused("greet", True, fake_clock.now())
    fake_clock.advance(600)
    service.tick()
    assert store.list_flow_runs(deployment="greet") == []
    store.set_deployment_paused("greet", False, fake_clock.now())
    store.advance_deployment("greet", fake_clock.now())  # what `tideflow resume` does
    fake_clock.advance(61)
    service.tick()
    (run,) = store.list_flow_runs(deployment="greet")
    assert run.scheduled_start_time == fake_clock.now().replace(second=0, microsecond=0)


def test_a_run_claimed_under_this_pid_before_the_service_started_is_crashed(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows, schedule=None)
    earlier = running_run(dep, fake_clock, state="Pending", pid=os.getpid())
    store.create_flow_run(earlier)
    fake_clock.advance(1)
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    service.tick()
    assert store.get_flow_run(earlier.id).state == "Crashed"


def test_a_run_whose_process_cannot_start_fails_saying_why(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows, schedule=None, python="/nowhere/bin/python")
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    store.create_flow_run(new_run(dep, fake_clock.now()))
    service.tick()
    (run,) = store.list_flow_runs()
    assert run.state == "Failed"
    assert run.state_message is not None
    assert run.state_message.startswith("Failed: its process could not be started: ")
    assert "/nowhere/bin/python" in run.state_message


def test_a_failing_tick_is_logged_and_the_service_goes_on(
    store: SQLStore,
    flows: Path,
    fake_clock: FakeClock,
    services: list[Service],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Service(store, [deployment(flows)], clock=fake_clock)
    services.append(service)
    ticks: list[int] = []

    def locked() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            service.request_stop()
        raise StoreError("database is locked")

    monkeypatch.setattr(service, "tick", locked)
    service.run()
    assert len(ticks) == 3, "the loop went on after each failed tick"
    failures = [r for r in caplog.records if r.getMessage().startswith("A service tick failed")]
    assert len(failures) == 3


def test_a_deployment_whose_stored_spec_is_bad_is_left_out_not_the_others(
    store: SQLStore, flows: Path, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    register(store, [deployment(flows)], fake_clock.now())
    store.upsert_deployment("broken", {"name": "broken", "overlap": "sometimes"}, fake_clock.now())
    deployments, histories, _ = Registry(store).snapshot()
    assert [d.name for d in deployments] == ["greet"]
    assert set(histories) == {"broken", "greet"}
    assert any("Deployment 'broken' is left out" in r.getMessage() for r in caplog.records)


def test_a_slot_already_taken_by_a_backfill_still_moves_the_schedule_on(
    store: SQLStore, flows: Path, fake_clock: FakeClock, services: list[Service]
) -> None:
    dep = deployment(flows)
    service = Service(store, [dep], clock=fake_clock)
    services.append(service)
    next_slot = fake_clock.now() + timedelta(minutes=1)
    backfilled = new_run(dep, next_slot)
    store.create_flow_run(backfilled)
    fake_clock.advance(60)
    service.tick()
    runs = store.list_flow_runs(deployment="greet", limit=None)
    assert [run.scheduled_start_time for run in runs].count(next_slot) == 1
    record = store.get_deployment("greet")
    assert record is not None
    assert record.last_fire == next_slot, "else the planner would ask for the slot every tick"
