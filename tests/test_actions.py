"""The library actions the CLI and the web API call: deploy, pause, resume, trigger, backfill,
delete, cancel and retry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tideflow import actions
from tideflow.actions import ActionError
from tideflow.deployments import Deployment, Entrypoint
from tideflow.schedules import CronSchedule, IntervalSchedule
from tideflow.service.registry import Registry
from tideflow.store import DeploymentNotFoundError, MemoryStore, RunNotFoundError

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def command(name: str = "etl", **fields: Any) -> Deployment:
    return Deployment(name=name, entrypoint=Entrypoint("command", ("true",)), **fields)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


# -- deploy, pause, resume, delete ----------------------------------------------------------------


def test_deploy_says_which_deployments_are_new(store: MemoryStore) -> None:
    (first,) = actions.deploy(store, [command()], at=T0)
    (again,) = actions.deploy(store, [command(retries=2)], at=T0)
    assert (first.created, again.created, again.deployment.retries) == (True, False, 2)
    assert [e.name for e in store.events(kinds=["deployment"])] == ["created", "updated"]


def test_a_pause_survives_deploying_the_same_spec_again(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    assert actions.pause(store, "etl", at=T0)
    assert not actions.pause(store, "etl", at=T0), "already paused"
    actions.deploy(store, [command()], at=T0 + timedelta(hours=1))
    (deployment,) = Registry(store).snapshot().deployments
    assert deployment.paused is True


def test_editing_paused_into_the_spec_pauses_and_out_of_it_resumes(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    actions.deploy(store, [command(paused=True)], at=T0)
    assert Registry(store).snapshot().deployments[0].paused is True
    actions.deploy(store, [command(paused=False)], at=T0)
    assert Registry(store).snapshot().deployments[0].paused is False


def test_taking_paused_out_of_the_file_resumes_without_catching_the_pause_up(
    store: MemoryStore,
) -> None:
    hourly = command(schedule=IntervalSchedule(interval=timedelta(hours=1)))
    actions.deploy(store, [replace(hourly, paused=True)], at=T0)
    actions.deploy(store, [hourly], at=T0 + timedelta(hours=5, minutes=30))
    record = store.get_deployment("etl")
    assert record is not None
    assert record.paused is False
    assert record.last_fire == T0 + timedelta(hours=5, minutes=30)


def test_resume_of_a_deployment_that_is_not_paused_changes_nothing(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    assert actions.resume(store, "etl", at=T0) is False
    with pytest.raises(DeploymentNotFoundError, match="no deployment is called 'ghost'"):
        actions.resume(store, "ghost", at=T0)


def test_a_file_s_deployments_it_no_longer_declares_are_deleted_their_runs_cancelled(
    store: MemoryStore,
) -> None:
    actions.deploy(store, [command("a"), command("b")], at=T0, source="/srv/tideflow.toml")
    actions.deploy(store, [command("by-hand")], at=T0)
    waiting = actions.trigger(store, "b", at=T0)
    actions.deploy(store, [command("a")], at=T0, source="/srv/tideflow.toml")
    assert [d.name for d in store.list_deployments()] == ["a", "by-hand"]
    cancelled = store.get_flow_run(waiting.id)
    assert cancelled.state == "Cancelled"
    assert cancelled.state_message == (
        "Cancelled: deployment 'b' was deleted (it was removed from /srv/tideflow.toml)."
    )


def test_delete_cancels_the_waiting_runs_and_keeps_the_history(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    done = actions.trigger(store, "etl", at=T0)
    store.claim(done.id, at=T0, host="h", pid=1)
    waiting = [actions.trigger(store, "etl", at=T0 + timedelta(seconds=i)) for i in (1, 2)]
    assert actions.delete(store, "etl", at=T0) == 2
    assert {store.get_flow_run(run.id).state for run in waiting} == {"Cancelled"}
    assert store.get_flow_run(done.id).state == "Claimed", "a run going is left to finish"
    with pytest.raises(DeploymentNotFoundError):
        actions.delete(store, "etl", at=T0)


# -- trigger and backfill ------------------------------------------------------------------------


def test_a_trigger_takes_the_deployment_s_parameters_with_overrides(store: MemoryStore) -> None:
    actions.deploy(store, [command(parameters={"n": 1, "day": "mon"}, timeout=60)], at=T0)
    run = actions.trigger(store, "etl", {"n": 5}, at=T0)
    assert (run.parameters, run.origin, run.timeout, run.scheduled_start_time) == (
        {"n": 5, "day": "mon"},
        "trigger",
        60.0,
        T0,
    )
    (action,) = store.events(kinds=["action"])
    assert (action.name, action.flow_run_id, action.data) == (
        "trigger",
        run.id,
        {"parameters": {"n": 5}},
    )


def test_triggers_at_the_same_instant_each_get_a_run(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    made = [actions.trigger(store, "etl", at=T0) for _ in range(3)]
    assert len({run.id for run in made}) == 3
    assert all(run.scheduled_start_time <= T0 for run in made), "each is due at once"


def test_a_trigger_of_an_unknown_deployment_names_it(store: MemoryStore) -> None:
    with pytest.raises(DeploymentNotFoundError, match="no deployment is called 'ghost'"):
        actions.trigger(store, "ghost", at=T0)


def test_a_date_as_the_end_of_a_backfill_includes_that_day(store: MemoryStore) -> None:
    actions.deploy(store, [command(schedule=CronSchedule("0 6 * * *"))], at=T0)
    done = actions.backfill(store, "etl", date(2026, 3, 1), date(2026, 3, 7), at=T0)
    days = [run.scheduled_start_time.day for run in done.created]
    assert days == [1, 2, 3, 4, 5, 6, 7]
    assert {run.origin for run in done.created} == {"backfill"}
    again = actions.backfill(store, "etl", date(2026, 3, 7), date(2026, 3, 7), at=T0)
    assert (again.created, len(again.present)) == ([], 1)
    (event,) = store.events(kinds=["action"])
    assert (event.name, event.data["created"]) == ("backfill", 7)


# -- cancel and retry ----------------------------------------------------------------------------


def test_cancel_ends_a_waiting_run_and_asks_a_running_one_to_stop(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    waiting = actions.trigger(store, "etl", at=T0)
    assert actions.cancel(store, waiting.id[:6], at=T0).state == "Cancelled"
    running = actions.trigger(store, "etl", at=T0 + timedelta(seconds=1))
    store.claim(running.id, at=T0, host="h", pid=1)
    store.start(running.id, at=T0, host="h", pid=1)
    assert actions.cancel(store, running.id, at=T0, reason="oops").state == "Cancelling"
    with pytest.raises(ActionError, match="is already being cancelled"):
        actions.cancel(store, running.id, at=T0)
    with pytest.raises(ActionError, match=f"run {waiting.id} is already Cancelled"):
        actions.cancel(store, waiting.id, at=T0)
    with pytest.raises(RunNotFoundError):
        actions.cancel(store, "nope", at=T0)


def test_retry_gives_a_failed_run_another_attempt(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="h", pid=1)
    store.start(run.id, at=T0, host="h", pid=1)
    store.finish(run.id, "TimedOut", "too slow", at=T0)
    again = actions.retry(store, run.id, at=T0 + timedelta(minutes=1))
    assert (again.state, again.attempts, again.due_time) == (
        "Retrying",
        2,
        T0 + timedelta(minutes=1),
    )
    assert again.state_message == "Attempt 2, retried on request after TimedOut."
    with pytest.raises(ActionError, match="only a failed run"):
        actions.retry(store, run.id, at=T0)


def test_retry_refuses_what_nothing_would_start(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="h", pid=1)
    store.finish(run.id, "Crashed", "gone", at=T0)
    actions.delete(store, "etl", at=T0)
    with pytest.raises(ActionError, match="which no longer exists"):
        actions.retry(store, run.id, at=T0)
    direct = replace(run, id="direct", deployment=None, origin="direct", state="Failed")
    store.create_flow_run(direct)
    with pytest.raises(ActionError, match="started directly"):
        actions.retry(store, "direct", at=T0)


def test_resume_run_approves_a_paused_run_in_its_own_process(store: MemoryStore) -> None:
    actions.deploy(store, [command()], at=T0)
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="h", pid=1)
    with pytest.raises(ActionError, match=f"run {run.id} is Claimed; only a paused run"):
        actions.resume_run(store, run.id, at=T0)
    store.start(run.id, at=T0, host="h", pid=1)
    store.pause(run.id, at=T0, message="waiting for approval", host="h", pid=1)
    resumed = actions.resume_run(store, run.id[:6], at=T0 + timedelta(seconds=5))
    assert (resumed.state, resumed.host, resumed.pid) == ("Running", "h", 1)
    names = [(e.kind, e.name) for e in store.events(flow_run_id=run.id)][-3:]
    assert names == [("flow_run", "Paused"), ("flow_run", "Running"), ("action", "resume")]
    with pytest.raises(RunNotFoundError):
        actions.resume_run(store, "nope", at=T0)
