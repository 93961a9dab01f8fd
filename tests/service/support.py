"""Helpers for the service tests: flow files to deploy, services in processes, and cleanup.

Run processes live in their own sessions and outlive a service killed with SIGKILL, so cleanup
goes by the store: every run process it names on this host that is still alive is stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from tideflow.service.processes import stop_session
from tideflow.store import RunStore

FLOWS = """
from __future__ import annotations

import subprocess
import time

from tideflow import Flow, Parameter, context, log_metric, task


@task
def hello(name: str) -> str:
    context.logger.info("hello %s", name)
    log_metric("letters", len(name))
    return name


@task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task
def hang() -> None:
    # A grandchild too, to show the whole process tree is stopped at the timeout.
    subprocess.run(["sleep", "600"], check=False)


with Flow("greeting") as greeting:
    hello(Parameter("name", default="world"))

with Flow("napping") as napping:
    nap(Parameter("seconds", default=0.0))

with Flow("hanging") as hanging:
    hang()


@task(checkpoint=True)
def scheduler_address() -> str:
    from distributed import get_worker

    return str(get_worker().scheduler.address)


with Flow("where") as where:
    scheduler_address()


def main(greeting: str = "hi") -> None:
    # Not a flow: any callable can be a deployment.
    import logging

    logging.getLogger("jobs").info("%s from a plain callable", greeting)
"""


def write_flows(directory: Path) -> Path:
    path = directory / "flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


CLI = "import sys; from tideflow.cli import main; sys.argv[0] = 'tideflow'; main()"


def serve_command(toml: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", CLI, "serve", "--file", str(toml), *extra]


def tideflow(env: dict[str, str], *args: str) -> str:
    """Run ``tideflow *args`` in a process of its own, with ``env``; its standard output."""
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def start_service(toml: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    environment = {**os.environ, **env}
    environment.pop("TIDEFLOW_STORE", None)  # the suite's default turns recording off
    return subprocess.Popen(
        serve_command(toml, "--tick", "0.2", *extra),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_service(process: subprocess.Popen[str], timeout: float = 60) -> str:
    """SIGTERM, wait; its standard error."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL a service, as a crash would: its run processes live on in their sessions (and
    hold its standard error open, so this does not wait for that to end)."""
    process.kill()
    process.wait()
    if process.stderr is not None:
        process.stderr.close()


def stop_run_processes(store: RunStore) -> None:
    """Stop every run process (with its session) on this host that the store names."""
    for run in store.list_flow_runs(limit=None):
        if run.pid in (0, os.getpid()):
            continue
        try:
            command = " ".join(psutil.Process(run.pid).cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "tideflow.service" in command:
            stop_session(run.pid, grace=1)


def start_service_logging(
    toml: Path, env: dict[str, str], log: Path, *extra: str
) -> subprocess.Popen[str]:
    """:func:`start_service`, with the service's standard error (and so its run processes')
    appended to ``log`` instead of a pipe: a service left running for minutes never blocks on
    a pipe nobody reads, a SIGKILL leaves no pipe behind, and the file says what happened."""
    environment = {**os.environ, **env}
    environment.pop("TIDEFLOW_STORE", None)  # the suite's default turns recording off
    with log.open("a") as stderr:
        return subprocess.Popen(
            serve_command(toml, "--tick", "0.2", *extra),
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )


def stop_child_processes_of(run_ids: set[str]) -> None:
    """Stop every run process on this host started for one of ``run_ids``, named in the store
    or not (one a service started and then died before claiming its run for it still waits
    for that claim)."""
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "tideflow.service.child" in command and command[-1] in run_ids:
            stop_session(process.pid, grace=1)
