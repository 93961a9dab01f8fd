"""`tideflow cancel`, `tideflow retry` and `tideflow events`: one run acted on, and the event log
read and followed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tideflow import actions
from tideflow.cli import app
from tideflow.deployments import Deployment, Entrypoint
from tideflow.store import RunStore, open_store

runner = CliRunner()
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("cli_store_on")


@pytest.fixture
def store() -> Iterator[RunStore]:
    opened = open_store()
    assert opened is not None
    with opened:
        actions.deploy(
            opened, [Deployment(name="etl", entrypoint=Entrypoint("command", ("true",)))], at=T0
        )
        yield opened


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok(*args: str) -> Result:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: "), result.stderr
    return " ".join(result.stderr.removeprefix("Error: ").split())


def test_cancel_ends_a_waiting_run_at_once(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    result = ok("cancel", run.id[:8], "--reason", "not needed")
    assert result.stdout.strip() == f"Run {run.id} is Cancelled."
    assert store.get_flow_run(run.id).state_message == "not needed"


def test_cancel_of_a_running_run_says_the_service_stops_it(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="box", pid=5)
    store.start(run.id, at=T0, host="box", pid=5)
    result = ok("cancel", run.id)
    assert " ".join(result.stdout.split()).startswith(
        f"Run {run.id} is being cancelled: the service on box stops its process tree"
    )
    assert store.get_flow_run(run.id).state == "Cancelling"


def test_cancel_of_a_finished_or_unknown_run_is_one_error(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    ok("cancel", run.id)
    assert error(invoke("cancel", run.id)) == (
        f"run {run.id} is already Cancelled; there is nothing to cancel"
    )
    assert error(invoke("cancel", "zzz")) == "no flow run has an id starting with 'zzz'"


def test_retry_gives_a_failed_run_another_attempt(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="box", pid=5)
    store.finish(run.id, "Crashed", "gone", at=T0)
    result = ok("retry", run.id[:8])
    assert f"Run {run.id} will run again (attempt 2)" in " ".join(result.stdout.split())
    assert store.get_flow_run(run.id).state == "Retrying"
    assert error(invoke("retry", run.id)).startswith(f"run {run.id} is Retrying; only a failed")


def test_retry_from_failed_records_the_wish_for_the_run_s_process(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="box", pid=5)
    store.finish(run.id, "Crashed", "gone", at=T0)
    result = ok("retry", run.id, "--from-failed")
    assert f"Run {run.id} will run again from its failed tasks (attempt 2)" in " ".join(
        result.stdout.split()
    )
    [event] = [e for e in store.events(kinds=["action"], flow_run_id=run.id) if e.name == "retry"]
    assert event.data == {"attempt": 2, "from_failed": True}


def test_events_lists_the_log_and_json_keeps_the_api_s_field_names(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    lines = [line.split()[3:] for line in ok("events").stdout.splitlines()]
    assert lines == [
        ["deployment", "created", "etl"],
        ["flow_run", "Scheduled", "etl", run.id[:8]],
        ["action", "trigger", "etl", run.id[:8]],
    ]
    rows = [json.loads(line) for line in ok("events", "--json").stdout.splitlines()]
    assert [(row["kind"], row["name"]) for row in rows] == [
        ("deployment", "created"),
        ("flow_run", "Scheduled"),
        ("action", "trigger"),
    ]
    assert set(rows[0]) == {
        "id",
        "at",
        "kind",
        "name",
        "flow_run_id",
        "deployment",
        "message",
        "data",
    }
    after = rows[0]["id"]
    only_runs = [
        json.loads(line)
        for line in ok(
            "events", "--after", str(after), "--kind", "flow_run", "--json"
        ).stdout.splitlines()
    ]
    assert [row["name"] for row in only_runs] == ["Scheduled"]
    assert error(invoke("events", "--kind", "nonsense")).startswith("--kind: unknown kind")


def test_resume_run_approves_a_paused_run_and_refuses_one_that_is_not(store: RunStore) -> None:
    run = actions.trigger(store, "etl", at=T0)
    store.claim(run.id, at=T0, host="h", pid=1)
    store.start(run.id, at=T0, host="h", pid=1)
    assert " ".join(error(invoke("resume-run", run.id[:8])).split()) == (
        f"run {run.id} is Running; only a paused run (one whose tasks wait for approval) can "
        "be resumed"
    )
    store.pause(run.id, at=T0, message="waiting", host="h", pid=1)
    out = ok("resume-run", run.id[:8]).stdout
    assert out.startswith(f"Run {run.id} resumes: its paused tasks run now")
    assert store.get_flow_run(run.id).state == "Running"
