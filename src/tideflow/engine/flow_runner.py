"""The run loop: one flow run, over any executor.

The loop owns a :class:`~tideflow.engine.readiness.Readiness` (plain bookkeeping of what waits
for what, mapped children included). It submits every ready unit to the executor, then waits for
whichever comes first: a unit finishing, or the earliest retry coming due. A ``Retrying`` unit
goes into a heap keyed by its start time and is submitted again then, so a retry delay never
holds up other work.

When nothing is left to run but tasks waiting for approval (``Paused`` by the ``manual_only``
trigger or ``PAUSE``), an observer may *hold* the run (:meth:`RunObserver.hold_paused`; the store
recorder does, for ``tideflow resume-run``): the loop then waits, polling the hold on its clock,
and once the run is approved the paused units move to ``Resume`` and run, followed by what
waits for them; a run cancelled while it waits ends ``Cancelled``. Nobody holding it, the run
ends ``Paused`` (an unrecorded ``flow.run()``).

When nothing is left, the reference tasks (default: terminal tasks; a mapped reference task
counts through its children) decide the flow run's state: ``Failed`` if any failed, ``Success``
if all succeeded, else the run is ``Paused`` (a ``manual_only`` task waits for approval). The
returned state's ``result`` maps every task to its final state; tasks that never ran are
``Pending("Task not run.")``. Its ``context`` holds the run id, times, lateness and each unit's
state history.

Observers hear of every state of every unit exactly once, in order per unit, and as it happens:
a unit's last state when the loop takes its result, and the states before it (``Running``) when
the unit enters them, so a long task is seen running. A unit running in this process (the
``LocalExecutor``, a thread pool) calls the loop's :meth:`FlowRunner._entered` from its own
thread; one running elsewhere calls its executor's state relay, which brings the states of a
unit that runs for a while back to its future, and through the loop's queue to the observers.
Either way the loop counts what was told of each unit, and passes only the rest on when the unit
ends.
"""

from __future__ import annotations

import itertools
import queue
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, cast

from tideflow.clock import Clock
from tideflow.context import use_context
from tideflow.engine.approval import await_approval, in_run_order
from tideflow.engine.limits import POLL_SECONDS, SlotGate
from tideflow.engine.logs import flow_logger
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.engine.persistence import run_context_additions
from tideflow.engine.readiness import Readiness, Unit
from tideflow.engine.task_runner import TaskCall
from tideflow.engine.units import Source, run_unit
from tideflow.executors.base import Executor, FutureLike, RelayingFuture
from tideflow.flow import Flow
from tideflow.states import (
    Cancelled,
    Failed,
    Finished,
    Mapped,
    Paused,
    Pending,
    Queued,
    Resume,
    Retrying,
    Running,
    State,
    Success,
    check_transition,
)
from tideflow.task import Task

Relayed = tuple[int, list[State]]
"""States of a unit that runs elsewhere, relayed before it ended: the first one's number, them."""
Item = tuple[Unit, FutureLike[list[State]], Relayed | None]
"""What the loop's queue holds: a unit's future when it is done (and ``None``), or states it
relayed (see the module docstring)."""


def unit_name(unit: Unit) -> str:
    """``key`` for a task, ``key[i]`` for child ``i`` of a mapped task."""
    key, index = unit
    return key if index is None else f"{key}[{index}]"


class FlowRunner:
    """Runs one flow run to completion; see the module docstring."""

    def __init__(
        self,
        flow: Flow,
        executor: Executor,
        run: FlowRunInfo,
        clock: Clock,
        observers: Sequence[RunObserver] = (),
        gate: SlotGate | None = None,
        task_states: Mapping[str, State] | None = None,
    ) -> None:
        self.flow = flow
        self.task_states = dict(task_states or {})
        self._gate = gate  # concurrency limits (engine/limits.py); None: no limited tag
        self._queued: list[Unit] = []  # ready units waiting for a slot
        self._full: set[str] = set()  # tags found full in this pass over the ready units
        self._told_queued: set[Unit] = set()
        self.executor = executor
        self.run_info = run
        self.clock = clock
        self.observers = list(observers)
        self.history: dict[str, list[State]] = {}
        self._done: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._seq = itertools.count()
        self._context: Mapping[str, Any] = {**run.context, **run_context_additions(flow)}
        self._chained = executor.chains_futures
        self._handles: dict[Unit, FutureLike[list[State]]] = {}
        # Live states: none without observers; else the executor's relay, or (None) our own.
        self._live = bool(self.observers)
        self._relay = executor.state_relay() if self._live else None
        self._told: dict[Unit, int] = {}  # how many states of a running unit were told already
        # Units that came back without running because an upstream unit was paused (chaining
        # executors submit them early): they run again once the run is approved.
        self._unrun: list[Unit] = []
        self._ended_while_paused: str | None = None

    def run(self) -> State:
        """Run every task; return the flow run's final state."""
        # The flow-level context is current in the loop too, so the flow's own log lines are
        # attributed to this run (see engine/recording.py).
        with use_context(self._context):
            return self._run()

    def _run(self) -> State:
        log = flow_logger()
        state: State = Running("Running flow.", timestamp=self.run_info.started_at)
        for observer in self.observers:
            observer.flow_run_started(self.run_info)
        log.info("Beginning flow run %r for flow %r", self.run_info.flow_run_id, self.flow.name)
        for handler in self.flow.state_handlers:  # Pending -> Running, as in Prefect 1
            handler(self.flow, Pending("Flow run pending."), state)
        ready = Readiness.start(self.flow, chained=self._chained, given=self.task_states)
        try:
            with self.executor.start():
                self._loop(ready)
        except BaseException as exc:  # Ctrl-C, SIGTERM or an executor failure: record, re-raise
            self._finish(state, self._interrupted(ready, exc))
            raise
        finally:
            if self._gate is not None:
                self._gate.release_all()
        return self._finish(state, self._final_state(ready), announce=True)

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self, ready: Readiness) -> None:
        clock = self.clock
        while True:
            self._submit_ready(ready)
            if not ready.running and not ready.retries and not self._queued:
                if self._approved(ready):
                    continue
                return
            timeout = ready.seconds_to_next_retry(clock.now())
            if self._queued:
                if not self._full:  # a slot came free in this process: ask again at once
                    continue
                timeout = POLL_SECONDS if timeout is None else min(timeout, POLL_SECONDS)
            if ready.running:
                item = clock.wait(self._done, timeout)
                if item is not None:
                    self._complete_batch(ready, [item])
            elif timeout is not None:
                clock.sleep(timeout)
            ready.ready.extend(ready.due_retries(clock.now()))

    def _submit_ready(self, ready: Readiness) -> None:
        if self._gate is not None:
            self._submit_gated(ready, self._gate)
            return
        if not self._chained:
            while ready.ready:
                self._submit_one(ready, ready.ready.popleft())
            return
        # A chaining executor takes whole batches (one message to a Dask scheduler, not one per
        # task); submitting a batch releases its downstream units, which form the next batch.
        while ready.ready:
            units = list(ready.ready)
            ready.ready.clear()
            self._submit_batch(ready, units)

    def _submit_gated(self, ready: Readiness, gate: SlotGate) -> None:
        """:meth:`_submit_ready` for a run with concurrency limits: a unit with a limited tag
        is submitted once it holds a slot of each; the others wait in ``_queued``, told
        ``Queued``, and are asked for again on the next pass (see engine/limits.py)."""
        ready.ready.extendleft(reversed(self._queued))  # the longest waiting ask first
        self._queued.clear()
        self._full.clear()
        if not self._chained:  # units may finish at once and release others: one by one
            while ready.ready:
                unit = ready.ready.popleft()
                if self._admitted(unit, gate):
                    self._submit_one(ready, unit)
            return
        while ready.ready:
            units = []
            while ready.ready:
                unit = ready.ready.popleft()
                if self._admitted(unit, gate):
                    units.append(unit)
            self._submit_batch(ready, units)

    def _submit_batch(self, ready: Readiness, units: list[Unit]) -> None:
        """Hand ``units`` to a chaining executor in one batch (see :meth:`_submit_ready`)."""
        calls = [self._call_args(ready, u) for u in units]
        futures = self.executor.submit_many(run_unit, calls)
        for unit, future in zip(units, futures, strict=True):
            self._handles[unit] = future
            ready.submitted(unit)
            self._when_done(unit, future)

    def _admitted(self, unit: Unit, gate: SlotGate) -> bool:
        """Whether ``unit`` may be submitted now: it needs no slot, or it got its slots."""
        key, _ = unit
        tags = gate.tags(key, self.flow.task(key))
        if not tags:
            return True
        full = sorted(tags & self._full) or gate.acquire(unit, tags)
        if not full:
            self._told_queued.discard(unit)
            return True
        self._full.update(full)
        self._queued.append(unit)
        if unit not in self._told_queued:
            self._told_queued.add(unit)
            queued = Queued(gate.describe(full), timestamp=self.clock.now())
            self.history.setdefault(unit_name(unit), []).append(queued)
            self._tell(unit, [queued])
            flow_logger().info("Task %s: %s", unit_name(unit), queued.message)
        return False

    # -- paused tasks ----------------------------------------------------------------------

    def _approved(self, ready: Readiness) -> bool:
        """Only paused units are left: wait for approval if an observer holds the run; whether
        the run goes on (see :mod:`tideflow.engine.approval`)."""
        paused = ready.paused_units()
        if not paused:
            return False
        names = [unit_name(u) for u in paused]
        answer = await_approval(self.observers, self.run_info, names, self.clock)
        if answer is None:
            return False
        if answer != "resumed":
            self._end_paused(ready, paused, answer)
            return False
        again = []
        for unit in paused:
            resumed = Resume("approved", timestamp=self.clock.now())
            if unit[1] is not None or unit[0] not in ready.mapped:
                check_transition(cast(State, ready.current(unit)), resumed)
                self.history.setdefault(unit_name(unit), []).append(resumed)
                self._tell(unit, [resumed])
            if ready.resume(unit, resumed):
                again.append(unit)
        unrun, self._unrun = in_run_order(self.flow, self._unrun), []
        for unit in [*again, *unrun]:  # one by one: each may take the future of one before it
            if self._gate is not None:
                self._wait_for_slots(unit, self._gate)
            future = self.executor.submit(run_unit, *self._call_args(ready, unit))
            if self._chained:
                self._handles[unit] = future
            ready.running.add(unit)
            self._when_done(unit, future)
        return True

    def _wait_for_slots(self, unit: Unit, gate: SlotGate) -> None:
        """Take ``unit``'s slots before it runs after an approval, waiting for them here: only
        approved units are left at this point, so waiting holds up no other task of the run."""
        while True:
            self._full.clear()
            if self._admitted(unit, gate):
                return
            self._queued.remove(unit)
            self.clock.sleep(POLL_SECONDS)

    def _end_paused(self, ready: Readiness, paused: list[Unit], answer: str) -> None:
        """The run was cancelled (or ended by someone else) while it waited: its paused units
        end ``Cancelled``, and so does the run."""
        why = (
            "cancelled while waiting for approval"
            if answer == "cancelled"
            else "ended from outside while waiting for approval"
        )
        self._ended_while_paused = f"Flow run {why}."
        for unit in paused:
            cancelled = Cancelled(why, timestamp=self.clock.now())
            if unit[1] is not None or unit[0] not in ready.mapped:
                self.history.setdefault(unit_name(unit), []).append(cancelled)
                self._tell(unit, [cancelled])
            ready.record(unit, cancelled)

    def _submit_one(self, ready: Readiness, unit: Unit) -> None:
        future = self.executor.submit(run_unit, *self._call_args(ready, unit))
        ready.submitted(unit)
        self._when_done(unit, future)
        if future.done():  # e.g. the LocalExecutor ran it already: handle it now, in order
            try:
                item = self._done.get_nowait()
            except queue.Empty:  # its callback has not run yet; the loop will get it
                return
            self._complete_batch(ready, [item])

    def _when_done(self, unit: Unit, future: FutureLike[list[State]]) -> None:
        done = self._done
        if self._relay is not None:
            relaying = cast(RelayingFuture[list[State]], future)
            relaying.add_live_callback(
                lambda first, states: done.put((unit, future, (first, states)))
            )
        future.add_done_callback(lambda f: done.put((unit, f, None)))

    def _call_args(self, ready: Readiness, unit: Unit) -> tuple[Any, ...]:
        """Arguments of :func:`run_unit` for ``unit``."""
        key, index = unit
        previous = ready.current(unit)
        task = self.flow.task(key)
        call = TaskCall(
            task,
            key,
            dict(self.flow.constants.get(task, ())),
            {},
            previous if previous is not None else Pending(),
            previous.run_count if isinstance(previous, Retrying) else 1,
            self._context,
            index,
        )
        spec = [self._resolve(source) for source in ready.sources(unit)]
        if not self._live:
            return call, spec, self.clock.now, self._chained
        live = self._relay if self._relay is not None else partial(self._entered, unit)
        return call, spec, self.clock.now, self._chained, live

    def _resolve(self, source: Source) -> Source:
        """Replace units still running by their futures (only chaining executors see these)."""
        edge, kind, payload = source
        if kind == "unit":
            return edge, kind, self._handles[payload]
        if kind == "children":
            return edge, kind, [p if isinstance(p, State) else self._handles[p] for p in payload]
        return source

    def _complete_batch(self, ready: Readiness, items: list[Item]) -> None:
        """Collect every unit that is done by now, fetching their results in one go."""
        while True:
            try:
                items.append(self._done.get_nowait())
            except queue.Empty:
                break
        done = []
        for unit, future, relayed in items:
            if relayed is None:
                done.append((unit, future))
            else:  # relayed states come before their unit's end (see RelayingFuture)
                self._relayed(unit, *relayed)
        try:
            results = self.executor.wait([f for _, f in done])
        except Exception:  # some unit's future failed: take them one by one
            results = [_result_or_failure(f) for _, f in done]
        for (unit, _), states in zip(done, results, strict=True):
            self._complete(ready, unit, states)

    def _complete(self, ready: Readiness, unit: Unit, states: list[State]) -> None:
        if self._gate is not None:
            self._gate.release(unit)
            self._full.clear()
        self.history.setdefault(unit_name(unit), []).extend(states)
        if not states:
            self._unrun.append(unit)
        told = self._told.pop(unit, 0) if self._live else 0
        self._tell(unit, states[told:] if told else states)
        final = states[-1] if states else Pending("Task not run.")
        if isinstance(final, Finished):  # later units read its state, not its future
            self._handles.pop(unit, None)
        if isinstance(final, Retrying):
            ready.retry_later(unit, final, next(self._seq))
        else:
            ready.record(unit, final)

    # -- telling observers -------------------------------------------------------------------

    def _tell(self, unit: Unit, states: list[State]) -> None:
        key, index = unit
        task = self.flow.task(key)
        for observer in self.observers:
            for state in states:
                observer.task_state_changed(self.run_info, key, task, state, index)

    def _entered(self, unit: Unit, state: State) -> None:
        """``unit``, running in this process, entered ``state``; called from the unit's thread.

        An observer that fails here is logged: a report must not change the task's outcome.
        """
        self._told[unit] = self._told.get(unit, 0) + 1  # only this unit's thread writes its count
        try:
            self._tell(unit, [state])
        except Exception:
            flow_logger().exception("A run observer failed on %s of %s", state, unit_name(unit))

    def _relayed(self, unit: Unit, first: int, states: list[State]) -> None:
        """States ``first``, ... of ``unit``, running elsewhere, arrived: tell the new ones.

        A unit that Dask ran again (its worker was lost) relays its states from 0 again.
        """
        told = self._told.get(unit, 0)
        fresh = states[max(told - first, 0) :]
        if fresh:
            self._told[unit] = max(told, first + len(states))
            self._tell(unit, fresh)

    # -- the end -------------------------------------------------------------------------------

    def _final_state(self, ready: Readiness) -> State:
        states = ready.final_states()
        result = self._by_task(states)
        reference = [states[self.flow.key(t)] for t in self.flow.reference_tasks()]
        decisive = [c for s in reference for c in _children_or_self(s)]
        now = self.clock.now()
        if self._ended_while_paused is not None:
            return Cancelled(self._ended_while_paused, result, timestamp=now)
        if any(s.is_failed() for s in decisive):
            return Failed("Some reference tasks failed.", result, timestamp=now)
        if all(s.is_successful() for s in decisive):
            return Success("All reference tasks succeeded.", result, timestamp=now)
        waiting = sorted(k for k, s in ready.states.items() if s.is_paused())
        return Paused(
            f"Tasks waiting for approval: {', '.join(waiting) or 'none'}; "
            "run again with context={'resume': True} to approve.",
            result,
            timestamp=now,
        )

    def _interrupted(self, ready: Readiness, exc: BaseException) -> State:
        for key, index in list(ready.running):
            cancelled = Cancelled(f"interrupted by {type(exc).__name__}")
            if index is None:
                ready.states[key] = cancelled
            else:  # a mapped task part way through its children
                ready.states.setdefault(key, cancelled)
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else repr(exc)
        cls = Cancelled if isinstance(exc, KeyboardInterrupt | SystemExit) else Failed
        result = self._by_task(ready.final_states())
        return cls(f"Flow run {reason}.", result, timestamp=self.clock.now())

    def _by_task(self, states: dict[str, State]) -> dict[Task, State]:
        return {self.flow.task(k): s for k, s in states.items()}

    def _finish(self, running: State, final: State, *, announce: bool = False) -> State:
        check_transition(running, final)
        flow = self.flow
        for handler in flow.state_handlers:
            replaced = handler(flow, running, final)
            if replaced is not None:
                final = replaced
        if flow.on_failure is not None and final.is_failed():
            flow.on_failure(flow, final)
        info = self.run_info
        final.context.update(
            flow_run_id=info.flow_run_id,
            scheduled_start_time=info.scheduled_start_time,
            started_at=info.started_at,
            lateness=(info.started_at - info.scheduled_start_time).total_seconds(),
            task_history=self.history,
            task_keys={flow.task(k): k for k in flow.graph.nodes},
        )
        if announce:
            flow_logger().info("Flow run %s: %s", final.name.upper(), final.message)
        for observer in self.observers:
            observer.flow_run_finished(self.run_info, final)
        return final


def _result_or_failure(future: FutureLike[list[State]]) -> list[State]:
    try:
        return future.result()
    except Exception as exc:  # the engine itself failed around the task (e.g. a lost worker)
        return [Failed(f"could not run the task: {type(exc).__name__}: {exc}", exc)]


def _children_or_self(state: State) -> list[State]:
    return state.map_states if isinstance(state, Mapped) and state.map_states else [state]
