"""Run history: the :class:`RunStore` contract, its records and its backends.

Where the history lives is decided by :func:`open_store`:

- ``TIDEFLOW_DATABASE_URL`` set: that database, e.g.
  ``postgresql+psycopg://user:password@host:5432/tideflow`` (several machines or schedulers);
- otherwise the SQLite file ``$TIDEFLOW_HOME/tideflow.db``, ``TIDEFLOW_HOME`` defaulting to
  ``~/.tideflow`` (created when missing);
- ``TIDEFLOW_STORE=off`` (or ``0``, ``false``, ``no``): no store; :func:`open_store` returns None
  and nothing is recorded.

The history says what ran, with which parameters, and the deployments the service runs (commands
included), so it is kept private: a ``TIDEFLOW_HOME`` that Tideflow creates is ``0700`` and a
SQLite file it creates is ``0600`` (SQLite gives its ``-wal`` and ``-shm`` files the same mode).
Existing directories and files keep their permissions.

Time limits on PostgreSQL (``connect.py``): recording must never hang a run, so every connection
has limits, each overridable by a query parameter of the URL:

- ``connect_timeout=10``: seconds to establish a connection (libpq's own parameter);
- ``statement_timeout=60s``: how long the server lets one statement run (a PostgreSQL duration:
  ``500ms``, ``2min``; ``0`` turns it off); sent as ``options=-c statement_timeout=...``, so a
  ``statement_timeout`` already given in ``options`` wins;
- ``keepalives_idle=30``, ``keepalives_interval=10``, ``keepalives_count=3`` and
  ``tcp_user_timeout=60000`` (milliseconds): TCP keepalives, so a dead server or network is noticed
  on an idle connection and on one waiting for an answer (libpq's own parameters);
- ``pool_timeout=30``: seconds to wait for a free connection of the store's pool.

For example ``postgresql+psycopg://me@db/tideflow?connect_timeout=30&statement_timeout=5min``. A
limit that runs out is one :class:`StoreError` naming the URL (password hidden) and the limit.

Importing this package is cheap: SQLAlchemy loads only when a SQL store is opened.

>>> from tideflow.store import open_store
>>> store = open_store("memory://")
>>> store.list_flow_runs()
[]
>>> store.close()
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tideflow.store.base import SCHEMA_VERSION, RunStore
from tideflow.store.errors import (
    AmbiguousRunError,
    DeploymentNotFoundError,
    DuplicateRunError,
    InvalidRecordError,
    RunNotFoundError,
    SchemaVersionError,
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from tideflow.store.memory import MemoryStore
from tideflow.store.records import (
    FINISHED_STATES,
    DeploymentRecord,
    Event,
    FlowRecord,
    FlowRunRecord,
    LogLine,
    MetricPoint,
    ResultRow,
    TaskRunRecord,
    TaskStateChange,
)
from tideflow.store.slots import ConcurrencyLimit, ConcurrencySlot

if TYPE_CHECKING:
    from tideflow.store.sql import SQLStore

__all__ = [
    "FINISHED_STATES",
    "SCHEMA_VERSION",
    "AmbiguousRunError",
    "ConcurrencyLimit",
    "ConcurrencySlot",
    "DeploymentNotFoundError",
    "DeploymentRecord",
    "DuplicateRunError",
    "Event",
    "FlowRecord",
    "FlowRunRecord",
    "InvalidRecordError",
    "LogLine",
    "MemoryStore",
    "MetricPoint",
    "ResultRow",
    "RunNotFoundError",
    "RunStore",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "TaskRunRecord",
    "TaskStateChange",
    "checked_database_url",
    "configured_location",
    "default_home",
    "default_store",
    "open_store",
    "prepared_home",
    "sqlite_store",
]

DB_FILENAME = "tideflow.db"
_OFF = {"off", "0", "false", "no"}
_ON = {"", "on", "1", "true", "yes"}


def default_home() -> Path:
    """``$TIDEFLOW_HOME``, or ``~/.tideflow`` when it is unset or empty."""
    return Path(os.environ.get("TIDEFLOW_HOME") or "~/.tideflow").expanduser()


def prepared_home() -> Path:
    """:func:`default_home`, created (mode ``0700``, parents as usual) when missing.

    Raises:
        StoreError: it is a file, or it cannot be created; the message names ``TIDEFLOW_HOME``.
    """
    home = default_home()
    setting = f"TIDEFLOW_HOME={home}"
    if not os.environ.get("TIDEFLOW_HOME"):
        setting += " (the default)"
    if home.exists() and not home.is_dir():
        raise StoreError(f"{setting} is a file, not a directory; point it at a directory")
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the run store's directory: {setting}: "
            f"{exc.strerror or exc}; point TIDEFLOW_HOME at a directory you can write"
        ) from None
    return home


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_PASSWORD = re.compile(r":[^:@/]*@")


def checked_database_url(value: str) -> str:
    """``value`` of ``TIDEFLOW_DATABASE_URL`` when it is a URL with a scheme.

    Raises:
        StoreError: it is not (a bare path would silently become a SQLite file of that name).
    """
    if _SCHEME.match(value.strip()):
        return value.strip()
    shown = _PASSWORD.sub(":***@", value)
    raise StoreError(
        f"TIDEFLOW_DATABASE_URL={shown!r} is not a database URL; give one with a scheme, e.g. "
        "sqlite:////home/me/tideflow.db or postgresql+psycopg://user:password@host:5432/tideflow"
        " (or unset it to use $TIDEFLOW_HOME/tideflow.db)"
    )


def store_enabled() -> bool:
    """False when ``TIDEFLOW_STORE`` turns recording off.

    Raises:
        StoreError: ``TIDEFLOW_STORE`` holds something other than on/off.
    """
    value = os.environ.get("TIDEFLOW_STORE", "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise StoreError(f"TIDEFLOW_STORE must be 'on' or 'off', got {value!r}")


def sqlite_store(path: str | Path, *, busy_timeout: float = 30.0) -> SQLStore:
    """A run store in the SQLite file at ``path``, created with its tables if missing.

    ``busy_timeout`` is how many seconds a write waits for another process's write to end.

    Raises:
        StoreError: the directory of ``path`` does not exist (it is not created here), or the
            file cannot be opened (see :class:`tideflow.store.sql.SQLStore`).
    """
    from tideflow.store.sql import SQLStore
    from tideflow.store.sqlite import sqlite_url

    url = sqlite_url(path)
    if not Path(str(url.database)).parent.is_dir():
        raise StoreError(f"cannot create run store {url.database}: its directory does not exist")
    return SQLStore(url, busy_timeout=busy_timeout)


def configured_location() -> str:
    """Where the configured store lives, whether or not recording is on: ``TIDEFLOW_DATABASE_URL``
    if set, else ``$TIDEFLOW_HOME/tideflow.db`` (the directory is created when missing, see
    :func:`prepared_home`).

    The service and the deployment commands use it directly: ``TIDEFLOW_STORE=off`` turns off
    recording ``flow.run()``, not the store deployments live in.

    Raises:
        StoreError: ``TIDEFLOW_DATABASE_URL`` is not a URL, or ``TIDEFLOW_HOME`` is a file or
            cannot be created.
    """
    url = os.environ.get("TIDEFLOW_DATABASE_URL")
    if url:
        return checked_database_url(url)
    return str(prepared_home() / DB_FILENAME)


def open_store(url_or_path: str | Path | None = None) -> RunStore | None:
    """Open the run store at ``url_or_path``, or the configured one when it is None.

    ``url_or_path`` is a SQLAlchemy URL (``postgresql+psycopg://...``, ``sqlite:///...``),
    ``memory://`` for a :class:`MemoryStore`, or the path of a SQLite file. An explicit location
    is always opened; with none, ``TIDEFLOW_STORE=off`` returns None, then
    ``TIDEFLOW_DATABASE_URL`` is used if set, then ``$TIDEFLOW_HOME/tideflow.db``.

    Raises:
        StoreError: the store cannot be opened (see :class:`~tideflow.store.sql.SQLStore`).
    """
    if url_or_path is None:
        if not store_enabled():
            return None
        url_or_path = configured_location()
    location = str(url_or_path)
    if location == "memory://":
        return MemoryStore()
    if "://" in location:
        from tideflow.store.sql import SQLStore

        return SQLStore(location)
    return sqlite_store(location)


_default_lock = threading.Lock()
_default: tuple[tuple[str, ...], RunStore | None] | None = None


def default_store() -> RunStore | None:
    """The configured store (as :func:`open_store` with no argument), opened once per process.

    Every ``flow.run()`` records here unless told otherwise, so the store is opened on first use
    and kept open; it is reopened when ``TIDEFLOW_STORE``, ``TIDEFLOW_DATABASE_URL`` or
    ``TIDEFLOW_HOME`` change, and closed when the process exits.

    Raises:
        StoreError: the store cannot be opened.
    """
    global _default
    key = tuple(
        os.environ.get(name, "")
        for name in ("TIDEFLOW_STORE", "TIDEFLOW_DATABASE_URL", "TIDEFLOW_HOME")
    )
    with _default_lock:
        if _default is not None and _default[0] == key:
            return _default[1]
        _close_default()
        store = open_store()
        _default = (key, store)
        return store


def _close_default() -> None:
    global _default
    if _default is not None and _default[1] is not None:
        _default[1].close()
    _default = None


atexit.register(_close_default)
