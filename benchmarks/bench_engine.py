"""Engine overhead on the LocalExecutor: microseconds per task with full state tracking, beside
a plain Python loop calling the same function; the same with a run observer (which hears of each
task's Running state while the task runs, see tideflow.engine.flow_runner); and the time to import
Tideflow and run a first small flow in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.common import Row, best_of
from tideflow import Flow, Task, task
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.states import State


def noop() -> None:
    return None


def chained(x: object = None) -> None:
    return None


def independent_flow(n: int) -> Flow:
    t = task(noop)
    with Flow(f"independent-{n}") as flow:
        for _ in range(n):
            t()
    return flow


def chain_flow(n: int) -> Flow:
    t = task(chained)
    with Flow(f"chain-{n}") as flow:
        previous = t()
        for _ in range(n - 1):
            previous = t(previous)
    return flow


def per_task_run(flow: Flow, repeats: int) -> float:
    """Microseconds per task of ``flow.run()``."""
    seconds = best_of(repeats, lambda: flow.run(progress=False, store=None))
    return seconds / len(flow) * 1e6


class Counting(RunObserver):
    """An observer that only counts the state changes it hears of."""

    def __init__(self) -> None:
        self.changes = 0

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        self.changes += 1


def per_task_observed(flow: Flow, repeats: int) -> float:
    """Microseconds per task of ``flow.run()`` with one (counting) observer."""
    seconds = best_of(repeats, lambda: flow.run(progress=False, store=None, observers=[Counting()]))
    return seconds / len(flow) * 1e6


def per_call_loop(n: int, repeats: int) -> float:
    def loop() -> None:
        x = None
        for _ in range(n):
            x = chained(x)

    return best_of(repeats, loop) / n * 1e6


def first_run_seconds() -> float:
    code = (
        "from tideflow import Flow, task\n"
        "t = task(lambda x=0: x, name='t')\n"
        "with Flow('first') as f:\n"
        "    x = t()\n"
        "    for _ in range(9):\n"
        "        x = t(x)\n"
        "assert f.run(progress=False).is_successful()\n"  # recorded, as by default
    )
    return best_of(
        3, lambda: subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    )


def python_startup_seconds() -> float:
    return best_of(3, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))


def run() -> list[Row]:
    import logging

    logging.getLogger("tideflow").setLevel(logging.WARNING)
    rows = []
    for name, flow, repeats in (
        ("1,000 independent no-op tasks", independent_flow(1_000), 5),
        ("10,000 independent no-op tasks", independent_flow(10_000), 3),
        ("1,000-task chain", chain_flow(1_000), 5),
    ):
        ours = per_task_run(flow, repeats)
        floor = per_call_loop(len(flow), repeats)
        rows.append(
            Row(
                f"{name}: time per task",
                ours,
                floor,
                "µs",
                "plain loop",
                f"overhead {ours - floor:.1f} µs (goal <= 50 µs)",
            )
        )
    observed = independent_flow(1_000)
    unobserved = per_task_run(observed, 5)
    rows.append(
        Row(
            "1,000 independent no-op tasks, one counting observer: time per task",
            per_task_observed(observed, 5),
            unobserved,
            "µs",
            "no observer",
        )
    )
    started = time.perf_counter()
    independent_flow(10_000)
    build = (time.perf_counter() - started) / 10_000 * 1e6
    rows.append(Row("building a 10,000-task flow: time per task", build, None, "µs", ""))
    rows.append(
        Row(
            "import tideflow + first 10-task run, recorded (fresh process)",
            first_run_seconds(),
            python_startup_seconds(),
            "s",
            "bare interpreter start",
            "< 1 s",
        )
    )
    return rows
