"""The closed tickets the reference flows evaluate on, loaded once per process.

The evaluation flow runs every minute, in a *persistent* deployment for as long as the service
lives, and the backtest runs one mapped child per week, many of them on each Dask worker.
:func:`~tideflow.reference.data.load_incidents` already avoids re-downloading and re-parsing the
log (its Parquet cache), but reading that cache still costs about a tenth of a second and a few
hundred MB of allocations. So :func:`ticket_data` keeps what the flows need in memory, once per
process (the driver, a process-pool worker or a Dask worker each have their own copy): the
closed tickets (:func:`~tideflow.reference.data.closed_tickets`, one row per incident) and the
row positions of each ISO week of their closing dates.

An entry is keyed by the resolved source (the ``source`` argument, else ``$TIDEFLOW_INCIDENTS``,
else UCI's URL) and, for a local file, its size and modification time: a file replaced in place
is loaded again by the next run, whatever process holds the old copy. Synthetic data (the
offline fallback) is kept for :data:`SYNTHETIC_RETRY` only, then the download is tried again, so
a long-lived process does not evaluate on made-up tickets for ever after one network outage.
Loading is serialised by a lock: threads of one process that ask at once load once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

import numpy as np
import pandas as pd

from tideflow.reference.data import closed_tickets, is_url, load_incidents, resolve_source

__all__ = [
    "SYNTHETIC_RETRY",
    "TicketData",
    "clear_ticket_cache",
    "iso_weeks",
    "ticket_data",
]

SYNTHETIC_RETRY: Final = 3600.0
"""Seconds a process keeps synthetic fallback data before trying the real source again."""

Stamp = tuple[int, int] | None  # (size, mtime_ns) of a local source; None for a URL


@dataclass(frozen=True, eq=False)
class TicketData:
    """The closed tickets of one source, with where they came from.

    ``weeks`` maps each ISO week of the closing dates (``"2016-W12"``, in order) to the row
    positions of that week's tickets in ``tickets``. ``note`` is the loader's sentence about the
    data; when ``synthetic`` is true it says so, and the flows log it as a warning.
    """

    tickets: pd.DataFrame = field(repr=False)
    source: str
    checksum: str
    synthetic: bool
    note: str
    weeks: Mapping[str, np.ndarray] = field(repr=False)

    def week(self, label: str) -> pd.DataFrame:
        """The tickets closed in ISO week ``label`` (``"2016-W12"``), as a new frame.

        Raises:
            KeyError: no ticket was closed that week (the message lists the first weeks).
        """
        try:
            rows = self.weeks[label]
        except KeyError:
            shown = ", ".join(list(self.weeks)[:5])
            raise KeyError(
                f"no closed ticket in week {label!r} of {self.source}; weeks with tickets "
                f"start {shown} ({len(self.weeks)} in all)"
            ) from None
        return self.tickets.iloc[rows].reset_index(drop=True)


@dataclass(frozen=True)
class _Entry:
    stamp: Stamp
    data: TicketData
    expires: float | None  # time.monotonic() after which it is loaded again; None: never


_lock = threading.Lock()
_cache: dict[str, _Entry] = {}


def ticket_data(source: str | Path | None = None) -> TicketData:
    """The closed tickets of ``source`` (default: ``$TIDEFLOW_INCIDENTS``, else UCI's URL),
    from this process's memory when it already loaded them.

    Raises:
        DataError: as :func:`~tideflow.reference.data.load_incidents`.
    """
    location = resolve_source(source)
    stamp = _stamp(location)
    with _lock:
        entry = _cache.get(location)
        if entry is not None and entry.stamp == stamp and not _expired(entry):
            return entry.data
        data = _load(location)
        expires = time.monotonic() + SYNTHETIC_RETRY if data.synthetic else None
        _cache[location] = _Entry(stamp, data, expires)
        return data


def clear_ticket_cache() -> None:
    """Forget every source loaded by this process (the next :func:`ticket_data` loads again)."""
    with _lock:
        _cache.clear()


def iso_weeks(times: pd.Series) -> pd.Series:
    """The ISO week (``YYYY-Www``) of each timestamp: ISO years, so 1 January 2016 (a Friday) is
    in week 53 of 2015.

    >>> iso_weeks(pd.Series(pd.to_datetime(["2016-03-24 18:40", "2016-01-01 09:00"]))).tolist()
    ['2016-W12', '2015-W53']
    """
    calendar = times.dt.isocalendar()
    return calendar["year"].astype(str) + "-W" + calendar["week"].astype(str).str.zfill(2)


def _load(location: str) -> TicketData:
    loaded = load_incidents(location)
    tickets = closed_tickets(loaded.frame)
    positions = tickets.groupby(iso_weeks(tickets["closed_at"]), sort=True).indices
    weeks = MappingProxyType({str(week): rows for week, rows in sorted(positions.items())})
    return TicketData(tickets, loaded.source, loaded.checksum, loaded.synthetic, loaded.note, weeks)


def _stamp(location: str) -> Stamp:
    """A local file's (size, mtime); None for a URL or a path that cannot be read (loading it
    then raises the loader's error)."""
    if is_url(location):
        return None
    try:
        status = os.stat(Path(location).expanduser())
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _expired(entry: _Entry) -> bool:
    return entry.expires is not None and time.monotonic() >= entry.expires
