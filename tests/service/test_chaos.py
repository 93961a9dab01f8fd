"""Chaos: kill the service with SIGKILL at random instants, restart it, and count the slots.

A one-second schedule with ``catchup = "all"`` and ``overlap = "allow"``: whatever the service
was doing when it died (creating a slot, claiming a run, starting a process), every fire time
in the window must end up with exactly one run, none missing, none doubled, none stuck
unfinished. Run processes live in their own sessions, so a run started before a kill finishes on
its own; a run claimed by a service that died before starting it is found and marked crashed.
"""

from __future__ import annotations

import random
import subprocess
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.executors.support import wait_until
from tests.service.support import (
    start_service,
    stop_run_processes,
    stop_service,
    write_flows,
)

from tideflow.store import RunStore, open_store

KILLS = 20
CONFIG = """
[deployments.every-second]
flow = "flows.py:greeting"
interval = "1s"
catchup = "all"
overlap = "allow"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_flows(tmp_path)
    (tmp_path / "tideflow.toml").write_text(textwrap.dedent(CONFIG))
    return tmp_path


def kill(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.communicate()


def check_every_slot_ran_once(store: RunStore) -> int:
    """Assert the history is complete and single; the number of slots."""
    wait_until(lambda: store.unfinished_runs() == [], 120, "every run to finish")
    runs = store.list_flow_runs(deployment="every-second", limit=None)
    times = sorted(run.scheduled_start_time for run in runs)
    assert len(times) == len(set(times)), "a slot ran twice"
    expected = [times[0] + timedelta(seconds=i) for i in range(len(times))]
    assert times == expected, "a slot is missing"
    states = {run.state for run in runs}
    assert states <= {"Success", "Crashed"}, states
    assert sum(run.state == "Success" for run in runs) >= 0.9 * len(runs)
    return len(times)


@pytest.fixture
def sqlite_env(workspace: Path) -> Iterator[dict[str, str]]:
    url = f"sqlite:///{workspace / 'tideflow.db'}"
    yield {"TIDEFLOW_DATABASE_URL": url}
    store = open_store(url)
    assert store is not None
    stop_run_processes(store)
    store.close()


@pytest.mark.slow
def test_a_service_killed_twenty_times_runs_every_slot_exactly_once(
    workspace: Path, sqlite_env: dict[str, str]
) -> None:
    rng = random.Random(20261125)
    config = workspace / "tideflow.toml"
    service = start_service(config, sqlite_env)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(1.0, 8.0))  # a random instant, not a schedule
            kill(service)
            service = start_service(config, sqlite_env)
        time.sleep(3)
    finally:
        stop_service(service)
    store = open_store(sqlite_env["TIDEFLOW_DATABASE_URL"])
    assert store is not None
    with store:
        assert check_every_slot_ran_once(store) > 60


@pytest.mark.slow
def test_two_services_on_postgresql_one_killed_repeatedly_run_every_slot_once(
    workspace: Path, postgres_url: str
) -> None:
    rng = random.Random(4242)
    env = {"TIDEFLOW_DATABASE_URL": postgres_url}
    config = workspace / "tideflow.toml"
    steady = start_service(config, env)
    victim = start_service(config, env)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 5.0))
            kill(victim)
            victim = start_service(config, env)
        time.sleep(3)
    finally:
        stop_service(victim)
        stop_service(steady)
    store = open_store(postgres_url)
    assert store is not None
    with store:
        try:
            assert check_every_slot_ran_once(store) > 30
        finally:
            stop_run_processes(store)
