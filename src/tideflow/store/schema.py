"""The SQL schema of the run store, its version, and the migrations between versions.

Tables (SQLAlchemy Core, portable between SQLite and PostgreSQL)::

    meta         key -> value; holds "schema_version"
    flows        name (pk), graph_hash, graph (JSON text)
    flow_runs    id (pk), flow_name, deployment, parameters (JSON text), scheduled_start_time,
                 start_time, end_time, state, state_message, lateness, host, pid, heartbeat,
                 attempts, origin, timeout, retries, retry_delay, deadline, not_before,
                 parent_run_id, parent_task (the run and task that started it, for a child run);
                 UNIQUE (deployment, scheduled_start_time): one run per deployment slot
    events       id (pk, never reused, in commit order), at, kind, name, flow_run_id ->
                 flow_runs (NULL for deployment and some action events), deployment, message,
                 data (JSON text). Task state changes are ``task_runs`` events whose data is a
                 flat list of task_key, task_name, map_index, state, message, microseconds since
                 the epoch, six values per change, laid end to end
    logs         id (pk, never reused), flow_run_id -> flow_runs, task_key, map_index,
                 timestamp, level, logger, message
    results      id (pk), flow_run_id -> flow_runs, task_key, map_index, name, kind,
                 value (JSON text), number, timestamp
    deployments  name (pk), spec (JSON text), paused, created_at, updated_at, last_fire
    concurrency_limits  tag (pk), "limit" (how many task runs with the tag may run at once),
                 updated_at
    concurrency_slots   id (pk), tag -> concurrency_limits, flow_run_id -> flow_runs, task_key,
                 map_index, acquired_at: one row per slot a running task holds

Task state changes are many (two or more per task run, tens of thousands for a large flow) and
always read a whole run at a time, so they are kept packed: each batch the recorder writes is one
event row holding its changes as a JSON array. That makes recording a 10,000-task run a handful
of inserts instead of 20,000, which is what keeps recording off the tasks' critical path, and it
makes the event log the one record of task states rather than a second copy.

Event ids follow commit order. SQLite has one writer at a time, so ids are allocated and committed
in the same order. PostgreSQL allocates ids from a sequence when a row is inserted, and two
transactions may commit in the other order, so a reader could see id 11 before id 10 exists and
skip it for good; every transaction that appends events therefore first takes one transaction-level
advisory lock (:func:`lock_events`), which makes appends of events one at a time.

Children reference their run with ``ON DELETE CASCADE``, so pruning a run is one DELETE. JSON is
stored as TEXT, which every database reads the same way. Datetimes are stored in UTC.

Versions. The ``meta`` table records which version of this layout a database has. Version 1 lacked
``flow_runs.heartbeat`` and ``results.number``; version 2 kept one ``task_states`` row per change
and had no ``deployments``; version 3 kept task states in ``task_state_batches``, had no event
log, no retry, timeout or origin columns, and called a claimed run ``Pending``; version 4 had
no parent link on runs and no concurrency limits;
:data:`MIGRATIONS` maps each old version to the
step that brings it one version up. :func:`ensure_schema` creates a fresh database, migrates an
old one in a single transaction (all steps or none), and refuses a newer one with
:class:`~tideflow.store.errors.SchemaVersionError`, since this release cannot know what a newer
one changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from tideflow.store.base import SCHEMA_VERSION
from tideflow.store.errors import SchemaVersionError, StoreCorruptError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ensure_schema", "metadata"]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime. SQLite keeps it as naive UTC text (its DATETIME format sorts
    correctly as text), PostgreSQL as ``timestamptz``; both read back as aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(sa.TypeDecorator[Any]):
    """Any JSON-serialisable value, stored as TEXT (portable, and readable with plain SQL)."""

    impl = sa.Text()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


# SQLite reuses an INTEGER PRIMARY KEY only as an alias of its rowid; BIGINT would not be one.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NAME = sa.String(255)
_STATE = sa.String(32)

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

flows = sa.Table(
    "flows",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("graph_hash", sa.String(128), nullable=False),
    sa.Column("graph", JSONText(), nullable=False),
)

flow_runs = sa.Table(
    "flow_runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("flow_name", _NAME, nullable=False, index=True),
    sa.Column("deployment", _NAME, nullable=True),
    sa.Column("parameters", JSONText(), nullable=False),
    sa.Column("scheduled_start_time", UTCDateTime(), nullable=False),
    sa.Column("start_time", UTCDateTime(), nullable=True, index=True),
    sa.Column("end_time", UTCDateTime(), nullable=True),
    sa.Column("state", _STATE, nullable=False, index=True),
    sa.Column("state_message", sa.Text(), nullable=True),
    sa.Column("lateness", sa.Float(), nullable=True),
    sa.Column("host", _NAME, nullable=False),
    sa.Column("pid", sa.Integer(), nullable=False),
    sa.Column("heartbeat", UTCDateTime(), nullable=True),  # added in version 2
    sa.Column("attempts", sa.Integer(), nullable=True),  # added in version 3 (NULL means 1)
    # added in version 4; NULL in migrated rows (see SQLStore for their defaults)
    sa.Column("origin", sa.String(16), nullable=True),
    sa.Column("timeout", sa.Float(), nullable=True),
    sa.Column("retries", sa.Integer(), nullable=True),
    sa.Column("retry_delay", sa.Float(), nullable=True),
    sa.Column("deadline", UTCDateTime(), nullable=True),
    sa.Column("not_before", UTCDateTime(), nullable=True),
    # added in version 5: the run and the task of it that started this run (flows of flows).
    # No foreign key: a child outlives the pruning of its parent, and SQLite cannot add one.
    sa.Column("parent_run_id", sa.String(64), nullable=True),
    sa.Column("parent_task", _NAME, nullable=True),
    # NULL deployments (ad-hoc runs) never collide: NULLs are distinct in UNIQUE constraints.
    # The constraint's index also serves `WHERE deployment = ?` lookups.
    sa.UniqueConstraint("deployment", "scheduled_start_time", name="uq_flow_runs_slot"),
    sa.Index("ix_flow_runs_newest", "scheduled_start_time", "start_time"),
    sa.Index("ix_flow_runs_parent", "parent_run_id"),
)


def _run_id() -> sa.Column[str]:
    fk = sa.ForeignKey("flow_runs.id", ondelete="CASCADE")
    return sa.Column("flow_run_id", sa.String(64), fk, nullable=False)


events = sa.Table(
    "events",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column(
        "flow_run_id",
        sa.String(64),
        sa.ForeignKey("flow_runs.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("deployment", _NAME, nullable=True),
    sa.Column("message", sa.Text(), nullable=True),
    sa.Column("data", sa.Text(), nullable=False),  # JSON text, written as is (task batches)
    sa.Index("ix_events_run", "flow_run_id", "kind", "id"),
    sa.Index("ix_events_deployment", "deployment", "id"),
    # AUTOINCREMENT: SQLite never reuses the id of a deleted last row; followers rely on ids
    # only ever growing.
    sqlite_autoincrement=True,
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    _run_id(),
    sa.Column("task_key", _NAME, nullable=True),
    sa.Column("map_index", sa.Integer(), nullable=True),
    sa.Column("timestamp", UTCDateTime(), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("logger", _NAME, nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Index("ix_logs_run", "flow_run_id", "id"),
    # AUTOINCREMENT stops SQLite from reusing the id of a deleted last row: `logs --follow`
    # relies on ids only ever growing.
    sqlite_autoincrement=True,
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    _run_id(),
    sa.Column("task_key", _NAME, nullable=True),
    sa.Column("map_index", sa.Integer(), nullable=True),
    sa.Column("name", _NAME, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", JSONText(), nullable=True),
    sa.Column("number", sa.Float(), nullable=True),  # added in version 2
    sa.Column("timestamp", UTCDateTime(), nullable=False),
    sa.Index("ix_results_run", "flow_run_id"),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", _NAME, primary_key=True),
    sa.Column("spec", JSONText(), nullable=False),
    sa.Column("paused", sa.Boolean(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("last_fire", UTCDateTime(), nullable=True),
)

concurrency_limits = sa.Table(
    "concurrency_limits",
    metadata,
    sa.Column("tag", _NAME, primary_key=True),
    sa.Column("limit", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

concurrency_slots = sa.Table(
    "concurrency_slots",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column(
        "tag",
        _NAME,
        sa.ForeignKey("concurrency_limits.tag", ondelete="CASCADE"),
        nullable=False,
    ),
    _run_id(),
    sa.Column("task_key", _NAME, nullable=False),
    sa.Column("map_index", sa.Integer(), nullable=True),
    sa.Column("acquired_at", UTCDateTime(), nullable=False),
    sa.Index("ix_concurrency_slots_tag", "tag"),
    sa.Index("ix_concurrency_slots_run", "flow_run_id"),
)

_SCHEMA_LOCK = 0x7469_6465_666C_6F77 & 0x7FFF_FFFF_FFFF_FFFF  # "tideflow", as a bigint

STORE_TABLES = (
    "flows",
    "flow_runs",
    "task_states",
    "task_state_batches",
    "events",
    "logs",
    "results",
    "deployments",
    "concurrency_limits",
    "concurrency_slots",
)

_EVENTS_LOCK = _SCHEMA_LOCK - 1


def lock_events(conn: Connection) -> None:
    """Make this transaction the only one appending events until it ends (PostgreSQL; SQLite's
    write lock already does). Take it before anything else in the transaction, so two writers
    never wait for each other's row locks while holding it."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENTS_LOCK})


# -- versions and migrations ---------------------------------------------------------------------


def _add_column(conn: Connection, column: sa.Column[Any]) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for a nullable column, spelled in the connection's dialect."""
    quote = conn.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=conn.dialect)
    table = column.table.name
    conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {kind}")


def _v1_to_v2(conn: Connection) -> None:
    """Add ``flow_runs.heartbeat`` and ``results.number``; fill ``number`` for old metrics,
    which version 1 kept only as their JSON value."""
    _add_column(conn, flow_runs.c.heartbeat)
    _add_column(conn, results.c.number)
    rows = conn.execute(
        sa.select(results.c.id, results.c.value).where(results.c.kind == "metric")
    ).all()
    numbers = [
        {"row_id": row.id, "number": float(row.value)}
        for row in rows
        if isinstance(row.value, int | float) and not isinstance(row.value, bool)
    ]
    if numbers:
        update = (
            results.update()
            .where(results.c.id == sa.bindparam("row_id"))
            .values(number=sa.bindparam("number"))
        )
        conn.execute(update, numbers)


_legacy = sa.MetaData()
task_state_batches = sa.Table(
    "task_state_batches",
    _legacy,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("flow_run_id", sa.String(64), nullable=False),
    sa.Column("changes", sa.Text(), nullable=False),
    sa.Index("ix_task_state_batches_run", "flow_run_id", "id"),
)
"""Version 3's packed task states (version 4 keeps them as ``task_runs`` events)."""


def _v2_to_v3(conn: Connection) -> None:
    """Pack ``task_states`` rows into one ``task_state_batches`` row per run, add
    ``deployments`` and ``flow_runs.attempts``."""
    task_state_batches.create(conn)
    deployments.create(conn)
    _add_column(conn, flow_runs.c.attempts)
    old = sa.table(
        "task_states",
        *(
            sa.column(name)
            for name in ("id", "flow_run_id", "task_key", "task_name", "map_index", "state")
        ),
        sa.column("message"),
        sa.column("timestamp", UTCDateTime()),
    )
    query = sa.select(old).order_by(old.c.flow_run_id, old.c.timestamp, old.c.id)
    packed: dict[str, list[Any]] = {}
    for row in conn.execute(query):
        packed.setdefault(row.flow_run_id, []).extend(
            (
                row.task_key,
                row.task_name,
                row.map_index,
                row.state,
                row.message,
                micros(row.timestamp),
            )
        )
    if packed:
        conn.execute(
            task_state_batches.insert(),
            [{"flow_run_id": run, "changes": json.dumps(rows)} for run, rows in packed.items()],
        )
    conn.exec_driver_sql("DROP TABLE task_states")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """``at`` (aware) as whole microseconds since the Unix epoch: exact, unlike a float."""
    return (at - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime ``value`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)


def _v3_to_v4(conn: Connection) -> None:
    """Add the event log and move each ``task_state_batches`` row into it as a ``task_runs``
    event; add the retry, timeout and origin columns; rename the claimed state ``Pending`` to
    ``Claimed``."""
    for name in ("origin", "timeout", "retries", "retry_delay", "deadline", "not_before"):
        _add_column(conn, flow_runs.c[name])
    events.create(conn)
    conn.execute(flow_runs.update().where(flow_runs.c.state == "Pending").values(state="Claimed"))
    query = sa.select(task_state_batches).order_by(task_state_batches.c.id)
    rows = []
    for batch in conn.execute(query):
        flat = json.loads(batch.changes)
        stamps = flat[5::6] or [0]
        rows.append(
            {
                "at": from_micros(max(stamps)),
                "kind": "task_runs",
                "name": "states",
                "flow_run_id": batch.flow_run_id,
                "data": batch.changes,
            }
        )
    if rows:
        conn.execute(events.insert(), rows)
    conn.exec_driver_sql("DROP TABLE task_state_batches")


def _v4_to_v5(conn: Connection) -> None:
    """Add the parent link of child runs (``flow_runs.parent_run_id``, ``parent_task``) and
    the concurrency limit tables."""
    _add_column(conn, flow_runs.c.parent_run_id)
    _add_column(conn, flow_runs.c.parent_task)
    for index in flow_runs.indexes:
        if index.name == "ix_flow_runs_parent":
            index.create(conn)
    concurrency_limits.create(conn)
    concurrency_slots.create(conn)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
}
"""``MIGRATIONS[n]`` brings a version-``n`` database to version ``n + 1``."""

assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION)), "a migration step is missing"


def read_version(conn: Connection, where: str, *, lock: bool = False) -> int | None:
    """The database's schema version, or None when it has no Tideflow tables yet.

    With ``lock``, the version row stays locked until the transaction ends (PostgreSQL), so a
    migration cannot run twice at once.
    """
    inspector = sa.inspect(conn)
    if not inspector.has_table("meta"):
        found = [name for name in STORE_TABLES if inspector.has_table(name)]
        if found:
            raise StoreCorruptError(
                f"run store {where} has Tideflow tables ({', '.join(found)}) but no meta table "
                "with a schema version; it was damaged or written by something else. Move it "
                "aside (or point TIDEFLOW_HOME / TIDEFLOW_DATABASE_URL elsewhere) to start afresh"
            )
        return None
    query = sa.select(meta.c.value).where(meta.c.key == "schema_version")
    value = conn.scalar(query.with_for_update() if lock else query)
    if value is None or not value.isdigit():
        raise StoreCorruptError(
            f"run store {where} has a meta table without a valid schema_version ({value!r}); "
            "move it aside to start afresh"
        )
    return int(value)


def _set_version(conn: Connection, version: int) -> None:
    conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version)))


def refuse_newer(version: int, where: str) -> SchemaVersionError:
    """The error for a database written by a newer Tideflow."""
    return SchemaVersionError(
        f"run store {where} has schema version {version}, but this release of tideflow "
        f"supports schema versions up to {SCHEMA_VERSION}; upgrade tideflow to a release that "
        f"supports schema {version}, or point TIDEFLOW_HOME (or TIDEFLOW_DATABASE_URL) elsewhere "
        "to use a separate store"
    )


Opener = Callable[[], AbstractContextManager[Connection]]


def ensure_schema(read: Opener, write: Opener, where: str) -> None:
    """Make the database at ``where`` hold the current schema, creating or migrating it.

    ``read`` and ``write`` open a transaction; ``write`` takes SQLite's write lock at once
    (``BEGIN IMMEDIATE``), and on PostgreSQL this function takes a transaction-level advisory
    lock, so of several processes opening a new or old database together one creates or migrates
    it and the others then find it current. The common case, an up-to-date database, only reads.

    Raises:
        SchemaVersionError: the database is newer than this release.
        StoreCorruptError: the tables are there but the version is not.
    """
    with read() as conn:
        version = read_version(conn, where)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise refuse_newer(version, where)
    with write() as conn:
        if conn.dialect.name == "postgresql":
            # Table creation is not safe against a concurrent creator; serialise the openers.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        version = read_version(conn, where, lock=True)  # again: another opener may have won
        if version is None:
            metadata.create_all(conn)
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif version > SCHEMA_VERSION:
            raise refuse_newer(version, where)
        else:
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
            _set_version(conn, SCHEMA_VERSION)
