"""Flows of flows in the library: a task starts a deployment's run linked to its own run and
task, a retried task re-attaches to the child it started unless that child failed, waiting
polls on an injected clock with a bounded interval, and results are read from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tideflow import Flow, actions, task
from tideflow.clock import FakeClock
from tideflow.deployments import Deployment, Entrypoint
from tideflow.signals import FAIL
from tideflow.store import MemoryStore, ResultRow
from tideflow.subflows import POLL_MAX, SubflowError, start_run, task_result, wait_for_run
from tideflow.tasks import tideflow as tideflow_tasks
from tideflow.tasks.prefect import StartFlowRun, create_flow_run

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def deployed() -> MemoryStore:
    store = MemoryStore()
    child = Deployment(name="child", entrypoint=Entrypoint("command", ("true",)))
    actions.deploy(store, [child], at=T0)
    return store


def test_a_task_starts_a_deployment_run_linked_to_its_run_and_task() -> None:
    store = deployed()
    with Flow("parent") as flow:
        create_flow_run(flow_name="child", parameters={"day": "monday"}, run_name="monday")
    state = flow.run(store=store)
    assert state.is_successful(), state.message
    child_id = next(iter(state.result.values())).result
    child = store.get_flow_run(child_id)
    assert (child.deployment, child.origin, child.state, child.parameters) == (
        "child",
        "trigger",
        "Scheduled",
        {"day": "monday"},
    )
    assert (child.parent_run_id, child.parent_task) == (
        state.context["flow_run_id"],
        "create_flow_run",
    )
    trigger = store.events(kinds=["action"], flow_run_id=child_id)[0]
    assert trigger.data["run_name"] == "monday"


def test_tideflow_tasks_tideflow_is_the_same_library() -> None:
    assert tideflow_tasks.create_flow_run is create_flow_run
    assert tideflow_tasks.StartFlowRun is StartFlowRun


def test_a_retried_task_re_attaches_to_its_child_unless_it_failed() -> None:
    store = deployed()
    parent = ("parent-run", "start-1")
    first = start_run("child", store=store, at=T0, parent=parent)
    assert start_run("child", store=store, at=T0, parent=parent) == first  # still waiting
    store.claim(first, at=T0, host="h", pid=1)
    store.start(first, at=T0, host="h", pid=1)
    store.finish(first, "Failed", "boom", at=T0)
    fresh = start_run("child", store=store, at=T0, parent=parent)
    assert fresh != first
    assert start_run("child", store=store, at=T0, parent=("parent-run", "other-2")) != fresh


def test_the_target_is_named_once() -> None:
    with Flow("parent") as flow:
        create_flow_run(flow_name="child", deployment_name="child")
    state = flow.run(store=deployed())
    assert state.is_failed()
    message = next(iter(state.result.values())).message
    assert "name the child run's target once" in message


def test_a_deployment_child_needs_a_store() -> None:
    with pytest.raises(SubflowError, match="records into no store"):
        start_run("child", store=None, at=T0)


class Finisher(FakeClock):
    """A fake clock whose third sleep finishes the child run: a service, in the test's time."""

    def __init__(self, store: MemoryStore, run_id: str) -> None:
        super().__init__(T0)
        self.store, self.run_id, self.sleeps = store, run_id, []  # type: ignore[var-annotated]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)
        if len(self.sleeps) == 3:
            self.store.claim(self.run_id, at=self.now(), host="h", pid=1)
            self.store.start(self.run_id, at=self.now(), host="h", pid=1)
            self.store.finish(self.run_id, "Success", "done", at=self.now())


def test_waiting_polls_with_a_growing_bounded_interval_until_the_child_ends() -> None:
    store = deployed()
    run_id = start_run("child", store=store, at=T0)
    clock = Finisher(store, run_id)
    view = wait_for_run(run_id, store=store, clock=clock)
    assert view.state.is_successful()
    assert view.state.message == "done"
    assert view.record is not None
    assert view.record.state == "Success"
    assert clock.sleeps == [0.1, 0.2, 0.4]


def test_waiting_gives_up_after_its_limit_and_says_so() -> None:
    store = deployed()
    run_id = start_run("child", store=store, at=T0)
    clock = FakeClock(T0)
    with pytest.raises(SubflowError, match=f"child run {run_id} is still Scheduled after 0:01:00"):
        wait_for_run(run_id, store=store, clock=clock, timeout=timedelta(minutes=1))
    assert clock.now() - T0 < timedelta(minutes=1, seconds=POLL_MAX + 0.01)


def test_a_child_task_result_is_read_from_the_store_by_key_or_name() -> None:
    store = deployed()
    run_id = start_run("child", store=store, at=T0)
    store.claim(run_id, at=T0, host="h", pid=1)
    store.start(run_id, at=T0, host="h", pid=1)
    rows = [
        ResultRow(
            flow_run_id=run_id,
            task_key=key,
            map_index=index,
            name=key.split("-")[0],
            kind="result",
            value=value,
            number=None,
            timestamp=T0,
        )
        for key, index, value in [("load-1", None, {"rows": 3}), ("sq-1", 0, 0), ("sq-1", 1, 1)]
    ]
    store.record_results(rows)
    store.finish(run_id, "Success", None, at=T0)
    assert task_result(run_id, "load-1", store=store) == {"rows": 3}
    assert task_result(run_id, "load", store=store) == {"rows": 3}
    assert task_result(run_id, "sq", 1, store=store) == 1
    assert task_result(run_id, "sq-1", store=store) == [0, 1]
    with pytest.raises(SubflowError, match="has no task called 'ghost'; give a task key"):
        task_result(run_id, "ghost", store=store)
    with pytest.raises(SubflowError, match="kept no result for map index 5; give it checkpoint"):
        task_result(run_id, "sq-1", 5, store=store)


def test_start_flow_run_waits_and_fails_as_its_child_failed() -> None:
    @task
    def breaks() -> None:
        raise FAIL("the child broke")

    with Flow("child") as child:
        breaks()
    with Flow("parent") as flow:
        StartFlowRun(flow_name=child, wait=True)()
    store = MemoryStore()
    state = flow.run(store=store)
    start_state = next(iter(state.result.values()))
    (child_run,) = store.list_flow_runs(parent_run_id=state.context["flow_run_id"])
    assert child_run.state == "Failed"
    assert start_state.message == (
        f"child run {child_run.id} ended Failed: Some reference tasks failed."
    )
