"""Tasks for the caching tests on every executor (pickled by value, like ``flows.py``).

Tasks may run in other processes, so they count their calls in files: one line per call in
``<calls>/<task name>``.
"""

from __future__ import annotations

from pathlib import Path

from tideflow import context, task


def count_call(calls: str) -> None:
    with open(Path(calls) / str(context.get("task_full_name")), "a") as out:
        out.write("called\n")


def call_counts(calls: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in sorted(calls.iterdir())}


@task
def double(x: int, calls: str) -> int:
    count_call(calls)
    return 2 * x


@task
def plus_one(x: int, calls: str) -> int:
    count_call(calls)
    return x + 1
