"""The planner's contract (see tideflow.planner): slots, catch-up, overlap, pausing, DST, order.

Time is only ever an argument here. ``World`` stands in for the store and the daemon: it applies
the planner's actions to a dict of runs and builds each tick's History from it, the way the daemon
will (plan, apply, plan again at once so new runs launch, apply).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tideflow import planner
from tideflow.deployments import Deployment, Entrypoint
from tideflow.errors import PlannerError
from tideflow.planner import (
    BACKFILL_LIMIT,
    Action,
    Create,
    History,
    Launch,
    RunRef,
    Skip,
    backfill_times,
    next_wakeup,
    plan,
)
from tideflow.schedules import CronSchedule, IntervalSchedule, Schedule

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
BERLIN = ZoneInfo("Europe/Berlin")


def deployment(
    name: str = "etl", schedule: Schedule | None = None, **options: object
) -> Deployment:
    return Deployment(
        name=name,
        entrypoint=Entrypoint("flow", "etl.py:flow"),
        schedule=schedule,
        **options,  # type: ignore[arg-type]
    )


def every_minute(name: str = "etl", **options: object) -> Deployment:
    return deployment(name, IntervalSchedule(interval=MINUTE), **options)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return T0.replace(hour=hour, minute=minute, second=second)


def creates(actions: Sequence[Action]) -> list[datetime]:
    return [a.scheduled_time for a in actions if isinstance(a, Create)]


# -- a stand-in for the store and the daemon ----------------------------------------------------


@dataclass
class Run:
    id: str
    scheduled_time: datetime
    state: str
    from_schedule: bool
    not_before: datetime | None = None


class World:
    """One deployment's runs, kept as the store would, and the daemon's tick."""

    def __init__(self, dep: Deployment, registered_at: datetime) -> None:
        self.deployment = dep
        self.registered_at = registered_at
        self.runs: dict[str, Run] = {}
        self.log: list[Action] = []

    def history(self) -> History:
        scheduled = [r.scheduled_time for r in self.runs.values() if r.from_schedule]
        return History(
            registered_at=self.registered_at,
            last_fire=max(scheduled, default=None),
            waiting=tuple(self._refs("Scheduled", "Retrying")),
            active=tuple(self._refs("Claimed", "Running")),
        )

    def _refs(self, *states: str) -> Iterator[RunRef]:
        for run in self.runs.values():
            if run.state in states:
                origin = "schedule" if run.from_schedule else "trigger"
                yield RunRef(run.id, run.scheduled_time, run.state, origin, run.not_before)

    def plan(self, now: datetime) -> list[Action]:
        return plan(now, [self.deployment], {self.deployment.name: self.history()})

    def apply(self, actions: Sequence[Action]) -> None:
        for action in actions:
            if isinstance(action, Create):
                slots = {r.scheduled_time for r in self.runs.values() if r.from_schedule}
                assert action.scheduled_time not in slots, f"slot created twice: {action}"
                run_id = f"run-{len(self.runs) + 1:04d}"
                self.runs[run_id] = Run(run_id, action.scheduled_time, "Scheduled", True)
            elif isinstance(action, Launch):
                assert self.runs[action.run_id].state in ("Scheduled", "Retrying")
                self.runs[action.run_id].state = "Running"
            else:
                assert self.runs[action.run_id].state == "Scheduled"
                self.runs[action.run_id].state = "Skipped"
        self.log += actions

    def tick(self, now: datetime) -> list[Action]:
        """As the daemon: plan, apply, and plan again at once when runs were created."""
        first = self.plan(now)
        self.apply(first)
        if not any(isinstance(a, Create) for a in first):
            return first
        second = self.plan(now)
        assert creates(second) == [], "planning again created more slots"
        self.apply(second)
        return first + second

    def trigger(self, when: datetime) -> str:
        run_id = f"trigger-{len(self.runs) + 1:04d}"
        self.runs[run_id] = Run(run_id, when, "Scheduled", False)
        return run_id

    def finish(self, run_id: str) -> None:
        self.runs[run_id].state = "Success"

    def finish_all(self) -> None:
        for run in self.runs.values():
            if run.state == "Running":
                run.state = "Success"

    def states(self) -> dict[datetime, str]:
        return {r.scheduled_time: r.state for r in self.runs.values()}

    def created(self) -> list[datetime]:
        return sorted(r.scheduled_time for r in self.runs.values() if r.from_schedule)


def ticks(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while moment <= end:
        yield moment
        moment += step


# -- creating slots -----------------------------------------------------------------------------


def test_an_interval_deployment_gets_one_slot_per_fire_time() -> None:
    world = World(every_minute(), registered_at=T0)
    assert world.tick(at(12, 0, 0)) == [Create("etl", at(12, 0)), Launch("etl", "run-0001")]
    assert world.tick(at(12, 0, 30)) == []
    world.finish("run-0001")
    assert creates(world.tick(at(12, 1, 1))) == [at(12, 1)]


def test_a_cron_deployment_gets_slots_at_its_cron_times() -> None:
    world = World(deployment(schedule=CronSchedule("*/15 * * * *")), registered_at=T0)
    for moment in ticks(at(12, 0, 5), at(13, 0, 5), timedelta(minutes=5)):
        world.tick(moment)
        world.finish_all()
    assert world.created() == [at(12, 0), at(12, 15), at(12, 30), at(12, 45), at(13, 0)]


def test_no_slot_is_created_before_the_deployment_was_registered() -> None:
    world = World(every_minute(catchup="all"), registered_at=at(12, 0, 30))
    assert world.tick(at(12, 0, 40)) == []
    assert creates(world.tick(at(12, 1))) == [at(12, 1)]


def test_a_slot_exactly_at_registration_is_created() -> None:
    world = World(deployment(schedule=CronSchedule("0 12 * * *")), registered_at=at(12))
    assert creates(world.plan(at(12, 0, 1))) == [at(12)]


def test_a_daily_cron_registered_after_its_time_waits_for_tomorrow() -> None:
    world = World(deployment(schedule=CronSchedule("0 6 * * *"), catchup="all"), at(12))
    assert world.plan(at(12, 5)) == []
    assert next_wakeup(at(12, 5), [world.deployment], {"etl": world.history()}) == T0.replace(
        day=2, hour=6
    )


# -- catch-up after an outage -------------------------------------------------------------------

DOWN_AT_NOON = History(registered_at=at(9), last_fire=at(12))
BACK_AT_15 = at(15, 0, 30)


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [
        ("all", [at(12) + k * MINUTE for k in range(1, 181)]),
        ("latest", [at(15)]),
        ("none", []),
    ],
)
def test_after_three_hours_down_the_catchup_policy_picks_the_slots(
    catchup: str, expected: list[datetime]
) -> None:
    # A grace of 10 s: at 15:00:30 even the 15:00 slot is 30 s late, so all 180 were missed.
    dep = every_minute(catchup=catchup, misfire_grace=timedelta(seconds=10))
    assert creates(plan(BACK_AT_15, [dep], {"etl": DOWN_AT_NOON})) == expected


@pytest.mark.parametrize("catchup", ["all", "latest", "none"])
def test_after_catching_up_the_next_fire_time_is_created_normally(catchup: str) -> None:
    world = World(every_minute(catchup=catchup, misfire_grace=timedelta(seconds=10)), at(9))
    world.apply([Create("etl", at(12))])
    world.finish("run-0001")
    world.tick(BACK_AT_15)
    world.finish_all()
    before = len(world.runs)
    assert world.tick(at(15, 0, 50)) == [], "the missed window is not replanned"
    assert creates(world.tick(at(15, 1, 2))) == [at(15, 1)]
    assert len(world.runs) == before + 1


def test_latest_with_the_default_grace_creates_the_last_missed_slot_and_the_fresh_one() -> None:
    # 14:59 is 90 s late (missed), 15:00 is 30 s late (within the default 60 s grace).
    dep = every_minute()
    assert creates(plan(BACK_AT_15, [dep], {"etl": DOWN_AT_NOON})) == [at(14, 59), at(15)]


def test_none_with_the_default_grace_creates_only_the_fresh_slot() -> None:
    dep = every_minute(catchup="none")
    assert creates(plan(BACK_AT_15, [dep], {"etl": DOWN_AT_NOON})) == [at(15)]


def test_latest_finds_the_last_missed_slot_of_a_daily_cron_after_days_down() -> None:
    dep = deployment(schedule=CronSchedule("0 6 * * *"))
    past = History(registered_at=at(0), last_fire=T0.replace(hour=6))
    now = T0.replace(day=5, hour=11)
    assert creates(plan(now, [dep], {"etl": past})) == [T0.replace(day=5, hour=6)]


def test_latest_finds_a_missed_slot_lying_exactly_on_a_search_window_boundary() -> None:
    # With no grace, the cutoff is 06:01 and the first backwards window is (06:00, 06:01):
    # the 06:00 slot sits on its boundary and must be found by the next window.
    dep = deployment(schedule=CronSchedule("0 6 * * *"), misfire_grace=timedelta(0))
    past = History(registered_at=at(0), last_fire=T0.replace(hour=6) - timedelta(days=1))
    assert creates(plan(at(6, 1), [dep], {"etl": past})) == [at(6)]


@pytest.mark.parametrize(
    ("late", "created"),
    [(timedelta(seconds=59), True), (timedelta(seconds=60), True), (timedelta(seconds=61), False)],
)
def test_a_slot_is_missed_when_first_seen_more_than_misfire_grace_late(
    late: timedelta, created: bool
) -> None:
    dep = deployment(schedule=CronSchedule("0 * * * *"), catchup="none")
    past = History(registered_at=at(11, 30))
    assert creates(plan(at(12) + late, [dep], {"etl": past})) == ([at(12)] if created else [])


def test_misfire_grace_is_per_deployment() -> None:
    dep = deployment(
        schedule=CronSchedule("0 * * * *"), catchup="none", misfire_grace=timedelta(minutes=10)
    )
    past = History(registered_at=at(11, 30))
    assert creates(plan(at(12, 9), [dep], {"etl": past})) == [at(12)]
    assert creates(plan(at(12, 11), [dep], {"etl": past})) == []


def test_all_creates_at_most_slot_limit_per_plan_and_the_rest_on_later_ticks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(planner, "SLOT_LIMIT", 50)
    world = World(every_minute(catchup="all", overlap="allow"), registered_at=at(9))
    world.apply([Create("etl", at(9))])
    first = creates(world.plan(at(11, 0, 30)))
    assert first == [at(9) + k * MINUTE for k in range(1, 51)]
    world.apply([Create("etl", t) for t in first])
    assert creates(world.plan(at(11, 0, 30))) == [at(9) + k * MINUTE for k in range(51, 101)]


def test_a_long_outage_of_a_one_second_schedule_is_not_walked_slot_by_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumed = 0
    real = planner._slots

    def counting(schedule: Schedule, after: datetime) -> Iterator[planner.Slot]:
        nonlocal consumed
        for slot in real(schedule, after):
            consumed += 1
            yield slot

    monkeypatch.setattr(planner, "_slots", counting)
    dep = deployment(schedule=IntervalSchedule(interval=timedelta(seconds=1)))
    past = History(registered_at=at(0), last_fire=at(0))
    now = at(0) + timedelta(days=30, seconds=0.5)
    for policy in ("latest", "none"):
        found = creates(plan(now, [replace(dep, catchup=policy)], {"etl": past}))
        assert len(found) == (61 if policy == "latest" else 60)
    assert consumed < 1_000  # 30 days hold 2,592,000 fire times


@pytest.mark.parametrize("catchup", ["latest", "none", "all"])
def test_a_tick_with_nothing_due_looks_at_one_fire_time_only(
    catchup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service plans every deployment every tick; almost always nothing is due.
    searches = 0
    real = planner._slots

    def counting(schedule: Schedule, after: datetime) -> Iterator[planner.Slot]:
        nonlocal searches
        searches += 1
        return real(schedule, after)

    monkeypatch.setattr(planner, "_slots", counting)
    daily = deployment(schedule=CronSchedule("0 6 * * *"), catchup=catchup)
    past = History(registered_at=at(0), last_fire=at(6))
    assert plan(at(15), [daily], {"etl": past}) == []
    assert searches == 1


# -- pausing -------------------------------------------------------------------------------------


def test_a_paused_deployment_creates_and_launches_nothing_and_keeps_its_waiting_runs() -> None:
    world = World(every_minute(paused=True), registered_at=at(11))
    world.trigger(at(11, 30))
    assert world.tick(at(12, 0, 30)) == []
    assert world.states() == {at(11, 30): "Scheduled"}
    assert next_wakeup(at(12), [world.deployment], {"etl": world.history()}) is None


def test_resumed_at_keeps_the_slots_of_a_pause_from_being_created() -> None:
    dep = every_minute(catchup="all")
    paused_over = History(registered_at=at(9), last_fire=at(10), resumed_at=at(12, 0, 30))
    assert creates(plan(at(12, 1, 10), [dep], {"etl": paused_over})) == [at(12, 1)]


def test_without_resumed_at_a_pause_counts_as_missed_time() -> None:
    dep = every_minute(catchup="latest")
    paused_over = History(registered_at=at(9), last_fire=at(10))
    assert creates(plan(at(12, 1, 10), [dep], {"etl": paused_over})) == [at(12, 0), at(12, 1)]


# -- overlap: a run that overruns several fire times --------------------------------------------


def overrun(overlap: str) -> World:
    """A one-minute deployment whose 12:00 run goes until 12:03:30; ticks every 30 s to 12:05."""
    world = World(every_minute(overlap=overlap), registered_at=at(11, 59, 30))
    for moment in ticks(at(12, 0, 5), at(12, 5, 5), timedelta(seconds=30)):
        if moment >= at(12, 3, 30):
            world.finish("run-0001")
        world.tick(moment)
    return world


def test_overlap_allow_launches_every_slot_beside_the_overrunning_run() -> None:
    world = overrun("allow")
    assert world.states() == {
        at(12, 0): "Success",
        at(12, 1): "Running",
        at(12, 2): "Running",
        at(12, 3): "Running",
        at(12, 4): "Running",
        at(12, 5): "Running",
    }


def test_overlap_queue_runs_the_waiting_slots_one_at_a_time_in_order() -> None:
    world = World(every_minute(overlap="queue"), registered_at=at(11, 59, 30))
    world.tick(at(12, 0, 5))
    world.tick(at(12, 1, 5))
    world.tick(at(12, 2, 5))
    assert world.states() == {
        at(12, 0): "Running",
        at(12, 1): "Scheduled",
        at(12, 2): "Scheduled",
    }
    world.finish("run-0001")
    assert world.tick(at(12, 2, 35)) == [Launch("etl", "run-0002")]
    assert world.tick(at(12, 2, 40)) == []
    world.finish("run-0002")
    assert world.tick(at(12, 2, 45)) == [Launch("etl", "run-0003")]


def test_overlap_skip_skips_every_slot_due_while_a_run_is_active_naming_it() -> None:
    world = overrun("skip")
    assert world.states() == {
        at(12, 0): "Success",
        at(12, 1): "Skipped",
        at(12, 2): "Skipped",
        at(12, 3): "Skipped",
        at(12, 4): "Running",
        at(12, 5): "Skipped",
    }
    (skip_12_01,) = [a for a in world.log if isinstance(a, Skip) and a.run_id == "run-0002"]
    assert skip_12_01.reason == (
        "overlap policy 'skip': run run-0001 (scheduled 2026-03-01 12:00:00 UTC) is still Running"
    )


def test_overlap_skip_launches_the_oldest_due_run_and_skips_the_others() -> None:
    dep = every_minute(overlap="skip")
    waiting = (RunRef("b", at(12, 1), "Scheduled"), RunRef("a", at(12, 0), "Scheduled"))
    past = History(registered_at=at(11), last_fire=at(12, 1), waiting=waiting)
    assert plan(at(12, 1, 10), [dep], {"etl": past}) == [
        Launch("etl", "a"),
        Skip(
            "etl",
            "b",
            "overlap policy 'skip': run a (scheduled 2026-03-01 12:00:00 UTC) was launched "
            "instead, and only one run goes at a time",
        ),
    ]


def test_overlap_skip_names_the_oldest_of_several_active_runs() -> None:
    dep = every_minute(overlap="skip")
    active = (RunRef("y", at(11, 59), "Running"), RunRef("x", at(11, 58), "Claimed"))
    waiting = (RunRef("w", at(12), "Scheduled"),)
    past = History(registered_at=at(11), last_fire=at(12), waiting=waiting, active=active)
    (skip,) = plan(at(12, 0, 5), [dep], {"etl": past})
    assert skip == Skip(
        "etl",
        "w",
        "overlap policy 'skip': run x (scheduled 2026-03-01 11:58:00 UTC) is still Claimed "
        "(and 1 more active)",
    )


# -- waiting runs that did not come from the schedule -------------------------------------------


def test_a_deployment_without_schedule_creates_nothing_but_launches_its_triggers() -> None:
    world = World(deployment(schedule=None), registered_at=at(9))
    assert world.tick(at(12)) == []
    run_id = world.trigger(at(12, 0, 1))
    assert world.tick(at(12, 0, 1)) == [Launch("etl", run_id)]
    assert next_wakeup(at(13), [world.deployment], {"etl": world.history()}) is None


def test_triggered_runs_do_not_move_the_schedule() -> None:
    world = World(every_minute(overlap="allow"), registered_at=at(11, 59, 50))
    trigger = world.trigger(at(12, 0, 20))
    actions = world.tick(at(12, 0, 20))
    assert actions == [Create("etl", at(12)), Launch("etl", trigger), Launch("etl", "run-0002")]
    assert world.history().last_fire == at(12)


def test_a_run_scheduled_in_the_future_waits_for_its_time() -> None:
    dep = deployment(schedule=None, overlap="allow")
    later = RunRef("later", at(12, 30), "Scheduled")
    past = History(registered_at=at(9), waiting=(later,))
    assert plan(at(12), [dep], {"etl": past}) == []
    assert next_wakeup(at(12), [dep], {"etl": past}) == at(12, 30)
    assert plan(at(12, 30), [dep], {"etl": past}) == [Launch("etl", "later")]


def test_overlap_skip_does_not_skip_a_run_that_is_not_due_yet() -> None:
    dep = deployment(schedule=None, overlap="skip")
    past = History(
        registered_at=at(9),
        waiting=(RunRef("now", at(12), "Scheduled"), RunRef("later", at(13), "Scheduled")),
    )
    assert plan(at(12), [dep], {"etl": past}) == [Launch("etl", "now")]


def test_backfilled_runs_queue_one_after_the_other() -> None:
    dep = deployment(schedule=CronSchedule("0 6 * * *"), overlap="queue")
    times = backfill_times(dep, T0 - timedelta(days=3), T0)
    waiting = tuple(RunRef(f"bf{i}", t, "Scheduled") for i, t in enumerate(times))
    past = History(registered_at=at(9), last_fire=at(6), waiting=waiting)
    assert plan(at(12), [dep], {"etl": past}) == [Launch("etl", "bf0")]


# -- capacity, triggers that are never skipped, retries, unready deployments --------------------


def test_a_queue_launches_the_next_run_as_soon_as_the_previous_one_ends() -> None:
    world = World(deployment(schedule=None, overlap="queue"), registered_at=at(9))
    ids = [world.trigger(at(12)) for _ in range(3)]
    assert world.tick(at(12)) == [Launch("etl", ids[0])]
    assert world.tick(at(12)) == []  # nothing ended: the others wait
    world.finish(ids[0])
    assert world.tick(at(12)) == [Launch("etl", ids[1])], "the same instant: no tick to wait"


def test_max_active_launches_up_to_that_many_runs_at_once() -> None:
    world = World(deployment(schedule=None, overlap="queue", max_active=3), registered_at=at(9))
    ids = [world.trigger(at(12)) for _ in range(5)]
    assert world.tick(at(12)) == [Launch("etl", run_id) for run_id in ids[:3]]
    world.finish(ids[1])
    assert world.tick(at(12, 0, 1)) == [Launch("etl", ids[3])]


def test_overlap_skip_with_max_active_skips_only_beyond_the_limit() -> None:
    dep = every_minute(overlap="skip", max_active=2, catchup="all")
    world = World(dep, registered_at=at(11, 56, 59))
    actions = world.tick(at(12))
    launched = [a.run_id for a in actions if isinstance(a, Launch)]
    skipped = [a for a in actions if isinstance(a, Skip)]
    assert len(launched) == 2
    assert len(skipped) == 2
    assert "only 2 runs go at a time" in skipped[0].reason


def test_a_trigger_is_never_skipped_under_overlap_skip_it_waits_its_turn() -> None:
    world = World(every_minute(overlap="skip"), registered_at=at(11, 59, 30))
    world.tick(at(12))  # the 12:00 slot runs
    trigger = world.trigger(at(12, 0, 10))
    assert world.tick(at(12, 0, 10)) == [], "it waits, it is not skipped"
    world.finish_all()
    assert world.tick(at(12, 0, 20)) == [Launch("etl", trigger)]


def test_a_scheduled_run_due_beside_a_waiting_trigger_is_skipped_naming_it() -> None:
    world = World(every_minute(overlap="skip"), registered_at=at(11, 59, 30))
    trigger = world.trigger(at(11, 59, 40))
    actions = world.tick(at(12))
    assert actions[:2] == [Create("etl", at(12)), Launch("etl", trigger)]
    (skip,) = actions[2:]
    assert isinstance(skip, Skip)
    assert f"run {trigger}" in skip.reason


def test_a_retry_waits_until_it_is_due_and_is_never_skipped() -> None:
    dep = every_minute(overlap="skip")
    retry = RunRef("r", at(11, 59), "Retrying", "schedule", not_before=at(12, 0, 30))
    busy = RunRef("b", at(12), "Running")
    past = History(registered_at=at(11), last_fire=at(12), waiting=(retry,), active=(busy,))
    assert plan(at(12, 0, 40), [dep], {"etl": past}) == [], "busy: it waits, not skipped"
    idle = replace(past, active=())
    assert plan(at(12, 0, 10), [dep], {"etl": idle}) == [], "not due before not_before"
    assert next_wakeup(at(12, 0, 10), [dep], {"etl": idle}) == at(12, 0, 30)
    assert plan(at(12, 0, 30), [dep], {"etl": idle}) == [Launch("etl", "r")]


def test_an_unready_deployment_neither_launches_nor_skips_its_due_runs() -> None:
    dep = every_minute(overlap="skip")
    waiting = (RunRef("a", at(12), "Scheduled"), RunRef("b", at(12, 1), "Scheduled"))
    past = History(registered_at=at(11), last_fire=at(12, 1), waiting=waiting)
    assert plan(at(12, 1, 5), [dep], {"etl": past}, unready={"etl"}) == []
    ready = plan(at(12, 1, 5), [dep], {"etl": past})
    assert ready[0] == Launch("etl", "a")
    assert isinstance(ready[1], Skip)
    assert "run a (scheduled 2026-03-01 12:00:00 UTC) was launched instead" in ready[1].reason


def test_a_survey_finds_exactly_the_deployments_a_plan_would_act_on() -> None:
    rng = random.Random(7)
    deployments, histories = [], {}
    for i in range(60):
        dep = every_minute(f"d{i:02d}", overlap=rng.choice(["skip", "queue", "allow"]))
        last = at(12, rng.randrange(0, 3)) if rng.random() < 0.7 else None
        waiting = tuple(
            RunRef(f"w{i}-{k}", at(11, 50 + k), "Scheduled", rng.choice(["schedule", "trigger"]))
            for k in range(rng.randrange(0, 3))
        )
        retry = RunRef(f"r{i}", at(11, 40), "Retrying", not_before=at(12, rng.randrange(0, 5)))
        deployments.append(replace(dep, paused=rng.random() < 0.1))
        histories[dep.name] = History(
            registered_at=at(11, 30),
            last_fire=last,
            waiting=waiting + ((retry,) if rng.random() < 0.3 else ()),
        )
    now = at(12, 2, 30)
    found = planner.survey(now, deployments, histories)
    assert plan(now, found.due, histories) == plan(now, deployments, histories)
    assert {d.name for d in found.due} < {d.name for d in deployments}, "some are quiet"
    assert found.wakeup == next_wakeup(now, deployments, histories)


# -- daylight saving time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "night"),
    [
        ("30 2 * * *", datetime(2026, 3, 29, tzinfo=BERLIN)),
        ("30 2 * * *", datetime(2026, 10, 25, tzinfo=BERLIN)),
        ("0 * * * *", datetime(2026, 3, 29, tzinfo=BERLIN)),
        ("0 * * * *", datetime(2026, 10, 25, tzinfo=BERLIN)),
    ],
)
def test_the_slots_of_a_dst_night_are_the_schedules_fire_times_each_once(
    cron: str, night: datetime
) -> None:
    schedule = CronSchedule(cron, tz="Europe/Berlin")
    # Ticks step in UTC: adding a timedelta to a Berlin datetime steps its wall clock instead.
    start = night.astimezone(UTC) - timedelta(hours=2)
    end = start + timedelta(hours=8)
    world = World(deployment(schedule=schedule, overlap="allow"), registered_at=start)
    for moment in ticks(start, end, timedelta(minutes=5)):
        world.tick(moment)
    after = start - timedelta(microseconds=1)  # a fire time at registration counts
    expected = [t.astimezone(UTC) for t in schedule.next(200, after=after) if t <= end]
    assert world.created() == expected
    assert len(set(world.created())) == len(world.created())


def test_the_fixed_time_job_runs_once_at_0300_cest_when_0230_does_not_exist() -> None:
    schedule = CronSchedule("30 2 * * *", tz="Europe/Berlin")
    start = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN).astimezone(UTC)
    world = World(deployment(schedule=schedule), registered_at=start)
    for moment in ticks(start, start + timedelta(hours=4), timedelta(minutes=1)):
        world.tick(moment)
    assert [t.astimezone(BERLIN).isoformat() for t in world.created()] == [
        "2026-03-29T03:00:00+02:00"
    ]


def test_the_hourly_job_runs_in_both_copies_of_the_repeated_hour() -> None:
    schedule = CronSchedule("0 * * * *", tz="Europe/Berlin")
    start = datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN).astimezone(UTC)
    world = World(deployment(schedule=schedule, overlap="allow"), registered_at=start)
    for moment in ticks(start, start + timedelta(hours=3, minutes=30), timedelta(minutes=1)):
        world.tick(moment)
    assert [t.astimezone(BERLIN).isoformat() for t in world.created()] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
    ]


def test_actions_carry_utc_times() -> None:
    dep = deployment(schedule=CronSchedule("0 9 * * *", tz="Europe/Berlin"))
    actions = plan(at(8, 0, 5), [dep], {"etl": History(registered_at=at(7))})
    assert actions == [Create("etl", at(8))]  # 09:00 CET
    assert isinstance(actions[0], Create)
    assert actions[0].scheduled_time.tzinfo is UTC


# -- idempotence --------------------------------------------------------------------------------


def test_planning_again_after_applying_the_creates_creates_nothing() -> None:
    world = World(every_minute(catchup="all", overlap="allow"), registered_at=at(9))
    world.apply(world.plan(at(12, 0, 30)))
    assert len(world.runs) == 181
    again = world.plan(at(12, 0, 30))
    assert creates(again) == []
    assert len(again) == 181
    assert all(isinstance(a, Launch) for a in again)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=40),
    catchup=st.sampled_from(["all", "latest", "none"]),
)
def test_whatever_the_tick_times_no_slot_is_created_twice_and_all_creates_every_slot(
    gaps: list[int], catchup: str
) -> None:
    world = World(every_minute(catchup=catchup, overlap="allow"), registered_at=at(12))
    moment = at(12)
    for gap in gaps:
        moment += timedelta(seconds=gap)
        world.tick(moment)  # World.apply asserts that no slot is created twice
    if catchup == "all":
        assert world.created() == [at(12) + k * MINUTE for k in range(len(world.created()))]
        assert world.created()[-1] == moment.replace(second=0)


# -- order and inputs ---------------------------------------------------------------------------


def test_actions_are_ordered_by_deployment_name_then_time_whatever_the_input_order() -> None:
    deps = [every_minute(name, overlap="allow") for name in ("c", "a", "b")]
    history = {
        name: History(
            registered_at=at(11, 59, 30),
            waiting=(RunRef(f"{name}2", at(11, 59, 50), "Scheduled"),),
        )
        for name in ("a", "b", "c")
    }
    expected = [
        action
        for name in ("a", "b", "c")
        for action in (Create(name, at(12)), Launch(name, f"{name}2"))
    ]
    for seed in range(5):
        shuffled = deps[:]
        random.Random(seed).shuffle(shuffled)
        assert plan(at(12, 0, 10), shuffled, history) == expected


def test_waiting_runs_are_ordered_by_time_then_id() -> None:
    dep = deployment(schedule=None, overlap="allow")
    waiting = (
        RunRef("z", at(11), "Scheduled"),
        RunRef("b", at(10), "Scheduled"),
        RunRef("a", at(11), "Scheduled"),
    )
    actions = plan(at(12), [dep], {"etl": History(registered_at=at(9), waiting=waiting)})
    assert [a.run_id for a in actions if isinstance(a, Launch)] == ["b", "a", "z"]


def test_history_of_other_deployments_is_ignored() -> None:
    stale = History(registered_at=at(9), waiting=(RunRef("old", at(10), "Scheduled"),))
    assert plan(at(12), [], {"removed": stale}) == []


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(PlannerError, match="naive"):
        plan(datetime(2026, 3, 1, 12), [], {})


def test_a_deployment_without_history_is_refused() -> None:
    with pytest.raises(PlannerError, match="deployment 'etl' has no history"):
        plan(T0, [every_minute()], {})


def test_a_name_given_twice_is_refused() -> None:
    history = {"etl": History(registered_at=T0)}
    with pytest.raises(PlannerError, match="given twice"):
        plan(T0, [every_minute(), every_minute()], history)


def test_run_refs_check_their_state_and_time() -> None:
    with pytest.raises(PlannerError, match="unknown state 'Sleeping'"):
        RunRef("r", T0, "Sleeping")
    with pytest.raises(PlannerError, match="naive"):
        RunRef("r", datetime(2026, 3, 1), "Scheduled")
    assert RunRef("r", T0.astimezone(BERLIN), "Scheduled").scheduled_time.tzinfo is UTC


def test_a_clock_stepping_back_creates_nothing_twice() -> None:
    world = World(every_minute(), registered_at=at(11, 59, 30))
    world.tick(at(12, 5, 5))
    assert creates(world.plan(at(12, 2))) == []


# -- next_wakeup ---------------------------------------------------------------------------------


def test_next_wakeup_is_the_earliest_next_fire_time_of_the_unpaused_deployments() -> None:
    deps = [
        deployment("hourly", CronSchedule("0 * * * *")),
        deployment("quarterly", CronSchedule("*/15 * * * *")),
        deployment("paused", CronSchedule("* * * * *"), paused=True),
    ]
    history = {d.name: History(registered_at=at(9)) for d in deps}
    assert next_wakeup(at(12, 7), deps, history) == at(12, 15)
    assert next_wakeup(at(12, 15), deps, history) == at(12, 30)


def test_next_wakeup_is_none_without_schedules_or_future_runs() -> None:
    assert next_wakeup(T0, [], {}) is None


# -- backfill_times ------------------------------------------------------------------------------


def test_backfill_times_lists_every_fire_time_in_the_closed_window() -> None:
    dep = deployment(schedule=CronSchedule("0 */6 * * *"))
    assert backfill_times(dep, at(0), at(18)) == [at(0), at(6), at(12), at(18)]
    assert backfill_times(dep, at(0, 0, 1), at(17)) == [at(6), at(12)]


def test_backfill_times_reads_naive_bounds_in_the_schedules_zone() -> None:
    dep = deployment(schedule=CronSchedule("0 9 * * *", tz="Europe/Berlin"))
    found = backfill_times(dep, datetime(2026, 3, 27), datetime(2026, 3, 30, 9))
    assert [t.isoformat() for t in found] == [
        "2026-03-27T08:00:00+00:00",
        "2026-03-28T08:00:00+00:00",
        "2026-03-29T07:00:00+00:00",
        "2026-03-30T07:00:00+00:00",
    ]


def test_backfill_times_refuses_a_window_with_too_many_fire_times() -> None:
    dep = every_minute()
    assert len(backfill_times(dep, at(0), at(0) + (BACKFILL_LIMIT - 1) * MINUTE)) == 10_000
    with pytest.raises(PlannerError) as caught:
        backfill_times(dep, at(0), at(0) + BACKFILL_LIMIT * MINUTE)
    assert str(caught.value) == (
        "deployment 'etl': the backfill window 2026-03-01 00:00:00 UTC to 2026-03-07 22:40:00 "
        "UTC holds more than 10,000 fire times; backfill it in shorter windows (the first "
        "10,000 end at 2026-03-07 22:39:00 UTC)"
    )


def test_backfill_times_refuses_a_reversed_window_and_an_unscheduled_deployment() -> None:
    with pytest.raises(PlannerError, match=r"ends \(2026-03-01 11:00:00 UTC\) before it starts"):
        backfill_times(every_minute(), at(12), at(11))
    with pytest.raises(PlannerError, match="has no schedule"):
        backfill_times(deployment(schedule=None), at(11), at(12))


def test_backfill_times_of_a_schedule_that_ends() -> None:
    schedule = IntervalSchedule(interval=timedelta(hours=1), end_date=at(3))
    assert backfill_times(deployment(schedule=schedule), at(0), at(12)) == [
        at(0),
        at(1),
        at(2),
        at(3),
    ]
