"""Control flow and loops on the LocalExecutor: what a ``LOOP`` iteration costs beside a plain
Python loop, and what a ``case`` block costs beside the same tasks without it (the block adds
one comparison task per branch)."""

from __future__ import annotations

from benchmarks.common import Row, best_of
from tideflow import Flow, case, context, signals, task


def looping(n: int) -> int:
    if context.task_loop_count < n:
        raise signals.LOOP(result=None)
    return n


def noop(x: object = None) -> None:
    return None


def pick() -> int:
    return 1


def loop_flow(n: int) -> Flow:
    with Flow(f"loop-{n}") as flow:
        task(looping)(n)
    return flow


def branches_flow(n: int, with_case: bool) -> Flow:
    work = task(noop)
    with Flow(f"branches-{n}") as flow:
        chosen = task(pick)()
        for i in range(n):
            if with_case:
                with case(chosen, i % 2):
                    work(chosen)
            else:
                work(chosen)
    return flow


def per_item(flow: Flow, items: int, repeats: int) -> float:
    return best_of(repeats, lambda: flow.run(progress=False, store=None)) / items * 1e6


def per_call_loop(n: int, repeats: int) -> float:
    def loop() -> None:
        for _ in range(n):
            noop()

    return best_of(repeats, loop) / n * 1e6


def run() -> list[Row]:
    import logging

    logging.getLogger("tideflow").setLevel(logging.WARNING)
    n = 1_000
    return [
        Row(
            "one task looping 1,000 times (LOOP): time per iteration",
            per_item(loop_flow(n), n, 5),
            per_call_loop(n, 5),
            "µs",
            "plain loop",
        ),
        Row(
            "1,000 tasks, each in a case block (half skipped): time per task",
            per_item(branches_flow(n, True), n, 5),
            per_item(branches_flow(n, False), n, 5),
            "µs",
            "the same tasks without case",
        ),
    ]
