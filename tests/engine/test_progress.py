"""The terminal progress bar: only for terminals, and it counts finished and failed tasks."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest

from tideflow import Flow, task
from tideflow.engine import progress
from tideflow.engine.observers import FlowRunInfo
from tideflow.states import Failed, Running, Success


def test_no_progress_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEFLOW_PROGRESS", "1")
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert progress.progress_wanted() is False


def test_the_progress_bar_can_be_turned_off_in_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    monkeypatch.setenv("TIDEFLOW_PROGRESS", "1")
    assert progress.progress_wanted() is True
    monkeypatch.setenv("TIDEFLOW_PROGRESS", "0")
    assert progress.progress_wanted() is False


def test_the_progress_bar_counts_finished_and_failed_tasks() -> None:
    one = task(lambda: 1, name="one")
    with Flow("progress") as flow:
        a, b, c = one(), one(), one()
    run = FlowRunInfo(flow, "id", {}, datetime.now(UTC), datetime.now(UTC))
    bar = progress.ProgressBar()
    bar.flow_run_started(run)
    updates: list[dict[str, Any]] = []
    real_update = bar._progress.update
    bar._progress.update = lambda *a, **kw: (updates.append(kw), real_update(*a, **kw))
    bar.task_state_changed(run, "one", a, Running(), None)
    bar.task_state_changed(run, "one", a, Success(), None)
    bar.task_state_changed(run, "one-2", b, Failed(), None)
    bar.flow_run_finished(run, Failed())
    assert [u["completed"] for u in updates] == [1, 2]
    assert updates[-1]["failures"] == "[red]1 failed"
    assert len(flow) == 3
    assert c in flow
