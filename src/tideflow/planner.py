"""The planner: which runs to create, launch and skip, as a pure function of time and history.

The service ticks. Each tick the daemon reads, for every deployment, what the store knows
(a :class:`History`), calls :func:`plan` with the current time, and applies the actions in the
order given:

* :class:`Create` inserts a run in state ``Scheduled`` for one fire time (a *slot*). The store
  keeps one run per (deployment, scheduled time), so a repeated ``Create`` is harmless. When the
  slot is already taken by a backfilled or triggered run at that very time, the daemon should
  count that run in ``History.last_fire`` from then on; otherwise the planner asks for the slot
  again each tick until a newer slot is created.
* :class:`Launch` claims a waiting run (``Scheduled -> Pending``, atomically: when another
  service instance claimed it first, there is nothing to do) and starts it.
* :class:`Skip` claims a waiting run and finishes it (``Skipped``/``Cancelled``) with a reason.

A run created by this tick has no id yet, so it is launched by the *next* plan: after applying
creates, the daemon plans again at once with fresh history; that plan creates nothing (planning is
idempotent) and launches or skips the new runs. Then it sleeps until
``min(next_wakeup(...), now + tick)``.

The planner reads no clock, store or file: same inputs, same actions. Every datetime given to it
must be timezone-aware; times are compared as instants (UTC), never as wall-clock times, so the
two 02:30s of a night when clocks go back stay distinct. Actions carry UTC datetimes.

Creating slots
--------------
A deployment with a schedule (and not paused) has slots at the schedule's fire times ``t`` with
``lower < t <= now``, where ``lower`` is the latest of ``history.last_fire``, just before
``history.registered_at`` (no slot before a deployment existed) and just before
``history.resumed_at`` (no slot from a pause, see below). A fire time is *missed* when
``now - t > misfire_grace``: the service first saw it too late (it was down, or stuck). The
catch-up policy picks which slots are created:

* ``all``: every slot, missed or not;
* ``latest``: every slot that is not missed, plus the most recent missed one (if any): one run
  stands in for the time the service was away;
* ``none``: only the slots that are not missed.

Missed slots that are not created are never recorded: no run, no trace in the store. Being
missed only gets truer as ``now`` grows, so a slot left out once is left out at every later tick,
and leaving it unrecorded loses nothing.

*Why there is no "advance" action.* When every slot is missed under ``none``, nothing is created
and ``last_fire`` stays where it was, so the next tick sees the same old window again. That is
fine because the planner never walks the missed part of the window: under ``none`` it only
enumerates ``(max(lower, now - misfire_grace), now]``, and under ``latest`` it finds the most
recent missed slot by searching backwards from ``now - misfire_grace`` in doubling windows
(logarithmic in the gap). A window of missed slots costs each tick the same small amount however
long the outage was. So ``History`` needs no planner bookkeeping: the planner only reads durable
facts (when the deployment was registered or resumed, which runs exist), and there is no second
write that would have to be atomic with the creates.

At most :data:`SLOT_LIMIT` (10,000) slots are created per deployment per plan, the oldest first;
the rest follow on the next ticks, as ``last_fire`` moves forward. This bounds a tick after a
long outage of a deployment with ``catchup = "all"`` and a one-second schedule.

If the clock steps back (``now`` before ``last_fire``), nothing is created until it has passed
``last_fire`` again: no slot is created twice.

Several runs at one instant
---------------------------
A slot carries the ``parameter_defaults`` of the clock event it comes from, and the run created
for it gets them (over the deployment's own ``parameters``, as the clock wins in Prefect 1).
When clocks fire at the same instant ``T`` with different parameter defaults (or labels), the
schedule gives one event per parameter set, and each needs its own run. The store keeps one run
per (deployment, scheduled time), which is what makes creating a slot exactly-once, so the
``k``-th distinct event at ``T`` (in the order of the schedule's clocks, from 0) gets the slot
``T + k`` microseconds: the first run is at ``T`` exactly, a second one microsecond later, and
so on. The offsets depend only on the schedule, so they are the same after a restart and a
repeated ``Create`` still finds its slot taken; the run's ``scheduled_start_time`` (in the
store, the CLI and the flow's context) is its slot's time. A schedule whose own fire times are
closer together than its number of clocks in microseconds would have its slots collide; no
real schedule is.

Paused deployments
------------------
A paused deployment gets no creates, launches or skips: its waiting runs stay waiting, and it adds
nothing to :func:`next_wakeup`. On resume, the store should set ``History.resumed_at``: fire times
during the pause are then never created (a pause means "do not run", not "run later"). Without
``resumed_at`` they count as missed, and the catch-up policy applies to them.

Launching waiting runs
----------------------
Waiting runs (``Scheduled`` slots, triggers and backfills, and ``Retrying`` runs) whose time has
come are *due*: a slot at its scheduled time, a retry at its ``not_before`` time; runs due in the
future are neither launched nor skipped before their time. A deployment's *capacity*
(``max_active``; 1 by default, no limit with ``overlap = "allow"``) bounds how many of its runs
may be *active* (claimed and not finished) at once. Due runs are launched oldest first while
there is room. What happens to a due run when there is none is the overlap policy's:

* ``queue`` (and ``allow`` with no limit): it waits, and launches as soon as a run ends;
* ``skip``: a run created by the schedule is skipped, naming the run that is going (or that was
  launched instead); a run someone asked for (a trigger, a backfill) or a retry is never
  skipped: it waits its turn, as under ``queue``. Nor is a run held up only by runs of its own
  fire instant (another parameter set, see "Several runs at one instant"): the clocks asked for
  all of them, so it waits its turn too.

A deployment whose runs cannot be launched right now (``unready``: a persistent deployment whose
process is restarting) gets no launches and no skips: its due runs wait, and are judged when it
is ready, so no run is skipped in favour of a run that did not start.

A deployment without a schedule creates nothing; its triggered and backfilled runs launch by its
capacity. The planner does not look at ``kind``: for a persistent deployment, the launcher hands a
launched run to the deployment's long-lived process.

Order
-----
Deployments are planned in name order. For each: its creates, oldest first, then its launches and
skips in the order of the waiting runs (scheduled time, then run id).

>>> from tideflow.deployments import Deployment, Entrypoint
>>> from tideflow.schedules import IntervalSchedule
>>> every_minute = Deployment(name="etl", entrypoint=Entrypoint("flow", "etl.py:flow"),
...     schedule=IntervalSchedule(interval=timedelta(minutes=1)))
>>> at = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
>>> plan(at, [every_minute], {"etl": History(registered_at=at - timedelta(seconds=45))})
[Create(deployment='etl', scheduled_time=datetime.datetime(2026, 3, 1, 12, 0, tzinfo=...),
        parameters={})]
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise, takewhile
from typing import Any, NamedTuple

from tideflow import lifecycle
from tideflow.deployments import Deployment
from tideflow.errors import PlannerError
from tideflow.schedules import ClockEvent, Schedule
from tideflow.schedules.zones import plain, to_zone

__all__ = [
    "BACKFILL_LIMIT",
    "SLOT_LIMIT",
    "Action",
    "Create",
    "History",
    "Launch",
    "RunRef",
    "Skip",
    "Survey",
    "backfill_slots",
    "backfill_times",
    "next_wakeup",
    "plan",
    "survey",
]

SLOT_LIMIT = 10_000
"""Slots created per deployment per plan at most; the rest follow on the next ticks."""

BACKFILL_LIMIT = 10_000
"""Fire times one backfill may cover at most."""

_STATE_NAMES = lifecycle.STATES
_TINY = timedelta(microseconds=1)  # datetime's resolution: "just before" an instant
_FIRST_SPAN = timedelta(minutes=1)  # the first window of the backwards search for a missed slot


def _utc(value: object, what: str) -> datetime:
    """``value`` as an aware UTC datetime; naive datetimes are refused (their zone is a guess)."""
    if not isinstance(value, datetime):
        raise PlannerError(f"{what}: expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise PlannerError(
            f"{what}: {value.isoformat()} is naive; the planner needs timezone-aware datetimes, "
            "e.g. datetime.now(UTC)"
        )
    return plain(value).astimezone(UTC)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


# -- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRef:
    """One recorded run of a deployment: its id, its slot's time (UTC), its state's name, what
    created it (``schedule``, ``trigger``, ``backfill``) and, for a retry, when it is due."""

    id: str
    scheduled_time: datetime
    state: str
    origin: str = "schedule"
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheduled_time", _utc(self.scheduled_time, f"run {self.id}"))
        if self.not_before is not None:
            object.__setattr__(self, "not_before", _utc(self.not_before, f"run {self.id}"))
        if self.state not in _STATE_NAMES:
            known = ", ".join(sorted(_STATE_NAMES))
            raise PlannerError(f"run {self.id}: unknown state {self.state!r}; known: {known}")

    @property
    def due_time(self) -> datetime:
        """When it may be launched: its scheduled time, or later for a retry."""
        if self.not_before is not None and self.not_before > self.scheduled_time:
            return self.not_before
        return self.scheduled_time

    @property
    def skippable(self) -> bool:
        """Whether overlap policy ``skip`` may skip it: only a slot the schedule created."""
        return self.origin == "schedule" and self.state == "Scheduled"


def _in_order(runs: Iterable[RunRef]) -> tuple[RunRef, ...]:
    return tuple(sorted(runs, key=lambda run: (run.scheduled_time, run.id)))


@dataclass(frozen=True)
class History:
    """What the store knows about one deployment.

    Attributes:
        registered_at: when the deployment was first registered; no slot before it is created.
        last_fire: the latest scheduled time among the runs created from the schedule (not
            triggers or backfills), or ``None`` before the first.
        waiting: runs waiting to be launched (``Scheduled`` or ``Retrying``), whatever created
            them.
        active: runs launched and not finished (``Claimed``, ``Running``, ``Cancelling``).
        resumed_at: when the deployment was last resumed from a pause, if ever; no slot before
            it is created (see "Paused deployments" in the module docstring).

    ``waiting`` and ``active`` are kept oldest first (scheduled time, then id), whatever order
    they are given in.
    """

    registered_at: datetime
    last_fire: datetime | None = None
    waiting: tuple[RunRef, ...] = ()
    active: tuple[RunRef, ...] = ()
    resumed_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "registered_at", _utc(self.registered_at, "registered_at"))
        for name in ("last_fire", "resumed_at"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else _utc(value, name))
        object.__setattr__(self, "waiting", _in_order(self.waiting))
        object.__setattr__(self, "active", _in_order(self.active))

    @property
    def lower_bound(self) -> datetime:
        """Slots are created strictly after this instant (see "Creating slots")."""
        bounds = [self.registered_at - _TINY]
        bounds += [self.last_fire] if self.last_fire is not None else []
        bounds += [self.resumed_at - _TINY] if self.resumed_at is not None else []
        return max(bounds)


# -- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    """Insert a run in state ``Scheduled`` for this slot (UTC), with the parameters of the clock
    event it comes from (over the deployment's own)."""

    deployment: str
    scheduled_time: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Launch:
    """Claim this waiting run (``Scheduled -> Pending``, atomically) and start it."""

    deployment: str
    run_id: str


@dataclass(frozen=True)
class Skip:
    """Finish this waiting run without running it (``Skipped``/``Cancelled``), with a reason."""

    deployment: str
    run_id: str
    reason: str


Action = Create | Launch | Skip


# -- planning ------------------------------------------------------------------------------------


def plan(
    now: datetime,
    deployments: Sequence[Deployment],
    history: Mapping[str, History],
    unready: Collection[str] = (),
) -> list[Action]:
    """The actions for this tick, in the documented order (see the module docstring).

    Args:
        now: the current time (aware).
        deployments: the deployments to plan; names must be unique.
        history: each deployment's :class:`History`, by name (entries for other names are
            ignored: a deployment that was removed keeps its runs, untouched).
        unready: deployments whose runs cannot be launched now: their due runs wait.

    Raises:
        PlannerError: for a naive ``now``, a duplicate name or a deployment without history.
    """
    moment = _utc(now, "now")
    actions: list[Action] = []
    for deployment, past in _with_history(deployments, history):
        if deployment.paused:
            continue
        slots = _slots_to_create(deployment, past, moment)
        actions += [
            Create(deployment.name, slot.time, dict(slot.event.parameter_defaults))
            for slot in slots
        ]
        if deployment.name not in unready:
            actions += _dispatch(deployment, past, moment)
    return actions


@dataclass(frozen=True)
class Survey:
    """What one pass over every deployment found (see :func:`survey`)."""

    due: list[Deployment]
    wakeup: datetime | None


def survey(
    now: datetime, deployments: Sequence[Deployment], history: Mapping[str, History]
) -> Survey:
    """Which deployments :func:`plan` would do something for at ``now`` (a slot to create or a
    waiting run due), and :func:`next_wakeup`, in one pass.

    ``plan(now, survey(...).due, history)`` gives the same actions as planning every deployment,
    since each deployment is planned on its own; with thousands of deployments of which a few
    are due, it is the difference between a tick that looks at each and one that plans each.
    """
    moment = _utc(now, "now")
    due: list[Deployment] = []
    times: list[datetime] = []
    for deployment, past in _with_history(deployments, history):
        if deployment.paused:
            continue
        waiting = [run.due_time for run in past.waiting]
        busy = any(moment >= when for when in waiting)
        times += [when for when in waiting if when > moment]
        if deployment.schedule is not None:
            lower = past.lower_bound
            reach = _reach(deployment.schedule)
            first = _next_fire(deployment.schedule, lower) if lower < moment + reach else None
            busy = busy or (first is not None and first.fire <= moment)
            upcoming = _next_fire(deployment.schedule, max(moment, lower))
            times += [upcoming.time] if upcoming is not None else []
        if busy:
            due.append(deployment)
    return Survey(due, min(times, default=None))


def next_wakeup(
    now: datetime, deployments: Sequence[Deployment], history: Mapping[str, History]
) -> datetime | None:
    """The earliest time after ``now`` at which a plan could do something new (UTC), or ``None``.

    That is the earliest of the next fire time of each unpaused deployment's schedule and the
    due times of its waiting runs that lie in the future. The daemon sleeps until
    ``min(next_wakeup(...), now + tick)``: the tick catches what history alone cannot foresee
    (a run finishing, a trigger arriving).
    """
    moment = _utc(now, "now")
    times: list[datetime] = []
    for deployment, past in _with_history(deployments, history):
        if deployment.paused:
            continue
        times += [run.due_time for run in past.waiting if run.due_time > moment]
        if deployment.schedule is not None:
            upcoming = _next_fire(deployment.schedule, max(moment, past.lower_bound))
            times += [upcoming.time] if upcoming is not None else []
    return min(times, default=None)


class Slot(NamedTuple):
    """One run the schedule asks for: its slot time (UTC, see "Several runs at one instant")
    and the clock event it comes from."""

    time: datetime
    event: ClockEvent

    @property
    def fire(self) -> datetime:
        """The instant the clocks fire (UTC); a slot is due, and in a window, by this."""
        return self.event.start_time.astimezone(UTC)


def backfill_times(deployment: Deployment, start: datetime, end: datetime) -> list[datetime]:
    """The times of :func:`backfill_slots`."""
    return [slot.time for slot in backfill_slots(deployment, start, end)]


def backfill_slots(deployment: Deployment, start: datetime, end: datetime) -> list[Slot]:
    """Every slot of ``deployment``'s schedule in ``[start, end]``, in UTC, oldest first.

    For ``tideflow backfill``: the caller creates one waiting run per time (the store's one run
    per slot leaves times that already have a run alone); they launch by the overlap policy.
    Naive ``start``/``end`` are wall-clock times in the schedule's zone. Backfills ignore
    ``registered_at``, pausing and the catch-up policy: filling the past is their point.

    Raises:
        PlannerError: when the deployment has no schedule, ``end`` is before ``start``, or the
            window holds more than :data:`BACKFILL_LIMIT` fire times.
    """
    schedule = deployment.schedule
    if schedule is None:
        raise PlannerError(
            f"deployment {deployment.name!r} has no schedule, so it has no fire times to "
            "backfill; trigger runs instead"
        )
    first = _utc(to_zone(start, schedule.tz), "start")
    last = _utc(to_zone(end, schedule.tz), "end")
    if last < first:
        raise PlannerError(
            f"deployment {deployment.name!r}: the backfill window ends ({_when(last)}) before it "
            f"starts ({_when(first)})"
        )
    within = takewhile(lambda s: s.fire <= last, _slots(schedule, first - _TINY))
    slots = list(islice(within, BACKFILL_LIMIT + 1))
    if len(slots) > BACKFILL_LIMIT:
        raise PlannerError(
            f"deployment {deployment.name!r}: the backfill window {_when(first)} to "
            f"{_when(last)} holds more than {BACKFILL_LIMIT:,} fire times; backfill it in "
            f"shorter windows (the first {BACKFILL_LIMIT:,} end at {_when(slots[-2].time)})"
        )
    return slots


def _with_history(
    deployments: Sequence[Deployment], history: Mapping[str, History]
) -> Iterator[tuple[Deployment, History]]:
    """The deployments in name order, each with its history."""
    ordered = sorted(deployments, key=lambda deployment: deployment.name)
    for before, after in pairwise(ordered):
        if before.name == after.name:
            raise PlannerError(f"deployment {before.name!r} is given twice; names are unique")
    for deployment in ordered:
        past = history.get(deployment.name)
        if past is None:
            raise PlannerError(
                f"deployment {deployment.name!r} has no history; register it first, so the "
                "planner knows from when to create its slots"
            )
        yield deployment, past


# -- slots ---------------------------------------------------------------------------------------


def _reach(schedule: Schedule) -> timedelta:
    """How far a slot can lie after its instant: (clocks - 1) microseconds."""
    return _TINY * max(len(schedule.clocks) - 1, 0)


def _slots(schedule: Schedule, after: datetime) -> Iterator[Slot]:
    """The schedule's slots strictly after ``after``, lazily: the ``k``-th distinct event at an
    instant ``T`` has the slot ``T + k`` microseconds (see "Several runs at one instant")."""
    try:
        start = after - _reach(schedule)
    except OverflowError:
        start = after
    current, k = None, 0
    for event in schedule.events(start):
        moment = event.start_time.astimezone(UTC)
        current, k = moment, (k + 1 if moment == current else 0)
        slot = moment + k * _TINY
        if slot > after:
            yield Slot(slot, event)


# id(schedule) -> (a weak reference to it, the instant asked for, the answer). By identity:
# schedules need not be hashable, and a deployment that did not change keeps its schedule object.
_next_known: dict[int, tuple[weakref.ref[Schedule], datetime, Slot | None]] = {}


def _next_fire(schedule: Schedule, after: datetime) -> Slot | None:
    """The schedule's first slot strictly after ``after`` (UTC), or None.

    Every tick asks this of every deployment, with an ``after`` that creeps forward; the answer
    only changes once ``after`` reaches it. So the last answer is kept per schedule, with the
    instant it was asked for: it is the answer for any ``after`` from that instant up to (not
    including) the answer itself. Memoisation only: the planner stays a function of its inputs.
    """
    key = id(schedule)
    known = _next_known.get(key)
    if known is not None and known[0]() is schedule:
        _, asked, answer = known
        if asked <= after and (answer is None or after < answer.time):
            return answer
    answer = next(_slots(schedule, after), None)
    forget = weakref.ref(schedule, lambda _: _next_known.pop(key, None))
    _next_known[key] = (forget, after, answer)
    return answer


def _between(schedule: Schedule, after: datetime, until: datetime) -> list[Slot]:
    """Slots after ``after`` whose instant is at most ``until``, at most :data:`SLOT_LIMIT`,
    oldest first."""
    within = takewhile(lambda s: s.fire <= until, _slots(schedule, after))
    return list(islice(within, SLOT_LIMIT))


def _slots_to_create(deployment: Deployment, past: History, now: datetime) -> list[Slot]:
    """The slots to create now, by the catch-up policy (see "Creating slots")."""
    schedule, lower = deployment.schedule, past.lower_bound
    if schedule is None or lower >= now + _reach(schedule):
        return []
    # The common case, every tick, for every deployment: nothing is due yet. One look at the
    # next fire time settles it, before any search for missed ones.
    first = _next_fire(schedule, lower)
    if first is None or first.fire > now:
        return []
    if deployment.catchup == "all":
        return _between(schedule, lower, now)
    cutoff = now - deployment.misfire_grace  # fire times before this are missed
    fresh = _between(schedule, max(lower, cutoff - _TINY), now)
    if deployment.catchup == "none" or first.fire >= cutoff:  # nothing was missed
        return fresh
    missed = _latest_before(schedule, lower, cutoff)
    if missed is None:
        return fresh
    # The latest missed instant stands in for the outage: one run per parameter set at it.
    fired = missed.fire
    group = [s for s in _between(schedule, max(lower, fired - _TINY), fired) if s.fire == fired]
    return group + fresh[: SLOT_LIMIT - len(group)]


def _latest_before(schedule: Schedule, lower: datetime, before: datetime) -> Slot | None:
    """The latest slot in ``(lower, before)``, searched backwards in doubling windows.

    Walking forwards from ``lower`` would cost one step per fire time of the whole outage (a
    week of a one-second schedule: 604,800); going back from ``before`` in windows of 1, 2, 4,
    ... minutes finds the answer in a logarithmic number of short scans.
    """
    upper, span = before, _FIRST_SPAN
    while True:
        start = lower if upper - lower <= span else upper - span
        last = None
        for slot in takewhile(lambda s: s.fire < upper, _slots(schedule, start)):  # noqa: B023
            last = slot
        if last is not None or start == lower:
            return last
        upper, span = start + _TINY, span * 2  # the next window ends at `start`, inclusive


# -- launching -----------------------------------------------------------------------------------


def _dispatch(deployment: Deployment, past: History, now: datetime) -> list[Action]:
    """Launches and skips of the due waiting runs, by capacity and overlap policy."""
    name = deployment.name
    due = sorted(
        (run for run in past.waiting if run.due_time <= now),
        key=lambda run: (run.due_time, run.scheduled_time, run.id),
    )
    capacity = deployment.capacity
    room = len(due) if capacity is None else max(0, capacity - len(past.active))
    actions: list[Action] = []
    launched: list[RunRef] = []
    for run in due:
        if room > 0:
            actions.append(Launch(name, run.id))
            launched.append(run)
            room -= 1
        elif deployment.overlap == "skip" and run.skippable:
            blockers = [*past.active, *launched]
            if not all(_same_instant(deployment, run, other) for other in blockers):
                actions.append(Skip(name, run.id, _busy_reason(past.active, launched, capacity)))
    return actions


def _same_instant(deployment: Deployment, run: RunRef, other: RunRef) -> bool:
    """Whether two runs are slots of one fire instant: both from the schedule, less than its
    number of clocks microseconds apart (slots of different instants never are)."""
    if deployment.schedule is None or run.origin != "schedule" or other.origin != "schedule":
        return False
    spread = _TINY * (len(deployment.schedule.clocks) - 1)
    return abs(run.scheduled_time - other.scheduled_time) <= spread


def _busy_reason(active: Sequence[RunRef], launched: Sequence[RunRef], capacity: int | None) -> str:
    if not active:
        first = launched[0]
        many = "only one run goes" if capacity == 1 else f"only {capacity} runs go"
        return (
            f"overlap policy 'skip': run {first.id} (scheduled {_when(first.scheduled_time)}) "
            f"was launched instead, and {many} at a time"
        )
    oldest = active[0]
    more = f" (and {len(active) - 1} more active)" if len(active) > 1 else ""
    return (
        f"overlap policy 'skip': run {oldest.id} (scheduled {_when(oldest.scheduled_time)}) "
        f"is still {oldest.state}{more}"
    )
