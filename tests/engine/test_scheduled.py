"""``flow.run()`` on a schedule: one flow run per fire time, driven by an injected clock."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest
from dateutil.rrule import MINUTELY, rrule

from tideflow import Flow, Parameter, context, task
from tideflow.clock import FakeClock
from tideflow.engine.scheduled import StopRequest, run_on_schedule
from tideflow.errors import ParameterError, ScheduleError
from tideflow.schedules import IntervalSchedule, RRuleSchedule, Schedule
from tideflow.schedules.clocks import IntervalClock
from tideflow.states import Cancelled, State, Success

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def recording_flow(schedule: Any, seen: list[dict[str, Any]], work: Any = None) -> Flow:
    @task
    def look(p: Any) -> None:
        seen.append(
            {
                "run": context.flow_run_id,
                "scheduled": context.scheduled_start_time,
                "p": p,
                "today": context.today,
            }
        )
        if work is not None:
            work()

    with Flow("scheduled", schedule) as flow:
        look(Parameter("p", default="default"))
    return flow


def test_a_hundred_scheduled_runs_take_no_real_time_on_a_fake_clock(
    fake_clock: FakeClock,
) -> None:
    seen: list[dict[str, Any]] = []
    schedule = IntervalSchedule(
        start_date=START + MINUTE, interval=MINUTE, end_date=START + 100 * MINUTE
    )
    flow = recording_flow(schedule, seen)
    started = time.monotonic()
    last = flow.run(clock=fake_clock)
    elapsed = time.monotonic() - started
    assert len(seen) == 100
    assert [s["scheduled"] for s in seen] == [START + k * MINUTE for k in range(1, 101)]
    assert len({s["run"] for s in seen}) == 100  # each run has its own flow_run_id
    assert fake_clock.now() == START + 100 * MINUTE
    runs = last.context["scheduled_runs"]
    assert [r.state for r in runs] == ["Success"] * 100
    assert all(r.lateness == 0 for r in runs)
    assert elapsed < 10  # a guard against real sleeping; the real figure is ~0.1 s


def test_a_run_that_overruns_skips_the_fire_times_it_covered(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[dict[str, Any]] = []
    schedule = IntervalSchedule(
        start_date=START + MINUTE, interval=MINUTE, end_date=START + 10 * MINUTE
    )
    flow = recording_flow(schedule, seen, work=lambda: fake_clock.advance(150))
    flow.run(clock=fake_clock)
    # 12:01 runs until 12:03:30, so 12:02 and 12:03 are skipped; then 12:04 ... 12:10 likewise.
    assert [s["scheduled"].strftime("%H:%M") for s in seen] == ["12:01", "12:04", "12:07", "12:10"]
    skips = [r.getMessage() for r in caplog.records if "overran" in r.getMessage()]
    assert skips[0] == (
        "The run for 2026-03-01T12:01:00+00:00 overran 2 fire time(s) "
        "(2026-03-01T12:02:00+00:00 .. 2026-03-01T12:03:00+00:00); skipped them so runs do not "
        "overlap"
    )


def test_clock_parameter_defaults_win_over_run_parameters(fake_clock: FakeClock) -> None:
    seen: list[dict[str, Any]] = []
    schedule = Schedule(
        clocks=[
            IntervalClock(MINUTE * 2, start_date=START + MINUTE, end_date=START + 4 * MINUTE),
            IntervalClock(
                MINUTE * 2,
                start_date=START + 2 * MINUTE,
                end_date=START + 4 * MINUTE,
                parameter_defaults={"p": "from-clock"},
            ),
        ]
    )
    flow = recording_flow(schedule, seen)
    flow.run(parameters={"p": "given"}, clock=fake_clock)
    assert [(s["scheduled"].minute, s["p"]) for s in seen] == [
        (1, "given"),
        (2, "from-clock"),
        (3, "given"),
        (4, "from-clock"),
    ]


def test_an_exhausted_schedule_raises_a_clear_error(fake_clock: FakeClock) -> None:
    schedule = IntervalSchedule(start_date=START - 10 * MINUTE, interval=MINUTE, end_date=START)
    flow = recording_flow(schedule, [])
    with pytest.raises(
        ValueError,
        match=r"^Flow has no more scheduled runs\. \(flow 'scheduled': it has no fire time after "
        r"2026-03-01 12:00:00 UTC; run it once with flow.run\(run_on_schedule=False\)\)$",
    ):
        flow.run(clock=fake_clock)


def test_an_empty_schedule_raises_prefects_no_more_runs_error(fake_clock: FakeClock) -> None:
    flow = recording_flow(Schedule(clocks=[]), [])
    with pytest.raises(
        ScheduleError,
        match=r"^Flow has no more scheduled runs\. \(flow 'scheduled': it has no clocks;",
    ):
        flow.run(clock=fake_clock)
    assert flow.run(run_on_schedule=False, clock=fake_clock).is_successful()


def test_clocks_firing_together_with_different_defaults_run_once_each(
    fake_clock: FakeClock,
) -> None:
    seen: list[dict[str, Any]] = []
    every_two = {"start_date": START + 2 * MINUTE, "end_date": START + 4 * MINUTE}
    schedule = Schedule(
        clocks=[
            IntervalClock(MINUTE * 2, parameter_defaults={"p": "eu"}, **every_two),
            IntervalClock(MINUTE * 2, parameter_defaults={"p": "us"}, **every_two),
            IntervalClock(MINUTE * 2, parameter_defaults={"p": "eu"}, **every_two),  # a twin
        ]
    )
    last = recording_flow(schedule, seen).run(clock=fake_clock)
    assert [(s["scheduled"].minute, s["p"]) for s in seen] == [
        (2, "eu"),
        (2, "us"),
        (4, "eu"),
        (4, "us"),
    ]
    assert len({s["run"] for s in seen}) == 4
    assert [r.scheduled_start_time.minute for r in last.context["scheduled_runs"]] == [2, 2, 4, 4]


def test_a_stop_during_the_first_run_of_an_instant_skips_its_other_runs(
    fake_clock: FakeClock,
) -> None:
    stop = StopRequest()
    at = {"start_date": START + MINUTE, "interval": MINUTE}
    schedule = Schedule(
        clocks=[
            IntervalClock(parameter_defaults={"p": "a"}, **at),
            IntervalClock(parameter_defaults={"p": "b"}, **at),
        ]
    )
    flow = recording_flow(schedule, [])
    ran: list[Any] = []

    def run_once(
        flow: Flow, parameters: dict[str, Any], *, scheduled_start_time: datetime
    ) -> State:
        ran.append(parameters["p"])
        stop.stop("test")
        return Success()

    run_on_schedule(flow, {}, run_once, clock=fake_clock, stop=stop, handle_signals=False)
    assert ran == ["a"]


def test_an_hourly_schedule_starting_at_a_pendulum_datetime_runs(fake_clock: FakeClock) -> None:
    seen: list[dict[str, Any]] = []
    start = pendulum.datetime(2026, 3, 1, 13, 0, tz="Europe/Berlin")  # 12:00 UTC
    schedule = IntervalSchedule(
        start_date=start, interval=timedelta(hours=1), end_date=start.add(hours=2)
    )
    recording_flow(schedule, seen).run(clock=fake_clock)
    assert [s["scheduled"].isoformat() for s in seen] == [
        "2026-03-01T14:00:00+01:00",
        "2026-03-01T15:00:00+01:00",
    ]


def test_an_rrule_schedule_runs_at_the_rules_times(fake_clock: FakeClock) -> None:
    seen: list[dict[str, Any]] = []
    rule = rrule(MINUTELY, interval=20, count=4, dtstart=datetime(2026, 3, 1, 11, 40))
    recording_flow(RRuleSchedule(rule), seen).run(clock=fake_clock)
    assert [s["scheduled"].strftime("%H:%M") for s in seen] == ["12:20", "12:40"]


def test_run_on_schedule_false_runs_once_now(fake_clock: FakeClock) -> None:
    seen: list[dict[str, Any]] = []
    flow = recording_flow(IntervalSchedule(interval=MINUTE), seen)
    state = flow.run(run_on_schedule=False, clock=fake_clock)
    assert state.is_successful()
    assert [s["scheduled"] for s in seen] == [fake_clock.now()]


def test_a_parameter_missing_for_some_clock_fails_before_waiting(fake_clock: FakeClock) -> None:
    @task
    def needs(x: int) -> None:
        pass

    with Flow("needs-x", IntervalSchedule(start_date=START + MINUTE, interval=MINUTE)) as flow:
        needs(Parameter("x"))
    with pytest.raises(ParameterError, match="missing required parameter 'x'"):
        flow.run(clock=fake_clock)
    assert fake_clock.now() == START  # it did not wait for the first fire time


def test_a_first_signal_stops_after_the_current_run_and_a_second_aborts_it(
    fake_clock: FakeClock,
) -> None:
    seen: list[dict[str, Any]] = []

    def signal_on_second_run() -> None:
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    schedule = IntervalSchedule(start_date=START + MINUTE, interval=MINUTE)
    flow = recording_flow(schedule, seen, work=signal_on_second_run)
    last = flow.run(clock=fake_clock)
    assert len(seen) == 2  # the second run finished, then the loop stopped
    assert last.is_successful()
    assert len(last.context["scheduled_runs"]) == 2
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored

    seen.clear()

    def double_signal() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # interrupted by the second signal

    aborted = recording_flow(schedule, seen, work=double_signal)
    last = aborted.run(clock=fake_clock)
    assert isinstance(last, Cancelled)
    (interrupted,) = last.context["scheduled_runs"]
    assert interrupted.state == "Cancelled"
    assert interrupted.scheduled_start_time == seen[0]["scheduled"]


def test_a_real_one_second_schedule_runs_three_times_and_records_lateness() -> None:
    now = datetime.now(UTC)
    first = now.replace(microsecond=0) + timedelta(seconds=1)
    schedule = IntervalSchedule(
        start_date=first, interval=timedelta(seconds=1), end_date=first + timedelta(seconds=2)
    )
    seen: list[dict[str, Any]] = []
    last = recording_flow(schedule, seen).run()
    runs = last.context["scheduled_runs"]
    assert [r.scheduled_start_time for r in runs] == [
        first + timedelta(seconds=k) for k in range(3)
    ]
    assert all(0 <= r.lateness < 1.0 for r in runs)
