"""``tideflow serve`` end to end: real processes, a real clock, a real SQLite store.

Nothing here depends on how fast the machine is: runs start with ``--now`` (or from a schedule
whose fire times the test only counts, never times), every wait is for an event in the store or a
file with a generous limit, and no assertion is about sub-second wall time. The service's logic
tick by tick is in ``test_daemon.py``; these tests are about the processes.
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

import pytest
from tests.executors.support import wait_until
from tests.service.support import (
    kill,
    start_service,
    stop_service,
    tideflow,
    write_flows,
)

from tideflow import actions
from tideflow.deployments import load_deployments
from tideflow.service.processes import pid_alive
from tideflow.store import FlowRunRecord
from tideflow.store.sql import SQLStore

SLOW = 120
"""Seconds to wait for something that takes a second or two on an idle machine."""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_flows(tmp_path)
    return tmp_path


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


def runs(store: SQLStore, deployment: str) -> list[FlowRunRecord]:
    return store.list_flow_runs(deployment=deployment, limit=None)


def finished(store: SQLStore, deployment: str, state: str | None = None) -> list[FlowRunRecord]:
    return [
        run
        for run in runs(store, deployment)
        if run.is_finished and (state is None or run.state == state)
    ]


def the_run(store: SQLStore, deployment: str) -> FlowRunRecord:
    (run,) = runs(store, deployment)
    return run


def run_is(store: SQLStore, deployment: str, **expected: object) -> bool:
    """Whether the deployment has its one run, with these field values."""
    found = runs(store, deployment)
    return len(found) == 1 and all(getattr(found[0], k) == v for k, v in expected.items())


def test_each_fire_time_runs_in_its_own_process_with_its_lateness_recorded(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        """
        [deployments.every-two-seconds]
        flow = "flows.py:greeting"
        interval = "2s"
        overlap = "allow"
        parameters = { name = "tideflow" }
        """,
    )
    services.append(start_service(config, env))
    wait_until(lambda: len(finished(store, "every-two-seconds")) >= 3, SLOW, "three runs")
    done = finished(store, "every-two-seconds")[:3]
    assert {run.state for run in done} == {"Success"}
    assert {run.flow_name for run in done} == {"greeting"}
    assert len({run.pid for run in done}) == 3, "each run had a process of its own"
    assert os.getpid() not in {run.pid for run in done}
    for run in done:
        assert run.scheduled_start_time.second % 2 == 0
        assert run.scheduled_start_time.microsecond == 0
        assert run.lateness is not None
        assert run.lateness >= 0
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
        """
        [deployments.plain-callable]
        callable = "flows.py:main"
        parameters = { greeting = "hello" }

        [deployments.shell-command]
        command = ["sh", "-c", "echo colour=$COLOUR; pwd; exit 3"]
        env = { COLOUR = "teal" }
        working_dir = "elsewhere"
        """,
    )
    services.append(start_service(config, env, "--now", "plain-callable", "--now", "shell-command"))
    wait_until(
        lambda: finished(store, "plain-callable") and finished(store, "shell-command"),
        SLOW,
        "both runs",
    )
    (called,) = finished(store, "plain-callable")
    assert (called.state, called.state_message) == ("Success", "The callable returned.")
    assert [(ln.logger, ln.message) for ln in store.logs(called.id)] == [
        ("tideflow.service", f"Running callable {workspace / 'flows.py'}:main."),
        ("jobs", "hello from a plain callable"),
    ]
    (command,) = finished(store, "shell-command")
    assert (command.state, command.state_message) == (
        "Failed",
        "The command exited with status 3.",
    )
    output = [line.message for line in store.logs(command.id)][1:]
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
    wait_until(lambda: len(finished(store, "on-dask", "Success")) >= 2, SLOW, "two runs")
    done = finished(store, "on-dask", "Success")[:2]
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
        python = "{wrapper}"
        """,
    )
    services.append(start_service(config, env, "--now", "missing"))
    wait_until(lambda: finished(store, "missing"), SLOW, "the run")
    (run,) = finished(store, "missing")
    assert run.state == "Failed"
    assert run.state_message is not None
    assert run.state_message.startswith(f"{workspace / 'no_such_file.py'}:flow cannot run: ")
    assert "no_such_file.py" in run.state_message.split("cannot run: ")[1]
    assert marker.exists()


@pytest.mark.parametrize("kind", ["scheduled", "persistent"])
def test_an_interpreter_wrapper_that_starts_python_as_its_child_still_runs_the_run(
    kind: str,
    workspace: Path,
    store: SQLStore,
    env: dict[str, str],
    services: list[subprocess.Popen[str]],
) -> None:
    """Like `uv run` or a shell script without exec: the claim names the wrapper (the process
    the launcher started), and the Python below it takes the run over."""
    wrapper = workspace / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\n{sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    config = toml(
        workspace,
        f"""
        [deployments.wrapped]
        flow = "flows.py:greeting"
        kind = "{kind}"
        python = "{wrapper}"
        """,
    )
    services.append(start_service(config, env, "--now", "wrapped"))
    wait_until(lambda: finished(store, "wrapped"), SLOW, "the run")
    (run,) = finished(store, "wrapped")
    assert (run.state, run.attempts) == ("Success", 1)


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
    wait_until(lambda: len(finished(store, "keeper", "Success")) >= 2, SLOW, "two runs")
    first_pid = finished(store, "keeper", "Success")[0].pid
    assert {run.pid for run in finished(store, "keeper", "Success")} == {first_pid}
    os.kill(first_pid, signal.SIGKILL)
    wait_until(
        lambda: any(run.pid != first_pid for run in finished(store, "keeper", "Success")),
        SLOW,
        "a run in a new persistent process",
    )
    assert all(run.state in ("Success", "Crashed", "Skipped") for run in finished(store, "keeper"))
    assert not [r for r in runs(store, "keeper") if r.state == "Running" and r.pid == first_pid], (
        "a run cut short by the kill is Crashed, never left Running"
    )


def test_a_hung_run_is_stopped_at_its_timeout_with_its_whole_process_tree(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    """The command backgrounds a grandchild (re-parented to init: nobody's child any more) and
    records its pid; stopping the run's session must take it too."""
    pids = workspace / "pids"
    config = toml(
        workspace,
        f"""
        [deployments.hangs]
        command = ["sh", "-c", "sleep 1000 & echo $! >> {pids}; sleep 1000"]
        timeout = "3s"
        retries = 1
        """,
    )
    services.append(start_service(config, env, "--now", "hangs"))
    wait_until(lambda: run_is(store, "hangs", attempts=2), SLOW, "the first timeout")
    wait_until(lambda: run_is(store, "hangs", state="TimedOut"), SLOW, "the second timeout")
    run = the_run(store, "hangs")
    assert run.attempts == 2
    assert run.state_message == "TimedOut: it ran past 3 s; its process tree was stopped."
    grandchildren = [int(line) for line in pids.read_text().split()]
    assert len(grandchildren) == 2, "one per attempt"
    wait_until(
        lambda: not any(pid_alive(pid) for pid in grandchildren), SLOW, "the grandchildren to end"
    )


def test_a_service_killed_while_its_run_is_still_starting_loses_nothing(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    """The launch race: the run's flow takes seconds to import; the service is SIGKILLed as
    soon as it has claimed the run, and restarted. The run still runs, exactly once."""
    (workspace / "slow_import.py").write_text(
        textwrap.dedent(
            f"""
            import time
            from tideflow import Flow, task

            time.sleep(4)  # a heavy import

            @task
            def effect() -> None:
                with open({str(workspace / "effects")!r}, "a") as out:
                    out.write("ran\\n")

            with Flow("slow-import") as flow:
                effect()
            """
        )
    )
    config = toml(
        workspace,
        """
        [deployments.slow-import]
        flow = "slow_import.py:flow"
        """,
    )
    first = start_service(config, env, "--now", "slow-import")
    wait_until(lambda: run_is(store, "slow-import", state="Claimed"), SLOW, "the claim")
    kill(first)
    assert the_run(store, "slow-import").state == "Claimed", "killed before the take-over"
    services.append(start_service(config, env))
    wait_until(lambda: the_run(store, "slow-import").is_finished, SLOW, "the run to end")
    run = the_run(store, "slow-import")
    assert (run.state, run.attempts) == ("Success", 1)
    assert (workspace / "effects").read_text() == "ran\n"


def test_a_deadline_outlives_the_service_that_launched_the_run(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        """
        [deployments.slow]
        flow = "flows.py:napping"
        parameters = { seconds = 600 }
        timeout = "10s"
        """,
    )
    first = start_service(config, env, "--now", "slow")
    wait_until(lambda: run_is(store, "slow", state="Running"), SLOW, "the start")
    kill(first)
    run = the_run(store, "slow")
    assert run.deadline is not None
    services.append(start_service(config, env))
    wait_until(lambda: the_run(store, "slow").is_finished, SLOW, "the timeout")
    ended = the_run(store, "slow")
    assert ended.state == "TimedOut"
    wait_until(lambda: not pid_alive(run.pid), SLOW, "its process to be stopped")


def test_a_queue_drains_as_runs_end_not_once_per_tick(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    """With a tick of ten minutes, ten queued runs could only drain in hours if the service
    waited for ticks; it wakes when each run's process ends instead."""
    config = toml(
        workspace,
        """
        [deployments.quick]
        command = ["true"]
        cron = "* * * * *"
        overlap = "queue"
        """,
    )
    now = datetime.now(UTC)
    actions.deploy(store, load_deployments(config), at=now, source=str(config.resolve()))
    first = datetime(2026, 1, 1, tzinfo=UTC)
    actions.backfill(store, "quick", first, first + timedelta(minutes=9), at=now)
    services.append(start_service(config, env, "--tick", "600"))
    wait_until(
        lambda: len([r for r in finished(store, "quick") if r.origin == "backfill"]) == 10,
        300,
        "the queue to drain",
    )
    backfilled = [r for r in finished(store, "quick") if r.origin == "backfill"]
    assert {r.state for r in backfilled} == {"Success"}
    starts = sorted(r.start_time for r in backfilled if r.start_time is not None)
    assert (starts[-1] - starts[0]).total_seconds() < 300, "drained well within one tick"


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
        parameters = {{ seconds = {nap} }}
        """,
    )
    service = start_service(config, env, "--grace", str(grace), "--now", "slow")
    try:
        wait_until(lambda: run_is(store, "slow", state="Running"), SLOW, "a start")
        pid = the_run(store, "slow").pid
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=SLOW) == 0
    finally:
        err = stop_service(service)
    return the_run(store, "slow"), pid, err


def test_sigterm_lets_a_run_in_progress_finish_then_stops(
    workspace: Path, store: SQLStore, env: dict[str, str]
) -> None:
    run, _, err = sigterm_during_a_nap(workspace, store, env, nap=2, grace=SLOW)
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
    wait_until(lambda: not pid_alive(pid), SLOW, "its process to be stopped")


def test_cancel_stops_a_running_run_whole(
    workspace: Path, store: SQLStore, env: dict[str, str], services: list[subprocess.Popen[str]]
) -> None:
    config = toml(
        workspace,
        """
        [deployments.slow]
        flow = "flows.py:napping"
        parameters = { seconds = 600 }
        """,
    )
    services.append(start_service(config, env, "--now", "slow"))
    wait_until(lambda: run_is(store, "slow", state="Running"), SLOW, "the start")
    run = the_run(store, "slow")
    tideflow(env, "cancel", run.id[:8])
    wait_until(lambda: run_is(store, "slow", state="Cancelled"), SLOW, "the cancel")
    wait_until(lambda: not pid_alive(run.pid), SLOW, "its process to be stopped")
