"""``tideflow cancel RUN_ID``, ``tideflow retry RUN_ID`` and ``tideflow resume-run RUN_ID``: act
on one run.

Thin over :func:`tideflow.actions.cancel`, :func:`tideflow.actions.retry` and
:func:`tideflow.actions.resume_run`. A waiting run is
cancelled at once; a running one is stopped by the service on its host (its whole process tree)
within a tick. A failed run retried waits for room under its deployment's limits like any run;
with ``--from-failed`` it reruns only its failed branch (see :mod:`tideflow.engine.resume`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from tideflow import actions, lifecycle
from tideflow.cli.deployments import deployment_store
from tideflow.cli.output import say

__all__ = ["cancel_command", "resume_run_command", "retry_command"]

_RUN_HELP = "The run's id, or any unique prefix of it."


def cancel_command(
    run_id: Annotated[str, typer.Argument(help=_RUN_HELP)],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, kept in the run's state message.")
    ] = None,
) -> None:
    """Cancel a run: a waiting one now; a running one is stopped by the service, whole."""
    with deployment_store() as store:
        run = actions.cancel(store, run_id, at=datetime.now(UTC), reason=reason)
    if run.state == lifecycle.CANCELLING:
        say(
            f"Run {run.id} is being cancelled: the service on {run.host} stops its process "
            f"tree and records it Cancelled (tideflow runs show {run.id[:8]})."
        )
    else:
        say(f"Run {run.id} is {run.state}.")


def retry_command(
    run_id: Annotated[str, typer.Argument(help=_RUN_HELP)],
    from_failed: Annotated[
        bool,
        typer.Option(
            "--from-failed",
            help="Rerun only the failed tasks and what depends on them; tasks that succeeded "
            "keep their results when these can be read back.",
        ),
    ] = False,
) -> None:
    """Give a failed run of a deployment another attempt; the service starts it."""
    with deployment_store() as store:
        run = actions.retry(store, run_id, at=datetime.now(UTC), from_failed=from_failed)
    how = " from its failed tasks" if from_failed else ""
    say(
        f"Run {run.id} will run again{how} (attempt {run.attempts}); the service starts it: "
        f"tideflow logs {run.id} --follow"
    )


def resume_run_command(run_id: Annotated[str, typer.Argument(help=_RUN_HELP)]) -> None:
    """Approve a paused run: its tasks waiting for approval run, in the run's own process."""
    with deployment_store() as store:
        run = actions.resume_run(store, run_id, at=datetime.now(UTC))
    say(f"Run {run.id} resumes: its paused tasks run now (tideflow logs {run.id[:8]} --follow).")
