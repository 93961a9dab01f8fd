"""SQLite specifics: connection settings, write transactions, and readable errors.

SQLite is the embedded default: one file, several processes (a scheduler, the runs it starts, the
CLI) reading and writing it at once. What makes that work:

- **WAL mode** (``journal_mode=WAL``, a property of the file, set on first open): readers never
  block the writer and the writer never blocks readers; only writers wait for each other.
- **busy_timeout** on every connection: a writer that finds the write lock taken waits for it
  (up to the timeout, 30 s by default) instead of failing at once with "database is locked".
- **BEGIN IMMEDIATE for writes.** Python's ``sqlite3`` starts transactions lazily with a plain
  ``BEGIN``, which takes the write lock only at the first write. A transaction that read first
  and then writes may find that another writer committed in between; SQLite then cannot wait (the
  snapshot is stale) and fails at once, ignoring busy_timeout. Taking the lock when the write
  transaction begins makes busy_timeout apply to every write. Reads use a plain ``BEGIN``, so they
  see one consistent snapshot and never wait.
- **synchronous=NORMAL**: in WAL mode a committed transaction survives the process being killed;
  only a power cut may lose the last few commits, never corrupt the file.
- **foreign_keys=ON**, which SQLite leaves off by default, so children of a run must reference a
  real run and are deleted with it.
- **A private file.** SQLite would create the file ``0644`` (less the umask): readable by every
  user, though its deployments name the commands the service runs. :func:`create_private` creates
  it ``0600`` first (an empty file is a valid empty database), and SQLite gives the ``-wal`` and
  ``-shm`` files it creates beside it the database file's mode. An existing file is left as it is.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from tideflow.store.errors import StoreCorruptError, StoreError, StoreLockedError

__all__ = ["WRITE", "configure", "create_private", "describe_error", "sqlite_url"]

WRITE = "tideflow_write"
"""Execution option marking a connection whose transaction will write (``BEGIN IMMEDIATE``)."""


def sqlite_url(path: str | Path) -> URL:
    """The SQLAlchemy URL of the SQLite file at ``path`` (made absolute)."""
    return URL.create("sqlite+pysqlite", database=str(Path(path).expanduser().absolute()))


def create_private(database: str | None) -> None:
    """Create the SQLite file ``database`` readable and writable by its owner only, if missing.

    In-memory databases and ``file:`` URIs are left to SQLite, and so is any problem creating the
    file (a missing directory, no permission): SQLite reports it when it opens the file, and
    :func:`describe_error` turns that into a readable error.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # it exists (keep its mode), or SQLite will say why it cannot be created
        return
    os.close(fd)


def configure(engine: Engine, busy_timeout: float) -> None:
    """Install the connection and transaction hooks described in the module docstring."""
    timeout_ms = round(busy_timeout * 1000)

    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let the `begin` hook below emit BEGIN, instead of sqlite3's lazy legacy behaviour.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock, and it should wait too.
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def describe_error(error: BaseException, path: str, busy_timeout: float) -> StoreError | None:
    """A readable store error for a low-level SQLite error on the file at ``path``, or None."""
    text = str(error).lower()
    if "database is locked" in text or "database table is locked" in text:
        return StoreLockedError(
            f"run store {path} is locked: another process held its write lock for longer than "
            f"the busy timeout ({busy_timeout:g} s). Retry, or find the process holding it "
            f"(e.g. `fuser {path}`)"
        )
    if "file is not a database" in text or "malformed" in text:
        return StoreCorruptError(
            f"run store {path} is not a readable SQLite database ({error}); move it aside "
            f"(e.g. `mv {path} {path}.corrupt`) and Tideflow will start a new one, or restore "
            "it from a backup"
        )
    if "unable to open database file" in text:
        return StoreError(
            f"cannot open run store {path}: check that its directory exists and is writable"
        )
    if "readonly database" in text:
        return StoreError(f"run store {path} is read-only: check the file's permissions")
    return None
