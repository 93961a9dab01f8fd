"""The run loop: one flow run, over any executor.

The loop keeps plain readiness bookkeeping (:class:`Readiness`): how many upstream tasks each
task still waits for, which tasks are ready, which are running, which wait for a retry, and every
task's latest state. It submits ready tasks to the executor, and waits for whichever comes first:
a task finishing, or the earliest retry coming due. A task that finished makes its downstream
tasks ready when it was their last unfinished upstream; a ``Retrying`` task goes into a heap keyed
by its start time and is submitted again then, so a retry delay never holds up other work.

When nothing is left, the reference tasks (default: terminal tasks) decide the flow run's state:
``Failed`` if any failed, ``Success`` if all succeeded, else the run is still ``Paused``
(a ``manual_only`` task waits for approval). The returned state's ``result`` maps every task to
its final state; tasks that never ran are ``Pending("Task not run.")``.
"""

from __future__ import annotations

import heapq
import itertools
import queue
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tideflow.clock import Clock
from tideflow.engine.logs import flow_logger
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.engine.task_runner import TaskCall, run_task
from tideflow.executors.base import Executor, FutureLike
from tideflow.flow import Flow
from tideflow.graph import Edge
from tideflow.states import (
    Cancelled,
    Failed,
    Finished,
    Paused,
    Pending,
    Retrying,
    Running,
    State,
    Success,
    check_transition,
)
from tideflow.task import Task

NOT_RUN = "Task not run."


@dataclass
class Readiness:
    """Plain bookkeeping of one run: who waits for whom, what is ready, running or retrying."""

    waiting: dict[str, int]
    ready: deque[str]
    states: dict[str, State] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    retries: list[tuple[datetime, int, str]] = field(default_factory=list)

    @classmethod
    def start(cls, flow: Flow) -> Readiness:
        graph = flow.graph
        waiting = {k: len(graph.upstream(k)) for k in graph.toposort()}
        return cls(waiting, deque(k for k, n in waiting.items() if n == 0))

    def finish(self, flow: Flow, key: str, state: State) -> None:
        """Record ``key``'s final state and make downstream tasks ready when due."""
        self.states[key] = state
        self.running.discard(key)
        waiting = self.waiting
        for down in flow.graph.downstream(key):
            waiting[down] -= 1
            if waiting[down] == 0:
                self.ready.append(down)

    def retry_later(self, key: str, state: Retrying, seq: int) -> None:
        self.states[key] = state
        self.running.discard(key)
        assert state.start_time is not None
        heapq.heappush(self.retries, (state.start_time, seq, key))

    def due_retries(self, now: datetime) -> list[str]:
        due = []
        while self.retries and self.retries[0][0] <= now:
            due.append(heapq.heappop(self.retries)[2])
        return due

    def seconds_to_next_retry(self, now: datetime) -> float | None:
        if not self.retries:
            return None
        return max((self.retries[0][0] - now).total_seconds(), 0.0)


class FlowRunner:
    """Runs one flow run to completion; see the module docstring."""

    def __init__(
        self,
        flow: Flow,
        executor: Executor,
        run: FlowRunInfo,
        clock: Clock,
        observers: Sequence[RunObserver] = (),
    ) -> None:
        self.flow = flow
        self.executor = executor
        self.run_info = run
        self.clock = clock
        self.observers = list(observers)
        self.history: dict[str, list[State]] = {}
        self._done: queue.SimpleQueue[tuple[str, FutureLike[list[State]]]] = queue.SimpleQueue()
        self._seq = itertools.count()
        self._context: Mapping[str, Any] = run.context

    def run(self) -> State:
        """Run every task; return the flow run's final state."""
        log = flow_logger()
        log.info("Beginning flow run %r for flow %r", self.run_info.flow_run_id, self.flow.name)
        state: State = Running("Running flow.", timestamp=self.run_info.started_at)
        for observer in self.observers:
            observer.flow_run_started(self.run_info)
        ready = Readiness.start(self.flow)
        try:
            with self.executor.start():
                self._loop(ready)
        except BaseException as exc:  # Ctrl-C, SIGTERM or an executor failure: record, re-raise
            self._finish(state, self._interrupted(ready, exc))
            raise
        final = self._finish(state, self._final_state(ready))
        log.info("Flow run %s: %s", final.name.upper(), final.message)
        return final

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self, ready: Readiness) -> None:
        clock = self.clock
        while True:
            while ready.ready:
                self._submit(ready, ready.ready.popleft())
            if not ready.running and not ready.retries:
                return
            timeout = ready.seconds_to_next_retry(clock.now())
            if ready.running:
                item = clock.wait(self._done, timeout)
                if item is not None:
                    self._complete(ready, *item)
            elif timeout is not None:
                clock.sleep(timeout)
            for key in ready.due_retries(clock.now()):
                self._submit(ready, key)

    def _submit(self, ready: Readiness, key: str) -> None:
        flow = self.flow
        task = flow.task(key)
        previous = ready.states.get(key)
        upstream: dict[Edge, State] = {}
        inputs = dict(flow.constants.get(task, ()))
        for edge in flow.graph.upstream_edges(key):
            up_state = ready.states[edge.upstream]
            upstream[edge] = up_state
            if edge.key is not None:
                inputs[edge.key] = up_state.result
        call = TaskCall(
            task,
            key,
            inputs,
            upstream,
            previous if previous is not None else Pending(),
            previous.run_count if isinstance(previous, Retrying) else 1,
            self._context,
        )
        ready.running.add(key)
        future = self.executor.submit(run_task, call, self.clock.now)
        done = self._done
        future.add_done_callback(lambda f: done.put((key, f)))
        if future.done():  # e.g. the LocalExecutor ran it already: handle it now, in order
            try:
                item = done.get_nowait()
            except queue.Empty:  # its callback has not run yet; the loop will get it
                return
            self._complete(ready, *item)

    def _complete(self, ready: Readiness, key: str, future: FutureLike[list[State]]) -> None:
        try:
            states = future.result()
        except Exception as exc:  # the engine itself failed around the task
            states = [Failed(f"could not run the task: {type(exc).__name__}: {exc}", exc)]
        self.history.setdefault(key, []).extend(states)
        task = self.flow.task(key)
        for observer in self.observers:
            for state in states:
                observer.task_state_changed(self.run_info, key, task, state, None)
        final = states[-1]
        if isinstance(final, Retrying):
            ready.retry_later(key, final, next(self._seq))
        elif isinstance(final, Finished):
            ready.finish(self.flow, key, final)
        else:  # Paused: its downstream tasks stay pending until it is approved
            ready.running.discard(key)
            ready.states[key] = final

    # -- the end -------------------------------------------------------------------------------

    def _final_state(self, ready: Readiness) -> State:
        states = self._all_states(ready)
        reference = [states[t] for t in self.flow.reference_tasks()]
        result: dict[Task, State] = states
        if any(s.is_failed() for s in reference):
            return Failed("Some reference tasks failed.", result, timestamp=self.clock.now())
        if all(s.is_successful() for s in reference):
            return Success("All reference tasks succeeded.", result, timestamp=self.clock.now())
        waiting = sorted(k for k, s in ready.states.items() if s.is_paused())
        return Paused(
            f"Tasks waiting for approval: {', '.join(waiting) or 'none'}; "
            "run again with context={'resume': True} to approve.",
            result,
            timestamp=self.clock.now(),
        )

    def _interrupted(self, ready: Readiness, exc: BaseException) -> State:
        for key in list(ready.running):
            ready.states[key] = Cancelled(f"interrupted by {type(exc).__name__}")
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else repr(exc)
        cls = Cancelled if isinstance(exc, KeyboardInterrupt | SystemExit) else Failed
        return cls(f"Flow run {reason}.", self._all_states(ready), timestamp=self.clock.now())

    def _all_states(self, ready: Readiness) -> dict[Task, State]:
        flow = self.flow
        return {
            flow.task(k): ready.states.get(k) or Pending(NOT_RUN) for k in flow.graph.toposort()
        }

    def _finish(self, running: State, final: State) -> State:
        check_transition(running, final)
        flow = self.flow
        for handler in flow.state_handlers:
            replaced = handler(flow, running, final)
            if replaced is not None:
                final = replaced
        if flow.on_failure is not None and final.is_failed():
            flow.on_failure(flow, final)
        final.context.update(
            flow_run_id=self.run_info.flow_run_id,
            task_history=self.history,
            task_keys={flow.task(k): k for k in flow.graph.nodes},
        )
        for observer in self.observers:
            observer.flow_run_finished(self.run_info, final)
        return final
