"""The service loop, tick by tick, on a fake clock and a fake launcher: no process, no sleep.

The store is a real one (in memory); the launcher's "processes" live in a :class:`FakeHost`
that outlives any one service, as a machine outlives a killed service. The test plays each run's
process, doing to the store what the real one does (take the run over, finish it, die).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from tests.service.fakes import FakeHost, FakeLauncher

from tideflow import actions
from tideflow.clock import FakeClock
from tideflow.deployments import Deployment, Entrypoint
from tideflow.engine.run_writer import HOST
from tideflow.schedules import IntervalSchedule
from tideflow.service.daemon import STALE_AFTER, Service
from tideflow.service.registry import Registry
from tideflow.store import FlowRunRecord, MemoryStore, StoreError

MINUTE = timedelta(minutes=1)


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    with MemoryStore() as opened:
        yield opened


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


def deployment(name: str = "greet", **fields: Any) -> Deployment:
    values: dict[str, Any] = {
        "name": name,
        "entrypoint": Entrypoint("flow", "flows.py:greeting"),
        "schedule": IntervalSchedule(interval=MINUTE),
        "overlap": "allow",
    }
    return Deployment(**(values | fields))


def service(
    store: MemoryStore, host: FakeHost, clock: FakeClock, *deps: Deployment, **options: Any
) -> Service:
    return Service(store, deps, clock=clock, launcher=FakeLauncher(host), **options)


def runs(store: MemoryStore, name: str = "greet") -> list[FlowRunRecord]:
    return sorted(store.list_flow_runs(deployment=name, limit=None), key=lambda r: r.id)


def only(store: MemoryStore, name: str = "greet") -> FlowRunRecord:
    (run,) = store.list_flow_runs(deployment=name, limit=None)
    return run


# -- launching: a run is held by its own process from the start ---------------------------------


def test_a_launched_run_is_claimed_for_the_process_started_for_it(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None))
    actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    run = only(store)
    (process,) = host.runs_started(run.id)
    assert (run.state, run.host, run.pid) == ("Claimed", HOST, process.pid)
    host.finish(store, run.id, fake_clock.now())
    svc.tick()
    assert only(store).state == "Success"


def test_a_service_killed_just_after_a_launch_loses_nothing_and_runs_nothing_twice(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    """The launch race: the run's process is still importing its flow when the service dies.
    The restarted service must neither mark the run crashed (its process is alive) nor start
    it again; the process then takes it over and finishes it."""
    dep = deployment(schedule=None)
    first = service(store, host, fake_clock, dep)
    run = actions.trigger(store, "greet", at=fake_clock.now())
    first.tick()
    del first  # killed: its launcher is gone, the run's process is not
    fake_clock.advance(4)
    restarted = service(store, host, fake_clock, dep)
    restarted.tick()
    assert store.get_flow_run(run.id).state == "Claimed", "not crashed, not relaunched"
    assert len(host.runs_started(run.id)) == 1
    host.finish(store, run.id, fake_clock.now())
    restarted.tick()
    assert store.get_flow_run(run.id).state == "Success"
    assert len(host.runs_started(run.id)) == 1


def test_of_two_services_sharing_a_store_each_slot_is_created_and_started_once(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    dep = deployment()
    first, second = service(store, host, fake_clock, dep), service(store, host, fake_clock, dep)
    for _ in range(3):
        fake_clock.advance(60)
        first.tick()
        second.tick()
    created = runs(store)
    assert len(created) == 4  # 12:00 (when both registered it), 12:01, 12:02 and 12:03
    assert len({run.scheduled_start_time for run in created}) == 4
    for run in created:
        assert len(host.runs_started(run.id)) == 1, "started once, by one service"
    assert {run.state for run in created} == {"Claimed"}


def test_a_process_started_for_a_run_another_service_claimed_is_stopped(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    dep = deployment(schedule=None)
    first = service(store, host, fake_clock, dep)
    run = actions.trigger(store, "greet", at=fake_clock.now())
    store.claim(run.id, at=fake_clock.now(), host=HOST, pid=1)  # someone else got it first
    first.tick()
    (loser,) = host.runs_started(run.id) or [None]
    assert loser is None or loser.pid in host.stopped


def test_a_run_whose_process_cannot_start_fails_saying_why(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    dep = deployment(schedule=None)
    svc = Service(
        store,
        [dep],
        clock=fake_clock,
        launcher=FakeLauncher(host, fail_with="[Errno 2] No such file: '/nowhere/bin/python'"),
    )
    actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    run = only(store)
    assert run.state == "Failed"
    assert run.state_message == (
        "Failed: its process could not be started: [Errno 2] No such file: '/nowhere/bin/python'"
    )


# -- supervision: crashes, deadlines, cancels ------------------------------------------------------


def test_a_run_whose_process_died_is_crashed_naming_its_exit_status(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None))
    run = actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    host.take_over(store, run.id, fake_clock.now())
    host.die(store, run.id, status=-9)
    svc.tick()
    crashed = store.get_flow_run(run.id)
    assert crashed.state == "Crashed"
    assert crashed.state_message == (
        f"Crashed: its process {crashed.pid} exited with status -9 without recording a final state."
    )


def test_a_run_on_another_host_is_crashed_only_when_its_heartbeat_is_stale(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None))
    for name in ("fresh", "stale"):
        run = actions.trigger(store, "greet", at=fake_clock.now())
        store.claim(run.id, at=fake_clock.now(), host="elsewhere", pid=7)
        store.start(run.id, at=fake_clock.now(), host="elsewhere", pid=7)
        if name == "fresh":
            fresh = run.id
        else:
            stale = run.id
    fake_clock.advance(STALE_AFTER + timedelta(seconds=1))
    store.heartbeat(fresh, fake_clock.now())
    svc.tick()
    assert store.get_flow_run(fresh).state == "Running"
    assert store.get_flow_run(stale).state == "Crashed"
    assert "no heartbeat from its process 7 on elsewhere" in (
        store.get_flow_run(stale).state_message or ""
    )


def test_a_crashed_run_with_retries_left_runs_again_after_its_delay(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    dep = deployment(schedule=None, retries=1, retry_delay=timedelta(seconds=30))
    svc = service(store, host, fake_clock, dep)
    run = actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    host.die(store, run.id)
    assert svc.tick() == fake_clock.now() + timedelta(seconds=30), "wakes when the retry is due"
    waiting = store.get_flow_run(run.id)
    assert (waiting.state, waiting.attempts) == ("Retrying", 2)
    assert (waiting.state_message or "").startswith("Attempt 2 of 2 after Crashed: Crashed: its")
    fake_clock.advance(10)
    svc.tick()
    assert store.get_flow_run(run.id).state == "Retrying", "still waiting out its delay"
    fake_clock.advance(20)
    svc.tick()
    assert store.get_flow_run(run.id).state == "Claimed"
    assert len(host.runs_started(run.id)) == 2
    host.finish(store, run.id, fake_clock.now())
    assert store.get_flow_run(run.id).state == "Success"


def test_a_deadline_is_enforced_by_a_restarted_service(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    """Timeout 3 s; the service dies at 2.5 s; the one that replaces it stops the run at 3 s."""
    dep = deployment(schedule=None, timeout=timedelta(seconds=3))
    first = service(store, host, fake_clock, dep)
    run = actions.trigger(store, "greet", at=fake_clock.now())
    first.tick()
    host.take_over(store, run.id, fake_clock.now())
    fake_clock.advance(2.5)
    del first
    restarted = service(store, host, fake_clock, dep)
    wake = restarted.tick()
    assert store.get_flow_run(run.id).state == "Running"
    assert wake == fake_clock.now() + timedelta(seconds=0.5), "it wakes at the deadline"
    fake_clock.advance(0.5)
    restarted.tick()
    timed_out = store.get_flow_run(run.id)
    assert timed_out.state == "TimedOut"
    assert timed_out.state_message == "TimedOut: it ran past 3 s; its process tree was stopped."
    assert host.process_of(store, run.id).pid in host.stopped


def test_cancelling_a_running_run_stops_its_process_and_ends_it_cancelled(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None))
    run = actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    host.take_over(store, run.id, fake_clock.now())
    asked = actions.cancel(store, run.id[:8], at=fake_clock.now(), reason="wrong parameters")
    assert asked.state == "Cancelling"
    svc.tick()
    done = store.get_flow_run(run.id)
    assert done.state == "Cancelled"
    assert done.state_message == "Cancelled: wrong parameters; its process tree was stopped."
    assert done.pid in host.stopped
    names = [e.name for e in store.events(flow_run_id=run.id)]
    assert names == [
        "Scheduled",
        "trigger",
        "Claimed",
        "Running",
        "Cancelling",
        "cancel",
        "Cancelled",
    ]


def test_waiting_runs_of_a_deployment_that_no_longer_exists_are_cancelled(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None))
    store.upsert_deployment("gone", deployment("gone").to_dict(), fake_clock.now(), paused=True)
    orphan = actions.trigger(store, "gone", at=fake_clock.now())
    store.delete_deployment("gone", fake_clock.now())  # not through actions.delete
    svc.tick()
    cancelled = store.get_flow_run(orphan.id)
    assert cancelled.state == "Cancelled"
    assert cancelled.state_message == "Cancelled: deployment 'gone' no longer exists."


# -- queues, capacity, triggers ------------------------------------------------------------------


def test_a_queue_of_twenty_backfilled_runs_drains_without_waiting_for_ticks(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    dep = deployment(overlap="queue")
    svc = service(store, host, fake_clock, dep, tick=1.0)
    start = fake_clock.now() - 20 * MINUTE
    done = actions.backfill(store, "greet", start, start + 19 * MINUTE, at=fake_clock.now())
    assert len(done.created) == 20
    began = fake_clock.now()
    svc.tick()
    for _ in range(20):
        (claimed,) = [r for r in runs(store) if r.state == "Claimed"]
        host.finish(store, claimed.id, fake_clock.now())  # its process ends: the service wakes
        svc._wait(svc.tick())
    assert [r.state for r in runs(store) if r.origin == "backfill"] == ["Success"] * 20
    assert fake_clock.now() == began, "no tick was waited for: each end woke the service"


def test_max_active_runs_that_many_at_once(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None, overlap="queue", max_active=3))
    for _ in range(5):
        actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    assert sorted(r.state for r in runs(store)) == ["Claimed"] * 3 + ["Scheduled"] * 2


def test_a_trigger_is_never_skipped_silently_it_waits_for_the_running_one(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(overlap="skip"))
    fake_clock.advance(60)
    svc.tick()  # 12:00 and 12:01 are due: 12:00 runs, 12:01 is skipped
    (scheduled,) = [r for r in runs(store) if r.state == "Claimed"]
    manual = actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    assert store.get_flow_run(manual.id).state == "Scheduled", "waiting, not skipped"
    host.finish(store, scheduled.id, fake_clock.now())
    svc.tick()
    assert store.get_flow_run(manual.id).state == "Claimed"


def test_a_persistent_deployment_restarting_skips_nothing_falsely(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    def persistent_processes() -> list[int]:
        return [p.pid for p in host.processes.values() if p.run_id is None and p.alive]

    svc = service(store, host, fake_clock, deployment(kind="persistent", overlap="skip"))
    svc.tick()  # 12:00: its process starts and takes the 12:00 run
    (first,) = persistent_processes()
    host.finish(store, only(store).id, fake_clock.now())
    host.exit(first, 1)
    fake_clock.advance(60)
    svc.tick()  # 12:01: the process is gone; it restarts after a 1 s back-off
    assert persistent_processes() == []
    assert [r.state for r in runs(store)].count("Scheduled") == 1, "the 12:01 run waits"
    fake_clock.advance(1)
    svc.tick()
    (second,) = persistent_processes()
    assert [r.state for r in runs(store)].count("Claimed") == 1
    host.exit(second, 1)  # it dies again, with the 12:01 run: a 2 s back-off now
    fake_clock.advance(59)
    svc.tick()  # 12:02: slot created; it waits for the process, it is not skipped
    waiting = [r for r in runs(store) if r.state == "Scheduled"]
    assert len(waiting) == 1
    assert not any(r.state == "Skipped" for r in runs(store))
    fake_clock.advance(60)
    svc.tick()  # 12:03: restarted; 12:02 is launched and 12:03 skipped, truthfully
    (third,) = persistent_processes()
    launched = store.get_flow_run(waiting[0].id)
    assert (launched.state, launched.pid) == ("Claimed", third)
    assert host.processes[third].notified == [launched.id]
    (skipped,) = [r for r in runs(store) if r.state == "Skipped"]
    assert f"run {launched.id}" in (skipped.state_message or ""), "it names a run that is going"


def test_a_paused_deployment_starts_nothing_and_resume_does_not_catch_up_the_pause(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment())
    actions.pause(store, "greet", at=fake_clock.now())
    fake_clock.advance(600)
    svc.tick()
    assert runs(store) == []
    actions.resume(store, "greet", at=fake_clock.now())
    fake_clock.advance(61)
    svc.tick()
    (run,) = runs(store)
    assert run.scheduled_start_time == fake_clock.now().replace(second=0, microsecond=0)


# -- the loop ------------------------------------------------------------------------------------


def test_a_failing_tick_is_logged_and_the_service_goes_on(
    store: MemoryStore,
    host: FakeHost,
    fake_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = service(store, host, fake_clock, deployment())
    ticks: list[int] = []

    def locked() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            svc.request_stop()
        raise StoreError("database is locked")

    monkeypatch.setattr(svc, "tick", locked)
    svc.run()
    assert len(ticks) >= 3, "the loop went on after each failed tick"
    failures = [r for r in caplog.records if r.getMessage().startswith("A service tick failed")]
    assert len(failures) >= 3


def test_stopping_gives_runs_their_grace_then_cancels_what_is_left(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None), grace=30)
    run = actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    host.take_over(store, run.id, fake_clock.now())
    svc._signals.put(signal.SIGTERM)
    began = fake_clock.now()
    svc.run()
    assert fake_clock.now() - began >= timedelta(seconds=30), "it waited out the grace"
    cut = store.get_flow_run(run.id)
    assert cut.state == "Cancelled"
    assert cut.state_message == "Cancelled: the service stopped before the run finished."
    assert cut.pid in host.stopped


def test_a_deployment_whose_stored_spec_is_bad_is_left_out_not_the_others(
    store: MemoryStore, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    actions.deploy(store, [deployment()], at=fake_clock.now())
    store.upsert_deployment("broken", {"name": "broken", "overlap": "sometimes"}, fake_clock.now())
    snapshot = Registry(store).snapshot()
    assert [d.name for d in snapshot.deployments] == ["greet"]
    assert set(snapshot.histories) == {"broken", "greet"}
    assert snapshot.registered == {"broken", "greet"}
    assert any("Deployment 'broken' is left out" in r.getMessage() for r in caplog.records)


def test_a_slot_already_taken_by_a_backfill_still_moves_the_schedule_on(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    dep = deployment()
    svc = service(store, host, fake_clock, dep)
    next_slot = fake_clock.now() + MINUTE
    store.create_flow_run(actions.new_run(dep, next_slot, origin="backfill"))
    fake_clock.advance(60)
    svc.tick()
    assert [run.scheduled_start_time for run in runs(store)].count(next_slot) == 1
    record = store.get_deployment("greet")
    assert record is not None
    assert record.last_fire == next_slot, "else the planner would ask for the slot every tick"


# -- paused runs: held by their process until resumed ----------------------------------------


def paused_run(store: MemoryStore, host: FakeHost, svc: Service, clock: FakeClock) -> str:
    """A triggered run whose process took it over and paused it (tasks wait for approval)."""
    run = actions.trigger(store, "greet", at=clock.now())
    svc.tick()
    taken = host.take_over(store, run.id, clock.now())
    assert taken.pid is not None
    paused = store.pause(run.id, at=clock.now(), message="waiting", host=taken.host, pid=taken.pid)
    assert paused is not None
    return run.id


def test_a_paused_run_whose_process_lives_is_left_waiting_and_keeps_its_slot(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None, overlap="skip"))
    run_id = paused_run(store, host, svc, fake_clock)
    fake_clock.advance(3600)
    later = actions.trigger(store, "greet", at=fake_clock.now())
    svc.tick()
    assert store.get_flow_run(run_id).state == "Paused"
    assert store.get_flow_run(later.id).state == "Scheduled", "the paused run holds the slot"
    assert host.stopped == []


def test_a_paused_run_whose_process_died_is_crashed(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None))
    run_id = paused_run(store, host, svc, fake_clock)
    host.die(store, run_id, status=-9)
    svc.tick()
    crashed = store.get_flow_run(run_id)
    assert crashed.state == "Crashed"
    assert "without recording a final state" in (crashed.state_message or "")


def test_a_paused_run_past_its_deadline_is_stopped_and_timed_out(
    store: MemoryStore, host: FakeHost, fake_clock: FakeClock
) -> None:
    svc = service(store, host, fake_clock, deployment(schedule=None, timeout=timedelta(seconds=60)))
    run_id = paused_run(store, host, svc, fake_clock)
    fake_clock.advance(61)
    svc.tick()
    ended = store.get_flow_run(run_id)
    assert ended.state == "TimedOut"
    assert ended.pid in host.stopped
