"""RRuleClock: fire times from an iCalendar recurrence rule (RFC 5545), through dateutil.

``RRuleClock(rrule(WEEKLY, byweekday=(MO, TH), byhour=9, byminute=0, dtstart=...))`` fires at
the times the rule produces. The rule is read as **wall-clock times** in the clock's zone, like
a cron expression, so a 09:00 rule stays at 09:00 local time across daylight saving time:

* the zone is ``tz=`` if given, else ``start_date``'s zone, else the zone of the rule's
  ``dtstart``, else UTC;
* a time that does not exist on a day (clocks jump over it) fires once, at the first instant
  after the gap; a time that happens twice (clocks go back over it) fires once, at its first
  occurrence. So ``FREQ=HOURLY`` fires 23 times on the spring-forward day and 24 on the
  fall-back day (one run in the repeated hour).

``start_date`` and ``end_date`` bound the events (both inclusive) without moving the rule's
anchor; a rule's own ``COUNT`` and ``UNTIL`` also apply. A rule built without ``dtstart`` is
anchored by dateutil at the moment it was built (so ``BYHOUR``-less rules tick from then); give
``dtstart`` for a schedule that means the same thing tomorrow.

dateutil walks a rule from its ``dtstart``; for a daily or shorter rule without ``COUNT``,
Tideflow moves the start forward by whole ``INTERVAL`` steps first, so a minutely rule anchored in
2019 finds today's times in well under a millisecond instead of walking millions of minutes.

The rule is kept as RFC 5545 text (``DTSTART:...`` plus ``RRULE:...``); that text, with the zone,
is what ``to_dict`` stores and what two clocks compare by, and ``RRuleClock`` also accepts it
directly: ``RRuleClock("DTSTART:20260105T090000\\nRRULE:FREQ=DAILY")``. Text without a
``DTSTART`` line is anchored at ``start_date``, else at 2019-01-01 00:00 in the clock's zone (as
an ``IntervalClock`` is), so ``RRuleClock("FREQ=DAILY;BYHOUR=9")`` means the same every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tideflow.errors import ScheduleError
from tideflow.schedules import codec, text
from tideflow.schedules.base import Clock, ClockEvent, common_kwargs, set_common
from tideflow.schedules.zones import instant, localize, plain

if TYPE_CHECKING:  # dateutil is imported when a rule is first built: it costs ~20 ms
    from dateutil import rrule as du

__all__ = ["RRuleClock"]

_ANCHOR = datetime(2019, 1, 1)  # of rule text without DTSTART and without a start_date

# An event strictly after `after` can have a wall-clock time up to one DST step earlier than
# `after`'s (inside a repeated hour); rules are read from this much earlier and filtered exactly.
_DST_SLACK = timedelta(hours=3)


@dataclass(frozen=True, init=False, repr=False)
class RRuleClock(Clock):
    """Fires at the times of a ``dateutil.rrule.rrule``, as wall-clock times in its zone.

    Args:
        rrule: a ``dateutil.rrule.rrule``, or its RFC 5545 text (``str(rule)``).
        start_date: no events before this (inclusive).
        end_date: no events after this (inclusive).
        tz: zone name or ``ZoneInfo``; default the start date's zone, else the rule's
            ``dtstart`` zone, else UTC.
        parameter_defaults: flow parameters for the runs this clock starts.
        labels: labels for the runs this clock starts.

    Raises:
        ScheduleError: for something that is not an rrule (an ``rruleset`` included) or text
            that does not parse as one.
    """

    rule_text: str
    start_date: datetime | None
    end_date: datetime | None
    tz: ZoneInfo
    parameter_defaults: dict[str, Any]
    labels: tuple[str, ...]
    #: The rule with a naive ``dtstart`` (wall-clock time in ``tz``), as dateutil iterates it.
    rrule: du.rrule = field(compare=False)

    def __init__(
        self,
        rrule: du.rrule | str,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        *,
        tz: str | tzinfo | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        rule = _parse(rrule, start_date)
        dtstart = plain(_dtstart(rule))
        zone_hint = tz if tz is not None else _zone_hint(start_date, dtstart)
        set_common(self, start_date, end_date, zone_hint, parameter_defaults, labels)
        naive = _naive_rule(rule, self.tz)
        object.__setattr__(self, "rrule", naive)
        object.__setattr__(self, "rule_text", str(naive))

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        after = self._after(after)
        begin = after
        if self.start_date is not None and instant(self.start_date) > instant(after):
            begin = self.start_date - timedelta(microseconds=1)
        return self._until_end(self._times(begin))

    def _times(self, after: datetime) -> Iterator[datetime]:
        slack = timedelta(0) if self.tz.key == "UTC" else _DST_SLACK
        wall = after.astimezone(self.tz).replace(tzinfo=None, fold=0)
        try:
            first = wall - slack
        except OverflowError:
            first = datetime.min
        last = instant(after)
        for local in _from(self.rrule, first).xafter(first, inc=True):
            moment = localize(local, self.tz)
            if instant(moment) > last:  # also drops a gap's duplicates: strictly increasing
                last = instant(moment)
                yield moment

    def describe(self) -> str:
        base = f"by the rule {_rule_body(self.rule_text)}"
        anchor = _dtstart(self.rrule).replace(tzinfo=self.tz)
        base += f", anchored at {text.local(anchor, self.tz)}"
        return text.with_range(base, self.start_date, self.end_date, self.tz, zone_named=True)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "rrule", "rrule": self.rule_text} | self._common_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RRuleClock:
        """The clock written by :meth:`to_dict`."""
        return cls(codec.require(data, "rrule"), **common_kwargs(data))

    def __repr__(self) -> str:
        common = self._common_repr()
        return codec.call_repr("RRuleClock", [repr(self.rule_text)], common)


def _from(rule: du.rrule, first: datetime) -> du.rrule:
    """``rule`` with the same occurrences from ``first`` on, but quick to reach them.

    dateutil walks a rule from its ``dtstart``, so a minutely rule anchored years ago walks
    millions of steps to reach today. A rule of a fixed period (daily and shorter) without a
    ``COUNT`` repeats exactly every ``INTERVAL`` periods of wall-clock time, so moving its
    ``dtstart`` forward by whole steps keeps every later occurrence and skips the walk.
    """
    from dateutil import rrule as du

    periods = {
        du.DAILY: timedelta(days=1),
        du.HOURLY: timedelta(hours=1),
        du.MINUTELY: timedelta(minutes=1),
        du.SECONDLY: timedelta(seconds=1),
    }
    unit = periods.get(getattr(rule, "_freq"))  # noqa: B009 (dateutil keeps it private)
    if unit is None or getattr(rule, "_count") is not None:  # noqa: B009
        return rule
    start = _dtstart(rule)
    step = unit * getattr(rule, "_interval")  # noqa: B009
    steps = (first - start) // step
    if steps <= 1:
        return rule
    moved: du.rrule = rule.replace(dtstart=start + (steps - 1) * step)
    return moved


def _dtstart(rule: du.rrule) -> datetime:
    start: datetime = getattr(rule, "_dtstart")  # noqa: B009 (dateutil keeps it private)
    return start


def _parse(value: object, start_date: datetime | None) -> du.rrule:
    from dateutil import rrule as du

    if isinstance(value, du.rruleset):
        raise ScheduleError(
            "rrule: an rruleset is not supported; give each rrule its own RRuleClock in one "
            "Schedule(clocks=[...]), and drop excluded dates with not_filters=[on_datetime(...)]"
        )
    if isinstance(value, du.rrule):
        return value
    if isinstance(value, str):
        try:
            given = isinstance(start_date, datetime)  # else set_common reports it
            anchor = plain(start_date) if given and start_date is not None else _ANCHOR
            parsed = du.rrulestr(value.strip(), dtstart=anchor)
        except (ValueError, TypeError) as error:
            raise ScheduleError(
                f"rrule: invalid recurrence rule {value!r} ({error}); expected RFC 5545 text "
                "such as 'DTSTART:20260105T090000\\nRRULE:FREQ=DAILY;BYHOUR=9'"
            ) from None
        return _parse(parsed, start_date)
    raise ScheduleError(
        f"rrule: expected a dateutil.rrule.rrule such as rrule(DAILY, dtstart=datetime(...)) "
        f"or its RFC 5545 text, got {value!r} ({type(value).__name__})"
    )


def _zone_hint(start_date: datetime | None, dtstart: datetime) -> tzinfo | None:
    if start_date is not None and start_date.tzinfo is not None:
        return None  # set_common takes the start date's zone
    return dtstart.tzinfo


def _naive_rule(rule: du.rrule, zone: ZoneInfo) -> du.rrule:
    """``rule`` with ``dtstart`` and ``until`` as naive wall-clock times in ``zone``."""
    changes: dict[str, Any] = {"dtstart": _wall(plain(_dtstart(rule)), zone)}
    until: datetime | None = getattr(rule, "_until")  # noqa: B009
    if until is not None:
        changes["until"] = _wall(plain(until), zone)
    try:
        return rule.replace(**changes)
    except ValueError as error:
        raise ScheduleError(f"rrule: {error}") from None


def _wall(dt: datetime, zone: ZoneInfo) -> datetime:
    if dt.tzinfo is None:
        return dt
    return dt.astimezone(zone).replace(tzinfo=None)


def _rule_body(rule_text: str) -> str:
    lines = [line for line in rule_text.splitlines() if not line.startswith("DTSTART")]
    return " ".join(line.removeprefix("RRULE:") for line in lines)
