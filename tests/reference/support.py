"""Where the reference tests find the real incident log, and the mark for tests that need it.

The real log (UCI dataset 498) is not in the repository: the tests read it from the zip named by
``$TIDEFLOW_TEST_INCIDENTS`` (default: ``../shared/data/incident_event_log/`` beside the
checkout, where this project's machines keep a copy), with its statistics profile
(``profile.json``) when one lies beside it. UCI's own download (the CSV's zip inside another
zip) does as well as the bare ``incident_event_log.csv.zip``. Tests that need the zip are skipped
when it is not there, saying where to download it and which variable to set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
"""The repository's root."""
VARIABLE = "TIDEFLOW_TEST_INCIDENTS"
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "incident_event_log" / "incident_event_log.csv.zip"
REAL_ZIP = Path(os.environ.get(VARIABLE) or DEFAULT_ZIP).expanduser()
"""The real log's zip: ``$TIDEFLOW_TEST_INCIDENTS``, else :data:`DEFAULT_ZIP`."""
PROFILE = REAL_ZIP.parent / "profile.json"
"""The real log's profile (aggregates), when it lies beside the zip."""
SKIP_REASON = (
    f"the real incident log is not at {REAL_ZIP}: download the zip of UCI dataset 498 from "
    "https://archive.ics.uci.edu/dataset/498/incident+management+process+enriched+event+log "
    f"and set {VARIABLE} to its path"
)

needs_real_data = pytest.mark.skipif(not REAL_ZIP.is_file(), reason=SKIP_REASON)
