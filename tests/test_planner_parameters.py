"""The planner and clock parameters: each slot carries its clock's ``parameter_defaults``, and
clocks firing at one instant with different ones get a slot each, ``k`` microseconds apart (see
"Several runs at one instant" in tideflow.planner)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tideflow.deployments import Deployment, Entrypoint
from tideflow.planner import Create, History, Launch, RunRef, backfill_slots, next_wakeup, plan
from tideflow.schedules import CronClock, IntervalClock, Schedule

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TINY = timedelta(microseconds=1)


def regions(*names: str, **options: object) -> Deployment:
    """A deployment run every 10 minutes once per region, all clocks firing together."""
    clocks = [IntervalClock(10 * MINUTE, parameter_defaults={"region": name}) for name in names]
    return Deployment(
        name="etl",
        entrypoint=Entrypoint("flow", "etl.py:flow"),
        schedule=Schedule(clocks),
        parameters={"region": "default", "size": 3},
        **options,  # type: ignore[arg-type]
    )


def history(**fields: object) -> dict[str, History]:
    return {"etl": History(registered_at=T0 - TINY, **fields)}  # type: ignore[arg-type]


def test_a_slot_carries_its_clocks_parameter_defaults() -> None:
    actions = plan(T0, [regions("eu")], history())
    assert actions == [Create("etl", T0, {"region": "eu"})]


def test_clocks_firing_together_with_different_defaults_get_a_slot_each() -> None:
    actions = plan(T0 + MINUTE, [regions("eu", "us", "apac")], history())
    assert actions == [
        Create("etl", T0, {"region": "eu"}),
        Create("etl", T0 + TINY, {"region": "us"}),
        Create("etl", T0 + 2 * TINY, {"region": "apac"}),
    ]


def test_clocks_firing_together_with_the_same_defaults_share_one_slot() -> None:
    assert plan(T0, [regions("eu", "eu")], history()) == [Create("etl", T0, {"region": "eu"})]


def test_the_slots_of_an_instant_are_planned_once_even_when_cut_in_the_middle() -> None:
    dep = regions("eu", "us")
    # Every slot of 12:00 exists: nothing more until 12:10.
    assert plan(T0 + MINUTE, [dep], history(last_fire=T0 + TINY)) == []
    # Only the first exists (a plan cut off by the slot limit): the second follows, once.
    assert plan(T0 + MINUTE, [dep], history(last_fire=T0)) == [
        Create("etl", T0 + TINY, {"region": "us"})
    ]
    later = plan(T0 + 10 * MINUTE, [dep], history(last_fire=T0 + TINY))
    assert [a.scheduled_time for a in later if isinstance(a, Create)] == [
        T0 + 10 * MINUTE,
        T0 + 10 * MINUTE + TINY,
    ]


def test_the_latest_missed_instant_stands_in_with_one_run_per_parameter_set() -> None:
    dep = regions("eu", "us", catchup="latest", misfire_grace=MINUTE)
    actions = plan(T0 + 35 * MINUTE, [dep], history())
    assert actions == [
        Create("etl", T0 + 30 * MINUTE, {"region": "eu"}),
        Create("etl", T0 + 30 * MINUTE + TINY, {"region": "us"}),
    ]


def test_the_wakeup_is_the_first_slot_of_the_next_instant() -> None:
    dep = regions("eu", "us")
    assert next_wakeup(T0, [dep], history(last_fire=T0 + TINY)) == T0 + 10 * MINUTE


def test_clocks_in_different_zones_at_the_same_instant_get_a_slot_each() -> None:
    berlin = CronClock("0 13 * * *", tz="Europe/Berlin", parameter_defaults={"at": "berlin"})
    utc = CronClock("0 12 * * *", parameter_defaults={"at": "utc"})
    dep = Deployment(
        name="etl", entrypoint=Entrypoint("flow", "etl.py:flow"), schedule=Schedule([berlin, utc])
    )
    assert plan(T0, [dep], history()) == [
        Create("etl", T0, {"at": "berlin"}),
        Create("etl", T0 + TINY, {"at": "utc"}),
    ]


def test_a_backfill_gets_the_same_slots_and_parameters_as_the_schedule() -> None:
    dep = regions("eu", "us")
    found = [(t, e.parameter_defaults) for t, e in backfill_slots(dep, T0, T0 + 10 * MINUTE)]
    assert found == [
        (T0, {"region": "eu"}),
        (T0 + TINY, {"region": "us"}),
        (T0 + 10 * MINUTE, {"region": "eu"}),
        (T0 + 10 * MINUTE + TINY, {"region": "us"}),
    ]


def test_under_overlap_skip_the_runs_of_one_instant_wait_for_each_other() -> None:
    dep = regions("eu", "us")  # overlap "skip", one run at a time: the defaults
    eu = RunRef("run-eu", T0, "Running")
    us = RunRef("run-us", T0 + TINY, "Scheduled")
    now = T0 + MINUTE
    assert plan(now, [dep], history(last_fire=T0 + TINY, waiting=(us,), active=(eu,))) == []
    # Once the 12:00 runs are over, a run still going at 12:10 does make the next one skip.
    late = RunRef("run-late", T0 + TINY, "Running")
    nxt = RunRef("run-next", T0 + 10 * MINUTE, "Scheduled")
    at_ten = plan(
        T0 + 10 * MINUTE, [dep], history(last_fire=T0 + 10 * MINUTE, waiting=(nxt,), active=(late,))
    )
    assert [type(a).__name__ for a in at_ten] == ["Create", "Skip"]
    # Both waiting at once: the first launches, the second waits instead of being skipped.
    both = (RunRef("a", T0, "Scheduled"), RunRef("b", T0 + TINY, "Scheduled"))
    assert plan(now, [dep], history(last_fire=T0 + TINY, waiting=both)) == [Launch("etl", "a")]
