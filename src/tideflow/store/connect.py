"""How a SQL store connects: private files on SQLite, time limits on PostgreSQL.

:func:`create_engine` is what :class:`~tideflow.store.sql.SQLStore` calls instead of
:func:`sqlalchemy.create_engine`.

SQLite. The file is created ``0600`` before SQLite opens it (see ``sqlite.py``).

PostgreSQL (through libpq: ``psycopg`` or ``psycopg2``). Recording must never stop a run, and a
command must not hang on a server that accepts connections and never answers, so every
connection gets time limits, each taken from the URL's query when given there (see the package
docstring for the list, the defaults and an example):

- ``connect_timeout`` bounds establishing a connection (the TCP handshake, TLS, authentication);
- ``statement_timeout`` is set on the server for the session (``options=-c ...``): the server
  cancels a statement that runs longer, e.g. one waiting for a lock another session holds;
- TCP keepalives and ``tcp_user_timeout`` make the kernel give up on a peer that is gone (a
  crashed machine, a dropped network) instead of waiting for it forever;
- ``pool_timeout`` bounds waiting for a free connection of the engine's pool.

A limit that runs out becomes one :class:`~tideflow.store.errors.StoreError` line naming the
URL (password hidden), the limit and where to change it; so does any other failure to connect
(libpq's messages span several lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, ExceptionContext
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from tideflow.store import sqlite
from tideflow.store.errors import StoreError

__all__ = [
    "LIBPQ_DEFAULTS",
    "POOL_TIMEOUT",
    "STATEMENT_TIMEOUT",
    "PostgresOptions",
    "bounded_pool",
    "create_engine",
    "postgres_options",
]

LIBPQ_DEFAULTS: Mapping[str, str] = {
    "connect_timeout": "10",  # seconds
    "keepalives": "1",
    "keepalives_idle": "30",  # seconds idle before the first probe
    "keepalives_interval": "10",  # seconds between probes
    "keepalives_count": "3",  # unanswered probes before the connection is dropped
    "tcp_user_timeout": "60000",  # milliseconds sent data may stay unacknowledged
}
"""libpq connection parameters a URL does not give, and their defaults."""

STATEMENT_TIMEOUT = "60s"
"""The server-side limit on one statement, unless the URL gives ``statement_timeout``."""

POOL_TIMEOUT = 30.0
"""Seconds to wait for a free pooled connection, unless the URL gives ``pool_timeout``."""

_LIBPQ_DRIVERS = {"psycopg", "psycopg2"}


def create_engine(url: URL, where: str) -> Engine:
    """An engine for the store at ``url``; ``where`` names it in error messages.

    Raises:
        StoreError: a limit in the URL is not a number.
        sqlalchemy.exc.ArgumentError, ImportError: as :func:`sqlalchemy.create_engine`.
    """
    if url.get_backend_name() == "sqlite":
        sqlite.create_private(url.database)
        return sa.create_engine(url)
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in _LIBPQ_DRIVERS:
        return _postgres_engine(url, where)
    return sa.create_engine(url)


def _last(value: str | tuple[str, ...]) -> str:
    """A URL query value (a tuple when the parameter is repeated: the last one counts)."""
    return value if isinstance(value, str) else value[-1]


@dataclass(frozen=True)
class PostgresOptions:
    """What :func:`create_engine` makes of a PostgreSQL URL (see :func:`postgres_options`)."""

    url: URL
    """The URL without the parameters Tideflow consumes (``statement_timeout``,
    ``pool_timeout``), which libpq would refuse."""
    connect_args: dict[str, str]
    """libpq parameters the URL does not give, ``options`` with the statement timeout."""
    pool_timeout: float
    limits: dict[str, str]
    """Each limit in force, by name, as error messages name it."""


def postgres_options(url: URL, where: str) -> PostgresOptions:
    """The URL, connection arguments and limits of a PostgreSQL store at ``url``.

    Raises:
        StoreError: ``pool_timeout`` is not a number.
    """
    query = {name: _last(value) for name, value in url.query.items()}
    pool_text = query.pop("pool_timeout", f"{POOL_TIMEOUT:g}")
    try:
        pool_timeout = float(pool_text)
    except ValueError:
        raise StoreError(
            f"cannot open run store {where}: pool_timeout={pool_text!r} is not a number of seconds"
        ) from None
    statement_timeout = query.pop("statement_timeout", STATEMENT_TIMEOUT)
    connect_args = {k: v for k, v in LIBPQ_DEFAULTS.items() if k not in query}
    options = query.get("options", "")
    if "statement_timeout" in options:  # the user's own -c statement_timeout=...
        statement_timeout = "(as given in options)"
    else:
        connect_args["options"] = f"{options} -c statement_timeout={statement_timeout}".strip()
    limits = {
        **LIBPQ_DEFAULTS,
        **{k: v for k, v in query.items() if k in LIBPQ_DEFAULTS},
        "statement_timeout": statement_timeout,
        "pool_timeout": pool_text,
    }
    return PostgresOptions(url.set(query=query), connect_args, pool_timeout, limits)


def _postgres_engine(url: URL, where: str) -> Engine:
    chosen = postgres_options(url, where)
    engine = sa.create_engine(
        chosen.url,
        connect_args=chosen.connect_args,
        poolclass=bounded_pool(where, chosen.pool_timeout),
        pool_timeout=chosen.pool_timeout,
    )
    sa.event.listen(engine, "handle_error", _error_handler(where, chosen.limits))
    return engine


def _error_handler(where: str, limits: Mapping[str, str]) -> Any:
    """A ``handle_error`` hook turning time limits and failed connections into one-line errors."""
    connect_s, statement = limits["connect_timeout"], limits["statement_timeout"]
    user_ms = limits["tcp_user_timeout"]

    def on_error(context: ExceptionContext) -> StoreError | None:
        text = " ".join(str(context.original_exception).split())
        lowered = text.lower()
        connecting = context.connection is None
        if "timeout expired" in lowered or (connecting and "timed out" in lowered):
            # psycopg: "connection timeout expired"; or the kernel gave up first
            return StoreError(
                f"cannot reach run store {where}: no answer within connect_timeout={connect_s} s; "
                "check that the server is up, or give the URL a longer ?connect_timeout=N"
            )
        if "statement timeout" in lowered:  # "canceling statement due to statement timeout"
            return StoreError(
                f"run store {where} did not finish a statement within statement_timeout="
                f"{statement}; look for a session holding a lock, or give the URL a longer "
                "?statement_timeout= (e.g. 5min)"
            )
        if "timed out" in lowered:  # ETIMEDOUT: keepalives or tcp_user_timeout gave up
            return StoreError(
                f"lost the connection to run store {where}: the server stopped answering "
                f"(tcp_user_timeout={user_ms} ms, keepalives); {text}"
            )
        if connecting:  # any other failure to connect: libpq's message spans lines
            return StoreError(f"cannot reach run store {where}: {text}")
        return None

    return on_error


def bounded_pool(where: str, seconds: float) -> type[QueuePool]:
    """A pool class whose wait for a free connection ends in a :class:`StoreError`.

    A class per engine, because the pool recreates itself (``recreate()``) from its class.
    """

    class BoundedPool(QueuePool):
        def connect(self) -> PoolProxiedConnection:
            try:
                return super().connect()
            except sa.exc.TimeoutError:
                raise StoreError(
                    f"run store {where}: no free connection within pool_timeout={seconds:g} s "
                    f"({self.checkedout()} connections in use by this process); give the URL a "
                    "longer ?pool_timeout=N"
                ) from None

    return BoundedPool
