"""A progress bar for flow runs in a terminal: tasks done out of the total, and failures.

Shown only when standard error is a terminal (never in logs, pipes, CI or notebooks), and not
when ``TIDEFLOW_PROGRESS=0``. Uses rich, imported only when a bar is actually shown.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from tideflow.engine.observers import FlowRunInfo, RunObserver

if TYPE_CHECKING:
    from tideflow.states import State
    from tideflow.task import Task


def progress_wanted() -> bool:
    """Whether a progress bar should be shown for a run started now."""
    if os.environ.get("TIDEFLOW_PROGRESS", "1") == "0":
        return False
    return sys.stderr.isatty()


class ProgressBar(RunObserver):
    """Draws one bar per flow run; see the module docstring."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._bar: Any = None
        self._failed = 0
        self._done = 0
        self._lock = threading.Lock()  # observers may be told from task threads

    def flow_run_started(self, run: FlowRunInfo) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failures]}"),
            transient=True,
        )
        self._bar = self._progress.add_task(run.flow.name, total=len(run.flow), failures="")
        self._progress.start()

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        if map_index is not None or not state.is_finished():
            return
        with self._lock:
            self._done += 1
            if state.is_failed():
                self._failed += 1
            failures = f"[red]{self._failed} failed" if self._failed else ""
            self._progress.update(self._bar, completed=self._done, failures=failures)

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        if self._progress is not None:
            self._progress.stop()
