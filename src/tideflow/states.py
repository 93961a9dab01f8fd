"""Task and flow run states: a class hierarchy plus an explicit table of allowed transitions.

The hierarchy carries the meaning, as in Prefect 1, so every predicate is an ``isinstance`` check::

    State
    ├── Pending ─┬─ Scheduled ─┬─ Retrying        (waiting for a retry; still pending)
    │            │             ├─ Paused          (waiting for manual approval)
    │            │             └─ Resume          (approved: runs next, its trigger passed)
    │            ├─ Queued                        (ready; waiting for a concurrency slot)
    │            └─ Claimed                       (flow runs only: a process was named)
    ├── Running ─── Cancelling                    (flow runs only: being stopped)
    └── Finished
        ├── Success ─┬─ Cached | Mapped | Skipped (all count as successes)
        ├── Failed ──┬─ TimedOut | TriggerFailed | Crashed (all count as failures)
        ├── Looped                                (one iteration of a LOOP; runs again)
        └── Cancelled

``TRANSITIONS`` lists, for each state class, the classes a task run may move to next (flow runs
recorded in a store follow :mod:`tideflow.lifecycle`). The engine
checks every change against it (:func:`check_transition`), so an impossible history such as
``Success -> Running`` is a loud engine bug rather than a silent corruption of the run record.

A state holds a ``message``, a ``result`` (the task's value, the exception, or for a flow run a
``{task: State}`` mapping), the time it was entered (``timestamp``, UTC) and a free ``context``
dict. Two states are equal when they have the same type and the same result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from tideflow.errors import InvalidTransition

__all__ = [
    "TRANSITIONS",
    "Cached",
    "Cancelled",
    "Cancelling",
    "Claimed",
    "Crashed",
    "Failed",
    "Finished",
    "Looped",
    "Mapped",
    "Paused",
    "Pending",
    "Queued",
    "Resume",
    "Retrying",
    "Running",
    "Scheduled",
    "Skipped",
    "State",
    "Success",
    "TimedOut",
    "TriggerFailed",
    "check_transition",
    "state_from_name",
]


class State:
    """Base class of every state; use a subclass."""

    color: ClassVar[str] = "#999999"
    __slots__ = ("context", "message", "result", "timestamp")

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        *,
        timestamp: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.result = result
        self.timestamp = timestamp if timestamp is not None else datetime.now(UTC)
        self.context: dict[str, Any] = context if context is not None else {}

    @property
    def name(self) -> str:
        """The state's class name, e.g. ``"TriggerFailed"``."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}: {self.message!r}>" if self.message else f"<{self.name}>"

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented if not isinstance(other, State) else False
        assert isinstance(other, State)
        if self.result is other.result:
            return True
        try:
            return bool(self.result == other.result)
        except Exception:  # results without a boolean equality (arrays, frames)
            return False

    __hash__ = None  # type: ignore[assignment]

    # -- predicates (Prefect 1 vocabulary) -------------------------------------------------

    def is_pending(self) -> bool:
        """Not started yet: Pending, Scheduled, Retrying and Paused."""
        return isinstance(self, Pending)

    def is_scheduled(self) -> bool:
        return isinstance(self, Scheduled)

    def is_retrying(self) -> bool:
        return isinstance(self, Retrying)

    def is_paused(self) -> bool:
        return isinstance(self, Paused)

    def is_resume(self) -> bool:
        return isinstance(self, Resume)

    def is_looped(self) -> bool:
        return isinstance(self, Looped)

    def is_running(self) -> bool:
        return isinstance(self, Running)

    def is_finished(self) -> bool:
        """Done for good: every Success, Failed and Cancelled state."""
        return isinstance(self, Finished)

    def is_successful(self) -> bool:
        """Success, including Cached, Mapped and Skipped."""
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        """Failed, including TimedOut, TriggerFailed and Crashed."""
        return isinstance(self, Failed)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_cached(self) -> bool:
        return isinstance(self, Cached)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_timed_out(self) -> bool:
        return isinstance(self, TimedOut)

    def is_cancelled(self) -> bool:
        return isinstance(self, Cancelled)

    def is_crashed(self) -> bool:
        return isinstance(self, Crashed)

    def is_queued(self) -> bool:
        return isinstance(self, Queued)


class Pending(State):
    """Not started: waiting for upstream tasks."""

    color = "#d3e4f5"
    __slots__ = ()


class Scheduled(Pending):
    """Waiting for ``start_time``."""

    color = "#ffab00"
    __slots__ = ("start_time",)

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        *,
        start_time: datetime | None = None,
        timestamp: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, timestamp=timestamp, context=context)
        self.start_time = start_time


class Retrying(Scheduled):
    """Failed; runs again at ``start_time`` as attempt number ``run_count``."""

    color = "#ffa500"
    __slots__ = ("run_count",)

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        *,
        start_time: datetime | None = None,
        run_count: int = 1,
        timestamp: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, result, start_time=start_time, timestamp=timestamp, context=context
        )
        self.run_count = run_count


class Paused(Scheduled):
    """Waiting for manual approval (the ``manual_only`` trigger)."""

    color = "#800000"
    __slots__ = ()


class Queued(Pending):
    """Ready to run, waiting for a free slot of a concurrency limit on one of its tags."""

    color = "#fff9ae"
    __slots__ = ()


class Resume(Scheduled):
    """Approved after a pause: the task runs next, with ``resume`` true in its context, so the
    ``manual_only`` trigger passes and ``PAUSE`` raised on ``context.get("resume")`` is not."""

    color = "#ffab00"
    __slots__ = ()


class Claimed(Pending):
    """A flow run a service chose to start, naming the process that will run it (flow runs
    only: see :mod:`tideflow.lifecycle`)."""

    color = "#9bc3e6"
    __slots__ = ()


class Running(State):
    color = "#00ff00"
    __slots__ = ()


class Cancelling(Running):
    """A flow run asked to stop, whose process is being stopped (flow runs only)."""

    color = "#d9c27a"
    __slots__ = ()


class Finished(State):
    """Base class of final states."""

    color = "#babab9"
    __slots__ = ()


class Success(Finished):
    color = "#28a745"
    __slots__ = ()


class Cached(Success):
    """A success kept in the cache (``cache_for``) or taken from it, or from a ``target``,
    instead of running the task. ``cached_inputs``, ``cached_parameters`` and
    ``cached_result_expiration`` are what cache validators compare against."""

    color = "#ffa500"
    __slots__ = ("cached_inputs", "cached_parameters", "cached_result_expiration")

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        *,
        cached_inputs: dict[str, Any] | None = None,
        cached_parameters: dict[str, Any] | None = None,
        cached_result_expiration: datetime | None = None,
        timestamp: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, timestamp=timestamp, context=context)
        self.cached_inputs = cached_inputs
        self.cached_parameters = cached_parameters
        self.cached_result_expiration = cached_result_expiration


class Mapped(Success):
    """A mapped task's parent: ``map_states`` holds each child's final state."""

    color = "#97fffc"
    __slots__ = ("map_states",)

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        *,
        map_states: list[State] | None = None,
        timestamp: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, timestamp=timestamp, context=context)
        self.map_states: list[State] = map_states if map_states is not None else []


class Skipped(Success):
    """Not run on purpose (a SKIP signal or a skipped upstream); counts as a success."""

    color = "#62757f"
    __slots__ = ()


class Failed(Finished):
    color = "#eb0000"
    __slots__ = ()


class TimedOut(Failed):
    """Ran longer than the task's ``timeout``."""

    color = "#ff7f50"
    __slots__ = ()


class TriggerFailed(Failed):
    """The task's trigger did not pass, so it never ran (e.g. an upstream task failed)."""

    color = "#c42800"
    __slots__ = ()


class Crashed(Failed):
    """The process running it died; found by the scheduler service, never set by a task."""

    color = "#8b0000"
    __slots__ = ()


class Looped(Finished):
    """One iteration of a task that raised ``LOOP``: the task runs again at once, with
    ``task_loop_result`` (this state's result) and ``task_loop_count`` in its context. Never a
    task's last state: the last iteration's state is."""

    color = "#ffcc00"
    __slots__ = ("loop_count",)

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        *,
        loop_count: int = 1,
        timestamp: datetime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, timestamp=timestamp, context=context)
        self.loop_count = loop_count


class Cancelled(Finished):
    """Stopped on request (Ctrl-C, SIGTERM, a cancelled deployment run)."""

    color = "#bdc3c7"
    __slots__ = ()


# Where each state may go next. Finished states are final. Pending may jump straight to a final
# state because triggers and skips are decided before a task runs.
_FINAL_FROM_PENDING: frozenset[type[State]] = frozenset(
    {Skipped, TriggerFailed, Cached, Cancelled, Failed, Mapped, Success, Crashed}
)
TRANSITIONS: dict[type[State], frozenset[type[State]]] = {
    Pending: frozenset({Scheduled, Running, Paused, Queued}) | _FINAL_FROM_PENDING,
    Scheduled: frozenset({Running, Pending, Paused, Queued}) | _FINAL_FROM_PENDING,
    Queued: frozenset({Running, Pending}) | _FINAL_FROM_PENDING,
    Retrying: frozenset({Running, Cancelled, Skipped, TriggerFailed, Queued}),
    Paused: frozenset({Running, Pending, Resume, Cancelled}) | _FINAL_FROM_PENDING,
    Resume: frozenset({Running, Queued}) | _FINAL_FROM_PENDING,
    Running: frozenset(
        {
            Success,
            Cached,
            Mapped,
            Skipped,
            Failed,
            TimedOut,
            TriggerFailed,
            Retrying,
            Paused,
            Looped,
            Cancelled,
            Crashed,
        }
    ),
    Looped: frozenset({Running}),
    Success: frozenset(),
    Cached: frozenset(),
    Mapped: frozenset(),
    Skipped: frozenset(),
    Failed: frozenset(),
    TimedOut: frozenset(),
    TriggerFailed: frozenset(),
    Crashed: frozenset(),
    Cancelled: frozenset(),
}


def check_transition(old: State, new: State) -> None:
    """Raise :class:`InvalidTransition` unless ``old -> new`` is in :data:`TRANSITIONS`."""
    allowed = TRANSITIONS.get(type(old))
    if allowed is None or type(new) not in allowed:
        raise InvalidTransition(
            f"a run cannot move from {old.name} to {new.name}; "
            f"allowed from {old.name}: {sorted(c.__name__ for c in allowed or ())}"
        )


_BY_NAME: dict[str, type[State]] = {
    cls.__name__: cls for cls in [*TRANSITIONS, Claimed, Cancelling]
}


def state_from_name(name: str) -> type[State]:
    """The state class called ``name`` (as stored by run stores), e.g. ``"Failed"``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown state name {name!r}; known: {sorted(_BY_NAME)}") from None
