"""``tideflow retry RUN --from-failed``: the retried attempt, run by the service's runner, reruns
only the failed branch; tasks that succeeded keep the results they wrote (a ``LocalResult`` file,
a value kept in the store) and are not called again. Calls are counted in files."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tideflow import actions
from tideflow.deployments import Deployment, Entrypoint
from tideflow.engine.run_writer import HOST
from tideflow.service.runner import Loaded, run_claimed
from tideflow.store import MemoryStore, RunStore

FLOW = """
from pathlib import Path

from tideflow import Flow, task
from tideflow.engine.results import LocalResult

HERE = Path(__file__).parent


def count(name):
    with open(HERE / "calls" / name, "a") as out:
        out.write("called\\n")


@task(result=LocalResult(dir=HERE / "results"))
def extract():
    count("extract")
    return [1, 2, 3]


@task(checkpoint=True)
def config():
    count("config")
    return {"scale": 10}


@task
def fragile(rows, config):
    count("fragile")
    if (HERE / "fail").exists():
        raise RuntimeError("the source is flaky")
    return [r * config["scale"] for r in rows]


@task
def load(rows):
    count("load")
    (HERE / "loaded").write_text(str(sum(rows)))
    return sum(rows)


@task
def audit(rows):
    count("audit")
    return len(rows)


with Flow("resumable") as flow:
    rows = extract()
    load(fragile(rows, config()))
    audit(rows)
"""

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "calls").mkdir()
    (tmp_path / "resumable.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "fail").touch()
    return tmp_path


@pytest.fixture
def store(workspace: Path) -> RunStore:
    store = MemoryStore()
    deployment = Deployment(
        name="resumable", entrypoint=Entrypoint("flow", f"{workspace / 'resumable.py'}:flow")
    )
    actions.deploy(store, [deployment], at=AT)
    return store


def calls(workspace: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in (workspace / "calls").iterdir()}


def run_attempt(store: RunStore, run_id: str) -> str:
    """What a run process does with a run the service claimed for it."""
    assert store.claim(run_id, at=AT, host=HOST, pid=os.getpid()) is not None
    deployment = actions.stored_deployment(store, "resumable")
    return run_claimed(store, run_id, Loaded(deployment))


def failed_once(store: RunStore, workspace: Path) -> str:
    run = actions.trigger(store, "resumable", at=AT)
    assert run_attempt(store, run.id) == "Failed"
    assert calls(workspace) == {"extract": 1, "config": 1, "fragile": 1, "audit": 1}
    (workspace / "fail").unlink()
    return run.id


def test_retry_from_failed_reruns_only_the_failed_branch(store: RunStore, workspace: Path) -> None:
    run_id = failed_once(store, workspace)
    retried = actions.retry(store, run_id, at=AT + timedelta(minutes=1), from_failed=True)
    assert retried.attempts == 2
    assert run_attempt(store, run_id) == "Success"
    # extract's value came back from its LocalResult file, config's from the store.
    assert calls(workspace) == {"extract": 1, "config": 1, "fragile": 2, "load": 1, "audit": 1}
    assert (workspace / "loaded").read_text() == "60"
    assert store.get_flow_run(run_id).state == "Success"
    final = {r.task_key: r.state for r in store.task_runs(run_id)}
    assert final == {
        "extract": "Success",
        "config": "Success",
        "fragile": "Success",
        "load": "Success",
        "audit": "Success",
    }


def test_a_plain_retry_reruns_the_whole_flow(store: RunStore, workspace: Path) -> None:
    run_id = failed_once(store, workspace)
    actions.retry(store, run_id, at=AT + timedelta(minutes=1))
    assert run_attempt(store, run_id) == "Success"
    assert calls(workspace) == {"extract": 2, "config": 2, "fragile": 2, "load": 1, "audit": 2}


def test_a_result_that_cannot_be_read_back_reruns_its_task_and_what_it_feeds(
    store: RunStore, workspace: Path
) -> None:
    run_id = failed_once(store, workspace)
    for written in (workspace / "results").rglob("*"):
        if written.is_file():
            written.unlink()
    actions.retry(store, run_id, at=AT + timedelta(minutes=1), from_failed=True)
    assert run_attempt(store, run_id) == "Success"
    assert calls(workspace) == {"extract": 2, "config": 1, "fragile": 2, "load": 1, "audit": 2}


def test_the_wish_is_recorded_with_the_retry_action(store: RunStore, workspace: Path) -> None:
    run_id = failed_once(store, workspace)
    actions.retry(store, run_id, at=AT, from_failed=True)
    [event] = [e for e in store.events(kinds=["action"], flow_run_id=run_id) if e.name == "retry"]
    assert event.data == {"attempt": 2, "from_failed": True}
    assert "from its failed tasks" in (store.get_flow_run(run_id).state_message or "")
