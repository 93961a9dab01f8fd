"""Concurrency limits by task tag on every executor: the run loop takes a slot in the store
before it submits a limited task, so the same rule holds however tasks run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cloudpickle
import pytest
from tests.executors import limit_flows
from tests.executors.limit_flows import limited_flow, peak

from tideflow.executors import Executor
from tideflow.store import sqlite_store

cloudpickle.register_pickle_by_value(limit_flows)


def test_a_limited_tag_runs_one_at_a_time_and_waits_visibly(
    executor: Executor, tmp_path: Path
) -> None:
    folder = tmp_path / "marks"
    folder.mkdir()
    with sqlite_store(tmp_path / "runs.db") as store:
        store.set_concurrency_limit("db", 1, datetime.now(UTC))
        flow = limited_flow()
        state = flow.run(folder=str(folder), executor=executor, store=store)
        assert state.is_successful(), state.message
        assert state.result[flow.get_tasks(name="hold")[0]].result == [10, 20, 30]
        assert peak(folder) == 1
        history = state.context["task_history"]
        queued = [unit for unit, states in history.items() if any(s.is_queued() for s in states)]
        recorded = {t.state for t in store.task_states(state.context["flow_run_id"])}
        if executor.__class__.__name__ != "LocalExecutor":  # one task at a time anyway
            assert queued
            assert "Queued" in recorded
            waiting = next(s for s in history[queued[0]] if s.is_queued())
            assert waiting.message == "Waiting for a free slot of concurrency limit 'db' (limit 1)."
        assert [limit.in_use for limit in store.concurrency_limits()] == [0]


@pytest.mark.parametrize("executor", ["threads"], indirect=True)
def test_tasks_without_the_tag_run_while_limited_ones_wait(
    executor: Executor, tmp_path: Path
) -> None:
    folder = tmp_path / "marks"
    folder.mkdir()
    with sqlite_store(tmp_path / "runs.db") as store:
        store.set_concurrency_limit("db", 1, datetime.now(UTC))
        flow = limited_flow()
        state = flow.run(folder=str(folder), executor=executor, store=store)
        free_ran_at = state.result[flow.get_tasks(name="free")[0]].result
        changes = store.task_states(state.context["flow_run_id"])
        last_start = max(
            c.timestamp for c in changes if c.task_key.startswith("hold") and c.state == "Running"
        )
        assert free_ran_at < last_start.timestamp()
