"""A synthetic incident event log: the real log's columns, dtypes, text formats and main
distributions, from a seed, with no data file.

The model, per incident (all drawn at once with numpy: 25,000 incidents take under a second):

1. *Incident attributes* are drawn once and copied onto every event, as the real "enriched" log
   does: caller, opener, creator, channel, location, category, subcategory, symptom, rare links
   (problem, change, vendor, cause), closing code and resolver. Each is ``?`` with the real log's
   share of ``?`` events, and otherwise drawn from a pool of its most frequent values plus a
   uniform tail (:mod:`tideflow.reference.distributions`). Impact and urgency are drawn as a pair
   and priority follows from them, as in the real matrix.
2. *Times*: opened_at falls on a day of the first 93 days after ``start`` (a thin tail later),
   weighted by weekday and hour; incident numbers grow with it. Opened -> resolved and
   resolved -> closed durations are drawn from the real histograms; most incidents are closed
   by the auto-close job five days after resolution, 1 to 60 minutes past the hour.
3. *States*: a whole collapsed state path (``New > Active > Resolved > Closed``) is drawn from the
   100 most frequent real paths, and each state is repeated over several events with the real
   chance of an event keeping its state (New, Active and Awaiting User Info often repeat;
   Resolved and Closed seldom).
4. *Events*: the first event is logged at opened_at (or a few minutes later), the events before
   resolution at sorted random times until resolved_at, the resolution at resolved_at and the
   final Closed event at closed_at, by the system user. Counters follow the events:
   ``sys_mod_count`` rises by 1 (sometimes more), ``reassignment_count`` by one whenever the
   assignment group changes, ``reopen_count`` on Resolved -> Active. ``made_sla`` turns false on
   the Closed event when resolving took longer than the priority's SLA; ``active`` is false on
   Closed events; ``u_priority_confirmation`` flips to true near the end for 77% of incidents.

Not reproduced: correlations between category and subcategory or between durations and priority,
priority changes within an incident, the stray ``-100`` state and the mass closure of 24/3/2016.

>>> frame = generate_incidents(3, seed=1)
>>> frame["number"].nunique(), frame.shape[1]
(3, 36)
>>> frame.groupby("number")["incident_state"].last().tolist()
['Closed', 'Closed', 'Closed']
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from tideflow.reference import distributions as dist
from tideflow.reference.csvtext import MEMBER, incident_csv_bytes
from tideflow.reference.schema import COLUMNS, conform

__all__ = ["DEFAULT_START", "GENERATOR_VERSION", "generate_incidents", "write_incidents_zip"]

GENERATOR_VERSION: Final = 1  # bump when the same seed starts giving different data
DEFAULT_START: Final = datetime(2016, 2, 29)  # the real log's first day (a Monday)

Int = np.ndarray  # numpy integer arrays (numpy's own annotations are too wide to help here)
Rng = np.random.Generator
MINUTES_PER_DAY: Final = 24 * 60


def generate_incidents(
    n_incidents: int, *, seed: int = 0, start: datetime = DEFAULT_START
) -> pd.DataFrame:
    """``n_incidents`` synthetic incidents, one row per event, in the loader's shape.

    The same ``seed`` (and ``start``, a naive local time) always gives the same frame.

    Raises:
        ValueError: ``n_incidents`` is less than 1.
    """
    if n_incidents < 1:
        raise ValueError(f"n_incidents must be at least 1, got {n_incidents}")
    rng = np.random.default_rng(seed)
    incidents = _incident_columns(n_incidents, rng, start)
    events = _Events.draw(incidents.pop("_variant"), rng)
    columns = {name: incidents[name][events.owner] for name in COLUMNS if name in incidents}
    columns |= _event_columns(events, incidents, rng)
    return conform(pd.DataFrame({name: columns[name] for name in COLUMNS}))


def write_incidents_zip(frame_or_n: pd.DataFrame | int, path: Path, *, seed: int = 0) -> Path:
    """Write a zip holding ``incident_event_log.csv`` in the real log's text format.

    ``frame_or_n`` is an incident frame, or a number of incidents to generate (with ``seed``).
    Returns ``path``.
    """
    frame = generate_incidents(frame_or_n, seed=seed) if isinstance(frame_or_n, int) else frame_or_n
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, incident_csv_bytes(frame))
    return path


# -- incident-level columns -----------------------------------------------------------------


def _incident_columns(n: int, rng: Rng, start: datetime) -> dict[str, np.ndarray]:
    """Every per-incident column, in incident-number order, plus hidden ones (``_variant``: the
    state path; ``_first``, ``_resolved``, ``_closed``: times in minutes; ``_missed_sla``)."""
    columns = _incident_times(n, rng, start)
    impact, urgency, priority = _impact_urgency_priority(n, rng)
    resolve_days = (columns["_resolved"] - columns["_opened"]) / MINUTES_PER_DAY
    sla_days = np.array([dist.SLA_DAYS[p] for p in priority.tolist()])
    columns |= {
        "number": _numbers(n, rng),
        "impact": impact,
        "urgency": urgency,
        "priority": priority,
        "_missed_sla": resolve_days > sla_days,
        "knowledge": rng.random(n) < dist.KNOWLEDGE,
        "_variant": rng.choice(len(_PATHS), size=n, p=_PATH_WEIGHTS),
    }
    for name in _INCIDENT_POOLS:
        missing = dist.MISSING_SHARES.get(name, 0.0)
        columns[name] = _from_pool(dist.POOLS[name], n, rng, missing)
    for name, choices in dist.CHOICES.items():
        columns[name] = _from_choices(choices, n, rng, dist.MISSING_SHARES.get(name, 0.0))
    # sys_created_by and sys_created_at are missing together
    created = ~np.isnat(columns["sys_created_at"])
    columns["sys_created_by"] = _blank(_from_pool(dist.POOLS["sys_created_by"], n, rng), ~created)
    return columns


def _incident_times(n: int, rng: Rng, start: datetime) -> dict[str, np.ndarray]:
    """The date columns of each incident, and its times as minutes since 1970."""
    opened = np.sort(_opened_minutes(n, rng, start))
    first = opened + _first_update_lag(n, rng)
    resolved = np.maximum(opened + _days_to_minutes(dist.OPENED_TO_RESOLVED_DAYS, n, rng), first)
    closed = resolved + _close_delay(resolved - opened, rng)
    created = rng.random(n) >= dist.MISSING_SHARES["sys_created_at"]
    resolution_known = rng.random(n) >= dist.MISSING_SHARES["resolved_at"]
    return {
        "opened_at": _as_datetimes(opened),
        "sys_created_at": _as_datetimes(first, missing=~created),
        "resolved_at": _as_datetimes(resolved, missing=~resolution_known),
        "closed_at": _as_datetimes(closed),
        "_opened": opened,
        "_first": first,
        "_resolved": resolved,
        "_closed": closed,
    }


_INCIDENT_POOLS: Final = (
    "caller_id",
    "opened_by",
    "location",
    "category",
    "subcategory",
    "u_symptom",
    "resolved_by",
    "closed_code",
    "cmdb_ci",
    "problem_id",
    "rfc",
)


def _opened_minutes(n: int, rng: Rng, start: datetime) -> Int:
    days = dist.BULK_DAYS + dist.TAIL_DAYS
    per_day = np.where(
        np.arange(days) < dist.BULK_DAYS,
        (1 - dist.TAIL_SHARE) / dist.BULK_DAYS,
        dist.TAIL_SHARE / dist.TAIL_DAYS,
    )
    base = np.datetime64(start.replace(tzinfo=None), "D")
    weekdays = (np.arange(days) + (base.astype(np.int64) + 3)) % 7  # 1970-01-01 was a Thursday
    weights = per_day * np.asarray(dist.OPENED_BY_WEEKDAY, dtype=float)[weekdays]
    day = rng.choice(days, size=n, p=weights / weights.sum())
    hour = rng.choice(24, size=n, p=_normalised(dist.OPENED_BY_HOUR))
    minute = rng.integers(0, 60, size=n)
    origin = np.datetime64(start.replace(tzinfo=None), "m").astype(np.int64)
    result: Int = origin + day * MINUTES_PER_DAY + hour * 60 + minute
    return result


def _first_update_lag(n: int, rng: Rng) -> Int:
    lag = np.ceil(rng.exponential(dist.FIRST_UPDATE_MEAN_MINUTES, size=n)).astype(np.int64)
    result: Int = np.where(rng.random(n) < dist.FIRST_UPDATE_AT_ONCE, 0, lag)
    return result


def _close_delay(resolving: Int, rng: Rng) -> Int:
    """Minutes from resolution to closure, given the minutes it took to resolve.

    Incidents resolved within a day are more often closed by the auto-close job (5 days plus the
    wait for the job's next hourly run); the others are drawn from the rest of the histogram.
    """
    n = len(resolving)
    quick = resolving < MINUTES_PER_DAY
    auto = rng.random(n) < np.where(quick, dist.AUTO_CLOSE_QUICK, dist.AUTO_CLOSE_SLOW)
    job = dist.AUTO_CLOSE_DAYS * MINUTES_PER_DAY + rng.integers(1, 61, size=n)
    result: Int = np.where(auto, job, _days_to_minutes(_OTHER_CLOSE_DAYS, n, rng))
    return result


_OTHER_CLOSE_DAYS: Final = tuple(
    (upper, 0 if upper == dist.AUTO_CLOSE_DAYS + 0.5 else count)
    for upper, count in dist.RESOLVED_TO_CLOSED_DAYS
)


def _days_to_minutes(histogram: Sequence[tuple[float, int]], n: int, rng: Rng) -> Int:
    """Durations drawn from a histogram of days (uniform within a bin), in whole minutes."""
    uppers = np.array([upper for upper, _ in histogram], dtype=float)
    lowers = np.concatenate(([0.0], uppers[:-1]))
    counts = np.array([count for _, count in histogram], dtype=float)
    bins = rng.choice(len(histogram), size=n, p=counts / counts.sum())
    days = lowers[bins] + rng.random(n) * (uppers[bins] - lowers[bins])
    result: Int = np.floor(days * MINUTES_PER_DAY).astype(np.int64)
    return result


def _impact_urgency_priority(n: int, rng: Rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    combos = list(dist.IMPACT_URGENCY_PRIORITY)
    table = np.array(combos, dtype=object)
    drawn = table[
        rng.choice(len(combos), size=n, p=_normalised(dist.IMPACT_URGENCY_PRIORITY.values()))
    ]
    return drawn[:, 0], drawn[:, 1], drawn[:, 2]


def _numbers(n: int, rng: Rng) -> np.ndarray:
    steps = rng.geometric(1 / dist.MEAN_NUMBER_STEP, size=n)
    numbers = dist.FIRST_NUMBER + np.cumsum(steps) - steps[0]
    return np.array([f"INC{number:07d}" for number in numbers.tolist()], dtype=object)


def _from_pool(pool: dist.Pool, n: int, rng: Rng, missing: float = 0.0) -> np.ndarray:
    """``n`` values from ``pool`` (objects: str, or None for ``?`` with chance ``missing``)."""
    low, high, tail = pool.tail
    top = np.array(list(pool.top), dtype=np.int64)
    weights = np.array([*pool.top.values(), tail], dtype=float)
    pick = rng.choice(len(weights), size=n, p=weights / weights.sum())
    numbers = np.where(pick < len(top), top[np.minimum(pick, len(top) - 1)], 0)
    numbers = np.where(pick == len(top), rng.integers(low, high + 1, size=n), numbers)
    smallest = int(min(low, top.min()))
    labels = np.array(
        [pool.template.format(i) for i in range(smallest, int(max(high, top.max())) + 1)],
        dtype=object,
    )
    values: np.ndarray = labels[numbers - smallest]
    return _blank(values, rng.random(n) < missing)


def _from_choices(choices: Mapping[str, int], n: int, rng: Rng, missing: float) -> np.ndarray:
    labels = np.array(list(choices), dtype=object)
    values = labels[rng.choice(len(labels), size=n, p=_normalised(choices.values()))]
    return _blank(values, rng.random(n) < missing)


def _normalised(counts: Iterable[float]) -> np.ndarray:
    """Counts as probabilities."""
    values = np.array(list(counts), dtype=float)
    result: np.ndarray = values / values.sum()
    return result


def _blank(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """A copy of ``values`` (as objects) with None, the CSV's ``?``, where ``missing`` holds."""
    result = values.astype(object)
    result[missing] = None
    return result


def _as_datetimes(minutes: Int, missing: np.ndarray | None = None) -> np.ndarray:
    """Minutes since 1970 as datetime64, NaT where ``missing`` holds."""
    result = minutes.astype("datetime64[m]")
    if missing is not None:
        result[missing] = np.datetime64("NaT")
    return result


# -- state paths and events -----------------------------------------------------------------


def _parse_paths(text: str) -> tuple[list[tuple[str, ...]], np.ndarray]:
    paths, counts = [], []
    for item in text.split():
        code, count = item.split(":")
        paths.append(tuple(dist.STATE_CODES[letter] for letter in code))
        counts.append(int(count))
    return paths, _normalised(counts)


_PATHS, _PATH_WEIGHTS = _parse_paths(dist.STATE_PATHS)
_STATES: Final = tuple(dist.STATE_CODES.values())
_STATE_INDEX: Final = {state: i for i, state in enumerate(_STATES)}
_LONGEST_RUN: Final = 20


class _Events:
    """The events of all incidents, as parallel arrays in log order: for each event its
    incident (``owner``), its state (an index into ``_STATES``), its position within the
    incident, whether it starts a run of one state, and whether it is in the final Closed run."""

    def __init__(
        self, owner: Int, state: Int, run_start: np.ndarray, final_run: np.ndarray
    ) -> None:
        self.owner = owner
        self.state = state
        self.run_start = run_start
        self.final_run = final_run
        self.count = np.bincount(owner)
        self.first = np.cumsum(self.count) - self.count  # index of each incident's first event
        self.position = np.arange(len(owner)) - self.first[owner]

    @classmethod
    def draw(cls, variants: Int, rng: Rng) -> _Events:
        """Expand each incident's state path into runs of events."""
        lengths = np.array([len(path) for path in _PATHS])
        table = np.full((len(_PATHS), lengths.max()), -1)
        for i, path in enumerate(_PATHS):
            table[i, : len(path)] = [_STATE_INDEX[state] for state in path]
        rows = table[variants]
        run_state = rows[rows >= 0]  # row-major: each incident's runs, in order
        run_owner = np.repeat(np.arange(len(variants)), lengths[variants])
        last_run = np.r_[run_owner[1:] != run_owner[:-1], True]
        repeat = np.array([dist.REPEAT[state] for state in _STATES])[run_state]
        run_length = np.minimum(rng.geometric(1 - repeat), _LONGEST_RUN)
        run_start = np.zeros(run_length.sum(), dtype=bool)
        run_start[np.cumsum(run_length) - run_length] = True
        return cls(
            owner=np.repeat(run_owner, run_length),
            state=np.repeat(run_state, run_length),
            run_start=run_start,
            final_run=np.repeat(last_run, run_length),
        )

    def cumulative(self, steps: Int) -> Int:
        """The running sum of ``steps`` within each incident."""
        total = np.cumsum(steps)
        result: Int = total - (total[self.first] - steps[self.first])[self.owner]
        return result

    def is_state(self, *states: str) -> np.ndarray:
        return np.isin(self.state, [_STATE_INDEX[s] for s in states])


def _event_columns(
    events: _Events, incidents: Mapping[str, np.ndarray], rng: Rng
) -> dict[str, np.ndarray]:
    size = len(events.owner)
    closed = events.is_state("Closed")
    final_close = closed & events.final_run
    group, reassigned = _assignments(events, rng)
    steps = rng.choice(list(dist.MOD_STEPS), size=size, p=_normalised(dist.MOD_STEPS.values()))
    system = rng.random(size) < np.where(final_close, dist.SYSTEM_CLOSES, dist.SYSTEM_OTHER_EVENTS)
    updaters = _from_pool(dist.POOLS["sys_updated_by"], size, rng)
    missed = incidents["_missed_sla"][events.owner]
    return {
        "incident_state": np.array(_STATES, dtype=object)[events.state],
        "active": ~closed,
        "reassignment_count": events.cumulative(reassigned.astype(np.int64)),
        "reopen_count": events.cumulative(_reopens(events).astype(np.int64)),
        "sys_mod_count": events.cumulative(np.where(events.position == 0, 0, steps)),
        "made_sla": ~(final_close & missed),
        "sys_updated_by": np.where(system, dist.SYSTEM_USER, updaters),
        "sys_updated_at": _as_datetimes(_update_minutes(events, incidents, rng)),
        "assignment_group": group,
        "assigned_to": _assignees(events, reassigned, rng),
        "u_priority_confirmation": _confirmations(events, rng),
    }


def _assignments(events: _Events, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """(assignment_group per event, whether the group changed at that event). A group holds for
    a segment of events; the first segment's group comes from the first-event pool."""
    size = len(events.owner)
    moving = rng.random(len(events.count)) >= dist.NEVER_REASSIGNED
    changed = (rng.random(size) < dist.REASSIGN * moving[events.owner]) & (events.position > 0)
    segment = np.cumsum(changed | (events.position == 0)) - 1
    starts = np.flatnonzero(changed | (events.position == 0))
    first = events.position[starts] == 0
    n_segments = len(starts)
    opening = _from_pool(dist.POOLS["first_assignment_group"], n_segments, rng)
    later = _from_pool(dist.POOLS["assignment_group"], n_segments, rng)
    groups = np.where(first, opening, later)
    groups = _blank(groups, rng.random(n_segments) < dist.MISSING_SHARES["assignment_group"])
    return groups[segment], changed


def _assignees(events: _Events, reassigned: np.ndarray, rng: Rng) -> np.ndarray:
    """assigned_to: one resolver per group segment, ``?`` more often early in an incident."""
    segment = np.cumsum(reassigned | (events.position == 0)) - 1
    resolvers = _from_pool(dist.POOLS["assigned_to"], int(segment.max()) + 1, rng)[segment]
    unassigned = np.array(
        [dist.UNASSIGNED_BY_STATE.get(s, dist.UNASSIGNED_OTHERWISE) for s in _STATES]
    )[events.state]
    return _blank(resolvers, rng.random(len(events.owner)) < unassigned)


def _reopens(events: _Events) -> np.ndarray:
    """True on the events that reopen an incident: a new run of Active after Resolved or Closed,
    or of Awaiting User Info after Resolved."""
    previous = np.r_[-1, events.state[:-1]]
    after_resolved = previous == _STATE_INDEX["Resolved"]
    after_closed = previous == _STATE_INDEX["Closed"]
    reopen = (events.is_state("Active") & (after_resolved | after_closed)) | (
        events.is_state("Awaiting User Info") & after_resolved
    )
    result: np.ndarray = reopen & events.run_start & (events.position > 0)
    return result


def _confirmations(events: _Events, rng: Rng) -> np.ndarray:
    n = len(events.count)
    confirmed = rng.random(n) < dist.CONFIRMED
    tail = rng.geometric(1 / dist.CONFIRMED_EVENTS_MEAN, size=n)
    since = np.maximum(1, events.count - tail)
    result: np.ndarray = confirmed[events.owner] & (events.position >= since[events.owner])
    return result


def _update_minutes(events: _Events, incidents: Mapping[str, np.ndarray], rng: Rng) -> Int:
    """sys_updated_at in minutes: the first event at the first update, events before the final
    resolution at sorted random times up to it, the final Resolved run at resolved_at and the
    final Closed run at closed_at."""
    owner = events.owner
    resolving = events.is_state("Resolved") & events.run_start
    last_resolution = np.full(len(events.count), -1)
    np.maximum.at(last_resolution, owner[resolving], events.position[resolving])
    never = np.iinfo(np.int64).max
    resolved_from = np.where(last_resolution >= 0, last_resolution, never)
    uniform = rng.random(len(owner))
    fraction = uniform[np.lexsort((uniform, owner))]  # ascending within each incident
    fraction = np.where(events.position == 0, 0.0, fraction)
    fraction = np.where(events.position >= resolved_from[owner], 1.0, fraction)
    first, resolved = incidents["_first"][owner], incidents["_resolved"][owner]
    minutes = first + np.floor(fraction * (resolved - first)).astype(np.int64)
    final_close = events.is_state("Closed") & events.final_run
    result: Int = np.where(final_close, incidents["_closed"][owner], minutes)
    return result
