"""Running one attempt of one task: small state-in, state-out steps.

:func:`run_task` takes a :class:`TaskCall` (the task, its inputs, its upstream states, its
current state and attempt number, and the flow run's context) and returns the states the task
went through in this attempt, last one final for the attempt::

    skip check ──> trigger ──> Running ──> call run() ──> Success | Failed | TimedOut | ...
        │              │          ^                          ├─> Retrying (failure, retries left)
        └> Skipped     └> TriggerFailed | Paused             └─> Looped (LOOP) ─┐
                                  └─────────────────────────────────────────────┘

It has no knowledge of the rest of the flow or of executors, so the same function runs in the
calling thread, in a thread pool, in another process or on a Dask worker. Retrying is not done
here: a ``Retrying`` state with a ``start_time`` goes back to the run loop, which schedules the
next attempt without holding up other ready tasks.

A task that raises ``LOOP(result=...)`` runs again at once, in the same attempt, with
``task_loop_result`` and ``task_loop_count`` (from 1) in its context; each iteration is timed
out on its own and has ``max_retries`` retries of its own (a retry resumes at the iteration that
failed: the ``Retrying`` state's context carries the loop's position). A task resumed after a
pause (its state is ``Resume``) runs with ``resume`` true in its context.

The states come back together when the attempt ends, the last one final; ``live``, when given,
also hears of the ``Running`` state as soon as the task enters it, before the task's code runs,
so that a task that runs for an hour is seen running during that hour (see
:class:`~tideflow.engine.flow_runner.FlowRunner`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tideflow.context import use_context
from tideflow.engine.logs import stdout_to, task_logger
from tideflow.engine.persistence import Persistence, uses_persistence
from tideflow.engine.timeouts import TaskTimeout, call_with_timeout
from tideflow.graph import Edge
from tideflow.results import collect_outputs
from tideflow.signals import ENDRUN, LOOP, RETRY, Signal
from tideflow.states import (
    Failed,
    Looped,
    Resume,
    Retrying,
    Running,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    check_transition,
)
from tideflow.task import Task
from tideflow.triggers import all_successful

_FAILED = "tideflow.failed_before_retry"
Now = Callable[[], datetime]
Live = Callable[[State], object]
"""Called, where the unit runs, with each state it enters that is not its last (see units.py)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class TaskCall:
    """Everything one attempt of a task needs."""

    task: Task
    key: str
    inputs: dict[str, Any]
    upstream_states: dict[Edge, State]
    state: State
    run_count: int
    flow_context: Mapping[str, Any]
    map_index: int | None = None


def run_task(call: TaskCall, now: Now = utcnow, live: Live | None = None) -> list[State]:
    """Run one attempt of ``call``; return the states it moved through, the final one last.

    ``live`` is called with the ``Running`` state when the task enters it.
    """
    task = call.task
    logger = task_logger(task.name)
    ctx = dict(call.flow_context)
    unit = call.key if call.map_index is None else f"{call.key}[{call.map_index}]"
    ctx.update(
        task_name=task.name,
        task_key=call.key,
        task_slug=call.key,
        task_run_id=f"{ctx.get('flow_run_id')}/{unit}",
        task_full_name=task.name if call.map_index is None else f"{task.name}[{call.map_index}]",
        task_tags=task.tags,
        task_run_count=call.run_count,
        map_index=call.map_index,
        logger=logger,
        task_loop_count=call.state.context.get("task_loop_count", 1),
    )
    if "task_loop_result" in call.state.context:  # a retry part way through a loop
        ctx["task_loop_result"] = call.state.context["task_loop_result"]
    if isinstance(call.state, Resume):
        ctx["resume"] = True
    history = _History(task, call.state)
    # Targets, cache and results (engine/persistence.py): one check when none is used.
    kept = Persistence(call, ctx, now, logger) if uses_persistence(task, ctx) else None
    with use_context(ctx):
        early = None
        if call.run_count == 1:
            early = kept.from_target() if kept is not None else None
            early = early or upstream_verdict(task, call.upstream_states)
            early = early or (kept.from_cache() if kept is not None else None)
        if early is not None:
            history.move(early)
            return history.states
        history.move(Running(timestamp=now()))
        if live is not None:
            live(history.state)
        with collect_outputs() as outputs:
            final = _execute(call, logger, now)
            while isinstance(final, Looped):
                final = _next_iteration(call, ctx, history, final, logger, now, live)
            if isinstance(final, Retrying) and "task_loop_result" in ctx:
                final.context.update(
                    task_loop_count=ctx["task_loop_count"],
                    task_loop_result=ctx["task_loop_result"],
                )
        if kept is not None and type(final) is Success:
            final = kept.after_success(final)
        failed = final.context.pop(_FAILED, None) if isinstance(final, Retrying) else None
        # The handlers see a failure before its retry, as in Prefect 1; a handler that turns
        # it into something else than a failure stops the retry.
        if failed is not None and not (seen := history.pass_through(failed)).is_failed():
            history.record(seen)
        else:
            history.move(final)
        if outputs:
            # Metrics and artifacts travel with the attempt's final state, so they reach the
            # driver from any executor (see tideflow.results).
            history.state.context["outputs"] = outputs
    return history.states


def _next_iteration(
    call: TaskCall,
    ctx: dict[str, Any],
    history: _History,
    looped: Looped,
    logger: logging.Logger,
    now: Now,
    live: Live | None,
) -> State:
    """Record iteration ``looped`` and run the next one; the state it ends in."""
    count = ctx["task_loop_count"]
    looped.loop_count = count
    looped.message = looped.message or f"iteration {count} asked to loop"
    history.move(looped)
    if live is not None:
        live(history.state)
    # The context object is the one in use (use_context does not copy it).
    ctx.update(task_loop_count=count + 1, task_loop_result=looped.result, task_run_count=1)
    call.run_count = 1  # each iteration has its own retries
    history.move(Running(timestamp=now()))
    if live is not None:
        live(history.state)
    return _execute(call, logger, now)


class _History:
    """The states of one attempt; every move is checked and passed through the state handlers.

    ``state`` is the last state recorded, ``seen`` the last one the handlers saw: a failure
    about to be retried is seen (``Running -> Failed -> Retrying``) but not recorded, because
    the recorded history follows the state machine (``Running -> Retrying``).
    """

    __slots__ = ("seen", "state", "states", "task")

    def __init__(self, task: Task, state: State) -> None:
        self.task = task
        self.state = state
        self.seen = state
        self.states: list[State] = []

    def move(self, new: State) -> None:
        check_transition(self.state, new)
        task = self.task
        if task.state_handlers or task.on_failure is not None:
            new = through_handlers(task, self.seen, new)
        self.states.append(new)
        self.state = self.seen = new

    def record(self, new: State) -> None:
        """Record ``new``, which the handlers have seen already."""
        check_transition(self.state, new)
        self.states.append(new)
        self.state = self.seen = new

    def pass_through(self, new: State) -> State:
        """Show ``new`` to the handlers without recording it; what they made of it."""
        self.seen = through_handlers(self.task, self.seen, new)
        return self.seen


def through_handlers(task: Task, old: State, new: State) -> State:
    """``new`` after the task's state handlers (each gets the last one's result) and on_failure."""
    for handler in task.state_handlers:
        try:
            replaced = handler(task, old, new)
        except Exception as exc:
            replaced = Failed(f"state handler {_name(handler)} raised {exc!r}", exc)
        if replaced is not None:
            new = replaced
    if task.on_failure is not None and new.is_failed():
        task.on_failure(task, new)
    return new


def _name(fn: object) -> str:
    return getattr(fn, "__name__", repr(fn))


def upstream_verdict(task: Task, ups: Mapping[Any, State]) -> State | None:
    """The task's final state if it must not run (a skipped upstream, or its trigger), else None."""
    if not ups:
        if task.trigger is None or task.trigger is all_successful:
            return None
    elif task.skip_on_upstream_skip and any(s.is_skipped() for s in ups.values()):
        return Skipped("an upstream task was skipped")
    trigger = task.trigger or all_successful
    try:
        passed = trigger(ups)
    except Signal as sig:
        return sig.state
    except Exception as exc:
        return TriggerFailed(f"trigger {_name(trigger)} raised {exc!r}", exc)
    return None if passed else TriggerFailed(f"trigger {_name(trigger)} did not pass")


def _execute(call: TaskCall, logger: logging.Logger, now: Now) -> State:
    task = call.task
    try:
        if task.log_stdout:
            with stdout_to(logger):
                value = _call(task, call.inputs)
        else:
            value = _call(task, call.inputs)
    except ENDRUN as end:
        return end.state
    except LOOP as sig:
        return Looped(sig.message, sig.state.result, timestamp=now())
    except RETRY as sig:
        return _retrying(call, sig.message or "the task asked to be retried", sig, now, logger)
    except Signal as sig:
        return _after_failure(call, sig.state, sig, now, logger)
    except TaskTimeout:
        timed_out = TimedOut(f"task timed out after {task.timeout:g} s", TimeoutError())
        return _after_failure(call, timed_out, TimeoutError(), now, logger)
    except Exception as exc:
        failed = Failed(f"{type(exc).__name__}: {exc}", exc)
        return _after_failure(call, failed, exc, now, logger)
    return Success(result=value, timestamp=now())


def _call(task: Task, inputs: dict[str, Any]) -> Any:
    if task.timeout is not None:
        return call_with_timeout(task.run, inputs, task.timeout)
    return task.run(**inputs)


def _after_failure(
    call: TaskCall, state: State, error: BaseException, now: Now, logger: logging.Logger
) -> State:
    """``state``, or ``Retrying`` when it is a failure with retries left that ``retry_on`` allows.

    A failure that will be retried is logged as a one-line warning; a final failure is logged as
    an error, with the traceback when the task raised an unexpected exception.
    """
    task = call.task
    if (
        state.is_failed()
        and call.run_count <= task.max_retries
        and isinstance(error, task.retry_on)
    ):
        state.timestamp = now()
        retrying = _retrying(call, state.message or state.name, state.result, now, logger)
        retrying.context[_FAILED] = state  # for the state handlers; taken off in run_task
        return retrying
    if state.is_failed():
        unexpected = not isinstance(error, Signal | TimeoutError)
        logger.error(
            "Task %r failed: %s", task.name, state.message, exc_info=error if unexpected else None
        )
    state.timestamp = now()
    return state


def _retrying(
    call: TaskCall, reason: str, result: Any, now: Now, logger: logging.Logger
) -> Retrying:
    task = call.task
    at = now()
    message = (
        f"attempt {call.run_count} of {task.max_retries + 1} failed ({reason}); "
        f"retrying in {task.retry_delay:g} s"
    )
    logger.warning("Task %r: %s", task.name, message)
    return Retrying(
        message,
        result,
        start_time=at + timedelta(seconds=task.retry_delay),
        run_count=call.run_count + 1,
        timestamp=at,
    )
