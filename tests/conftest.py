"""Fixtures shared by the whole suite.

Every test runs with ``TIDEFLOW_HOME`` pointing into its own temporary directory, so nothing is
ever written to the user's home, and without the terminal progress bar.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tideflow.clock import FakeClock


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("tideflow-home")
    monkeypatch.setenv("TIDEFLOW_HOME", str(home))
    monkeypatch.setenv("TIDEFLOW_PROGRESS", "0")
    return home


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock at 2026-03-01 12:00 UTC that moves only when told to or slept on."""
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
