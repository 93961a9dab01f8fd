"""Fixtures of the service tests: the run store tests' PostgreSQL fixtures (a schema per test),
and, for the tests that start real services, the SQLite store in the test's ``workspace`` (each
such module defines ``workspace``: a directory holding its flows and ``tideflow.toml``) with the
environment that points a service at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.service.support import stop_run_processes
from tests.store.conftest import postgres_admin, postgres_url

from tideflow.store import sqlite_store
from tideflow.store.sql import SQLStore

__all__ = ["env", "postgres_admin", "postgres_url", "store"]


@pytest.fixture
def store(workspace: Path) -> Iterator[SQLStore]:
    """The workspace's SQLite store; run processes left by the test are stopped after it."""
    opened = sqlite_store(workspace / "tideflow.db")
    yield opened
    stop_run_processes(opened)
    opened.close()


@pytest.fixture
def env(workspace: Path) -> dict[str, str]:
    """The environment that points a service (or the CLI) at the workspace's store."""
    return {"TIDEFLOW_DATABASE_URL": f"sqlite:///{workspace / 'tideflow.db'}"}
