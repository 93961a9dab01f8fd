"""Fixtures for the run store tests: ``store`` runs a test once on each backend.

The backends are the in-memory store, SQLite (a fresh file in the test's ``tmp_path``) and
PostgreSQL. PostgreSQL needs a server: the tests use the one named by
``TIDEFLOW_TEST_DATABASE_URL`` and, when it is unset, are skipped with a reason that says how to
start one. Each PostgreSQL test gets a schema of its own (``search_path`` in the URL), dropped
afterwards, so tests never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tideflow.store import MemoryStore, RunStore, sqlite_store
from tideflow.store.sql import SQLStore

POSTGRES_URL_VARIABLE = "TIDEFLOW_TEST_DATABASE_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL run store not tested: {POSTGRES_URL_VARIABLE} is not set. Enable it with "
    "`bash scripts/postgres-test-server.sh start` and "
    f"`export {POSTGRES_URL_VARIABLE}=$(bash scripts/postgres-test-server.sh url)`"
)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    """An autocommit engine on the test server, for creating and dropping schemas."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(POSTGRES_SKIP_REASON)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """The URL of an empty PostgreSQL schema of this test's own."""
    schema = f"tideflow_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    """An empty run store of each backend in turn."""
    opened: RunStore
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = sqlite_store(tmp_path / "tideflow.db")
    else:
        opened = SQLStore(request.getfixturevalue("postgres_url"))
    with opened:
        yield opened
