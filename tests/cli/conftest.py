"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cli_store_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI as a user runs it: recording into the SQLite store in ``$TIDEFLOW_HOME``, tables
    wide enough to read whole, and the test's own directory as the working directory."""
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return tmp_path
