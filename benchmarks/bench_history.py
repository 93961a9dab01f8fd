"""Reading the run history: ``tideflow runs`` (in-process, through the typer app) over a SQLite
store holding 100,000 flow runs, with no filter and with ``--state failed``; beside a raw
``sqlite3`` connect + ``SELECT ... ORDER BY scheduled_start_time DESC LIMIT 20`` on the same file.

The store is built once per run in a temporary ``TIDEFLOW_HOME``: the schema by opening the store,
the runs inserted in bulk (one ``executemany`` per batch through the store's own table
definition, so every value is stored exactly as ``create_flow_run`` would store it).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Row, best_of

RUNS = 100_000
BATCH = 10_000
REPEATS = 15
GOAL = "< 100 ms"

# One run in 20 fails; of those, some time out, miss their trigger or crash.
_STATES = ["Success"] * 15 + ["Failed", "TimedOut", "Crashed", "Cancelled", "Skipped"]
_DEPLOYMENTS = ["nightly-etl", "hourly-sync", "reports", None]
_FLOWS = {"nightly-etl": "etl", "hourly-sync": "sync", "reports": "report", None: "adhoc"}
FAILED = ("Crashed", "Failed", "TimedOut", "TriggerFailed")


def _row(number: int, newest: datetime) -> dict[str, Any]:
    from tideflow.store import FlowRunRecord

    deployment = _DEPLOYMENTS[number % len(_DEPLOYMENTS)]
    scheduled = newest - timedelta(minutes=number)
    state = _STATES[number % len(_STATES)]
    started = scheduled + timedelta(milliseconds=number % 900)
    record = FlowRunRecord(
        id=f"{number:08x}-{number * 2654435761 % 2**32:08x}-run",
        flow_name=_FLOWS[deployment],
        deployment=deployment,
        parameters={"batch": number % 7},
        scheduled_start_time=scheduled,
        start_time=started,
        end_time=started + timedelta(seconds=5 + number % 50),
        state=state,
        state_message=None if state == "Success" else f"{state} on attempt 1",
        lateness=(started - scheduled).total_seconds(),
        host="bench-host",
        pid=1000 + number % 50,
        heartbeat=None,
    )
    return {field.name: getattr(record, field.name) for field in fields(record)}


def build_store(path: Path, runs: int = RUNS) -> None:
    """A run store at ``path`` holding ``runs`` finished flow runs, one a minute."""
    import sqlalchemy as sa

    from tideflow.store import sqlite_store
    from tideflow.store.schema import flow_runs
    from tideflow.store.sqlite import sqlite_url

    sqlite_store(path).close()  # creates the tables at the current schema version
    engine = sa.create_engine(sqlite_url(path))
    newest = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            for first in range(0, runs, BATCH):
                batch = [_row(n, newest) for n in range(first, min(first + BATCH, runs))]
                conn.execute(flow_runs.insert(), batch)
    finally:
        engine.dispose()


@contextmanager
def _home(path: Path) -> Iterator[None]:
    """``TIDEFLOW_HOME`` at ``path``, recording on, no database URL; restored afterwards."""
    names = ("TIDEFLOW_HOME", "TIDEFLOW_STORE", "TIDEFLOW_DATABASE_URL", "COLUMNS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["TIDEFLOW_HOME"] = str(path)
    os.environ["COLUMNS"] = "160"
    os.environ.pop("TIDEFLOW_STORE", None)
    os.environ.pop("TIDEFLOW_DATABASE_URL", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _cli(args: list[str]) -> None:
    from typer.testing import CliRunner

    from tideflow.cli import app

    result = CliRunner().invoke(app, args)
    if result.exit_code != 0 or result.stdout.count("│") < 20:
        raise RuntimeError(f"tideflow {' '.join(args)} failed: {result.output}")


def _raw(path: Path, where: str = "") -> None:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            f"SELECT * FROM flow_runs {where} ORDER BY scheduled_start_time DESC LIMIT 20"
        ).fetchall()
    finally:
        conn.close()
    if len(rows) != 20:
        raise RuntimeError(f"expected 20 rows, got {len(rows)}")


def _store_only(states: set[str] | None) -> None:
    from tideflow.store import open_store

    store = open_store()
    assert store is not None
    with store:
        if len(store.list_flow_runs(states=states, limit=20)) != 20:
            raise RuntimeError("expected 20 runs")


def query_plan(path: Path, where: str = "") -> str:
    """SQLite's plan for the store's list query (as ``list_flow_runs`` orders it)."""
    conn = sqlite3.connect(path)
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM flow_runs "
            f"{where} ORDER BY scheduled_start_time DESC, start_time DESC NULLS LAST, id DESC "
            "LIMIT 20"
        ).fetchall()
    finally:
        conn.close()
    return "; ".join(str(step[-1]) for step in plan)


def run() -> list[Row]:
    failed_where = "WHERE state IN ({})".format(", ".join(f"'{s}'" for s in FAILED))
    with tempfile.TemporaryDirectory(prefix="tideflow-bench-history-") as tmp:
        home = Path(tmp)
        path = home / "tideflow.db"
        started = time.perf_counter()
        build_store(path)
        built = time.perf_counter() - started
        rows = []
        with _home(home):
            _cli(["runs"])  # warm up: imports, first connection
            for label, args, states, where in (
                ("", ["runs"], None, ""),
                (" --state failed", ["runs", "--state", "failed"], set(FAILED), failed_where),
            ):
                floor = best_of(REPEATS, lambda where=where: _raw(path, where)) * 1000
                cli = best_of(REPEATS, lambda args=args: _cli(args)) * 1000
                store = best_of(REPEATS, lambda states=states: _store_only(states)) * 1000
                floor_label = "sqlite3 connect + SELECT ... LIMIT 20"
                rows.append(
                    Row(
                        f"`tideflow runs{label}` over {RUNS:,} runs (CliRunner, in-process)",
                        cli,
                        floor,
                        "ms",
                        floor_label,
                        GOAL,
                    )
                )
                rows.append(
                    Row(
                        f"open_store() + list_flow_runs(limit=20{', states=failed' * bool(states)})"
                        " + close",
                        store,
                        floor,
                        "ms",
                        floor_label,
                    )
                )
                print(f"query plan{label or ' (no filter)'}: {query_plan(path, where)}")
        rows.append(Row(f"building the {RUNS:,}-run store (bulk insert)", built, None, "s", ""))
    return rows


if __name__ == "__main__":
    from benchmarks.common import markdown

    print(markdown("Run history", run()))
