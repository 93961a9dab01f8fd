"""Schema versions: an old store is migrated in place, a newer one is refused with an explanation.

The SQLite tests open a copy of ``fixtures/schema_v1.db``, a real version-1 file made by
``fixtures/make_schema_v1.py``. PostgreSQL has no such file; its tests make a version-1 database
by creating the current schema and taking the later versions' changes back out.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tideflow.store import (
    SCHEMA_VERSION,
    FlowRunRecord,
    ResultRow,
    SchemaVersionError,
    sqlite_store,
)
from tideflow.store import schema as schema_module
from tideflow.store.sql import SQLStore

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.db"
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def sqlite_columns(path: Path, table: str) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def sqlite_version(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        query = "SELECT value FROM meta WHERE key = 'schema_version'"
        version: str = conn.execute(query).fetchone()[0]
    return version


def set_version(url: str, version: int) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'"
            )
    finally:
        engine.dispose()


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    """A copy of the version-1 fixture, safe to migrate."""
    assert sqlite_version(FIXTURE) == "1", "the committed fixture must stay at version 1"
    return Path(shutil.copy(FIXTURE, tmp_path / "tideflow.db"))


def make_v1_postgresql(url: str) -> None:
    """Turn the empty schema at ``url`` into a version-1 store holding one run with a metric."""
    with SQLStore(url) as store:
        store.create_flow_run(
            FlowRunRecord(
                id="old-run",
                flow_name="tickets",
                deployment="hourly",
                parameters={"batch-size": 10},
                scheduled_start_time=T0,
                start_time=T0,
                end_time=T0,
                state="Success",
                state_message=None,
                lateness=0.5,
                host="h",
                pid=1,
                heartbeat=None,
            )
        )
        store.record_results(
            [
                ResultRow(
                    flow_run_id="old-run",
                    task_key=None,
                    map_index=None,
                    name="mae",
                    kind="metric",
                    value=7.5,
                    number=7.5,
                    timestamp=T0,
                )
            ]
        )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE flow_runs DROP COLUMN heartbeat")
            conn.exec_driver_sql("ALTER TABLE results DROP COLUMN number")
            conn.exec_driver_sql("DROP TABLE concurrency_slots")
            conn.exec_driver_sql("DROP TABLE concurrency_limits")
            conn.exec_driver_sql("ALTER TABLE flow_runs DROP COLUMN parent_run_id")
            conn.exec_driver_sql("ALTER TABLE flow_runs DROP COLUMN parent_task")
            conn.exec_driver_sql("DROP TABLE events")
            for column in ("origin", "timeout", "retries", "retry_delay", "deadline"):
                conn.exec_driver_sql(f"ALTER TABLE flow_runs DROP COLUMN {column}")
            conn.exec_driver_sql("ALTER TABLE flow_runs DROP COLUMN not_before")
            conn.exec_driver_sql("DROP TABLE deployments")
            conn.exec_driver_sql("ALTER TABLE flow_runs DROP COLUMN attempts")
            conn.exec_driver_sql(
                "CREATE TABLE task_states (id BIGSERIAL PRIMARY KEY, flow_run_id VARCHAR(64) "
                "NOT NULL REFERENCES flow_runs (id) ON DELETE CASCADE, task_key VARCHAR(255) "
                "NOT NULL, task_name VARCHAR(255) NOT NULL, map_index INTEGER, state "
                "VARCHAR(32) NOT NULL, message TEXT, timestamp TIMESTAMPTZ NOT NULL)"
            )
            conn.exec_driver_sql(
                "INSERT INTO task_states (flow_run_id, task_key, task_name, map_index, state, "
                "message, timestamp) VALUES ('old-run', 'predict', 'predict', 3, 'Success', "
                "'ok', '2026-01-10 09:00:01.5+00')"
            )
    finally:
        engine.dispose()
    set_version(url, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def v1_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a version-1 store, on each SQL backend."""
    if request.param == "sqlite":
        copy = shutil.copy(FIXTURE, tmp_path / "tideflow.db")
        yield f"sqlite:///{copy}"
    else:
        url: str = request.getfixturevalue("postgres_url")
        make_v1_postgresql(url)
        yield url


# -- upgrading -----------------------------------------------------------------------------------


def test_a_version_1_file_is_migrated_keeping_its_history(v1_file: Path) -> None:
    with sqlite_store(v1_file) as store:
        assert store.schema_version() == SCHEMA_VERSION == 5
        runs = store.list_flow_runs()
        assert [run.id for run in runs] == ["9c41f3e8", "0b5e7d2a"]
        run = store.get_flow_run("0b5e")
        assert (run.deployment, run.parameters, run.state) == (
            "tickets-hourly",
            {"batch-size": 1000},
            "Success",
        )
        assert (run.scheduled_start_time, run.lateness, run.heartbeat) == (T0, 1.25, None)
        assert [(t.task_key, t.state, t.attempts) for t in store.task_runs("9c41f3e8")] == [
            ("predict-1", "Failed", 1)
        ]
        assert [line.message for line in store.logs("0b5e7d2a")] == ["predicted 1000 tickets"]
        # Version 1 kept metrics only as JSON values; the migration filled in their numbers.
        assert [(p.name, p.number) for p in store.metrics("tickets")] == [("mae", 43210.5)]
        store.heartbeat("0b5e7d2a", T0)  # the new column is usable
    assert sqlite_version(v1_file) == "5"
    assert "heartbeat" in sqlite_columns(v1_file, "flow_runs")
    assert "number" in sqlite_columns(v1_file, "results")
    # Version 3 packed task state changes and added deployments; version 4 keeps the packed
    # batches as events.
    assert sqlite_columns(v1_file, "task_states") == set()
    assert sqlite_columns(v1_file, "task_state_batches") == set()
    assert {"kind", "flow_run_id", "data"} <= sqlite_columns(v1_file, "events")
    assert "last_fire" in sqlite_columns(v1_file, "deployments")
    assert {"origin", "deadline", "not_before", "retries"} <= sqlite_columns(v1_file, "flow_runs")
    assert {"parent_run_id", "parent_task"} <= sqlite_columns(v1_file, "flow_runs")
    assert {"tag", "limit"} <= sqlite_columns(v1_file, "concurrency_limits")


def test_a_version_4_file_gets_child_run_links_and_concurrency_limits(v1_file: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{v1_file}")
    try:
        with engine.begin() as conn:
            for step in (1, 2, 3):
                schema_module.MIGRATIONS[step](conn)
    finally:
        engine.dispose()
    set_version(f"sqlite:///{v1_file}", 4)
    assert "parent_run_id" not in sqlite_columns(v1_file, "flow_runs")
    with sqlite_store(v1_file) as store:
        old = store.get_flow_run("0b5e7d2a")
        assert (old.parent_run_id, old.parent_task, old.state) == (None, None, "Success")
        store.create_flow_run(
            FlowRunRecord(
                id="child",
                flow_name="tickets",
                deployment=None,
                parameters={},
                scheduled_start_time=T0,
                start_time=T0,
                end_time=None,
                state="Running",
                state_message=None,
                lateness=None,
                host="h",
                pid=1,
                heartbeat=T0,
                parent_run_id="0b5e7d2a",
                parent_task="start",
            )
        )
        assert [run.id for run in store.list_flow_runs(parent_run_id="0b5e7d2a")] == ["child"]
        store.set_concurrency_limit("db", 1, T0)
        taken = store.acquire_slots(
            ["db"], flow_run_id="child", task_key="t", map_index=None, at=T0, stale_before=T0
        )
        assert taken == []
    assert sqlite_version(v1_file) == "5"


def make_v3(path: Path) -> None:
    """Bring a copy of the version-1 fixture to version 3, with a claimed run (version 3 called
    it Pending) and a batch of task states."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            schema_module.MIGRATIONS[1](conn)
            schema_module.MIGRATIONS[2](conn)
            conn.exec_driver_sql(
                "UPDATE flow_runs SET state = 'Pending', attempts = 2 WHERE id = '0b5e7d2a'"
            )
            conn.exec_driver_sql(
                "INSERT INTO task_state_batches (flow_run_id, changes) VALUES ('0b5e7d2a', "
                '\'["score", "score", null, "Running", null, 1767225600000000]\')'
            )
    finally:
        engine.dispose()
    set_version(f"sqlite:///{path}", 3)


def test_a_version_3_file_gets_the_event_log_and_the_lifecycle_s_names(v1_file: Path) -> None:
    make_v3(v1_file)
    with sqlite_store(v1_file) as store:
        run = store.get_flow_run("0b5e7d2a")
        assert (run.state, run.attempts, run.origin, run.retries) == (
            "Claimed",
            2,
            "schedule",
            0,
        )
        assert ("score", "Running") in [(t.task_key, t.state) for t in store.task_runs("0b5e7d2a")]
        event = store.events(kinds=["task_runs"], flow_run_id="0b5e7d2a")[-1]
        assert event.data["changes"][-1][:4] == ["score", "score", None, "Running"]
        assert event.at == datetime(2026, 1, 1, tzinfo=UTC)
        # The migrated run goes on through the lifecycle.
        assert store.finish("0b5e7d2a", "Crashed", "gone", at=T0) is not None
    assert sqlite_version(v1_file) == "5"


def test_a_version_1_store_is_migrated_on_every_sql_backend(v1_url: str) -> None:
    with SQLStore(v1_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert len(store.list_flow_runs()) >= 1
        assert [p.name for p in store.metrics("tickets")] == ["mae"]
        assert store.list_deployments() == []
        if "postgresql" in v1_url:
            (change,) = store.task_states("old-run")
            assert (change.task_key, change.map_index, change.state, change.message) == (
                "predict",
                3,
                "Success",
                "ok",
            )
            assert change.timestamp == T0.replace(second=1, microsecond=500_000)
    with SQLStore(v1_url) as reopened:  # the second open finds it current
        assert reopened.schema_version() == SCHEMA_VERSION


def test_processes_opening_an_old_store_together_migrate_it_once(v1_url: str) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_and_close() -> None:
        barrier.wait()
        try:
            SQLStore(v1_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with SQLStore(v1_url) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_a_failed_migration_changes_nothing(v1_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_step = schema_module.MIGRATIONS[1]

    def step_then_fail(conn: sa.Connection) -> None:
        real_step(conn)
        raise RuntimeError("disk full, say")

    monkeypatch.setitem(schema_module.MIGRATIONS, 1, step_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        sqlite_store(v1_file)
    assert sqlite_version(v1_file) == "1"
    assert "heartbeat" not in sqlite_columns(v1_file, "flow_runs")
    monkeypatch.setitem(schema_module.MIGRATIONS, 1, real_step)
    with sqlite_store(v1_file) as store:
        assert store.schema_version() == SCHEMA_VERSION


# -- refusing newer ------------------------------------------------------------------------------


def test_a_file_from_a_newer_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "tideflow.db"
    sqlite_store(path).close()
    set_version(f"sqlite:///{path}", 99)
    with pytest.raises(SchemaVersionError) as caught:
        sqlite_store(path)
    assert str(caught.value) == (
        f"run store {path} has schema version 99, but this release of tideflow supports "
        "schema versions up to 5; upgrade tideflow to a release that supports schema 99, "
        "or point TIDEFLOW_HOME (or TIDEFLOW_DATABASE_URL) elsewhere to use a separate store"
    )
    assert sqlite_version(path) == "99"  # left as it was


def test_a_newer_postgresql_store_is_refused_naming_the_url(postgres_url: str) -> None:
    SQLStore(postgres_url).close()
    set_version(postgres_url, SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError) as caught:
        SQLStore(postgres_url)
    shown = sa.make_url(postgres_url).render_as_string(hide_password=True)
    assert str(caught.value).startswith(
        f"run store {shown} has schema version {SCHEMA_VERSION + 1}, but"
    )
