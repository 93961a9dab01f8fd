"""``tideflow serve`` end to end: real processes, a real clock, a real SQLite store.

These tests wait on short real schedules (two seconds), which is what they are about: a fire
time runs in its own process with its lateness recorded; a killed persistent process comes back;
a hung run is stopped at its timeout; SIGTERM lets a run finish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from tests.executors.support import wait_until
from tests.service.support import (
    start_service,
    stop_run_processes,
    stop_service,
    write_flows,
)

from tideflow.service.processes import pid_alive
from tideflow.store import FlowRunRecord, sqlite_store
from tideflow.store.sql import SQLStore


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_flows(tmp_path)
    return tmp_path


@pytest.fixture
def store(workspace: Path) -> Iterator[SQLStore]:
    opened = sqlite_store(workspace / "tideflow.db")
    yield opened
    stop_run_processes(opened)
    opened.close()


@pytest.fixture
def env(workspace: Path) -> dict[str, str]:
    return {"TIDEFLOW_DATABASE_URL": f"sqlite:///{workspace / 'tideflow.db'}"}


@pytest.fixture
def services() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        stop_service(process, timeout=30)


def toml(workspace: Path, body: str) -> Path:
    path = workspace / "tideflow.toml"
    path.write_text(textwrap.dedent(body))
    return path


def soon() -> str:
    """A schedule anchor one second from now: an hourly deployment's first run comes at once."""
    return (datetime.now(UTC) + timedelta(seconds=1)).isoformat()


def runs(store: SQLStore, deployment: str) -> list[FlowRunRecord]:
    return store.list_flow_runs(deployment=deployment, limit=None)


def finished(store: SQLStore, deployment: str) -> list[FlowRunRecord]:
    return [run for run in runs(store, deployment) if run.is_finished]


def test_each_fire_time_runs_in_its_own_process_with_its_lateness_recorded(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        """
        [deployments.every-two-seconds]
        flow = "flows.py:greeting"
        interval = "2s"
        parameters = { name = "tideflow" }
        """,
    )
    services.append(start_service(config, env))
    wait_until(lambda: len(finished(store, "every-two-seconds")) >= 3, 60, "three runs")
    done = finished(store, "every-two-seconds")[:3]
    assert {run.state for run in done} == {"Success"}
    assert {run.flow_name for run in done} == {"greeting"}
    assert len({run.pid for run in done}) == 3, "each run had a process of its own"
    assert os.getpid() not in {run.pid for run in done}
    for run in done:
        assert run.scheduled_start_time.second % 2 == 0
        assert run.scheduled_start_time.microsecond == 0
        assert run.lateness is not None
        assert 0 <= run.lateness < 2
        assert run.start_time == run.scheduled_start_time + timedelta(seconds=run.lateness)
    newest = done[0]
    assert [(p.name, p.number) for p in store.metrics("greeting")][-1] == ("letters", 8.0)
    assert any(line.message == "hello tideflow" for line in store.logs(newest.id))


def test_callables_and_commands_run_in_their_environment_with_their_output_kept(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    (workspace / "elsewhere").mkdir()
    config = toml(
        workspace,
        f"""
        [deployments.plain-callable]
        callable = "flows.py:main"
        interval = "1h"
        start = "{soon()}"
        parameters = {{ greeting = "hello" }}

        [deployments.shell-command]
        command = ["sh", "-c", "echo colour=$COLOUR; pwd; exit 3"]
        interval = "1h"
        start = "{soon()}"
        env = {{ COLOUR = "teal" }}
        working_dir = "elsewhere"
        """,
    )
    services.append(start_service(config, env))
    wait_until(
        lambda: finished(store, "plain-callable") and finished(store, "shell-command"),
        60,
        "both runs",
    )
    (called,) = finished(store, "plain-callable")
    assert (called.state, called.state_message) == ("Success", "The callable returned.")
    assert [(ln.logger, ln.message) for ln in store.logs(called.id)] == [
        ("jobs", "hello from a plain callable")
    ]
    (command,) = finished(store, "shell-command")
    assert (command.state, command.state_message) == (
        "Failed",
        "The command exited with status 3.",
    )
    output = [line.message for line in store.logs(command.id)]
    assert output == ["colour=teal", str(workspace / "elsewhere")]


def test_a_persistent_deployment_keeps_its_dask_cluster_between_runs(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        """
        [deployments.on-dask]
        flow = "flows.py:where"
        kind = "persistent"
        interval = "1s"
        executor = { type = "dask", cluster_kwargs = { n_workers = 1, processes = false } }
        """,
    )
    services.append(start_service(config, env))
    wait_until(lambda: len(finished(store, "on-dask")) >= 2, 90, "two runs")
    done = finished(store, "on-dask")[:2]
    assert {run.state for run in done} == {"Success"}
    addresses = {row.value for run in done for row in store.results(run.id)}
    assert len(addresses) == 1, "both runs used the one cluster the process keeps"
    assert next(iter(addresses)).startswith(("tcp://", "inproc://"))


@pytest.mark.parametrize("kind", ["scheduled", "persistent"])
def test_a_deployment_runs_with_its_interpreter_and_a_flow_that_cannot_load_fails_saying_why(
    kind: str,
    workspace: Path,
    store: SQLStore,
    env: dict[str, str],
    services: list[subprocess.Popen[str]],
) -> None:
    marker = workspace / "interpreter-used"
    wrapper = workspace / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\ntouch {marker}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    config = toml(
        workspace,
        f"""
        [deployments.missing]
        flow = "no_such_file.py:flow"
        kind = "{kind}"
        interval = "1h"
        start = "{soon()}"
        python = "{wrapper}"
        """,
    )
    services.append(start_service(config, env))
    wait_until(lambda: finished(store, "missing"), 60, "the run")
    (run,) = finished(store, "missing")
    assert run.state == "Failed"
    assert run.state_message is not None
    assert run.state_message.startswith(f"{workspace / 'no_such_file.py'}:flow cannot run: ")
    assert "no_such_file.py" in run.state_message.split("cannot run: ")[1]
    assert marker.exists()


def test_a_persistent_process_killed_with_sigkill_is_restarted_and_its_schedule_goes_on(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        """
        [deployments.keeper]
        flow = "flows.py:greeting"
        kind = "persistent"
        interval = "1s"
        """,
    )
    services.append(start_service(config, env))
    wait_until(lambda: len(finished(store, "keeper")) >= 2, 60, "two runs")
    first_pid = finished(store, "keeper")[0].pid
    assert {run.pid for run in finished(store, "keeper")} == {first_pid}, "one process"
    os.kill(first_pid, signal.SIGKILL)
    wait_until(
        lambda: any(run.pid != first_pid for run in finished(store, "keeper")),
        60,
        "a run in a new persistent process",
    )
    newer = [run for run in finished(store, "keeper") if run.pid != first_pid]
    assert {run.state for run in newer} == {"Success"}
    assert all(run.state in ("Success", "Crashed") for run in finished(store, "keeper")), (
        "a run cut short by the kill is Crashed, never left Running"
    )


def test_a_hung_run_is_stopped_at_its_timeout_with_its_whole_process_tree(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        f"""
        [deployments.hangs]
        flow = "flows.py:hanging"
        interval = "1h"
        start = "{soon()}"
        timeout = "2s"
        retries = 1
        catchup = "latest"
        """,
    )
    services.append(start_service(config, env))
    wait_until(lambda: any(r.state == "Running" for r in runs(store, "hangs")), 60, "a start")
    (run,) = runs(store, "hangs")
    first_pid = run.pid
    tree = [first_pid, *(p.pid for p in psutil.Process(first_pid).children(recursive=True))]
    wait_until(lambda: runs(store, "hangs")[0].attempts == 2, 60, "the retry")
    assert not any(pid_alive(pid) for pid in tree)
    wait_until(lambda: runs(store, "hangs")[0].state == "TimedOut", 60, "the second timeout")
    (run,) = runs(store, "hangs")
    assert run.attempts == 2
    assert run.state_message == "timed out after 2 s; its process tree was stopped"


def sigterm_during_a_nap(
    workspace: Path, store: SQLStore, env: dict[str, str], nap: float, grace: float
) -> tuple[FlowRunRecord, int, str]:
    """Serve a deployment that naps ``nap`` seconds, SIGTERM the service once the run is going;
    the run afterwards, the pid that ran it and the service's standard error."""
    config = toml(
        workspace,
        f"""
        [deployments.slow]
        flow = "flows.py:napping"
        interval = "1h"
        start = "{soon()}"
        parameters = {{ seconds = {nap} }}
        """,
    )
    service = start_service(config, env, "--grace", str(grace))
    try:
        wait_until(lambda: any(r.state == "Running" for r in runs(store, "slow")), 60, "a start")
        pid = runs(store, "slow")[0].pid
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
    finally:
        err = stop_service(service)
    (run,) = runs(store, "slow")
    return run, pid, err


def test_sigterm_lets_a_run_in_progress_finish_then_stops(
    workspace: Path, store: SQLStore, env: dict[str, str]
) -> None:
    run, _, err = sigterm_during_a_nap(workspace, store, env, nap=2, grace=30)
    assert run.state == "Success"
    assert "Stopping: no new runs" in err


def test_a_run_still_going_after_the_grace_period_is_recorded_as_cut_short(
    workspace: Path, store: SQLStore, env: dict[str, str]
) -> None:
    run, pid, _ = sigterm_during_a_nap(workspace, store, env, nap=600, grace=0.5)
    assert (run.state, run.state_message) == (
        "Cancelled",
        "Cancelled: the service stopped before the run finished.",
    )
    assert not pid_alive(pid)
