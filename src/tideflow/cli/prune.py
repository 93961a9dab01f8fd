"""``tideflow prune --older-than 30d [--json]``: delete old finished runs from the run history.

Thin over :meth:`~tideflow.store.RunStore.prune`: finished runs that ended more than the given
duration ago go, with their task states, logs, results and metrics; unfinished runs stay.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tideflow.cli.history import history_store, iso, parse_age, print_json
from tideflow.cli.output import console

__all__ = ["prune_command"]


def prune_command(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Delete finished runs that ended longer ago than this: 12h, 30d, 1w.",
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"deleted": N, "older_than": ...} as JSON.')
    ] = False,
) -> None:
    """Delete finished flow runs that ended before a cutoff, with everything they recorded.

    Unfinished runs (scheduled, pending, running) are never deleted, however old.

    To prune automatically instead, set TIDEFLOW_RETENTION to a duration such as 30d.
    """
    cutoff = parse_age("--older-than", older_than)
    with history_store() as store:
        deleted = store.prune(cutoff)
    if as_json:
        print_json({"deleted": deleted, "older_than": iso(cutoff)})
        return
    runs = "run" if deleted == 1 else "runs"
    console.print(
        f"Deleted {deleted} finished flow {runs} that ended before {cutoff:%Y-%m-%d %H:%M:%S} UTC.",
        markup=False,
        highlight=False,
    )
