"""Schedules and parameters on every executor: a ``DateTimeParameter`` reaches its tasks as an
aware datetime, and clocks firing together with different parameters run the flow once each."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from tideflow import DateTimeParameter, Flow, Parameter, context, task
from tideflow.clock import FakeClock
from tideflow.executors import Executor
from tideflow.schedules import IntervalClock, Schedule

cloudpickle.register_pickle_by_value(sys.modules[__name__])

EXECUTORS = ["local", "threads", "dask"]


@task
def day_before(as_of: datetime) -> str:
    return (as_of - timedelta(days=1)).isoformat()


@task
def mark(folder: str, region: str) -> None:
    when = context.scheduled_start_time.strftime("%H%M")
    Path(folder, f"{when}-{region}").touch()


@pytest.mark.parametrize("executor", EXECUTORS, indirect=True)
def test_a_datetime_parameter_given_as_text_reaches_tasks_parsed(executor: Executor) -> None:
    with Flow("as-of") as flow:
        result = day_before(DateTimeParameter("as_of"))
    state = flow.run(as_of="2026-03-01T09:30:00+01:00", executor=executor)
    assert state.is_successful()
    assert state.result[result].result == "2026-02-28T09:30:00+01:00"


@pytest.mark.parametrize("executor", EXECUTORS, indirect=True)
def test_clocks_firing_together_run_the_flow_once_per_parameter_set(
    executor: Executor, tmp_path: Path
) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fires = {"start_date": start + timedelta(minutes=1), "end_date": start + timedelta(minutes=2)}
    clocks = [
        IntervalClock(timedelta(minutes=1), parameter_defaults={"region": region}, **fires)
        for region in ("eu", "us")
    ]
    with Flow("regions", Schedule(clocks)) as flow:
        mark(str(tmp_path), Parameter("region", default="nowhere"))
    last: Any = flow.run(executor=executor, clock=FakeClock(start))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "1201-eu",
        "1201-us",
        "1202-eu",
        "1202-us",
    ]
    assert [run.state for run in last.context["scheduled_runs"]] == ["Success"] * 4
