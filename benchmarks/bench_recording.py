"""What recording runs costs: the 10,000-task flow with recording on (SQLite in a temporary
``TIDEFLOW_HOME``) beside the same flow with recording off, the event log's cost per task state
change and per flow-run state change beside plain SQL doing the same writes, and the database
size per 1,000 recorded runs of a 13-task flow."""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.bench_engine import independent_flow
from benchmarks.common import Row, best_of
from tideflow import Flow, task
from tideflow.store import FlowRunRecord, sqlite_store

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


BATCH = 1000
"""Task state changes per batch, about what the recorder writes every 0.2 s of a busy run."""
BATCHES = 20
RUNS_FOR_MOVES = 300


def state_rows() -> list[Any]:
    """One batch of flat task state changes, as the engine hands them to the recorder."""
    now = datetime.now(UTC)
    flat: list[Any] = []
    for i in range(BATCH):
        flat.extend((f"task-{i}", "task", None, "Success", None, now))
    return flat


def event_append_rows(directory: Path) -> list[Row]:
    """Task state changes appended to the event log, per change, beside the same JSON batches
    inserted with plain sqlite3 (one row per batch, one transaction each)."""
    store = sqlite_store(directory / "events.db")
    store.create_flow_run(direct_run("run-1"))
    batches = [state_rows() for _ in range(BATCHES)]
    ours = best_of(5, lambda: [store.record_task_state_rows("run-1", b) for b in batches])
    store.close()
    plain = sqlite3.connect(directory / "plain.db", isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("PRAGMA synchronous = NORMAL")
    plain.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, run TEXT, data TEXT)")

    def insert_plain() -> None:
        for batch in batches:
            changes = list(batch)
            changes[5::6] = [int(at.timestamp() * 1e6) for at in changes[5::6]]
            plain.execute("BEGIN IMMEDIATE")
            plain.execute(
                "INSERT INTO events (run, data) VALUES (?, ?)", ("run-1", json.dumps(changes))
            )
            plain.execute("COMMIT")

    floor = best_of(5, insert_plain)
    plain.close()
    changes = BATCH * BATCHES
    return [
        Row(
            f"event log: task state changes appended in batches of {BATCH:,}, per change",
            ours / changes * 1e6,
            floor / changes * 1e6,
            "µs",
            "the same JSON batches, plain sqlite3",
        )
    ]


def lifecycle_rows(directory: Path) -> list[Row]:
    """A flow run's life in the store (create, claim, start, finish: four checked transitions,
    each with its event) beside the same four writes as plain SQL statements."""
    store = sqlite_store(directory / "moves.db")
    at = datetime.now(UTC)

    def ours() -> None:
        for i in range(RUNS_FOR_MOVES):
            run_id = f"{uuid.uuid4()}-{i}"
            store.create_flow_run(direct_run(run_id, state="Scheduled"))
            store.claim(run_id, at=at, host="h", pid=1)
            store.start(run_id, at=at, host="h", pid=1)
            store.finish(run_id, "Success", "done", at=at)

    seconds = best_of(3, ours)
    store.close()
    plain = sqlite3.connect(directory / "moves-plain.db", isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("PRAGMA synchronous = NORMAL")
    plain.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, state TEXT, pid INTEGER)")

    def floor() -> None:
        for i in range(RUNS_FOR_MOVES):
            run_id = f"{uuid.uuid4()}-{i}"
            for sql, args in (
                ("INSERT INTO runs VALUES (?, 'Scheduled', 0)", (run_id,)),
                (
                    "UPDATE runs SET state = 'Claimed', pid = 1 "
                    "WHERE id = ? AND state = 'Scheduled'",
                    (run_id,),
                ),
                ("UPDATE runs SET state = 'Running' WHERE id = ? AND state = 'Claimed'", (run_id,)),
                ("UPDATE runs SET state = 'Success' WHERE id = ? AND state = 'Running'", (run_id,)),
            ):
                plain.execute("BEGIN IMMEDIATE")
                plain.execute(sql, args)
                plain.execute("COMMIT")

    plain_seconds = best_of(3, floor)
    plain.close()
    return [
        Row(
            "a flow run's life (create, claim, start, finish, each with its event), per run",
            seconds / RUNS_FOR_MOVES * 1e3,
            plain_seconds / RUNS_FOR_MOVES * 1e3,
            "ms",
            "four plain sqlite3 statements",
        )
    ]


def direct_run(run_id: str, state: str = "Running") -> FlowRunRecord:
    now = datetime.now(UTC)
    return FlowRunRecord(
        id=run_id,
        flow_name="bench",
        deployment=None,
        parameters={},
        scheduled_start_time=now,
        start_time=None,
        end_time=None,
        state=state,
        state_message=None,
        lateness=None,
        host="h",
        pid=1,
        heartbeat=None,
    )


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
        return (
            overhead_rows(directory)
            + event_append_rows(directory)
            + lifecycle_rows(directory)
            + size_rows(directory)
        )
