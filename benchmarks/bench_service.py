"""The service: lateness of deployment runs (scheduled, process start included; and
persistent), a queue of backfilled runs draining, and one service keeping 10,000 interval
deployments.

Each figure comes from `tideflow serve` in its own process on a SQLite store in a temporary
directory; lateness is what the run's process recorded (its start minus its scheduled time).
Floors, measured in the same run: starting a Python process that imports Tideflow (the least a
fresh process per run can cost), and a loop sleeping until each target time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from benchmarks.bench_schedule import floor_lateness, percentile
from benchmarks.common import Row, best_of
from tideflow import actions
from tideflow.deployments import load_deployments
from tideflow.store import sqlite_store

FLOW = """
from tideflow import Flow, task

@task
def noop() -> None:
    return None

with Flow("noop") as flow:
    noop()
"""
RUNS = 30
MANY = 10_000
MANY_PERIOD = timedelta(hours=6)
MANY_SECONDS = 60.0
QUEUED = 20


def serve(
    directory: Path,
    toml: str,
    seconds: float,
    ready: Callable[[], bool] = lambda: True,
) -> float:
    """Run `tideflow serve` on ``toml``; once ``ready()``, for ``seconds`` more: the service's
    CPU seconds in that window."""
    (directory / "flows.py").write_text(FLOW)
    (directory / "tideflow.toml").write_text(toml)
    code = "import sys; from tideflow.cli import main; sys.argv[0] = 'tideflow'; main()"
    env = {**os.environ, "TIDEFLOW_DATABASE_URL": f"sqlite:///{directory / 'tideflow.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--file", str(directory / "tideflow.toml")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watched = psutil.Process(process.pid)
    while not ready():
        time.sleep(0.2)
    before = watched.cpu_times()
    time.sleep(seconds)
    after = watched.cpu_times()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    return float(after.user + after.system - before.user - before.system)


def lateness(directory: Path) -> list[float]:
    with sqlite_store(directory / "tideflow.db") as store:
        runs = store.list_flow_runs(limit=None)
    return [run.lateness for run in runs if run.lateness is not None]


def kind_rows(kind: str, floor: list[float], floor_label: str, goal: str) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        toml = f'[deployments.bench]\nflow = "flows.py:flow"\nkind = "{kind}"\ninterval = "1s"\n'
        serve(directory, toml, RUNS + 3)
        ours = lateness(directory)[:RUNS]
    return [
        Row(
            f"lateness of {kind} deployment runs (1 s interval), {label}",
            percentile(ours, q) * 1000,
            percentile(floor, q) * 1000,
            "ms",
            floor_label,
            goal if label == "p99" else "",
        )
        for label, q in (("p50", 0.5), ("p99", 0.99))
    ]


def many_rows() -> list[Row]:
    """10,000 deployments every 6 hours, their fire times spread evenly: a run every ~2 s, and
    a service that must look at all of them every tick. Measured once they are registered."""
    start = datetime.now(UTC).replace(microsecond=0)
    lines = []
    for i in range(MANY):
        anchor = (start + i * MANY_PERIOD / MANY).isoformat()
        lines.append(
            f'[deployments.d{i:05d}]\ncommand = ["true"]\ninterval = "6h"\n'
            f'start = "{anchor}"\noverlap = "allow"\n'
        )
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        registered: list[datetime] = []

        def ready() -> bool:
            if not (directory / "tideflow.db").exists():
                return False
            with sqlite_store(directory / "tideflow.db") as store:
                # Registered, and planned once: the service is past its start.
                if len(store.deployment_versions()) < MANY or not store.list_flow_runs(limit=1):
                    return False
            registered.append(datetime.now(UTC))
            return True

        cpu = serve(directory, "\n".join(lines), MANY_SECONDS, ready)
        with sqlite_store(directory / "tideflow.db") as store:
            runs = store.list_flow_runs(limit=None)
        window = registered[0] + timedelta(seconds=5)  # the first tick after registering
        ours = [
            r.lateness for r in runs if r.lateness is not None and r.scheduled_start_time > window
        ]
    return [
        Row(
            f"{MANY:,} interval deployments ({len(ours)} runs in {MANY_SECONDS:g} s): "
            "lateness p99, process start included",
            percentile(ours, 0.99) * 1000,
            None,
            "ms",
            "-",
            "p99 < 1000 ms",
        ),
        Row(
            f"{MANY:,} interval deployments: the service's CPU share of one core",
            cpu / MANY_SECONDS * 100,
            None,
            "%",
            "-",
            "< 25%",
        ),
    ]


def drain_rows(start_seconds: float) -> list[Row]:
    """A queue of backfilled runs of a no-op flow (``overlap = "queue"``): each run's process
    starts when the one before ends. Seconds per run, first start to last end, beside starting
    one Python process that imports Tideflow (the least a run in a fresh process can cost)."""
    toml = '[deployments.queued]\nflow = "flows.py:flow"\ncron = "0 0 1 1 *"\noverlap = "queue"\n'
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "tideflow.toml").write_text(toml)
        store = sqlite_store(directory / "tideflow.db")
        now = datetime.now(UTC)
        deployments = load_deployments(directory / "tideflow.toml")
        actions.deploy(store, deployments, at=now, source=str(directory / "tideflow.toml"))
        first = datetime(2000, 1, 1, tzinfo=UTC)
        actions.backfill(store, "queued", first, first.replace(year=2000 + QUEUED - 1), at=now)

        def drained() -> bool:
            return len(store.list_flow_runs(states={"Success"}, limit=None)) >= QUEUED

        serve(directory, toml, 0, drained)
        runs = store.list_flow_runs(limit=None)
        store.close()
    starts = [r.start_time for r in runs if r.start_time is not None]
    ends = [r.end_time for r in runs if r.end_time is not None]
    per_run = (max(ends) - min(starts)).total_seconds() / QUEUED
    return [
        Row(
            f"a queue of {QUEUED} backfilled runs of a no-op flow: seconds per run",
            per_run,
            start_seconds,
            "s",
            "python -c 'import tideflow.store'",
            f"{1 / per_run:.1f} runs/s",
        )
    ]


def process_start() -> list[float]:
    seconds = best_of(
        1, lambda: subprocess.run([sys.executable, "-c", "import tideflow.store"], check=True)
    )
    return [seconds] * 2


def run() -> list[Row]:
    start = process_start()
    return (
        kind_rows("scheduled", start, "python -c 'import tideflow.store'", "p99 < 1000 ms")
        + kind_rows("persistent", floor_lateness(RUNS), "sleep-until loop", "p99 < 50 ms")
        + drain_rows(start[0])
        + many_rows()
    )
