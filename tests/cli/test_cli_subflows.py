"""The command line on flows of flows and concurrency limits: ``runs show`` links a parent run
and the runs it started both ways, ``cancel`` of a parent cancels its children, and ``tideflow
limits`` sets, lists and deletes limits."""

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
        deployments = [
            Deployment(name=name, entrypoint=Entrypoint("command", ("true",)))
            for name in ("parent", "child")
        ]
        actions.deploy(opened, deployments, at=T0)
        yield opened


def ok(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


def started_pair(store: RunStore) -> tuple[str, str]:
    parent = actions.trigger(store, "parent", at=T0)
    store.claim(parent.id, at=T0, host="box", pid=5)
    store.start(parent.id, at=T0, host="box", pid=5)
    child = actions.trigger(store, "child", at=T0, parent=(parent.id, "start-child-1"))
    return parent.id, child.id


def test_runs_show_links_a_parent_and_the_runs_it_started(store: RunStore) -> None:
    parent, child = started_pair(store)
    assert f"Started runs {child} (child, Scheduled)" in flat(ok("runs", "show", parent).stdout)
    assert f"Started by run {parent} task start-child-1" in flat(ok("runs", "show", child).stdout)
    shown = json.loads(ok("runs", "show", child, "--json").stdout)
    assert (shown["parent_run_id"], shown["parent_task"]) == (parent, "start-child-1")
    assert json.loads(ok("runs", "show", parent, "--json").stdout)["child_runs"] == [child]


def test_cancelling_a_parent_cancels_the_runs_it_started(store: RunStore) -> None:
    parent, child = started_pair(store)
    ok("cancel", parent)
    assert store.get_flow_run(parent).state == "Cancelling"
    cancelled = store.get_flow_run(child)
    assert cancelled.state == "Cancelled"
    assert cancelled.state_message == f"Cancelled with its parent run {parent}."


def test_limits_are_set_listed_with_their_holders_and_deleted(store: RunStore) -> None:
    run = actions.trigger(store, "parent", at=T0)
    store.claim(run.id, at=T0, host="box", pid=5)
    store.start(run.id, at=datetime.now(UTC), host="box", pid=5)
    assert flat(ok("limits", "set", "db", "2").stdout) == (
        "At most 2 task run(s) tagged 'db' run at once (runs starting from now on)."
    )
    store.acquire_slots(
        ["db"],
        flow_run_id=run.id,
        task_key="load",
        map_index=3,
        at=datetime.now(UTC),
        stale_before=T0,
    )
    assert f"│ db │ 2 │ 1 │ {run.id[:8]} load[3] │" in flat(ok("limits").stdout)
    listed = json.loads(ok("limits", "--json").stdout)
    assert [(row["tag"], row["limit"], row["in_use"]) for row in listed] == [("db", 2, 1)]
    assert listed[0]["slots"][0]["task_key"] == "load"
    ok("limits", "delete", "db")
    assert flat(ok("limits").stdout) == (
        "No concurrency limits; set one with: tideflow limits set TAG N"
    )


def test_limits_refuse_bad_input_in_one_line(store: RunStore) -> None:
    unknown = runner.invoke(app, ["limits", "delete", "ghost"])
    assert unknown.exit_code == 2
    assert flat(unknown.stderr) == (
        "Error: no concurrency limit on tag 'ghost' (limits: none); `tideflow limits` lists them"
    )
    negative = runner.invoke(app, ["limits", "set", "db", "--", "-1"])
    assert negative.exit_code == 2
    assert "a concurrency limit must be a whole number >= 0" in negative.stderr
