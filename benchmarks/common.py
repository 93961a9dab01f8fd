"""What every benchmark shares: a result row, best-of-N timing, and the markdown table."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measured figure beside its floor (the same work without Tideflow)."""

    name: str
    tideflow: float
    floor: float | None
    unit: str
    floor_label: str
    goal: str = ""

    @property
    def ratio(self) -> str:
        if self.floor is None or self.floor == 0:
            return "-"
        return f"{self.tideflow / self.floor:.1f}x"


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def machine() -> str:
    import os

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def markdown(title: str, rows: list[Row]) -> str:
    lines = [
        f"### {title}",
        "",
        "| benchmark | Tideflow | floor | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        floor = "-" if r.floor is None else f"{r.floor:.2f} {r.unit} ({r.floor_label})"
        lines.append(f"| {r.name} | {r.tideflow:.2f} {r.unit} | {floor} | {r.ratio} | {r.goal} |")
    return "\n".join(lines)
