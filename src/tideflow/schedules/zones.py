"""Time zones for schedules: choosing a clock's zone and placing wall-clock times in it.

Every clock has one zone, a :class:`zoneinfo.ZoneInfo`: the ``tz=`` argument (a zone name or a
``ZoneInfo``), else the ``start_date``'s zone, else UTC. Naive datetimes given to a schedule are
wall-clock times in that zone, placed with :func:`localize`:

* a wall-clock time that does not exist (it falls in the gap when clocks spring forward) becomes the
  first instant after the gap, e.g. 02:30 on the night Berlin jumps from 02:00 to 03:00 becomes
  03:00 CEST;
* an ambiguous wall-clock time (it happens twice when clocks fall back) is the first occurrence,
  unless the datetime carries ``fold=1`` (PEP 495), which picks the second.

Datetime subclasses (pendulum's ``DateTime``, whose arithmetic follows the wall clock and whose
zones are pendulum objects) are accepted wherever a datetime is and turned into plain datetimes
with a ``ZoneInfo`` once, at the boundary, by :func:`plain` (through :func:`check_datetime`), so
nothing inside the schedule code ever does pendulum arithmetic.

Aware datetimes in one zone compare by their wall-clock fields and ignore ``fold`` (so the two
02:30s of a fall-back night compare equal), which is why schedule code compares instants through
:func:`instant` (UTC) and never compares zone-local datetimes directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tideflow.errors import ScheduleError

UTC_ZONE = ZoneInfo("UTC")

_ONE_MICROSECOND = timedelta(microseconds=1)


def get_zone(name: str, argument: str = "tz") -> ZoneInfo:
    """The zone called ``name``, or a ``ScheduleError`` naming ``argument`` and the bad name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{argument}: unknown time zone {name!r}; use an IANA zone name such as "
            "'Europe/Berlin', 'America/New_York' or 'UTC'"
        ) from None


def as_zone(tz: tzinfo, argument: str) -> ZoneInfo:
    """Turn a ``tzinfo`` into a named zone, so a schedule can be serialised and compared.

    Args:
        tz: a ``ZoneInfo`` with a name, or a zero-offset zone such as ``datetime.UTC``.
        argument: the argument the zone came from, for the error message.

    Raises:
        ScheduleError: for fixed offsets other than zero and for unnamed zones.
    """
    if isinstance(tz, ZoneInfo) and tz.key is not None:
        return get_zone(tz.key, argument)
    if tz.utcoffset(None) == timedelta(0):
        return UTC_ZONE
    raise ScheduleError(
        f"{argument}: time zone {tz} has no IANA name; pass tz='Europe/Berlin' (a zone name) "
        "or a zoneinfo.ZoneInfo, so the schedule follows daylight saving time and can be saved"
    )


def resolve_zone(
    tz: str | tzinfo | None, start_date: datetime | None, argument: str = "tz"
) -> ZoneInfo:
    """A clock's zone: ``tz`` if given, else ``start_date``'s zone, else UTC.

    Args:
        tz: a zone name, a ``tzinfo``, or ``None``.
        start_date: the clock's start, whose zone is used when ``tz`` is ``None``.
        argument: the name of the ``tz`` argument, for error messages.
    """
    if isinstance(tz, str):
        return get_zone(tz, argument)
    if tz is not None:
        return as_zone(tz, argument)
    if start_date is not None and start_date.tzinfo is not None:
        return as_zone(start_date.tzinfo, "start_date")
    return UTC_ZONE


def zone_name(zone: ZoneInfo) -> str:
    """The IANA name of a zone built by :func:`resolve_zone`."""
    return zone.key or "UTC"


def instant(dt: datetime) -> datetime:
    """The aware datetime ``dt`` as UTC: the only safe way to compare or subtract schedule times."""
    return dt.astimezone(UTC)


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """Place a wall-clock time in ``zone`` (see the module docstring for gaps and folds).

    >>> localize(datetime(2026, 3, 29, 2, 30), ZoneInfo("Europe/Berlin")).isoformat()
    '2026-03-29T03:00:00+02:00'
    """
    local = naive.replace(tzinfo=zone)
    back = local.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None, fold=0) == naive.replace(fold=0):
        return local
    return _end_of_gap(naive, zone)


def _end_of_gap(naive: datetime, zone: tzinfo) -> datetime:
    """The transition instant that skipped the wall-clock time ``naive``, in ``zone``.

    For a time in a gap, fold=1 applies the offset after the transition and fold=0 the offset
    before it, so the transition lies between the two readings; bisect down to the microsecond.
    """
    early = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    offset_before = early.astimezone(zone).utcoffset()
    while late - early > _ONE_MICROSECOND:
        middle = early + (late - early) // 2
        if middle.astimezone(zone).utcoffset() == offset_before:
            early = middle
        else:
            late = middle
    return late.astimezone(zone)


def to_zone(dt: datetime, zone: ZoneInfo) -> datetime:
    """``dt`` in ``zone``: naive datetimes are wall-clock times there, aware ones are converted."""
    dt = plain(dt)
    if dt.tzinfo is None:
        return localize(dt, zone)
    return dt.astimezone(zone)


def check_datetime(value: object, argument: str) -> datetime:
    """``value`` as a plain datetime (see :func:`plain`), else a ``ScheduleError`` naming
    ``argument``."""
    if not isinstance(value, datetime):
        raise ScheduleError(
            f"{argument}: expected a datetime, got {value!r} ({type(value).__name__})"
        )
    return plain(value)


def plain(dt: datetime) -> datetime:
    """``dt`` as a plain :class:`datetime.datetime` with a standard-library zone.

    An aware subclass such as ``pendulum.DateTime`` keeps its instant (pendulum's own ``fold``
    convention included), in the ``ZoneInfo`` of the same name (a fixed offset becomes a
    ``datetime.timezone``); a naive one keeps its wall-clock fields, with ``fold=0`` (the first
    occurrence of an ambiguous time, Tideflow's rule). Plain datetimes with standard zones are
    returned as they are.
    """
    zone = dt.tzinfo
    if type(dt) is datetime and (zone is None or type(zone) in (ZoneInfo, timezone)):
        return dt
    fields = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond)
    if zone is None:
        return datetime(*fields, fold=dt.fold if type(dt) is datetime else 0)
    offset = dt.utcoffset()
    if offset is None:
        raise ScheduleError(f"time zone {zone!r} gives no UTC offset for {dt!r}")
    moment = datetime(*fields, tzinfo=UTC) - offset
    return moment.astimezone(_plain_zone(zone, offset))


def _plain_zone(zone: tzinfo, offset: timedelta) -> tzinfo:
    if type(zone) in (ZoneInfo, timezone):
        return zone
    key = getattr(zone, "key", None) or getattr(zone, "name", None) or _dateutil_key(zone)
    if isinstance(key, str) and (isinstance(zone, ZoneInfo) or "/" in key):
        try:  # a named zone of another library (pendulum's Timezone is a ZoneInfo)
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC if offset == timedelta(0) else timezone(offset)


def _dateutil_key(zone: tzinfo) -> str | None:
    """The IANA name of a ``dateutil.tz.gettz`` zone, read from the file it was loaded from."""
    filename = getattr(zone, "_filename", None)
    if not isinstance(filename, str):
        return None
    return filename.rpartition("zoneinfo/")[2] or None
