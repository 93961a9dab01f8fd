"""The interfaces of the schedule model: events, clocks, filters and adjustments.

* A :class:`Clock` produces :class:`ClockEvent` objects strictly after a given instant.
* A :class:`Filter` says whether an event's start time is kept.
* An :class:`Adjustment` moves a kept event's start time.

Concrete clocks live in :mod:`tideflow.schedules.clocks`, filters in
:mod:`tideflow.schedules.filters` and :mod:`tideflow.schedules.time_filters`, adjustments in
:mod:`tideflow.schedules.adjustments`; :class:`tideflow.schedules.Schedule` combines them. Every
implementation is a frozen dataclass with ``to_dict()`` (JSON-compatible, with a ``"type"`` key)
so a schedule compares equal and serialises.

This module also holds the arguments every clock shares (start, end, zone, parameter defaults
and labels) and how they are checked.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from tideflow.errors import ScheduleError
from tideflow.schedules import codec
from tideflow.schedules.zones import check_datetime, instant, resolve_zone, to_zone, zone_name


@dataclass(frozen=True, eq=False)
class ClockEvent:
    """One fire time of a clock, with the parameters and labels of the run it starts.

    Events order and compare by instant (UTC), so two events in different zones, or the two
    occurrences of an ambiguous wall-clock time, sort correctly.
    """

    start_time: datetime
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_time", check_datetime(self.start_time, "start_time"))
        object.__setattr__(self, "parameter_defaults", dict(self.parameter_defaults))
        object.__setattr__(self, "labels", tuple(self.labels))

    def _key(self) -> datetime:
        return instant(self.start_time)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClockEvent):
            return NotImplemented
        return (self._key(), self.parameter_defaults, self.labels) == (
            other._key(),
            other.parameter_defaults,
            other.labels,
        )

    def __hash__(self) -> int:
        return hash((self._key(), self.labels))

    def __lt__(self, other: ClockEvent) -> bool:
        return self._key() < other._key()

    def __le__(self, other: ClockEvent) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: ClockEvent) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: ClockEvent) -> bool:
        return self._key() >= other._key()


class Clock(abc.ABC):
    """What a schedule needs from a clock. Subclasses are frozen dataclasses."""

    tz: ZoneInfo
    start_date: datetime | None
    end_date: datetime | None
    parameter_defaults: dict[str, Any]
    labels: tuple[str, ...]

    @abc.abstractmethod
    def events(self, after: datetime | None = None) -> Iterator[ClockEvent]:
        """Events strictly after ``after`` (naive: wall-clock time in ``tz``; default: now), in
        order."""

    def _after(self, after: datetime | None) -> datetime:
        """``after`` checked and in the clock's zone; ``None`` is now (the system clock, UTC)."""
        moment = datetime.now(UTC) if after is None else check_datetime(after, "after")
        return to_zone(moment, self.tz)

    @abc.abstractmethod
    def describe(self) -> str:
        """The clock in plain English, e.g. ``every 5 minutes``."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict with a ``"type"`` key, read by ``clocks.clock_from_dict``."""

    def _event(self, start_time: datetime) -> ClockEvent:
        return ClockEvent(start_time, self.parameter_defaults, self.labels)

    def _until_end(self, times: Iterable[datetime]) -> Iterator[ClockEvent]:
        end = None if self.end_date is None else instant(self.end_date)
        for time in times:
            if end is not None and instant(time) > end:
                return
            yield self._event(time)

    def _common_dict(self) -> dict[str, Any]:
        return {
            "start_date": codec.encode_datetime(self.start_date),
            "end_date": codec.encode_datetime(self.end_date),
            "tz": zone_name(self.tz),
            "parameter_defaults": dict(self.parameter_defaults),
            "labels": list(self.labels),
        }

    def _common_repr(self) -> dict[str, str | None]:
        return {
            "start_date": codec.optional_wall_repr(self.start_date),
            "end_date": codec.optional_wall_repr(self.end_date),
            "tz": None if self.tz.key == "UTC" else repr(self.tz.key),
            "parameter_defaults": _repr_or_none(self.parameter_defaults),
            "labels": _repr_or_none(list(self.labels)),
        }


def _repr_or_none(value: object) -> str | None:
    return repr(value) if value else None


def set_common(
    clock: Clock,
    start_date: datetime | None,
    end_date: datetime | None,
    tz: str | tzinfo | None,
    parameter_defaults: Mapping[str, Any] | None,
    labels: Iterable[str] | None,
) -> None:
    """Validate and store the arguments every clock shares (frozen: via object.__setattr__)."""
    if start_date is not None:
        start_date = check_datetime(start_date, "start_date")
    if end_date is not None:
        end_date = check_datetime(end_date, "end_date")
    zone = resolve_zone(tz, start_date)
    start = None if start_date is None else to_zone(start_date, zone)
    end = None if end_date is None else to_zone(end_date, zone)
    if start is not None and end is not None and instant(end) < instant(start):
        raise ScheduleError(
            f"end_date: {end.isoformat()} is before start_date {start.isoformat()}; "
            "a clock's end_date must not be earlier than its start_date"
        )
    for name, value in (("tz", zone), ("start_date", start), ("end_date", end)):
        object.__setattr__(clock, name, value)
    object.__setattr__(clock, "parameter_defaults", dict(parameter_defaults or {}))
    object.__setattr__(clock, "labels", tuple(labels or ()))


def common_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    """The shared clock arguments from a clock's dict, for its ``from_dict``."""
    return {
        "start_date": codec.decode_datetime(data, "start_date"),
        "end_date": codec.decode_datetime(data, "end_date"),
        "tz": data.get("tz"),
        "parameter_defaults": data.get("parameter_defaults"),
        "labels": data.get("labels"),
    }


class Filter(abc.ABC):
    """A predicate on an event's start time. Subclasses are frozen dataclasses."""

    @abc.abstractmethod
    def __call__(self, dt: datetime) -> bool:
        """Whether an event starting at ``dt`` (aware, in its clock's zone) passes."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The condition in plain English, e.g. ``on weekdays``."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict with a ``"type"`` key, read by ``filters.filter_from_dict``."""
        return {"type": self.type_name}

    @property
    @abc.abstractmethod
    def type_name(self) -> str:
        """The ``"type"`` of this filter in dicts; also its name in reprs."""


class Adjustment(abc.ABC):
    """A function from an event's start time to a new start time."""

    @abc.abstractmethod
    def __call__(self, dt: datetime) -> datetime:
        """The adjusted time, aware, in ``dt``'s zone."""

    @abc.abstractmethod
    def bounds(self) -> tuple[timedelta, timedelta]:
        """The least and the most this adjustment moves a time, in absolute time."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The adjustment in plain English, e.g. ``moved to the next weekday``."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict with a ``"type"`` key (see ``adjustment_from_dict``)."""
