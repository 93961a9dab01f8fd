"""The run store on SQL databases, through SQLAlchemy Core: SQLite and PostgreSQL.

One class serves both; the differences live in the connection set-up (``sqlite.py`` for SQLite's
WAL, busy timeout and write locking) and in nothing else, because every statement here is portable
Core. The tables and their versions are in ``schema.py``.

Transactions. Every method is one transaction: reads see one consistent snapshot; writes go through
:meth:`SQLStore._write`, which on SQLite takes the write lock when the transaction begins (see
``sqlite.py`` for why). The promises that involve races are carried by the database itself:

- (deployment, scheduled_start_time) is a UNIQUE constraint, so two processes creating the same
  slot cannot both succeed, whatever they checked before;
- a flow run's state changes in one transaction that reads the row locked, decides (the rules of
  :mod:`tideflow.store.verbs`), updates it and appends the events: of two claimers, the second
  reads the run as the first left it and declines.

Errors from the driver are turned into :class:`~tideflow.store.errors.StoreError` subclasses that
name the file (SQLite) or the URL with its password hidden (PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Row

from tideflow.store import connect, sqlite, verbs
from tideflow.store.base import (
    AMBIGUOUS_SHOWN,
    RunStore,
    ambiguous_run,
    check_limit,
    deployment_event,
    deployment_not_found,
    duplicate_id,
    duplicate_slot,
    missing_runs,
    pause_event,
    run_not_found,
)
from tideflow.store.errors import StoreClosedError, StoreError
from tideflow.store.records import (
    FINISHED_STATES,
    STATE_ROW_WIDTH,
    DeploymentRecord,
    DeploymentVersion,
    Event,
    FlowRecord,
    FlowRunRecord,
    LogLine,
    MetricPoint,
    ResultRow,
    TaskRunRecord,
    TaskStateChange,
    as_utc,
    changes_from_flat,
    derive_task_runs,
)
from tideflow.store.schema import (
    UTCDateTime,
    concurrency_limits,
    concurrency_slots,
    deployments,
    ensure_schema,
    events,
    flow_runs,
    flows,
    from_micros,
    lock_events,
    logs,
    meta,
    micros,
    results,
)
from tideflow.store.slots import ConcurrencyLimit, ConcurrencySlot, check_limit_value, check_tag

__all__ = ["SQLStore"]

_FINISHED = sorted(FINISHED_STATES)
_CHUNK = 500
"""Names per ``IN (...)`` list: well under every database's limit of bound parameters."""


def _values(record: object, *, without: str | None = None) -> dict[str, Any]:
    """A record's fields as column values (the column names are the field names)."""
    names = (f.name for f in fields(record))  # type: ignore[arg-type]
    return {name: getattr(record, name) for name in names if name != without}


def _packed(run_id: str, flat: Sequence[Any]) -> dict[str, Any]:
    """One ``task_runs`` event row holding the flat changes ``flat`` (see the schema)."""
    changes = list(flat)
    stamps = changes[5::STATE_ROW_WIDTH]
    changes[5::STATE_ROW_WIDTH] = [micros(at) for at in stamps]
    return {
        "at": max(stamps),
        "kind": "task_runs",
        "name": "states",
        "flow_run_id": run_id,
        "deployment": None,
        "message": None,
        "data": json.dumps(changes),
    }


def _event_row(event: Event) -> dict[str, Any]:
    values = _values(event, without="id")
    values["data"] = json.dumps(event.data)
    return values


def _event(row: Row[Any]) -> Event:
    values = dict(row._mapping)
    data = json.loads(values["data"])
    if values["kind"] == "task_runs" and isinstance(data, list):  # packed, see the schema
        changes = [
            [*data[i : i + 5], from_micros(data[i + 5]).isoformat()]
            for i in range(0, len(data), STATE_ROW_WIDTH)
        ]
        data = {"changes": changes}
    values["data"] = data
    return Event(**values)


def _raw_utc(value: str | datetime) -> datetime:
    """A stored UTC datetime read without SQLAlchemy's type processing (see ``UTCDateTime``)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value + "+00:00")  # SQLite keeps naive UTC text


def _run(row: Row[Any]) -> FlowRunRecord:
    values = dict(row._mapping)
    # Columns that rows migrated from older versions left NULL.
    values["attempts"] = values["attempts"] or 1
    values["origin"] = values["origin"] or (
        "direct" if values["deployment"] is None else "schedule"
    )
    values["retries"] = values["retries"] or 0
    values["retry_delay"] = values["retry_delay"] or 0.0
    return FlowRunRecord(**values)


def _utc(value: datetime) -> sa.BindParameter[datetime]:
    return sa.literal(value, UTCDateTime())


class SQLStore(RunStore):
    """A :class:`~tideflow.store.base.RunStore` in a SQL database.

    Args:
        url: a SQLAlchemy URL, e.g. ``sqlite:////home/me/.tideflow/tideflow.db`` or
            ``postgresql+psycopg://user:password@host:5432/tideflow``. On PostgreSQL the tables go
            into the connection's current schema; add ``?options=-csearch_path%3Dname`` to the URL
            to keep them in a schema of their own.
        busy_timeout: SQLite only: how many seconds a writer waits for the write lock.

    Raises:
        SchemaVersionError: the database was written by a newer Tideflow.
        StoreCorruptError: the file is not a SQLite database, or its tables are damaged.
        StoreError: the database cannot be reached or opened.
    """

    def __init__(self, url: str | URL, *, busy_timeout: float = 30.0) -> None:
        try:
            self._url = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"cannot open run store: {exc}") from None
        self._busy_timeout = busy_timeout
        self._is_sqlite = self._url.get_backend_name() == "sqlite"
        self.where: str = (
            str(self._url.database or ":memory:")
            if self._is_sqlite
            else self._url.render_as_string(hide_password=True)
        )
        """The store's file (SQLite) or URL without its password, as error messages name it."""
        self._closed = False
        try:
            self._engine = connect.create_engine(self._url, self.where)
        except (sa.exc.ArgumentError, ImportError) as exc:  # unknown dialect, missing driver
            raise StoreError(f"cannot open run store {self.where}: {exc}") from None
        if self._is_sqlite:
            sqlite.configure(self._engine, busy_timeout)
        self._writer = self._engine.execution_options(**{sqlite.WRITE: True})
        try:
            ensure_schema(self._read, self._write, self.where)
        except BaseException:
            self._engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLStore({self.where!r})"

    @property
    def url(self) -> str:
        """The full URL (password included), for handing this store to another process."""
        return self._url.render_as_string(hide_password=False)

    # -- connections and errors ----------------------------------------------------------------

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.IntegrityError:
            raise  # the callers know what a constraint violation means for them
        except sa.exc.DBAPIError as exc:
            raise self._describe(exc) from exc

    def _describe(self, exc: sa.exc.DBAPIError) -> StoreError:
        if self._is_sqlite:
            found = sqlite.describe_error(exc.orig or exc, self.where, self._busy_timeout)
            if found is not None:
                return found
        if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError):
            return StoreError(f"cannot use run store {self.where}: {exc.orig}")
        return StoreError(f"run store {self.where} failed: {exc.orig}")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._closed:
            raise StoreClosedError(f"run store {self.where} is closed")
        with self._translated(), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self, *, events: bool = False) -> Iterator[Connection]:
        """A write transaction; with ``events``, one that will append to the event log, which
        takes the event lock first (see :func:`~tideflow.store.schema.lock_events`)."""
        if self._closed:
            raise StoreClosedError(f"run store {self.where} is closed")
        with self._translated(), self._writer.begin() as conn:
            if events:
                lock_events(conn)
            yield conn

    @staticmethod
    def _exists(conn: Connection, run_id: str) -> bool:
        query = sa.select(flow_runs.c.id).where(flow_runs.c.id == run_id)
        return conn.scalar(query) is not None

    # -- writing -------------------------------------------------------------------------------

    def upsert_flow(self, flow: FlowRecord) -> None:
        update = flows.update().where(flows.c.name == flow.name)
        update = update.values(graph_hash=flow.graph_hash, graph=flow.graph)
        for attempt in range(2):
            try:
                with self._write() as conn:
                    if conn.execute(update).rowcount == 0:
                        conn.execute(flows.insert().values(_values(flow)))
                return
            except sa.exc.IntegrityError:
                # Another process inserted the same flow between our UPDATE and INSERT
                # (PostgreSQL; SQLite's write lock rules it out): update it instead.
                if attempt:
                    raise

    def get_flow(self, name: str) -> FlowRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(flows).where(flows.c.name == name)).first()
        return None if row is None else FlowRecord(**row._mapping)

    def create_flow_run(self, run: FlowRunRecord) -> None:
        try:
            with self._write(events=True) as conn:
                conn.execute(flow_runs.insert().values(_values(run)))
                conn.execute(events.insert().values(_event_row(verbs.created_event(run))))
        except sa.exc.IntegrityError as exc:
            raise self._duplicate(run, exc) from None

    def _duplicate(self, run: FlowRunRecord, exc: sa.exc.IntegrityError) -> StoreError:
        with self._read() as conn:
            if self._exists(conn, run.id):
                return duplicate_id(run.id)
            existing = conn.scalar(
                sa.select(flow_runs.c.id).where(
                    flow_runs.c.deployment == run.deployment,
                    flow_runs.c.scheduled_start_time == _utc(run.scheduled_start_time),
                )
            )
        if existing is not None:
            return duplicate_slot(run, existing)
        return StoreError(f"run store {self.where} refused run {run.id}: {exc.orig}")

    def _change_run(
        self, run_id: str, decide: verbs.Decision, at: datetime
    ) -> FlowRunRecord | None:
        at = as_utc(at, "at")
        # The row is locked for the transaction (PostgreSQL; SQLite's write lock covers it), so
        # the decision is made on the state the update replaces. NO KEY UPDATE leaves the key
        # share lock that inserting children (logs, results) takes on their run free.
        query = sa.select(flow_runs).where(flow_runs.c.id == run_id).with_for_update(key_share=True)
        with self._write(events=True) as conn:
            row = conn.execute(query).first()
            if row is None:
                raise run_not_found(run_id)
            run = _run(row)
            change = decide(run)
            if change is None:
                return None
            state, message = change.steps[-1]
            values = {"state": state, "state_message": message, **change.fields}
            conn.execute(flow_runs.update().where(flow_runs.c.id == run_id).values(values))
            rows = [_event_row(event) for event in verbs.events_of(run, change, at)]
            conn.execute(events.insert(), rows)
        return replace(run, **values)

    def heartbeat(self, run_id: str, at: datetime) -> str:
        update = flow_runs.update().where(flow_runs.c.id == run_id)
        update = update.values(heartbeat=as_utc(at, "at")).returning(flow_runs.c.state)
        with self._write() as conn:
            state = conn.scalar(update)
        if state is None:
            raise run_not_found(run_id)
        return str(state)

    def record_task_states(self, changes: Sequence[TaskStateChange]) -> None:
        by_run: dict[str, list[Any]] = {}
        for c in changes:
            by_run.setdefault(c.flow_run_id, []).extend(
                (c.task_key, c.task_name, c.map_index, c.state, c.message, c.timestamp)
            )
        self._append(events, [_packed(run, flat) for run, flat in by_run.items()])

    def record_task_state_rows(self, flow_run_id: str, flat: Sequence[Any]) -> None:
        if flat:
            self._append(events, [_packed(flow_run_id, flat)])

    def record_logs(self, lines: Sequence[LogLine]) -> None:
        self._append(logs, [_values(line, without="id") for line in lines])

    def record_results(self, rows: Sequence[ResultRow]) -> None:
        self._append(results, [_values(row) for row in rows])

    def _append(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` in one transaction (an executemany: one round trip per batch)."""
        if not rows:
            return
        try:
            with self._write(events=table is events) as conn:
                conn.execute(table.insert(), rows)
        except sa.exc.IntegrityError as exc:
            # The only constraint a valid record can break is the reference to its run.
            run_ids = {row["flow_run_id"] for row in rows}
            with self._read() as conn:
                query = sa.select(flow_runs.c.id).where(flow_runs.c.id.in_(run_ids))
                missing = run_ids - set(conn.scalars(query))
            if missing:
                raise missing_runs(missing) from None
            raise StoreError(f"run store {self.where} refused {table.name}: {exc.orig}") from None

    def record_event(self, event: Event) -> int:
        try:
            with self._write(events=True) as conn:
                return int(
                    conn.scalar(events.insert().values(_event_row(event)).returning(events.c.id))
                )
        except sa.exc.IntegrityError:
            raise missing_runs({str(event.flow_run_id)}) from None

    def prune(self, older_than: datetime) -> int:
        cutoff = _utc(as_utc(older_than, "older_than"))
        ended = sa.func.coalesce(
            flow_runs.c.end_time, flow_runs.c.start_time, flow_runs.c.scheduled_start_time
        )
        delete = flow_runs.delete().where(flow_runs.c.state.in_(_FINISHED), ended < cutoff)
        old_events = events.delete().where(events.c.flow_run_id.is_(None), events.c.at < cutoff)
        with self._write() as conn:
            # Task states (events), logs and results go with their runs: ON DELETE CASCADE.
            deleted = conn.execute(delete).rowcount
            conn.execute(old_events)
            return deleted

    # -- reading -------------------------------------------------------------------------------

    def get_flow_run(self, run_id_or_prefix: str) -> FlowRunRecord:
        prefix = run_id_or_prefix
        with self._read() as conn:
            row = conn.execute(sa.select(flow_runs).where(flow_runs.c.id == prefix)).first()
            if row is not None:
                return _run(row)
            # substr rather than LIKE: SQLite's LIKE ignores case, and ids are case-sensitive.
            starts = sa.func.substr(flow_runs.c.id, 1, len(prefix)) == prefix
            query = sa.select(flow_runs.c.id).where(starts).order_by(flow_runs.c.id)
            ids = list(conn.scalars(query.limit(AMBIGUOUS_SHOWN + 1)))
            if len(ids) != 1:
                raise ambiguous_run(prefix, ids) if ids else run_not_found(prefix)
            row = conn.execute(sa.select(flow_runs).where(flow_runs.c.id == ids[0])).one()
        return _run(row)

    def list_flow_runs(
        self,
        *,
        flow: str | None = None,
        deployment: str | None = None,
        states: Collection[str] | None = None,
        since: datetime | None = None,
        limit: int | None = 50,
        parent_run_id: str | None = None,
    ) -> list[FlowRunRecord]:
        check_limit(limit)
        query = sa.select(flow_runs)
        if parent_run_id is not None:
            query = query.where(flow_runs.c.parent_run_id == parent_run_id)
        if flow is not None:
            query = query.where(flow_runs.c.flow_name == flow)
        if deployment is not None:
            query = query.where(flow_runs.c.deployment == deployment)
        if states is not None:
            query = query.where(flow_runs.c.state.in_(list(states)))
        if since is not None:
            query = query.where(flow_runs.c.scheduled_start_time >= _utc(as_utc(since, "since")))
        query = query.order_by(
            flow_runs.c.scheduled_start_time.desc(),
            flow_runs.c.start_time.desc().nulls_last(),
            flow_runs.c.id.desc(),
        ).limit(limit)
        with self._read() as conn:
            return [_run(row) for row in conn.execute(query)]

    def unfinished_runs(self) -> list[FlowRunRecord]:
        query = sa.select(flow_runs).where(flow_runs.c.state.not_in(_FINISHED))
        query = query.order_by(flow_runs.c.scheduled_start_time, flow_runs.c.id)
        with self._read() as conn:
            return [_run(row) for row in conn.execute(query)]

    def task_states(self, run_id: str) -> list[TaskStateChange]:
        query = sa.select(events.c.data).where(
            events.c.flow_run_id == run_id, events.c.kind == "task_runs"
        )
        with self._read() as conn:
            batches = list(conn.scalars(query.order_by(events.c.id)))
        flat = [value for batch in batches for value in json.loads(batch)]
        changes = changes_from_flat(run_id, flat, from_micros)
        # A stable sort keeps recording order for changes with equal timestamps.
        changes.sort(key=lambda change: change.timestamp)
        return changes

    def task_runs(self, run_id: str) -> list[TaskRunRecord]:
        return derive_task_runs(self.task_states(run_id))

    def logs(
        self,
        run_id: str,
        *,
        task_key: str | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[LogLine]:
        check_limit(limit)
        query = sa.select(logs).where(logs.c.flow_run_id == run_id)
        if task_key is not None:
            query = query.where(logs.c.task_key == task_key)
        if after_id is not None:
            query = query.where(logs.c.id > after_id)
        query = query.order_by(logs.c.id).limit(limit)
        with self._read() as conn:
            return [LogLine(**row._mapping) for row in conn.execute(query)]

    def results(self, run_id: str) -> list[ResultRow]:
        columns = [c for c in results.c if c.name != "id"]
        query = sa.select(*columns).where(results.c.flow_run_id == run_id)
        query = query.order_by(results.c.timestamp, results.c.id)
        with self._read() as conn:
            return [ResultRow(**row._mapping) for row in conn.execute(query)]

    def metrics(
        self, flow_name: str, name: str | None = None, limit: int | None = None
    ) -> list[MetricPoint]:
        check_limit(limit)
        query = (
            sa.select(
                results.c.flow_run_id,
                results.c.name,
                results.c.number,
                results.c.timestamp,
                flow_runs.c.scheduled_start_time,
            )
            .join_from(results, flow_runs, results.c.flow_run_id == flow_runs.c.id)
            .where(flow_runs.c.flow_name == flow_name, results.c.kind == "metric")
        )
        if name is not None:
            query = query.where(results.c.name == name)
        order = [flow_runs.c.scheduled_start_time, results.c.timestamp, results.c.id]
        if limit is not None:  # the latest `limit` points: newest first, then turned around
            query = query.order_by(*(column.desc() for column in order)).limit(limit)
        else:
            query = query.order_by(*order)
        with self._read() as conn:
            points = [MetricPoint(**row._mapping) for row in conn.execute(query)]
        return points[::-1] if limit is not None else points

    # -- deployments ---------------------------------------------------------------------------

    def upsert_deployments(
        self, items: Sequence[tuple[str, dict[str, Any], bool | None]], at: datetime
    ) -> None:
        at = as_utc(at, "at")
        for attempt in range(2):
            try:
                with self._write(events=True) as conn:
                    self._upsert_all(conn, items, at)
                return
            except sa.exc.IntegrityError:
                if attempt:  # another process created one between our SELECT and INSERT
                    raise

    @staticmethod
    def _upsert_all(
        conn: Connection, items: Sequence[tuple[str, dict[str, Any], bool | None]], at: datetime
    ) -> None:
        """Read the existing ones in chunks, then insert the new ones, update the others and
        append the events, each kind in one statement (thousands from a file: a few round
        trips, not three per deployment)."""
        names = [name for name, _, _ in items]
        old: dict[str, DeploymentRecord] = {}
        for chunk in range(0, len(names), _CHUNK):
            query = sa.select(deployments).where(
                deployments.c.name.in_(names[chunk : chunk + _CHUNK])
            )
            for row in conn.execute(query.with_for_update()):
                old[row.name] = DeploymentRecord(**row._mapping)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for name, spec, paused in items:
            before = old.get(name)
            if before is None:
                after = DeploymentRecord(
                    name=name, spec=spec, paused=bool(paused), created_at=at, updated_at=at
                )
                inserts.append(_values(after))
            else:
                stays = before.paused if paused is None else paused
                after = replace(before, spec=spec, updated_at=at, paused=stays)
                updates.append({"key": name, "spec": spec, "updated_at": at, "paused": stays})
            old[name] = after
            event = deployment_event(before, after, at)
            if event is not None:
                changes.append(_event_row(event))
        if inserts:
            conn.execute(deployments.insert(), inserts)
        if updates:
            update = deployments.update().where(deployments.c.name == sa.bindparam("key"))
            conn.execute(update, updates)
        if changes:
            conn.execute(events.insert(), changes)

    def get_deployment(self, name: str) -> DeploymentRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(deployments).where(deployments.c.name == name)).first()
        return None if row is None else DeploymentRecord(**row._mapping)

    def list_deployments(self) -> list[DeploymentRecord]:
        with self._read() as conn:
            rows = conn.execute(sa.select(deployments).order_by(deployments.c.name))
            return [DeploymentRecord(**row._mapping) for row in rows]

    def deployment_versions(self) -> list[DeploymentVersion]:
        # Read every tick for every deployment: the datetimes come back raw (SQLite text,
        # PostgreSQL datetimes) and are read here, which costs a tenth of the type machinery.
        columns = [
            deployments.c.name,
            sa.type_coerce(deployments.c.updated_at, sa.String()),
            sa.type_coerce(deployments.c.last_fire, sa.String()),
        ]
        query = sa.select(*columns).order_by(deployments.c.name)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            DeploymentVersion(name, _raw_utc(changed), None if fired is None else _raw_utc(fired))
            for name, changed, fired in rows
        ]

    def delete_deployment(self, name: str, at: datetime) -> bool:
        event = Event(kind="deployment", name="deleted", at=as_utc(at, "at"), deployment=name)
        with self._write(events=True) as conn:
            gone = conn.execute(deployments.delete().where(deployments.c.name == name)).rowcount
            if gone:
                conn.execute(events.insert().values(_event_row(event)))
        return bool(gone)

    def set_deployment_paused(self, name: str, paused: bool, at: datetime) -> bool:
        at = as_utc(at, "at")
        update = deployments.update().where(
            deployments.c.name == name, deployments.c.paused != paused
        )
        with self._write(events=True) as conn:
            values = {"paused": paused, "updated_at": at}
            if conn.execute(update.values(values)).rowcount == 0:
                found = conn.scalar(sa.select(deployments.c.name).where(deployments.c.name == name))
                if found is None:
                    raise deployment_not_found(name)
                return False
            conn.execute(events.insert().values(_event_row(pause_event(name, paused, at))))
        return True

    def advance_deployment(self, name: str, last_fire: datetime) -> None:
        at = _utc(as_utc(last_fire, "last_fire"))
        column = deployments.c.last_fire
        update = (
            deployments.update()
            .where(deployments.c.name == name)
            .values(last_fire=sa.case((column.is_(None), at), (column < at, at), else_=column))
        )
        with self._write() as conn:
            if conn.execute(update).rowcount == 0:
                raise deployment_not_found(name)

    def events(
        self,
        *,
        after_id: int | None = None,
        limit: int | None = None,
        kinds: Collection[str] | None = None,
        flow_run_id: str | None = None,
        deployment: str | None = None,
    ) -> list[Event]:
        check_limit(limit)
        query = sa.select(events)
        if after_id is not None:
            query = query.where(events.c.id > after_id)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        if flow_run_id is not None:
            query = query.where(events.c.flow_run_id == flow_run_id)
        if deployment is not None:
            query = query.where(events.c.deployment == deployment)
        query = query.order_by(events.c.id).limit(limit)
        with self._read() as conn:
            return [_event(row) for row in conn.execute(query)]

    def last_event_id(self) -> int:
        with self._read() as conn:
            return int(conn.scalar(sa.select(sa.func.max(events.c.id))) or 0)

    # -- concurrency limits --------------------------------------------------------------------

    def set_concurrency_limit(self, tag: str, limit: int, at: datetime) -> None:
        values = {
            "limit": check_limit_value(limit),
            "updated_at": as_utc(at, "at"),
        }
        check_tag(tag)
        update = concurrency_limits.update().where(concurrency_limits.c.tag == tag)
        for attempt in range(2):
            try:
                with self._write() as conn:
                    if conn.execute(update.values(values)).rowcount == 0:
                        conn.execute(concurrency_limits.insert().values(tag=tag, **values))
                return
            except sa.exc.IntegrityError:
                if attempt:  # another process inserted it between our UPDATE and INSERT
                    raise

    def delete_concurrency_limit(self, tag: str) -> bool:
        with self._write() as conn:
            # The slots go with it (ON DELETE CASCADE).
            delete = concurrency_limits.delete().where(concurrency_limits.c.tag == tag)
            return bool(conn.execute(delete).rowcount)

    def concurrency_limits(self) -> list[ConcurrencyLimit]:
        columns = [c for c in concurrency_slots.c if c.name != "id"]
        with self._read() as conn:
            limits = conn.execute(
                sa.select(concurrency_limits).order_by(concurrency_limits.c.tag)
            ).all()
            held = conn.execute(sa.select(*columns).order_by(concurrency_slots.c.id)).all()
        slots = [ConcurrencySlot(**row._mapping) for row in held]
        return [
            ConcurrencyLimit(
                tag=row.tag,
                limit=row.limit,
                updated_at=row.updated_at,
                slots=tuple(slot for slot in slots if slot.tag == row.tag),
            )
            for row in limits
        ]

    def acquire_slots(
        self,
        tags: Collection[str],
        *,
        flow_run_id: str,
        task_key: str,
        map_index: int | None,
        at: datetime,
        stale_before: datetime,
    ) -> list[str]:
        at = as_utc(at, "at")
        cutoff = _utc(as_utc(stale_before, "stale_before"))
        wanted = sorted(set(tags))
        if not wanted:
            return []
        slot_tag = concurrency_slots.c.tag
        alive = sa.func.coalesce(
            flow_runs.c.heartbeat, flow_runs.c.start_time, flow_runs.c.scheduled_start_time
        )
        gone = sa.select(flow_runs.c.id).where(
            sa.or_(flow_runs.c.state.in_(_FINISHED), alive < cutoff)
        )
        with self._write() as conn:
            # Locking the limits' rows makes acquirers of one tag take turns (PostgreSQL; the
            # SQLite write lock already does): each counts the slots the one before it left.
            query = sa.select(concurrency_limits).where(concurrency_limits.c.tag.in_(wanted))
            limits = {row.tag: row.limit for row in conn.execute(query.with_for_update())}
            if not limits:
                if not self._exists(conn, flow_run_id):
                    raise run_not_found(flow_run_id)
                return []
            if not self._exists(conn, flow_run_id):
                raise run_not_found(flow_run_id)
            conn.execute(
                concurrency_slots.delete().where(
                    slot_tag.in_(list(limits)), concurrency_slots.c.flow_run_id.in_(gone)
                )
            )
            counts: dict[str, int] = dict(
                conn.execute(
                    sa.select(slot_tag, sa.func.count())
                    .where(slot_tag.in_(list(limits)))
                    .group_by(slot_tag)
                ).all()
            )
            index = (
                concurrency_slots.c.map_index.is_(None)
                if map_index is None
                else concurrency_slots.c.map_index == map_index
            )
            mine = set(
                conn.scalars(
                    sa.select(slot_tag).where(
                        concurrency_slots.c.flow_run_id == flow_run_id,
                        concurrency_slots.c.task_key == task_key,
                        index,
                    )
                )
            )
            full = sorted(
                tag
                for tag, limit in limits.items()
                if tag not in mine and counts.get(tag, 0) >= limit
            )
            if full:
                return full
            rows = [
                {
                    "tag": tag,
                    "flow_run_id": flow_run_id,
                    "task_key": task_key,
                    "map_index": map_index,
                    "acquired_at": at,
                }
                for tag in sorted(limits)
                if tag not in mine
            ]
            if rows:
                conn.execute(concurrency_slots.insert(), rows)
            return []

    def release_slots(
        self, flow_run_id: str, task_key: str | None = None, map_index: int | None = None
    ) -> int:
        delete = concurrency_slots.delete().where(concurrency_slots.c.flow_run_id == flow_run_id)
        if task_key is not None:
            delete = delete.where(
                concurrency_slots.c.task_key == task_key,
                concurrency_slots.c.map_index.is_(None)
                if map_index is None
                else concurrency_slots.c.map_index == map_index,
            )
        with self._write() as conn:
            return int(conn.execute(delete).rowcount)

    # -- housekeeping --------------------------------------------------------------------------

    def schema_version(self) -> int:
        query = sa.select(meta.c.value).where(meta.c.key == "schema_version")
        with self._read() as conn:
            return int(conn.scalar(query) or 0)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()
