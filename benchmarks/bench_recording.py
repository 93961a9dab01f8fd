"""What recording runs costs: the 10,000-task flow with recording on (SQLite in a temporary
``TIDEFLOW_HOME``) beside the same flow with recording off, and the database size per 1,000
recorded runs of a 13-task flow."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from benchmarks.bench_engine import independent_flow
from benchmarks.common import Row
from tideflow import Flow, task
from tideflow.store import sqlite_store

RUNS_FOR_SIZE = 1000


@task
def step(x: int = 0) -> int:
    return x + 1


def thirteen_task_flow() -> Flow:
    with Flow("thirteen") as flow:
        value = step()
        for _ in range(12):
            value = step(value)
    return flow


def overhead_rows(directory: Path) -> list[Row]:
    flow = independent_flow(10_000)
    store = sqlite_store(directory / "overhead.db")
    timings: dict[str, list[float]] = {"off": [], "on": []}
    # Interleaved, so both sides see the same machine state; the best of each is compared.
    for _ in range(7):
        for side, chosen in (("off", None), ("on", store)):
            started = time.perf_counter()
            assert flow.run(progress=False, store=chosen).is_successful()
            timings[side].append(time.perf_counter() - started)
    store.close()
    off, on = min(timings["off"]), min(timings["on"])
    return [
        Row(
            "10,000-task flow, recording on (SQLite) vs off, whole run",
            on * 1e3,
            off * 1e3,
            "ms",
            "recording off",
            "under 20% added",
        )
    ]


def size_rows(directory: Path) -> list[Row]:
    path = directory / "size.db"
    store = sqlite_store(path)
    flow = thirteen_task_flow()
    for _ in range(RUNS_FOR_SIZE):
        flow.run(progress=False, store=store)
    store.close()
    empty = directory / "empty.db"
    sqlite_store(empty).close()
    return [
        Row(
            f"database size per {RUNS_FOR_SIZE:,} runs of a 13-task flow",
            (path.stat().st_size - empty.stat().st_size) / 1e6,
            None,
            "MB",
            "-",
        )
    ]


def run() -> list[Row]:
    logging.getLogger("tideflow").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        return overhead_rows(directory) + size_rows(directory)
