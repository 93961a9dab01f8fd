"""Flows of flows on every executor: a parent's task starts a Flow object as a run of its own,
recorded in the parent's store with the link back, waits for it and reads its task's result."""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import pytest
from tests.executors import subflow_flows
from tests.executors.subflow_flows import child_flow, parent_flow

from tideflow.executors import Executor
from tideflow.store import sqlite_store

cloudpickle.register_pickle_by_value(subflow_flows)


def test_a_child_flow_runs_as_its_own_linked_run_and_returns_its_result(
    executor: Executor, tmp_path: Path
) -> None:
    flow = parent_flow(child_flow())
    with sqlite_store(tmp_path / "runs.db") as store:
        state = flow.run(executor=executor, store=store)
        assert state.is_successful(), state.message
        parent_id = state.context["flow_run_id"]
        result = state.result[flow.get_tasks(name="get_task_run_result")[0]].result
        assert result == 42
        (child,) = store.list_flow_runs(parent_run_id=parent_id)
        assert (child.flow_name, child.state, child.parameters) == ("child", "Success", {"x": 21})
        assert child.parent_task == flow.key(flow.get_tasks(name="create_flow_run")[0])
        view = state.result[flow.get_tasks(name="wait_for_flow_run")[0]].result
        assert view.flow_run_id == child.id
        assert view.state.is_successful()


@pytest.mark.parametrize("executor", ["local"], indirect=True)  # the waiting is the same anywhere
def test_a_failed_child_fails_the_waiting_task_when_asked(
    executor: Executor, tmp_path: Path
) -> None:
    flow = parent_flow(child_flow(fail=True))
    with sqlite_store(tmp_path / "runs.db") as store:
        state = flow.run(executor=executor, store=store)
        wait = state.result[flow.get_tasks(name="wait_for_flow_run")[0]]
        (child,) = store.list_flow_runs(parent_run_id=state.context["flow_run_id"])
        assert state.is_failed()
        assert wait.is_failed()
        assert wait.message == (f"child run {child.id} ended Failed: Some reference tasks failed.")
