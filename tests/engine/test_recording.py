"""``flow.run(store=...)`` records the flow, the run, every task state and the final state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tideflow import Flow, Parameter, context, task
from tideflow.clock import FakeClock
from tideflow.store import MemoryStore, RunStore, sqlite_store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made: RunStore = MemoryStore() if request.param == "memory" else sqlite_store(tmp_path / "t.db")
    yield made
    made.close()


@task(max_retries=2, retry_delay=0)
def flaky(n: int) -> int:
    if context.task_run_count < 3:
        raise ConnectionError("not yet")
    return n


@task
def double(x: int) -> int:
    return 2 * x


def test_a_recorded_run_keeps_its_state_parameters_and_task_attempts(
    store: RunStore, fake_clock: FakeClock
) -> None:
    with Flow("recorded") as flow:
        out = double.map(flaky(Parameter("n", default=[1, 2])))
    state = flow.run(store=store, clock=fake_clock, n=[3, 4])
    run = store.get_flow_run(state.context["flow_run_id"][:8])
    assert run.flow_name == "recorded"
    assert run.state == "Success"
    assert run.parameters == {"n": [3, 4]}
    assert run.end_time is not None
    tasks = {(t.task_key, t.map_index): t for t in store.task_runs(run.id)}
    assert tasks[("flaky", None)].attempts == 3
    assert tasks[("flaky", None)].state == "Success"
    assert {tasks[("double", i)].state for i in (0, 1)} == {"Success"}
    flow_record = store.get_flow("recorded")
    assert flow_record is not None
    assert flow_record.graph == flow.graph.to_dict()
    assert state.result[out].result == [6, 8]


def test_a_failed_run_is_recorded_failed(store: RunStore) -> None:
    @task
    def boom() -> None:
        raise ValueError("nope")

    with Flow("failing") as flow:
        boom()
    state = flow.run(store=store)
    run = store.get_flow_run(state.context["flow_run_id"])
    assert run.state == "Failed"
    assert run.state_message == "Some reference tasks failed."
    assert [t.state for t in store.task_runs(run.id)] == ["Failed"]


def test_an_interrupted_run_is_recorded_cancelled(store: RunStore) -> None:
    @task
    def interrupt() -> None:
        raise KeyboardInterrupt

    with Flow("interrupted") as flow:
        interrupt()
    with pytest.raises(KeyboardInterrupt):
        flow.run(store=store)
    (run,) = store.list_flow_runs(flow="interrupted")
    assert run.state == "Cancelled"
    assert store.unfinished_runs() == []


def test_the_run_records_where_it_ran_and_how_late_it_started(
    store: RunStore, fake_clock: FakeClock
) -> None:
    import os

    with Flow("whereabouts") as flow:
        double(1)
    scheduled = fake_clock.now()
    fake_clock.advance(1.5)
    state = flow.run(store=store, clock=fake_clock, scheduled_start_time=scheduled)
    run = store.get_flow_run(state.context["flow_run_id"])
    assert run.pid == os.getpid()
    assert run.host
    assert run.lateness == 1.5
    assert run.scheduled_start_time == scheduled
