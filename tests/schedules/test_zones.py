"""Placing wall-clock times in zones: gaps, folds, zone names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tideflow.errors import ScheduleError
from tideflow.schedules.zones import as_zone, localize, resolve_zone

BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


# Europe/Berlin, 2026:
#   2026-03-29 01:00 UTC: 02:00 CET -> 03:00 CEST (02:00-02:59 is skipped)
#   2026-10-25 01:00 UTC: 03:00 CEST -> 02:00 CET (02:00-02:59 happens twice)
# Australia/Lord_Howe, 2026:
#   2026-10-03 15:30 UTC: 02:00 +10:30 -> 02:30 +11:00 on 10-04 (02:00-02:29 is skipped)
@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        (datetime(2026, 3, 29, 1, 59), BERLIN, "2026-03-29T01:59:00+01:00"),
        (datetime(2026, 3, 29, 2, 0), BERLIN, "2026-03-29T03:00:00+02:00"),
        (datetime(2026, 3, 29, 2, 59, 59, 999999), BERLIN, "2026-03-29T03:00:00+02:00"),
        (datetime(2026, 3, 29, 3, 0), BERLIN, "2026-03-29T03:00:00+02:00"),
        (datetime(2026, 10, 25, 2, 30), BERLIN, "2026-10-25T02:30:00+02:00"),
        (datetime(2026, 10, 25, 2, 30, fold=1), BERLIN, "2026-10-25T02:30:00+01:00"),
        (datetime(2026, 10, 4, 2, 15), LORD_HOWE, "2026-10-04T02:30:00+11:00"),
        (datetime(2026, 10, 4, 2, 30), LORD_HOWE, "2026-10-04T02:30:00+11:00"),
    ],
    ids=[
        "before-the-gap",
        "start-of-the-gap",
        "end-of-the-gap",
        "after-the-gap",
        "repeated-first",
        "repeated-second-with-fold",
        "lord-howe-half-hour-gap",
        "lord-howe-after-the-gap",
    ],
)
def test_localize(wall: datetime, zone: ZoneInfo, expected: str) -> None:
    assert localize(wall, zone).isoformat() == expected


def test_resolve_zone_prefers_tz_then_the_start_dates_zone_then_utc() -> None:
    start = datetime(2026, 1, 1, tzinfo=BERLIN)
    assert resolve_zone("Asia/Tokyo", start) == ZoneInfo("Asia/Tokyo")
    assert resolve_zone(None, start) == BERLIN
    assert resolve_zone(None, datetime(2026, 1, 1)) == ZoneInfo("UTC")
    assert resolve_zone(None, None) == ZoneInfo("UTC")


def test_zero_offsets_are_utc_and_other_fixed_offsets_are_refused() -> None:
    assert as_zone(UTC, "tz") == ZoneInfo("UTC")
    assert as_zone(timezone(timedelta(0)), "tz") == ZoneInfo("UTC")
    with pytest.raises(ScheduleError, match=r"^tz: time zone UTC-05:00 has no IANA name"):
        as_zone(timezone(timedelta(hours=-5)), "tz")


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "/etc/localtime", "Europe/"])
def test_unknown_zone_names(name: str) -> None:
    with pytest.raises(ScheduleError, match=rf"^tz: unknown time zone '{name}'"):
        resolve_zone(name, None)
