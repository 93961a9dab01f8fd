"""``tideflow logs RUN_ID [--task T] [--follow] [--json]``: print a flow run's log lines.

Thin over :meth:`~tideflow.store.RunStore.logs`. ``--follow`` polls for lines with an id above
the last one printed (log ids only ever increase) every :data:`FOLLOW_POLL_SECONDS` until the run
is in a finished state, prints what is left and exits; Ctrl-C stops following with status 130.
``--json`` prints one JSON object per line (JSON lines), also while following.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.text import Text

from tideflow.cli.history import history_store, log_json, print_json, task_label
from tideflow.cli.output import console
from tideflow.store import LogLine, RunStore

__all__ = ["FOLLOW_POLL_SECONDS", "logs_command"]

FOLLOW_POLL_SECONDS = 0.5
"""How often ``--follow`` asks the store for new lines and whether the run has finished."""

_LEVEL_STYLES = {
    "DEBUG": "dim",
    "WARNING": "yellow",
    "ERROR": "red",
    "CRITICAL": "bold red",
}


def logs_command(
    run_id: Annotated[str, typer.Argument(help="The run's id, or any unique prefix of it.")],
    task: Annotated[
        str | None,
        typer.Option("--task", "-t", help="Only this task's lines, by task key: say_hello, t-2."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing new lines until the run finishes."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per line (JSON lines).")
    ] = False,
) -> None:
    """Print a flow run's log lines: time (UTC), level, task, logger and message."""
    with history_store() as store:
        run = store.get_flow_run(run_id)
        if not follow:
            lines = store.logs(run.id, task_key=task)
            _print(lines, as_json=as_json)
            if not lines and not as_json:
                which = f" by task {task!r}" if task else ""
                console.print(
                    f"No log lines recorded{which} in run {run.id}.",
                    markup=False,
                    highlight=False,
                )
            return
        try:
            _follow(store, run.id, task, as_json=as_json)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def _follow(store: RunStore, run_id: str, task: str | None, *, as_json: bool) -> None:
    last_id: int | None = None
    while True:
        # Read the state before the lines: every line written before the run finished is then
        # in the last batch read.
        finished = store.get_flow_run(run_id).is_finished
        lines = store.logs(run_id, task_key=task, after_id=last_id)
        _print(lines, as_json=as_json)
        if lines:
            last_id = lines[-1].id
        if finished:
            return
        time.sleep(FOLLOW_POLL_SECONDS)


def _print(lines: list[LogLine], *, as_json: bool) -> None:
    for line in lines:
        if as_json:
            print_json(log_json(line), indent=None)
        else:
            console.print(_text(line), soft_wrap=True, highlight=False)


def _text(line: LogLine) -> Text:
    """``2026-03-01 12:00:01.250 INFO     say_hello  tideflow.task: message``."""
    moment = f"{line.timestamp:%Y-%m-%d %H:%M:%S}.{line.timestamp.microsecond // 1000:03d}"
    text = Text.assemble(
        (moment, "dim"),
        " ",
        (f"{line.level:<8}", _LEVEL_STYLES.get(line.level.upper(), "")),
        " ",
    )
    task = task_label(line.task_key, line.map_index)
    if task:
        text.append(task, style="cyan")
        text.append(" ")
    text.append(f"{line.logger}: " if line.logger else "", style="dim")
    text.append(line.message)
    return text
