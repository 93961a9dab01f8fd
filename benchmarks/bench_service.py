"""The service: lateness of deployment runs (scheduled, process start included; and
persistent), and one service keeping 1,000 interval deployments.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from benchmarks.bench_schedule import floor_lateness, percentile
from benchmarks.common import Row, best_of
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
MANY = 1000
MANY_SECONDS = 60.0


def serve(directory: Path, toml: str, seconds: float) -> float:
    """Run `tideflow serve` on ``toml`` for ``seconds``; the service's CPU seconds."""
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
    time.sleep(seconds)
    times = watched.cpu_times()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    return float(times.user + times.system)


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
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
    period = 600.0
    lines = []
    for i in range(MANY):
        anchor = (start + timedelta(seconds=i * period / MANY)).isoformat()
        lines.append(
            f'[deployments.d{i:04d}]\ncommand = ["true"]\ninterval = "10m"\n'
            f'start = "{anchor}"\noverlap = "allow"\n'
        )
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        cpu = serve(directory, "\n".join(lines), MANY_SECONDS)
        ours = lateness(directory)
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
        ),
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
        + many_rows()
    )
