"""Shared output helpers for CLI commands: errors and tables."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from tideflow.engine.report import TaskRow

STATE_STYLES = {
    "Success": "green",
    "Failed": "red",
    "TriggerFailed": "red",
    "TimedOut": "red",
    "Crashed": "red",
    "Skipped": "dim",
    "Cancelled": "yellow",
    "Paused": "yellow",
    "Pending": "dim",
}

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``Error: message`` on standard error and exit with ``code``."""
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def styled_state(name: str) -> str:
    return f"[{STATE_STYLES.get(name, 'default')}]{name}[/]"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def task_table(rows: list[TaskRow], title: str | None = None) -> Table:
    """A table of tasks with their states, attempts and durations."""
    table = Table(title=title, title_justify="left")
    table.add_column("Task")
    table.add_column("State")
    table.add_column("Attempts", justify="right")
    table.add_column("Duration", justify="right")
    table.add_column("Message", overflow="fold")
    for row in rows:
        table.add_row(
            row.key,
            styled_state(row.state),
            str(row.attempts),
            format_seconds(row.duration),
            row.message,
        )
    return table
