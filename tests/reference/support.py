"""Where the reference tests find the real incident log, and the mark for tests that need it.

The real log (UCI dataset 498) and its profile live outside the repository, in
``../shared/data/incident_event_log/`` beside the checkout; tests that need them are skipped
when they are not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
"""The repository's root."""
REAL_DIR = ROOT.parent / "shared" / "data" / "incident_event_log"
REAL_ZIP = REAL_DIR / "incident_event_log.csv.zip"
REAL_ZIP_SHA256 = "b2c1ef2bf8b1246eb8967b96c62512a840a014935962984fd4f6f9b77d9afe99"
PROFILE = REAL_DIR / "profile.json"
"""The real log's profile (aggregates), when the shared data folder is here."""

needs_real_data = pytest.mark.skipif(
    not REAL_ZIP.is_file(), reason=f"the real incident log is not at {REAL_ZIP}"
)
