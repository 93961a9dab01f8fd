"""Tasks for the Prefect 1 behaviour tests across executors (sent to workers by value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tideflow import Task, context, signals, task
from tideflow.states import State


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def boom() -> int:
    raise ValueError("boom")


@task
def nested_and_single() -> list[Any]:
    return [[1, 2], 3, [4]]


@task
def child(kind: Any) -> Any:
    """A list stays a list; ``"fail"`` fails and ``"skip"`` skips."""
    if kind == "fail":
        raise ValueError("this child failed")
    if kind == "skip":
        raise signals.SKIP("this child skipped")
    return kind


@task
def skipper() -> None:
    raise signals.SKIP("skip me")


@task
def context_keys() -> dict[str, Any]:
    keys = ("flow_id", "flow_run_id", "flow_run_name", "task_slug", "task_run_id", "map_index")
    return {k: context.get(k) for k in keys}


def recorder(path: Path) -> Any:
    """A state handler appending ``task: Old -> New`` lines to ``path`` (any process)."""

    def handler(t: Task, old: State, new: State) -> None:
        with path.open("a") as out:
            out.write(f"{t.name}: {old.name} -> {new.name}\n")

    return handler


class FailsOnce(Task):
    """Fails its first attempt; the attempt number comes from the context."""

    def run(self) -> str:
        if context.get("task_run_count") == 1:
            raise ValueError("first attempt fails")
        return "second attempt"
