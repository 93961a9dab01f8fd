"""``tideflow runs``: list recorded flow runs; ``tideflow runs show RUN_ID``: one run in detail.

Thin over :class:`~tideflow.store.RunStore`: ``runs`` calls
:meth:`~tideflow.store.RunStore.list_flow_runs` with the filters given, ``runs show`` calls
:meth:`~tideflow.store.RunStore.get_flow_run` (any unique id prefix) and
:meth:`~tideflow.store.RunStore.task_runs`. ``--state`` names a state class of
:mod:`tideflow.states` and stands for it and all its subclasses, so ``--state failed`` also lists
``TimedOut``, ``TriggerFailed`` and ``Crashed`` runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated

import typer
from rich.table import Table

from tideflow import states
from tideflow.cli.history import (
    history_store,
    human_seconds,
    iso,
    minutes,
    parse_age,
    plain,
    print_json,
    run_duration,
    run_json,
    task_duration,
    task_json,
    task_label,
)
from tideflow.cli.output import console, fail, styled_state, task_table
from tideflow.engine.report import TaskRow
from tideflow.store import FlowRunRecord, TaskRunRecord
from tideflow.store.records import STATE_NAMES

__all__ = ["SHORT_ID", "runs_app", "state_names"]

SHORT_ID = 8
"""How many characters of a run id the list shows (any unique prefix works with ``show``)."""


def _state_classes() -> dict[str, type[states.State]]:
    """Every state class of :mod:`tideflow.states` but ``State`` itself, by lower-case name."""
    found: dict[str, type[states.State]] = {}
    pending = list(states.State.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__ == states.__name__:
            found[cls.__name__.lower()] = cls
            pending.extend(cls.__subclasses__())
    return found


_STATE_CLASSES = _state_classes()


def state_names(requested: Iterable[str]) -> set[str]:
    """The stored state names that ``requested`` (class names, any case) stand for: each class
    and all its subclasses. An unknown name prints one ``Error:`` line and exits with status 2.

    >>> sorted(state_names(["failed"]))
    ['Crashed', 'Failed', 'TimedOut', 'TriggerFailed']
    >>> sorted(state_names(["Cancelled", "RUNNING"]))
    ['Cancelled', 'Cancelling', 'Running']
    """
    names: set[str] = set()
    for text in requested:
        cls = _STATE_CLASSES.get(text.strip().lower())
        if cls is None:
            valid = ", ".join(sorted(c.__name__ for c in _STATE_CLASSES.values()))
            fail(f"--state: unknown state {text!r}; valid states (any case): {valid}")
        names.update(
            name for name in sorted(STATE_NAMES) if issubclass(states.state_from_name(name), cls)
        )
    return names


runs_app = typer.Typer(
    help="List recorded flow runs, newest first; `tideflow runs show RUN_ID` shows one.",
    no_args_is_help=False,
)


@runs_app.callback(invoke_without_command=True)
def runs_command(
    ctx: typer.Context,
    flow: Annotated[
        str | None, typer.Option("--flow", "-f", help="Only runs of this flow.")
    ] = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="Only runs of this deployment.")
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            "-s",
            help="Only runs in this state or a subclass of it (any case; repeatable): "
            "failed also lists TimedOut, TriggerFailed and Crashed runs.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only runs scheduled within this long ago: 90m, 2h, 7d."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show at most this many runs.")
    ] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of runs.")] = False,
) -> None:
    """List recorded flow runs, newest first (by scheduled time).

    `tideflow runs show RUN_ID` shows one run and its tasks.
    """
    if ctx.invoked_subcommand is not None:
        return
    wanted = state_names(state) if state else None
    after = parse_age("--since", since) if since is not None else None
    with history_store() as store:
        runs = store.list_flow_runs(
            flow=flow, deployment=deployment, states=wanted, since=after, limit=limit
        )
    if as_json:
        print_json([run_json(run) for run in runs])
    elif runs:
        console.print(_runs_table(runs))
    else:
        console.print("No flow runs recorded match.", highlight=False)


def _runs_table(runs: list[FlowRunRecord]) -> Table:
    table = Table(title_justify="left")
    table.add_column("Run", no_wrap=True, min_width=SHORT_ID)
    table.add_column("Flow")
    table.add_column("Deployment")
    table.add_column("State")
    table.add_column("Scheduled (UTC)")
    table.add_column("Started")
    table.add_column("Duration", justify="right")
    table.add_column("Lateness", justify="right")
    for run in runs:
        table.add_row(
            run.id[:SHORT_ID],
            plain(run.flow_name),
            plain(run.deployment or "-"),
            styled_state(run.state),
            minutes(run.scheduled_start_time),
            _started(run),
            human_seconds(run_duration(run)),
            human_seconds(run.lateness),
        )
    return table


def _started(run: FlowRunRecord) -> str:
    """The start time in UTC: ``12:00:02`` on the scheduled day, else to the minute; ``-``."""
    if run.start_time is None:
        return "-"
    if run.start_time.date() == run.scheduled_start_time.date():
        return f"{run.start_time:%H:%M:%S}"
    return minutes(run.start_time)


@runs_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run's id, or any unique prefix of it.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run and its tasks as JSON.")
    ] = False,
) -> None:
    """Show one flow run: its state, parameters, timing and a table of its tasks."""
    with history_store() as store:
        run = store.get_flow_run(run_id)
        tasks = store.task_runs(run.id)
        children = store.list_flow_runs(parent_run_id=run.id, limit=None)
    if as_json:
        print_json(
            {
                **run_json(run),
                "child_runs": [child.id for child in reversed(children)],
                "tasks": [task_json(task) for task in tasks],
            }
        )
        return
    console.print(_details(run, children))
    if tasks:
        console.print(task_table([_task_row(task) for task in tasks], title="Tasks"))
    else:
        console.print("No task states recorded.", highlight=False)


def _details(run: FlowRunRecord, children: list[FlowRunRecord]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    state = styled_state(run.state)
    if run.state_message:
        state += f" - {plain(run.state_message)}"
    rows = [
        ("Run", run.id),
        ("Flow", plain(run.flow_name)),
        ("Deployment", plain(run.deployment or "-")),
        ("State", state),
        ("Parameters", plain(json.dumps(run.parameters, ensure_ascii=False))),
        ("Scheduled", iso(run.scheduled_start_time)),
        ("Started", iso(run.start_time) or "-"),
        ("Ended", iso(run.end_time) or "-"),
        ("Duration", human_seconds(run_duration(run))),
        ("Lateness", human_seconds(run.lateness)),
        ("Host", plain(run.host or "-")),
        ("PID", str(run.pid)),
    ]
    if run.parent_run_id is not None:
        started_by = f"run {run.parent_run_id} task {plain(run.parent_task or '-')}"
        rows.insert(3, ("Started by", started_by))
    if children:
        started = ", ".join(
            f"{child.id} ({plain(child.deployment or child.flow_name)}, "
            f"{styled_state(child.state)})"
            for child in reversed(children)  # oldest first
        )
        rows.insert(3, ("Started runs", started))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _task_row(task: TaskRunRecord) -> TaskRow:
    return TaskRow(
        key=plain(task_label(task.task_key, task.map_index)),
        state=task.state,
        attempts=task.attempts,
        duration=task_duration(task),
        message=plain(task.message or ""),
    )
