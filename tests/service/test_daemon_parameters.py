"""The service and clock parameters, on a fake clock and a fake launcher: each run gets its
clock's ``parameter_defaults``, and clocks firing together with different ones make one run each,
exactly once, across restarts and backfills."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from tests.service.fakes import FakeHost, FakeLauncher

from tideflow import actions
from tideflow.clock import FakeClock
from tideflow.deployments import Deployment, Entrypoint
from tideflow.schedules import IntervalClock, Schedule
from tideflow.service.daemon import Service
from tideflow.store import FlowRunRecord, MemoryStore

MINUTE = timedelta(minutes=1)
TINY = timedelta(microseconds=1)


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    with MemoryStore() as opened:
        yield opened


def by_region(**fields: Any) -> Deployment:
    clocks = [
        IntervalClock(10 * MINUTE, parameter_defaults={"region": region}) for region in ("eu", "us")
    ]
    return Deployment(
        name="report",
        entrypoint=Entrypoint("flow", "flows.py:report"),
        schedule=Schedule(clocks),
        parameters={"region": "nowhere", "format": "pdf"},
        **({"overlap": "allow"} | fields),
    )


def service(
    store: MemoryStore, host: FakeHost, clock: FakeClock, deployment: Deployment | None = None
) -> Service:
    deployments = [deployment or by_region()]
    return Service(store, deployments, clock=clock, launcher=FakeLauncher(host))


def runs(store: MemoryStore) -> list[FlowRunRecord]:
    found = store.list_flow_runs(deployment="report", limit=None)
    return sorted(found, key=lambda run: run.scheduled_start_time)


def test_clocks_firing_together_with_different_parameters_make_two_runs_once(
    store: MemoryStore, fake_clock: FakeClock
) -> None:
    host = FakeHost()
    start = fake_clock.now()  # 12:00, a fire time of both clocks
    first = service(store, host, fake_clock)
    wake = first.tick()
    assert wake == start + TINY  # the second run is due a microsecond later: wake for it
    del first  # the service restarts: the slots it made are not made again
    fake_clock.advance(1)
    service(store, host, fake_clock).tick()
    made = runs(store)
    assert [(run.scheduled_start_time, run.parameters) for run in made] == [
        (start, {"region": "eu", "format": "pdf"}),
        (start + TINY, {"region": "us", "format": "pdf"}),
    ]
    assert all(len(host.runs_started(run.id)) == 1 for run in made)
    assert {run.state for run in made} == {"Claimed"}


def test_a_backfill_makes_the_same_runs_as_the_schedule_would(
    store: MemoryStore, fake_clock: FakeClock
) -> None:
    host = FakeHost()
    svc = service(store, host, fake_clock)
    svc.tick()  # 12:00 from the schedule
    now = fake_clock.now()
    result = actions.backfill(store, "report", now - 10 * MINUTE, now, at=now)
    assert [(run.scheduled_start_time, run.parameters["region"]) for run in result.created] == [
        (now - 10 * MINUTE, "eu"),
        (now - 10 * MINUTE + TINY, "us"),
    ]
    assert result.present == [now, now + TINY]


def test_under_overlap_skip_the_second_parameter_set_waits_for_the_first(
    store: MemoryStore, fake_clock: FakeClock
) -> None:
    host = FakeHost()
    svc = service(store, host, fake_clock, by_region(overlap="skip"))  # one at a time
    svc.tick()
    fake_clock.advance(1)
    svc.tick()
    first, second = runs(store)
    assert (first.state, second.state) == ("Claimed", "Scheduled")  # waiting, not skipped
    host.finish(store, first.id, fake_clock.now())
    svc.tick()
    assert [run.state for run in runs(store)] == ["Success", "Claimed"]
    assert second.parameters["region"] == "us"
