"""Summaries of a finished flow run: one row per task with its state, attempts and duration."""

from __future__ import annotations

from dataclasses import dataclass

from tideflow.states import Running, State


@dataclass(frozen=True)
class TaskRow:
    """One task of a finished run."""

    key: str
    state: str
    attempts: int
    duration: float | None
    message: str


def task_rows(flow_state: State) -> list[TaskRow]:
    """Rows for every task of the run that ended in ``flow_state``, in topological order."""
    results = flow_state.result if isinstance(flow_state.result, dict) else {}
    history = flow_state.context.get("task_history", {})
    keys = flow_state.context.get("task_keys", {})
    rows = []
    for task, state in results.items():
        key = keys.get(task, task.name)
        states: list[State] = history.get(key, [])
        runs = [s for s in states if isinstance(s, Running)]
        duration = (state.timestamp - runs[0].timestamp).total_seconds() if runs else None
        rows.append(TaskRow(key, state.name, len(runs), duration, state.message or ""))
    return rows
