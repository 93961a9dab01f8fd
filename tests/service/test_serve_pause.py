"""A paused run under ``tideflow serve`` waits in its own process and resumes in place.

Real processes, a real SQLite store: a run with a ``manual_only`` task pauses (the store says
``Paused``, its process alive and holding it); ``tideflow resume-run`` resumes it, and the run
ends ``Success`` in the same process, without running again what had run (each task appends a
line to a file, so the files count the calls). A paused run can also be cancelled.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.executors.support import wait_until
from tests.service.support import start_service, stop_service, tideflow

from tideflow.service.processes import pid_alive
from tideflow.store import FlowRunRecord
from tideflow.store.sql import SQLStore

SLOW = 120
"""Seconds to wait for something that takes a second or two on an idle machine."""

FLOWS = """
from pathlib import Path

from tideflow import Flow, Parameter, task, triggers


def called(folder: str, name: str) -> None:
    with open(Path(folder) / f"{name}.calls", "a") as out:
        out.write("called\\n")


@task
def extract(folder: str) -> int:
    called(folder, "extract")
    return 20


@task
def side_branch(folder: str, x: int) -> int:
    called(folder, "side_branch")
    return x + 1


@task(trigger=triggers.manual_only)
def publish(folder: str, x: int) -> int:
    called(folder, "publish")
    return x * 2


@task
def announce(folder: str, x: int) -> int:
    called(folder, "announce")
    return x + 2


with Flow("approval") as approval:
    folder = Parameter("folder")
    data = extract(folder)
    side_branch(folder, data)
    announce(folder, publish(folder, data))
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    (tmp_path / "tideflow.toml").write_text(
        textwrap.dedent(
            f"""
            [deployments.approval]
            flow = "flows.py:approval"
            parameters = {{ folder = "{tmp_path}" }}
            """
        )
    )
    return tmp_path


@pytest.fixture
def service(workspace: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = start_service(workspace / "tideflow.toml", env, "--now", "approval")
    yield process
    stop_service(process, timeout=30)


def calls(folder: Path) -> dict[str, int]:
    return {
        path.stem: len(path.read_text().splitlines()) for path in sorted(folder.glob("*.calls"))
    }


def the_run(store: SQLStore) -> FlowRunRecord | None:
    found = store.list_flow_runs(deployment="approval", limit=None)
    return found[0] if found else None


def state_is(store: SQLStore, state: str) -> bool:
    run = the_run(store)
    return run is not None and run.state == state


def test_a_paused_run_waits_in_its_process_and_resume_run_finishes_it_in_place(
    workspace: Path, store: SQLStore, env: dict[str, str], service: subprocess.Popen[str]
) -> None:
    wait_until(lambda: state_is(store, "Paused"), SLOW, "the run to pause")
    paused = the_run(store)
    assert paused is not None
    assert (
        paused.state_message == f"Waiting for approval of publish: tideflow resume-run {paused.id}"
    )
    assert pid_alive(paused.pid), "the paused run's process holds it"
    assert calls(workspace) == {"extract": 1, "side_branch": 1}

    out = tideflow(env, "resume-run", paused.id[:8])
    assert f"Run {paused.id} resumes" in out
    wait_until(lambda: state_is(store, "Success"), SLOW, "the resumed run to end")

    done = the_run(store)
    assert done is not None
    assert done.pid == paused.pid, "it ended in the process that paused it"
    assert calls(workspace) == {"announce": 1, "extract": 1, "publish": 1, "side_branch": 1}
    flow_states = [e.name for e in store.events(flow_run_id=done.id) if e.kind == "flow_run"]
    assert flow_states == ["Scheduled", "Claimed", "Running", "Paused", "Running", "Success"]
    publish = [(c.state, c.message) for c in store.task_states(done.id) if c.task_key == "publish"]
    assert [state for state, _ in publish] == ["Paused", "Resume", "Running", "Success"]


def test_a_paused_run_that_is_cancelled_ends_cancelled_and_its_process_stops(
    workspace: Path, store: SQLStore, env: dict[str, str], service: subprocess.Popen[str]
) -> None:
    wait_until(lambda: state_is(store, "Paused"), SLOW, "the run to pause")
    paused = the_run(store)
    assert paused is not None
    tideflow(env, "cancel", paused.id[:8], "--reason", "not approved")
    wait_until(lambda: state_is(store, "Cancelled"), SLOW, "the cancel")
    wait_until(lambda: not pid_alive(paused.pid), SLOW, "its process to stop")
    assert calls(workspace) == {"extract": 1, "side_branch": 1}
