"""Triggers: whether a task should run, decided from its upstream tasks' final states.

A trigger is ``fn(upstream_states) -> bool`` where ``upstream_states`` maps each upstream edge to
that task's final state (a mapped upstream contributes one state per child). A trigger that does
not pass raises ``TRIGGERFAIL`` with a message saying why (returning ``False`` has the same effect
with a generic message); the task then ends ``TriggerFailed``. Skipped upstream tasks count as
successes; whether a skip propagates is the task's ``skip_on_upstream_skip`` option, checked
before the trigger.

========================  ================================================================
``all_successful``        every upstream succeeded (the default)
``all_failed``            every upstream failed
``any_successful``        at least one upstream succeeded
``any_failed``            at least one upstream failed
``all_finished``          every upstream finished, whatever the outcome (``always_run``)
``not_all_skipped``       at least one upstream did something other than skip (else Skipped)
``some_successful(a, b)`` between ``a`` and ``b`` upstreams succeeded (floats < 1 are fractions)
``some_failed(a, b)``     the same, counting failures
``manual_only``           never runs on its own: the task is ``Paused`` until resumed
========================  ================================================================

A task with no upstream tasks always passes its trigger, except ``manual_only``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tideflow.context import context
from tideflow.signals import PAUSE, SKIP, TRIGGERFAIL
from tideflow.states import State

Trigger = Callable[[Mapping[Any, State]], bool]

__all__ = [
    "all_failed",
    "all_finished",
    "all_successful",
    "always_run",
    "any_failed",
    "any_successful",
    "manual_only",
    "not_all_skipped",
    "some_failed",
    "some_successful",
]


def _states(upstream_states: Mapping[Any, State]) -> list[State]:
    """Upstream states with mapped parents expanded into their children."""
    out: list[State] = []
    for state in upstream_states.values():
        children = getattr(state, "map_states", None)
        if children:
            out.extend(children)
        else:
            out.append(state)
    return out


def all_successful(upstream_states: Mapping[Any, State]) -> bool:
    """Run when every upstream task succeeded (Skipped, Cached and Mapped count)."""
    bad = [s for s in _states(upstream_states) if not s.is_successful()]
    if bad:
        raise TRIGGERFAIL(f"trigger all_successful: {len(bad)} upstream task(s) did not succeed")
    return True


def all_failed(upstream_states: Mapping[Any, State]) -> bool:
    """Run when every upstream task failed."""
    if not all(s.is_failed() for s in _states(upstream_states)):
        raise TRIGGERFAIL("trigger all_failed: some upstream tasks did not fail")
    return True


def any_successful(upstream_states: Mapping[Any, State]) -> bool:
    """Run when at least one upstream task succeeded."""
    states = _states(upstream_states)
    if states and not any(s.is_successful() for s in states):
        raise TRIGGERFAIL("trigger any_successful: no upstream task succeeded")
    return True


def any_failed(upstream_states: Mapping[Any, State]) -> bool:
    """Run when at least one upstream task failed."""
    states = _states(upstream_states)
    if states and not any(s.is_failed() for s in states):
        raise TRIGGERFAIL("trigger any_failed: no upstream task failed")
    return True


def all_finished(upstream_states: Mapping[Any, State]) -> bool:
    """Run once every upstream task finished, whatever the outcome."""
    if not all(s.is_finished() for s in _states(upstream_states)):
        raise TRIGGERFAIL("trigger all_finished: some upstream tasks have not finished")
    return True


always_run = all_finished


def not_all_skipped(upstream_states: Mapping[Any, State]) -> bool:
    """Run unless every upstream task was skipped, which skips this task too (as in Prefect 1);
    a failed upstream fails the trigger."""
    states = _states(upstream_states)
    if states and all(s.is_skipped() for s in states):
        raise SKIP("trigger not_all_skipped: every upstream task was skipped")
    if not all(s.is_successful() for s in states):
        raise TRIGGERFAIL("trigger not_all_skipped: some upstream tasks did not succeed")
    return True


def manual_only(upstream_states: Mapping[Any, State]) -> bool:
    """Never run on its own: pause until resumed (``context`` key ``resume`` set true)."""
    if context.get("resume"):
        return True
    raise PAUSE("trigger manual_only: waiting for approval")


def _bounds(
    n: int, at_least: float | None, at_most: float | None, what: str
) -> Callable[[int], str | None]:
    def resolve(bound: float | None) -> float | None:
        return bound * n if bound is not None and 0 < bound < 1 else bound

    low, high = resolve(at_least), resolve(at_most)

    def check(count: int) -> str | None:
        if low is not None and count < low:
            return f"{count} of {n} upstream tasks {what}, fewer than the {at_least} required"
        if high is not None and count > high:
            return f"{count} of {n} upstream tasks {what}, more than the {at_most} allowed"
        return None

    return check


def _counting(
    predicate: Callable[[State], bool], what: str, at_least: float | None, at_most: float | None
) -> Trigger:
    def trigger(upstream_states: Mapping[Any, State]) -> bool:
        states = _states(upstream_states)
        problem = _bounds(len(states), at_least, at_most, what)(sum(map(predicate, states)))
        if problem:
            raise TRIGGERFAIL(f"trigger some_{what}: {problem}")
        return True

    trigger.__name__ = f"some_{what}"
    return trigger


def some_successful(at_least: float | None = None, at_most: float | None = None) -> Trigger:
    """Run when the number of successful upstreams is within bounds (fractions if < 1)."""
    return _counting(State.is_successful, "successful", at_least, at_most)


def some_failed(at_least: float | None = None, at_most: float | None = None) -> Trigger:
    """Run when the number of failed upstreams is within bounds (fractions if < 1)."""
    return _counting(State.is_failed, "failed", at_least, at_most)
