"""Time limits on PostgreSQL: a server that never answers cannot hang a command or a run.

``silent_server`` is a real socket on 127.0.0.1 that accepts TCP connections and never says a
word, as a hung server or a wrong port forwarded somewhere does. Opening a store there must end
within its ``connect_timeout`` with one clear error; ``flow.run()`` must run, unrecorded, and say
so; ``tideflow runs`` must print one ``Error:`` line. Timings are only checked against a generous
limit. With a real server (``TIDEFLOW_TEST_DATABASE_URL``, see ``conftest.py``) the limits are
checked on live connections too.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tideflow import Flow, task
from tideflow.cli import app
from tideflow.store import StoreError, open_store
from tideflow.store.connect import bounded_pool, create_engine, postgres_options

GENEROUS = 30.0
"""Seconds within which a one-second connect timeout must have ended things, however busy."""


@pytest.fixture
def silent_server() -> Iterator[int]:
    """The port of a server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed: the test is over
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
    listener.close()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()


def url_of(port: int) -> str:
    return f"postgresql+psycopg://me:s3cret@127.0.0.1:{port}/tideflow?connect_timeout=1"


def shown(port: int) -> str:
    """The URL as errors name it: password hidden."""
    return f"postgresql+psycopg://me:***@127.0.0.1:{port}/tideflow?connect_timeout=1"


@task
def one() -> int:
    return 1


# -- a server that never answers -------------------------------------------------------------------


def test_opening_a_store_on_a_silent_server_fails_within_its_connect_timeout(
    silent_server: int,
) -> None:
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        open_store(url_of(silent_server))
    assert time.monotonic() - started < GENEROUS
    message = str(caught.value)
    assert message.startswith(f"cannot reach run store {shown(silent_server)}: ")
    assert "no answer within connect_timeout=1 s" in message
    assert "s3cret" not in message
    assert "\n" not in message


def test_flow_run_recording_into_a_silent_server_runs_unrecorded_and_warns(
    silent_server: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TIDEFLOW_STORE")
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", url_of(silent_server))
    with Flow("unrecorded") as flow:
        one()
    started = time.monotonic()
    state = flow.run()
    assert time.monotonic() - started < GENEROUS
    assert state.is_successful()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"This run is not recorded: cannot reach run store {shown(silent_server)}"
    )


def test_tideflow_runs_on_a_silent_server_is_one_error_line(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIDEFLOW_STORE")
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", url_of(silent_server))
    started = time.monotonic()
    result = CliRunner().invoke(app, ["runs"])
    assert time.monotonic() - started < GENEROUS
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot reach run store {shown(silent_server)}: no answer within "
        "connect_timeout=1 s; check that the server is up, or give the URL a longer "
        "?connect_timeout=N"
    ]


# -- the limits every connection gets ----------------------------------------------------------


def test_every_connection_gets_the_default_limits() -> None:
    url = sa.make_url("postgresql+psycopg://me@db.example/tideflow")
    chosen = postgres_options(url, "db")
    assert chosen.connect_args == {
        "connect_timeout": "10",
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "tcp_user_timeout": "60000",
        "options": "-c statement_timeout=60s",
    }
    assert chosen.pool_timeout == 30
    assert chosen.url == url


def test_the_url_overrides_each_limit_and_keeps_its_own_options() -> None:
    url = sa.make_url(
        "postgresql+psycopg://me@db.example/tideflow?connect_timeout=3&tcp_user_timeout=5000"
        "&statement_timeout=5min&pool_timeout=2.5&options=-csearch_path%3Dmine"
    )
    chosen = postgres_options(url, "db")
    assert "connect_timeout" not in chosen.connect_args  # libpq reads the URL's own
    assert "tcp_user_timeout" not in chosen.connect_args
    assert chosen.connect_args["options"] == "-csearch_path=mine -c statement_timeout=5min"
    assert chosen.pool_timeout == 2.5
    assert dict(chosen.url.query) == {  # what libpq would refuse is gone
        "connect_timeout": "3",
        "tcp_user_timeout": "5000",
        "options": "-csearch_path=mine",
    }
    assert (chosen.limits["connect_timeout"], chosen.limits["statement_timeout"]) == ("3", "5min")


def test_a_statement_timeout_given_in_options_wins() -> None:
    url = sa.make_url("postgresql+psycopg://db.example/t?options=-c%20statement_timeout%3D0")
    assert "options" not in postgres_options(url, "db").connect_args


def test_a_pool_timeout_that_is_not_a_number_is_refused() -> None:
    url = sa.make_url("postgresql+psycopg://db.example/t?pool_timeout=soon")
    with pytest.raises(StoreError, match=r"^cannot open run store db: pool_timeout='soon' is not"):
        postgres_options(url, "db")


def test_waiting_too_long_for_a_pooled_connection_is_a_store_error() -> None:
    pool_class = bounded_pool("postgresql+psycopg://me:***@db/t", 1)
    pool = pool_class(lambda: sqlite3.connect(":memory:"), pool_size=1, max_overflow=0, timeout=1)
    held = pool.connect()
    try:
        with pytest.raises(StoreError) as caught:
            pool.connect()
        assert str(caught.value) == (
            "run store postgresql+psycopg://me:***@db/t: no free connection within "
            "pool_timeout=1 s (1 connections in use by this process); give the URL a longer "
            "?pool_timeout=N"
        )
    finally:
        held.close()
        pool.dispose()


# -- on a real server ------------------------------------------------------------------------------


def test_a_real_connection_has_the_limits(postgres_url: str) -> None:
    engine = create_engine(sa.make_url(postgres_url), "test")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
            raw = conn.connection.dbapi_connection
            parameters = raw.info.get_parameters()  # type: ignore[union-attr]
            assert parameters["connect_timeout"] == "10"
            assert parameters["tcp_user_timeout"] == "60000"
            assert parameters["keepalives_idle"] == "30"
            assert conn.exec_driver_sql("SHOW search_path").scalar() == (
                sa.make_url(postgres_url).query["options"].removeprefix("-csearch_path=")
            )
    finally:
        engine.dispose()


def test_a_statement_over_the_limit_is_one_error_naming_it(postgres_url: str) -> None:
    url = sa.make_url(postgres_url).update_query_dict({"statement_timeout": "200ms"})
    engine = create_engine(url, "the store")
    try:
        with pytest.raises(StoreError) as caught, engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_sleep(5)")
        assert str(caught.value).startswith(
            "run store the store did not finish a statement within statement_timeout=200ms"
        )
    finally:
        engine.dispose()
