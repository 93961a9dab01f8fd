"""Fixtures shared by the whole suite.

Every test runs with ``TIDEFLOW_HOME`` pointing into its own temporary directory, so nothing is
ever written to the user's home, and without the terminal progress bar. Run recording is off
(``TIDEFLOW_STORE=off``) unless a test turns it on with the ``recording`` fixture: opening a fresh
SQLite store for each of the suite's many flow runs would cost minutes.

Two kinds of test need something from outside the repository, named by an environment variable,
and are skipped with a note saying how to enable them when it is missing:
``TIDEFLOW_TEST_DATABASE_URL`` (a PostgreSQL server, ``tests/store/conftest.py``) and
``TIDEFLOW_TEST_INCIDENTS`` (the real UCI incident log's zip, ``tests/reference/support.py``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tideflow.clock import FakeClock

# pytest-xdist's workers start with COLUMNS=80, and Rich fixes a console's width to COLUMNS when
# the console is made (at import of tideflow.cli.output), so CLI tables would wrap: tests that
# print tables set the width they read with monkeypatch instead.
os.environ.pop("COLUMNS", None)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("tideflow-home")
    monkeypatch.setenv("TIDEFLOW_HOME", str(home))
    monkeypatch.setenv("TIDEFLOW_PROGRESS", "0")
    monkeypatch.setenv("TIDEFLOW_STORE", "off")
    return home


@pytest.fixture
def recording(_isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Record runs as a user's default setup does; returns the store file's path."""
    monkeypatch.delenv("TIDEFLOW_STORE")
    return _isolated_home / "tideflow.db"


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock at 2026-03-01 12:00 UTC that moves only when told to or slept on."""
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
