"""Tasks for the control-flow, loop and pause tests on every executor.

Registered with ``cloudpickle.register_pickle_by_value`` by the test module (see
``conftest.py`` for why): everything here travels to worker processes by value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tideflow import context, signals, task, triggers


@task
def numbers() -> list[int]:
    return [1, 2, 3, 4]


@task
def is_even(x: int) -> bool:
    return x % 2 == 0


@task
def double(x: int) -> int:
    return 2 * x


@task
def negate(x: int) -> int:
    return -x


@task
def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


@task
def fib_until(n: int) -> int:
    """Loops until the n-th Fibonacci number; each iteration one step."""
    a, b = context.get("task_loop_result", (0, 1))
    if context.task_loop_count < n:
        raise signals.LOOP(f"step {context.task_loop_count}", result=(b, a + b))
    return b


@task(max_retries=1, retry_delay=0)
def loop_with_a_flaky_iteration(folder: str) -> list[int]:
    """Iteration 2 fails the first time it runs; the retry resumes at iteration 2."""
    count = context.task_loop_count
    seen = context.get("task_loop_result", [])
    marker = Path(folder) / "flaky"
    if count == 2 and not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("flaky iteration")
    if count < 3:
        raise signals.LOOP(result=[*seen, count])
    return [*seen, count]


@task
def count_to(limit: int) -> int:
    count = context.task_loop_count
    if count < limit:
        raise signals.LOOP(result=count)
    return count * 100 + (context.map_index or 0)


@task(trigger=triggers.manual_only)
def approve(x: int) -> int:
    return x + 100


@task
def pause_unless_resumed(x: int) -> int:
    if x % 2 and not context.get("resume"):
        raise signals.PAUSE(f"item {x} needs a look")
    return x * 10


@task
def write_call(folder: str, name: str, value: Any) -> Any:
    with open(Path(folder) / f"{name}.calls", "a") as out:
        out.write("called\n")
    return value
