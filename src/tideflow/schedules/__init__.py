"""Schedules: when a flow runs, as a pure function of time.

The model follows Prefect 1 (``prefect.schedules``):

* **clocks** produce events (:class:`ClockEvent`: a start time plus the run's parameter defaults
  and labels): :class:`IntervalClock`, :class:`CronClock`, :class:`DatesClock`,
  :class:`RRuleClock` (an iCalendar recurrence rule, through dateutil);
* **filters** (:mod:`tideflow.schedules.filters`) keep or drop events by their local time;
* **adjustments** (:mod:`tideflow.schedules.adjustments`) move the events that are kept;
* a :class:`Schedule` combines them and answers ``next(n, after)``: the next ``n`` fire times
  strictly after ``after``. :func:`IntervalSchedule`, :func:`CronSchedule` and
  :func:`RRuleSchedule` build the common one-clock schedules::

      IntervalSchedule(interval=timedelta(minutes=1))
      CronSchedule("0 9 * * MON-FRI", tz="Europe/Berlin")
      RRuleSchedule(rrule(MONTHLY, bysetpos=-1, byweekday=FR, byhour=17, dtstart=...))

The module paths of Prefect 1 resolve: ``tideflow.schedules.clocks``, ``.filters``,
``.adjustments`` and ``.schedules`` (Schedule and its factories).

Datetimes may be pendulum ``DateTime`` objects anywhere a datetime is accepted; they are turned
into plain datetimes on the way in (see :mod:`tideflow.schedules.zones`).

Schedules never read the clock, except for ``next(n)`` without ``after`` (now, in UTC). They are
frozen values: they compare equal, have readable reprs and round-trip through ``to_dict`` /
``Schedule.from_dict`` and ``to_json`` / ``Schedule.from_json``. Bad input raises
:class:`tideflow.errors.ScheduleError` (a ``ValueError``) naming the argument or cron field, the
offending value and what is allowed.

Time zones and daylight saving time
-----------------------------------
Each clock has a zone: ``tz=`` (an IANA name or ``ZoneInfo``), else its start date's zone, else
UTC. Naive datetimes are wall-clock times in that zone; events are aware datetimes in it.

*Cron* follows the local wall clock, exactly as Debian cron does (Tideflow uses cronsim):

* a job at a fixed time that does not exist that day (the clocks jump over it) runs once, at the
  first instant after the gap: ``30 2 * * *`` in Europe/Berlin runs at 03:00 CEST on the day
  clocks go from 02:00 to 03:00;
* a job at a fixed time that happens twice (the clocks go back over it) runs once, at the first
  occurrence;
* a job whose minute or hour field starts with ``*`` (hourly or more often) runs in every
  wall-clock hour that exists: it skips the hour that is jumped over and runs in both copies of
  the repeated hour.

*Intervals* depend on their length:

* under a day (or not a whole number of days), an interval is a duration: events are exactly
  ``interval`` apart in absolute time, so an hourly clock runs 23 or 25 times on DST days; in a
  zone whose DST shift is 30 minutes (Australia/Lord_Howe) its wall-clock minute moves by 30;
* a whole number of days keeps the start's wall-clock time (a daily 09:00 run stays at 09:00);
  if that time does not exist on a day, the run is at the first instant after the gap; if it
  happens twice, at its first occurrence.
"""

from __future__ import annotations

from tideflow.schedules import adjustments, filters
from tideflow.schedules.base import Adjustment, Clock, ClockEvent, Filter
from tideflow.schedules.clocks import CronClock, DatesClock, IntervalClock, RRuleClock
from tideflow.schedules.schedule import (
    SCAN_LIMIT,
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    Schedule,
)

__all__ = [
    "SCAN_LIMIT",
    "Adjustment",
    "Clock",
    "ClockEvent",
    "CronClock",
    "CronSchedule",
    "DatesClock",
    "Filter",
    "IntervalClock",
    "IntervalSchedule",
    "RRuleClock",
    "RRuleSchedule",
    "Schedule",
    "adjustments",
    "filters",
]
