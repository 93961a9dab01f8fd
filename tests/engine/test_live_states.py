"""Observers hear of a task's states as they happen: ``Running`` while the task runs, from the
thread that runs it, and every state exactly once, in order per unit.

The tasks here block on a :class:`threading.Event` that only the observer sets, when it hears of
``Running``: a task that finishes at all proves it was seen running before it ended. (Executors
that run tasks in other processes are tested in ``tests/executors``.)
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from tideflow import Flow, Task, context, task
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.executors import Executor, LocalDaskExecutor, LocalExecutor
from tideflow.states import State

PATIENCE = 60.0  # seconds a task waits to be seen running before it gives up


class Events(RunObserver):
    """Every (unit, state name) heard, in order, and the thread each was heard on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.heard: list[tuple[str, str]] = []
        self.threads: dict[tuple[str, str], str] = {}
        self.seen_running: dict[str, threading.Event] = {}

    def running(self, unit: str) -> threading.Event:
        with self.lock:
            return self.seen_running.setdefault(unit, threading.Event())

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        unit = key if map_index is None else f"{key}[{map_index}]"
        with self.lock:
            self.heard.append((unit, state.name))
            self.threads[(unit, state.name)] = threading.current_thread().name
        if state.name == "Running":
            self.running(unit).set()

    def of(self, unit: str) -> list[str]:
        with self.lock:
            return [name for u, name in self.heard if u == unit]


def in_process_executors() -> list[Any]:
    return [
        pytest.param(LocalExecutor, id="local"),
        pytest.param(lambda: LocalDaskExecutor("threads", num_workers=2), id="threads"),
    ]


@pytest.mark.parametrize("make_executor", in_process_executors())
def test_an_observer_hears_of_running_while_the_task_still_runs(make_executor: Any) -> None:
    events = Events()

    @task
    def waits_to_be_seen() -> bool:
        return events.running("waits_to_be_seen").wait(PATIENCE)

    with Flow("seen-running") as flow:
        waited = waits_to_be_seen()
    state = flow.run(executor=make_executor(), observers=[events])
    assert state.result[waited].result is True, "the task was not seen running while it ran"
    assert events.of("waits_to_be_seen") == ["Running", "Success"]


def test_running_is_heard_on_the_thread_that_runs_the_task() -> None:
    events = Events()

    @task
    def where() -> str:
        events.running("where").wait(PATIENCE)
        return threading.current_thread().name

    with Flow("threads") as flow:
        ran_on = where()
    state = flow.run(executor=LocalDaskExecutor("threads", num_workers=2), observers=[events])
    task_thread = state.result[ran_on].result
    assert task_thread.startswith("tideflow-task")
    assert events.threads[("where", "Running")] == task_thread
    assert events.threads[("where", "Success")] == threading.current_thread().name


@pytest.mark.parametrize("make_executor", in_process_executors())
def test_every_state_is_heard_exactly_once_in_order_per_unit(make_executor: Any) -> None:
    events = Events()

    @task(max_retries=1, retry_delay=0)
    def flaky(x: int) -> int:
        unit = f"flaky[{context.map_index}]"
        assert events.running(unit).wait(PATIENCE)
        if x % 3 == 0 and context.task_run_count == 1:
            raise ConnectionError("first attempt fails")
        return x

    @task
    def total(xs: list[int]) -> int:
        return sum(xs)

    with Flow("exactly-once") as flow:
        summed = total(flaky.map(list(range(12))))
    state = flow.run(executor=make_executor(), observers=[events])
    assert state.result[summed].result == sum(range(12))
    history = state.context["task_history"]
    for unit, states in history.items():
        assert events.of(unit) == [s.name for s in states], unit
    # ... and nothing twice: as many changes heard as the units went through.
    assert len(events.heard) == sum(len(states) for states in history.values())
    assert Counter(events.of("flaky[3]")) == {"Running": 2, "Retrying": 1, "Success": 1}


def test_an_observer_that_fails_on_running_does_not_change_the_task_s_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(RunObserver):
        def task_state_changed(
            self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
        ) -> None:
            if state.name == "Running":
                raise RuntimeError("observer bug")

    @task
    def fine() -> int:
        return 1

    with Flow("broken-observer") as flow:
        out = fine()
    state = flow.run(observers=[Broken()])
    assert state.result[out].result == 1
    assert any("A run observer failed on" in r.getMessage() for r in caplog.records)


def test_without_observers_nothing_is_passed_to_the_units() -> None:
    calls: list[tuple[Any, ...]] = []

    class Spy(LocalExecutor):
        def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return super().submit(fn, *args, **kwargs)

    @task
    def one() -> int:
        return 1

    with Flow("unobserved") as flow:
        one()
    executor: Executor = Spy()
    assert flow.run(executor=executor).is_successful()
    (args,) = calls
    assert len(args) == 4, "no live callback: no observer would hear it"
