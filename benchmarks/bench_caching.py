"""What caching costs on the LocalExecutor: a flow of 1,000 independent tasks whose every task is
a cache hit (``cache_for``), or finds its ``target``, beside the same flow without caching, where
each task is called; and the first run, which writes the 1,000 entries. The difference per task
is the price of a hit (goal: under 200 µs) or of a write."""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks.bench_engine import noop, per_task_run
from benchmarks.common import Row, best_of
from tideflow import Flow, task
from tideflow.engine.results import LocalResult

N = 1_000


def flow_of(name: str, **options: object) -> Flow:
    t = task(noop, **options)
    with Flow(name) as flow:
        for _ in range(N):
            t()
    return flow


def run() -> list[Row]:
    logging.getLogger("tideflow").setLevel(logging.WARNING)
    plain = per_task_run(flow_of("plain"), 5)
    cached = flow_of("cached", cache_for=timedelta(hours=1))
    write = best_of(1, lambda: cached.run(progress=False, store=None)) / N * 1e6
    hit = per_task_run(cached, 5)
    results = Path(tempfile.mkdtemp(prefix="tideflow-bench-results-"))
    targeted = flow_of("targeted", target="{task_key}.pkl", result=LocalResult(dir=results))
    target_write = best_of(1, lambda: targeted.run(progress=False, store=None)) / N * 1e6
    target_hit = per_task_run(targeted, 5)
    return [
        Row(
            "1,000 independent tasks, each a cache hit: time per task",
            hit,
            plain,
            "µs",
            "called, no caching",
            f"hit costs {hit - plain:.0f} µs (goal < 200 µs)",
        ),
        Row(
            "the same, first run writing each cache entry: time per task",
            write,
            plain,
            "µs",
            "called, no caching",
            f"write costs {write - plain:.0f} µs",
        ),
        Row(
            "1,000 independent tasks, each finding its target file: time per task",
            target_hit,
            plain,
            "µs",
            "called, no caching",
            f"hit costs {target_hit - plain:.0f} µs (goal < 200 µs)",
        ),
        Row(
            "the same, first run writing each target file: time per task",
            target_write,
            plain,
            "µs",
            "called, no caching",
            f"write costs {target_write - plain:.0f} µs",
        ),
    ]
