"""``tideflow limits``: concurrency limits by task tag.

``tideflow limits`` lists them with the slots in use and who holds them; ``tideflow limits set
TAG N`` allows at most N running task runs tagged TAG across every run on the store;
``tideflow limits delete TAG`` lifts it. Thin over :mod:`tideflow.limits`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from tideflow import limits
from tideflow.cli.deployments import deployment_store
from tideflow.cli.output import console, say

__all__ = ["limits_app"]

limits_app = typer.Typer(
    help="Concurrency limits by task tag: at most N running tasks with the tag, across runs.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@limits_app.callback()
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the limits, with the slots in use and the task runs holding them."""
    if ctx.invoked_subcommand is not None:
        return
    with deployment_store() as store:
        found = limits.list_limits(store, at=datetime.now(UTC))
    if as_json:
        rows = [
            {
                "tag": limit.tag,
                "limit": limit.limit,
                "in_use": limit.in_use,
                "slots": [
                    {
                        "flow_run_id": slot.flow_run_id,
                        "task_key": slot.task_key,
                        "map_index": slot.map_index,
                        "acquired_at": slot.acquired_at.isoformat(),
                    }
                    for slot in limit.slots
                ],
            }
            for limit in found
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not found:
        say("No concurrency limits; set one with: tideflow limits set TAG N")
        return
    table = Table(title="Concurrency limits", title_justify="left")
    for column in ("Tag", "Limit", "In use", "Held by"):
        table.add_column(column, justify="right" if column in ("Limit", "In use") else "left")
    for limit in found:
        holders = ", ".join(
            f"{slot.flow_run_id[:8]} {slot.task_key}"
            + ("" if slot.map_index is None else f"[{slot.map_index}]")
            for slot in limit.slots
        )
        table.add_row(limit.tag, str(limit.limit), str(limit.in_use), holders or "-")
    console.print(table)


@limits_app.command("set")
def set_command(
    tag: Annotated[str, typer.Argument(help="The task tag the limit applies to.")],
    limit: Annotated[int, typer.Argument(help="How many such task runs may run at once.")],
) -> None:
    """Allow at most LIMIT running task runs tagged TAG, across every run on the store."""
    with deployment_store() as store:
        limits.set_limit(store, tag, limit, at=datetime.now(UTC))
    say(f"At most {limit} task run(s) tagged {tag!r} run at once (runs starting from now on).")


@limits_app.command("delete")
def delete_command(
    tag: Annotated[str, typer.Argument(help="The tag whose limit to lift.")],
) -> None:
    """Lift the concurrency limit on TAG."""
    with deployment_store() as store:
        limits.delete_limit(store, tag, at=datetime.now(UTC))
    say(f"No concurrency limit on tag {tag!r} any more.")
