"""``LOOP``: a task that runs again in the same task run, with its previous result in context.

(On every executor in ``tests/executors/test_control_flow.py``.)
"""

from __future__ import annotations

import time
from typing import Any

from tideflow import Flow, context, signals, task
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.states import Looped, State, Success
from tideflow.store import MemoryStore


class Heard(RunObserver):
    def __init__(self) -> None:
        self.states: list[str] = []

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Any, state: State, map_index: int | None
    ) -> None:
        self.states.append(state.name)


@task
def collect(limit: int) -> list[Any]:
    seen = context.get("task_loop_result", [])
    item = (context.task_loop_count, context.task_run_count)
    if context.task_loop_count < limit:
        raise signals.LOOP(f"at {len(seen) + 1}", result=[*seen, item])
    return [*seen, item]


def test_each_iteration_reads_the_last_result_and_its_count_and_the_last_one_is_final() -> None:
    heard = Heard()
    with Flow("loop") as flow:
        out = collect(3)
    state = flow.run(observers=[heard])
    final = state.result[out]
    assert isinstance(final, Success)
    assert final.result == [(1, 1), (2, 1), (3, 1)]
    assert heard.states == ["Running", "Looped", "Running", "Looped", "Running", "Success"]
    looped = [s for s in state.context["task_history"]["collect"] if isinstance(s, Looped)]
    assert [(s.loop_count, s.message, s.is_looped()) for s in looped] == [
        (1, "at 1", True),
        (2, "at 2", True),
    ]


def test_a_task_that_does_not_loop_sees_loop_count_one_and_no_loop_result() -> None:
    @task
    def peek() -> tuple[int, object]:
        return context.task_loop_count, context.get("task_loop_result", "none")

    with Flow("no loop") as flow:
        out = peek()
    assert flow.run().result[out].result == (1, "none")


def test_the_timeout_applies_to_each_iteration_not_to_the_whole_loop() -> None:
    @task(timeout=1)
    def slow_steps() -> int:
        time.sleep(0.4)  # three iterations take 1.2 s: over the timeout together, not each
        if context.task_loop_count < 3:
            raise signals.LOOP(result=None)
        return context.task_loop_count

    with Flow("slow loop") as flow:
        out = slow_steps()
    assert flow.run().result[out].result == 3


def test_a_recorded_run_keeps_each_iteration_in_the_task_history() -> None:
    store = MemoryStore()
    with Flow("recorded loop") as flow:
        collect(2)
    flow.run(store=store, flow_run_id="looping")
    assert [c.state for c in store.task_states("looping")] == [
        "Running",
        "Looped",
        "Running",
        "Success",
    ]
    (task_run,) = store.task_runs("looping")
    assert (task_run.state, task_run.attempts, task_run.end_time is not None) == (
        "Success",
        1,
        True,
    )
