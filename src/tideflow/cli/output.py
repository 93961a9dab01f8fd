"""Shared output helpers for CLI commands: errors and tables."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tideflow import states
from tideflow.engine.report import TaskRow

# The first class a state is (a subclass of) picks its style: Skipped before Success.
_STYLES: tuple[tuple[type[states.State], str], ...] = (
    (states.Failed, "red"),
    (states.Skipped, "dim"),
    (states.Success, "green"),
    (states.Cancelled, "yellow"),
    (states.Paused, "yellow"),
    (states.Looped, "cyan"),
    (states.Running, "cyan"),
    (states.Pending, "dim"),
)

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``Error: message`` on standard error and exit with ``code``. The message is
    printed as written: brackets in it (a name, a value) are not read as markup."""
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def say(text: str) -> None:
    """Print ``text`` as written (no markup, no highlighting), wrapping softly."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def styled_state(name: str) -> str:
    """``name`` in the colour of its kind of state (failed red, succeeded green, ...)."""
    try:
        cls = states.state_from_name(name)
    except ValueError:
        return escape(name)
    style = next((style for base, style in _STYLES if issubclass(cls, base)), "default")
    return f"[{style}]{name}[/]"


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
