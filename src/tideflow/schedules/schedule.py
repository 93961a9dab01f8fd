"""Schedule: clocks merged, filtered and adjusted into one stream of fire times.

``Schedule.next(n, after)`` runs a small pipeline over the events strictly after ``after``:

1. **merge** the events of all clocks in time order (``heapq.merge``), and **de-duplicate**
   equal events: two clocks firing at the same instant with the same parameter defaults and
   labels give one event; with different ones (``parameter_defaults={"region": "eu"}`` and
   ``{"region": "us"}`` at 09:00) they give one event each, in the order the clocks are listed,
   as in Prefect 1: one run per parameter set;
2. **filter**: keep an event when all ``filters`` hold, at least one of the ``or_filters`` holds
   (if any are given) and none of the ``not_filters`` holds; filters see the clock's time;
3. **adjust**: apply the ``adjustments`` in order; events are re-sorted after adjusting and times
   at or before ``after`` are dropped, and so is an event equal to one already given at the
   same instant (``next_weekday`` moving a Saturday and a Sunday run to one Monday time gives
   one run), so the result never goes back in time and only repeats an instant for different
   parameter sets;
4. return the first ``n``.

The scan gives up once :data:`SCAN_LIMIT` (10,000) events in a row have been rejected by the
filters, and then returns what it found so far: a filter that never holds (``on_date(2, 30)``)
ends the search instead of hanging. A schedule also returns fewer than ``n`` times when its
clocks end, and never fires with no clocks (``Schedule(clocks=[])``: an empty schedule, e.g. a
deployment whose runs are only triggered). Only ``after=None`` reads the clock (now, in UTC);
pass ``after`` for reproducible results.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

from tideflow.errors import ScheduleError
from tideflow.schedules import codec
from tideflow.schedules.adjustments import adjustment_from_dict
from tideflow.schedules.base import Adjustment, Clock, ClockEvent, Filter
from tideflow.schedules.clocks import CronClock, IntervalClock, RRuleClock, clock_from_dict
from tideflow.schedules.filters import filter_from_dict
from tideflow.schedules.zones import UTC_ZONE, check_datetime, instant, to_zone

if TYPE_CHECKING:
    from dateutil import rrule as du

SCAN_LIMIT = 10_000
"""Events in a row that the filters may reject before ``next`` gives up."""

FORMAT_VERSION = 1
"""The ``"version"`` of ``Schedule.to_dict``; decoders refuse newer versions."""

_T = TypeVar("_T")


@dataclass(frozen=True, init=False, repr=False)
class Schedule:
    """Fire times from one or more clocks, filtered and adjusted.

    Args:
        clocks: the clocks (``IntervalClock``, ``CronClock``, ``DatesClock``,
            ``RRuleClock``); none makes a schedule that never fires.
        filters: all of these must hold for an event to be kept.
        or_filters: when given, at least one of these must hold.
        not_filters: none of these may hold.
        adjustments: applied in order to every kept event.

    Raises:
        ScheduleError: when an item is not a clock, filter or adjustment.
    """

    clocks: tuple[Clock, ...]
    filters: tuple[Filter, ...]
    or_filters: tuple[Filter, ...]
    not_filters: tuple[Filter, ...]
    adjustments: tuple[Adjustment, ...]

    def __init__(
        self,
        clocks: Iterable[Clock],
        filters: Iterable[Filter] | None = None,
        or_filters: Iterable[Filter] | None = None,
        not_filters: Iterable[Filter] | None = None,
        adjustments: Iterable[Adjustment] | None = None,
    ) -> None:
        clock_list = _checked(clocks, Clock, "clocks", "IntervalClock(timedelta(hours=1))")
        given = {"filters": filters, "or_filters": or_filters, "not_filters": not_filters}
        object.__setattr__(self, "clocks", clock_list)
        for name, items in given.items():
            object.__setattr__(self, name, _checked(items, Filter, name, "is_weekday"))
        steps = _checked(adjustments, Adjustment, "adjustments", "next_weekday")
        object.__setattr__(self, "adjustments", steps)

    # ------------------------------------------------------------------------------ properties

    @property
    def tz(self) -> ZoneInfo:
        """The first clock's zone (UTC without clocks); naive ``after`` values are wall-clock
        times in it."""
        return self.clocks[0].tz if self.clocks else UTC_ZONE

    @property
    def start_date(self) -> datetime | None:
        """The earliest start over the clocks, or ``None`` if a clock has no start."""
        starts = [c.start_date for c in self.clocks]
        return None if None in starts else min((s for s in starts if s), key=instant, default=None)

    @property
    def end_date(self) -> datetime | None:
        """The latest end over the clocks, or ``None`` if a clock never ends."""
        ends = [c.end_date for c in self.clocks]
        return None if None in ends else max((e for e in ends if e), key=instant, default=None)

    # ----------------------------------------------------------------------------- next times

    @overload
    def next(
        self, n: int, after: datetime | None = None, return_events: Literal[False] = False
    ) -> list[datetime]: ...

    @overload
    def next(
        self, n: int, after: datetime | None = None, *, return_events: Literal[True]
    ) -> list[ClockEvent]: ...

    @overload
    def next(
        self, n: int, after: datetime | None, return_events: Literal[True]
    ) -> list[ClockEvent]: ...

    def next(
        self, n: int, after: datetime | None = None, return_events: bool = False
    ) -> list[datetime] | list[ClockEvent]:
        """The next ``n`` fire times strictly after ``after``, in time order.

        An instant appears more than once only when clocks fire then with different parameter
        defaults or labels (one run each); ``return_events=True`` tells them apart.

        Args:
            n: how many times at most (fewer when the clocks end or the scan limit is hit).
            after: exclusive lower bound; naive means wall-clock time in :attr:`tz`; default now.
            return_events: return :class:`ClockEvent` objects (with parameter defaults and
                labels) instead of datetimes.

        Returns:
            Aware datetimes (or events), each in its clock's zone.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ScheduleError(f"n: expected a number of fire times (0 or more), got {n!r}")
        start = datetime.now(UTC) if after is None else check_datetime(after, "after")
        events = list(islice(self.events(to_zone(start, self.tz)), n))
        return events if return_events else [event.start_time for event in events]

    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        """All events strictly after ``after`` (default: now), lazily: the pipeline behind
        :meth:`next`."""
        start = datetime.now(UTC) if after is None else check_datetime(after, "after")
        after = to_zone(start, self.tz)
        low, high = self._adjustment_bounds()
        # Look back far enough to catch events that adjustments move past `after`.
        try:
            lookback = (instant(after) - max(high, timedelta(0))).astimezone(after.tzinfo)
        except OverflowError:  # `after` within days of datetime.min
            lookback = after
        merged = _merge_unique(clock.events(lookback) for clock in self.clocks)
        adjusted = self._adjusted(self._kept(merged), low, high)
        return _increasing(adjusted, after)

    def _passes(self, dt: datetime) -> bool:
        return (
            all(f(dt) for f in self.filters)
            and (not self.or_filters or any(f(dt) for f in self.or_filters))
            and not any(f(dt) for f in self.not_filters)
        )

    def _kept(self, events: Iterator[ClockEvent]) -> Iterator[ClockEvent]:
        rejected = 0
        for event in events:
            if self._passes(event.start_time):
                rejected = 0
                yield event
            else:
                rejected += 1
                if rejected >= SCAN_LIMIT:
                    return

    def _adjusted(
        self, events: Iterator[ClockEvent], low: timedelta, high: timedelta
    ) -> Iterator[ClockEvent]:
        """Apply the adjustments, re-sorting with a heap when they can reorder events.

        An event at clock time t ends up in [t + low, t + high]. Clock times increase, so once
        an event at t arrives, every later one lands at or after t + low: anything buffered
        before that is final.
        """
        if low == high:
            yield from (self._adjust(event) for event in events)
            return
        buffer: list[tuple[datetime, int, ClockEvent]] = []
        for order, event in enumerate(events):
            horizon = instant(event.start_time) + low
            while buffer and buffer[0][0] <= horizon:
                yield heapq.heappop(buffer)[2]
            moved = self._adjust(event)
            heapq.heappush(buffer, (instant(moved.start_time), order, moved))
        while buffer:
            yield heapq.heappop(buffer)[2]

    def _adjust(self, event: ClockEvent) -> ClockEvent:
        start_time = event.start_time
        for adjustment in self.adjustments:
            start_time = adjustment(start_time)
        return replace(event, start_time=start_time) if self.adjustments else event

    def _adjustment_bounds(self) -> tuple[timedelta, timedelta]:
        bounds = [adjustment.bounds() for adjustment in self.adjustments]
        return sum((b[0] for b in bounds), timedelta(0)), sum((b[1] for b in bounds), timedelta(0))

    # ------------------------------------------------------------------------------ describing

    def describe(self) -> str:
        """The schedule in plain English, e.g. ``every 5 minutes, only on weekdays``."""
        if not self.clocks:
            return "never (no clocks)"
        text = "; ".join(clock.describe() for clock in self.clocks)
        if self.filters:
            text += ", only " + " and ".join(f.describe() for f in self.filters)
        if self.or_filters:
            text += ", only " + " or ".join(f.describe() for f in self.or_filters)
        if self.not_filters:
            text += ", except " + " or ".join(f.describe() for f in self.not_filters)
        for adjustment in self.adjustments:
            text += ", then " + adjustment.describe()
        return text

    def __repr__(self) -> str:
        factory = _factory_repr(self)
        if factory is not None:
            return factory
        parts = {
            name: f"[{', '.join(repr(item) for item in getattr(self, name))}]"
            for name in ("clocks", "filters", "or_filters", "not_filters", "adjustments")
            if getattr(self, name)
        }
        return codec.call_repr("Schedule", [], parts or {"clocks": "[]"})

    # ---------------------------------------------------------------------------- serialising

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict with ``"version": 1``; :meth:`from_dict` reverses it."""
        return {
            "version": FORMAT_VERSION,
            "type": "schedule",
            "clocks": [clock.to_dict() for clock in self.clocks],
            "filters": [f.to_dict() for f in self.filters],
            "or_filters": [f.to_dict() for f in self.or_filters],
            "not_filters": [f.to_dict() for f in self.not_filters],
            "adjustments": [a.to_dict() for a in self.adjustments],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """The schedule described by a dict from :meth:`to_dict` (unknown keys are ignored).

        Raises:
            ScheduleError: for data from a newer Tideflow, an unknown type or a missing key.
        """
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ScheduleError(
                f"schedule data has version {version!r}, but this Tideflow reads version "
                f"{FORMAT_VERSION}; upgrade Tideflow to load it"
            )
        return cls(
            clocks=[clock_from_dict(c) for c in codec.require(data, "clocks")],
            filters=[filter_from_dict(f) for f in data.get("filters", [])],
            or_filters=[filter_from_dict(f) for f in data.get("or_filters", [])],
            not_filters=[filter_from_dict(f) for f in data.get("not_filters", [])],
            adjustments=[adjustment_from_dict(a) for a in data.get("adjustments", [])],
        )

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        """The schedule in JSON text from :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ScheduleError(f"invalid schedule JSON: {error}") from None
        if not isinstance(data, dict):
            raise ScheduleError(f"invalid schedule JSON: expected an object, got {data!r}")
        return cls.from_dict(data)


def IntervalSchedule(
    start_date: datetime | None = None,
    interval: timedelta | None = None,
    end_date: datetime | None = None,
    tz: str | tzinfo | None = None,
) -> Schedule:
    """A schedule with one :class:`IntervalClock`, as in Prefect 1.

    >>> IntervalSchedule(interval=timedelta(minutes=5))
    IntervalSchedule(interval=timedelta(seconds=300))
    """
    if isinstance(start_date, timedelta):
        raise ScheduleError(
            f"start_date: expected a datetime, got {codec.timedelta_repr(start_date)}; "
            "pass the interval by keyword: IntervalSchedule(interval=timedelta(minutes=1))"
        )
    if interval is None:
        raise ScheduleError(
            "interval: IntervalSchedule needs an interval, "
            "e.g. IntervalSchedule(interval=timedelta(minutes=1))"
        )
    return Schedule([IntervalClock(interval, start_date, end_date, tz=tz)])


def CronSchedule(
    cron: str,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    day_or: bool | None = True,
    tz: str | tzinfo | None = None,
) -> Schedule:
    """A schedule with one :class:`CronClock`, as in Prefect 1.

    >>> CronSchedule("*/5 * * * *", tz="Europe/Berlin")
    CronSchedule('*/5 * * * *', tz='Europe/Berlin')
    """
    return Schedule([CronClock(cron, start_date, end_date, day_or=day_or, tz=tz)])


def RRuleSchedule(
    rrule: du.rrule | str,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    tz: str | tzinfo | None = None,
) -> Schedule:
    """A schedule with one :class:`RRuleClock`, as in Prefect 1 (``RRuleSchedule(rrule_obj)``).

    >>> RRuleSchedule("DTSTART:20260105T090000\\nRRULE:FREQ=WEEKLY;BYDAY=MO")
    RRuleSchedule('DTSTART:20260105T090000\\nRRULE:FREQ=WEEKLY;BYDAY=MO')
    """
    return Schedule([RRuleClock(rrule, start_date, end_date, tz=tz)])


# ----------------------------------------------------------------------------------- helpers


def _checked(items: Iterable[_T] | None, kind: type, name: str, example: str) -> tuple[_T, ...]:
    """``items`` as a tuple, each checked to be a ``kind``; the message shows an example."""
    if items is None:
        return ()
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise ScheduleError(f"{name}: expected a list, got {items!r}; e.g. {name}=[{example}]")
    found = tuple(items)
    for index, item in enumerate(found):
        if not isinstance(item, kind):
            raise ScheduleError(
                f"{name}[{index}]: expected a {kind.__name__} such as {example}, got {item!r}; "
                "plain functions are not accepted because schedules must serialise"
            )
    return found


def _merge_unique(streams: Iterable[Iterator[ClockEvent]]) -> Iterator[ClockEvent]:
    """Events of all streams in time order (ties in stream order), equal events once."""
    return _forward(heapq.merge(*streams, key=lambda e: instant(e.start_time)), None)


def _increasing(events: Iterator[ClockEvent], after: datetime) -> Iterator[ClockEvent]:
    """Drop events at or before ``after``, before the previous event, or equal to an event
    already given at the same instant: the output never goes back and never repeats an event."""
    return _forward(events, instant(after))


def _forward(events: Iterator[ClockEvent], after: datetime | None) -> Iterator[ClockEvent]:
    last = after
    at_last: list[ClockEvent] = []  # the distinct events given at instant `last`
    for event in events:
        moment = instant(event.start_time)
        if last is None or moment > last:
            last, at_last = moment, [event]
            yield event
        elif moment == last and at_last and event not in at_last:
            at_last.append(event)
            yield event


def _factory_repr(schedule: Schedule) -> str | None:
    """``IntervalSchedule(...)``/``CronSchedule(...)`` for a schedule a factory could build."""
    extras = (schedule.filters, schedule.or_filters, schedule.not_filters, schedule.adjustments)
    if len(schedule.clocks) != 1 or any(extras):
        return None
    clock = schedule.clocks[0]
    if clock.parameter_defaults or clock.labels:
        return None
    start = codec.optional_wall_repr(clock.start_date)
    end = codec.optional_wall_repr(clock.end_date)
    tz = None if clock.tz.key == "UTC" else repr(clock.tz.key)
    if isinstance(clock, IntervalClock):
        interval = codec.timedelta_repr(clock.interval)
        kwargs = {"start_date": start, "interval": interval, "end_date": end, "tz": tz}
        return codec.call_repr("IntervalSchedule", [], kwargs)
    if isinstance(clock, CronClock):
        day_or = None if clock.day_or else "False"
        kwargs = {"start_date": start, "end_date": end, "day_or": day_or, "tz": tz}
        return codec.call_repr("CronSchedule", [repr(clock.cron)], kwargs)
    if isinstance(clock, RRuleClock):
        kwargs = {"start_date": start, "end_date": end, "tz": tz}
        return codec.call_repr("RRuleSchedule", [repr(clock.rule_text)], kwargs)
    return None
