"""Lateness of scheduled runs: ``flow.run()`` on a one-second interval schedule for 60 runs in
one process, start minus scheduled time, p50 and p99; beside a plain loop that sleeps until
each target time and measures how late it woke up."""

from __future__ import annotations

import logging
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchmarks.common import Row
from tideflow import Flow, task
from tideflow.schedules import IntervalSchedule

RUNS = 60


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def tideflow_lateness(runs: int) -> list[float]:
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    schedule = IntervalSchedule(
        start_date=first,
        interval=timedelta(seconds=1),
        end_date=first + timedelta(seconds=runs - 1),
    )
    with Flow("lateness", schedule) as flow:
        task(lambda: None, name="noop")()
    last = flow.run(progress=False)
    return [r.lateness for r in last.context["scheduled_runs"]]


def floor_lateness(runs: int, interval: float = 0.25) -> list[float]:
    lateness = []
    target = time.time() + interval
    for _ in range(runs):
        time.sleep(max(target - time.time(), 0))
        lateness.append(time.time() - target)
        target += interval
    return lateness


def run() -> list[Row]:
    logging.getLogger("tideflow").setLevel(logging.WARNING)
    ours = tideflow_lateness(RUNS)
    floor = floor_lateness(RUNS)
    rows = []
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        rows.append(
            Row(
                f"lateness of {RUNS} one-second scheduled runs, {label}",
                percentile(ours, q) * 1000,
                percentile(floor, q) * 1000,
                "ms",
                "sleep-until loop",
                "p99 < 20 ms" if label == "p99" else "",
            )
        )
    rows.append(Row(f"lateness, mean of {RUNS} runs", statistics.mean(ours) * 1000, None, "ms", ""))
    return rows
