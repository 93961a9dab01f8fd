"""The ``tideflow`` command line: thin commands that parse, call the library, and format.

Expected errors (a missing file, an unknown flow, a bad parameter, an unknown run id) print one
``Error:`` line on standard error and exit with status 2; a flow run that fails exits with
status 1. The run-history commands (``runs``, ``runs show``, ``logs``, ``metrics``, ``prune``)
read the store :func:`tideflow.store.open_store` opens. ``serve`` runs the scheduler service;
``deploy``, ``deployments``, ``pause``, ``resume``, ``trigger``, ``delete`` and ``backfill``
manage the deployments it runs, which live in that store (a SQL one); ``cancel`` and ``retry``
act on one run; ``events`` prints (and follows) the store's event log; ``limits`` sets, lists
and deletes concurrency limits by task tag.
"""

from __future__ import annotations

import typer

from tideflow.cli.deployments import (
    backfill_command,
    delete_command,
    deploy_command,
    deployments_command,
    pause_command,
    resume_command,
    trigger_command,
)
from tideflow.cli.events import events_command
from tideflow.cli.limits import limits_app
from tideflow.cli.logs import logs_command
from tideflow.cli.metrics import metrics_command
from tideflow.cli.prune import prune_command
from tideflow.cli.run import run_command
from tideflow.cli.runctl import cancel_command, resume_run_command, retry_command
from tideflow.cli.runs import runs_app
from tideflow.cli.schedule import schedule_app
from tideflow.cli.serve import serve_command

app = typer.Typer(
    name="tideflow",
    help="Tideflow: scheduled data pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run_command)
app.add_typer(runs_app, name="runs")
app.command("logs")(logs_command)
app.command("metrics")(metrics_command)
app.command("prune")(prune_command)
app.command("serve")(serve_command)
app.command("deploy")(deploy_command)
app.command("deployments")(deployments_command)
app.command("pause")(pause_command)
app.command("resume")(resume_command)
app.command("trigger")(trigger_command)
app.command("delete")(delete_command)
app.command("backfill")(backfill_command)
app.command("cancel")(cancel_command)
app.command("retry")(retry_command)
app.command("resume-run")(resume_run_command)
app.command("events")(events_command)


@app.callback()
def _root() -> None:
    """Tideflow: scheduled data pipelines."""


app.add_typer(schedule_app, name="schedule")
app.add_typer(limits_app, name="limits")


def main() -> None:
    """Console-script entry point."""
    app()
