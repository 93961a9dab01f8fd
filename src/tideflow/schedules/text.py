"""Plain-English pieces for ``describe()``: durations, local times and date ranges.

The descriptions are for people (the CLI preview, the dashboard), not for parsing back; the JSON
form from ``to_dict`` is the exact one. Times are written as wall-clock times in the schedule's
zone, and the zone is named unless it is UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def amount(delta: timedelta) -> str:
    """``delta`` in the largest unit that divides it, e.g. "1 hour", "90 seconds".

    >>> amount(timedelta(seconds=90))
    '90 seconds'
    """
    microseconds = delta // timedelta(microseconds=1)
    for unit, seconds in _UNITS:
        count, rest = divmod(microseconds, seconds * 1_000_000)
        if not rest:
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{delta.total_seconds():g} seconds"


def duration(delta: timedelta) -> str:
    """Like :func:`amount`, but "hour" instead of "1 hour", to follow "every".

    >>> duration(timedelta(hours=1))
    'hour'
    >>> duration(timedelta(minutes=5))
    '5 minutes'
    """
    return amount(delta).removeprefix("1 ")


def clock_time(dt: datetime) -> str:
    """``HH:MM``, or ``HH:MM:SS`` when the seconds are not zero."""
    return dt.strftime("%H:%M:%S" if dt.second or dt.microsecond else "%H:%M")


def zone_suffix(zone: ZoneInfo) -> str:
    """`` (Europe/Berlin)``, or nothing for UTC."""
    return "" if zone.key == "UTC" else f" ({zone.key})"


def local(dt: datetime, zone: ZoneInfo, *, name_zone: bool = True) -> str:
    """``2026-03-29 09:00 (Europe/Berlin)``: the wall-clock time in ``zone``."""
    dt = dt.astimezone(zone)
    suffix = zone_suffix(zone) if name_zone else ""
    return f"{dt:%Y-%m-%d} {clock_time(dt)}{suffix}"


def every_days(days: int, anchor: datetime, zone: ZoneInfo) -> str:
    """Whole-day intervals: "every day at 09:00", "every 2 weeks on Monday at 09:00"."""
    anchor = anchor.astimezone(zone)
    at = f"at {clock_time(anchor)}{zone_suffix(zone)}"
    if days % 7 == 0:
        weeks = days // 7
        every = "every week" if weeks == 1 else f"every {weeks} weeks"
        return f"{every} on {anchor:%A} {at}"
    return f"every day {at}" if days == 1 else f"every {days} days {at}"


def with_range(
    base: str,
    start: datetime | None,
    end: datetime | None,
    zone: ZoneInfo,
    *,
    zone_named: bool,
) -> str:
    """``base`` plus ", from <start>" and ", until <end>" when they are set.

    The zone follows each date unless ``base`` already names it (``zone_named``).
    """
    if start is not None:
        base += f", from {local(start, zone, name_zone=not zone_named)}"
    if end is not None:
        base += f", until {local(end, zone, name_zone=not zone_named)}"
    return base
