"""``tideflow serve [--file F] [--tick 1.0] [--grace 30] [--now NAME]``: run the service.

Thin over :class:`tideflow.service.daemon.Service`: load the deployments of ``--file`` (or of
``./tideflow.toml`` when it exists), open the run store (a SQL one, see
:func:`tideflow.cli.deployments.deployment_store`), let the service register them (the file,
by its absolute path, owns them: deployments it no longer declares are removed), print a
banner (the store, each deployment with its schedule, kind and next fire time), and run until
Ctrl-C or SIGTERM. An invalid file prints every problem after ``Error:`` and exits with status 2,
before the store is touched.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tideflow.cli.deployments import deployment_store, next_fire, trigger, when
from tideflow.cli.history import plain
from tideflow.cli.output import console, fail, say
from tideflow.deployments import Deployment, load_deployments
from tideflow.errors import DeploymentError
from tideflow.store.base import deployment_not_found

if TYPE_CHECKING:
    from tideflow.store.sql import SQLStore

__all__ = ["DEFAULT_FILE", "serve_command"]

DEFAULT_FILE = "tideflow.toml"
"""Read from the current directory when ``--file`` is not given and it exists."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"

BANNER_ROWS = 20
"""How many deployments the banner shows (a file may declare thousands)."""


def serve_command(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Deployments to register first (default: ./tideflow.toml when it exists).",
            show_default=False,
        ),
    ] = None,
    tick: Annotated[
        float, typer.Option("--tick", min=0.01, help="Seconds between looks at the store, at most.")
    ] = 1.0,
    grace: Annotated[
        float,
        typer.Option("--grace", min=0, help="Seconds runs in progress get to finish on stop."),
    ] = 30.0,
    now: Annotated[
        list[str] | None,
        typer.Option(
            "--now",
            help="Also run this deployment once right away (repeatable), without waiting for "
            "its first fire time.",
        ),
    ] = None,
) -> None:
    """Run the scheduler service: start every deployment's runs on time, until stopped.

    The file owns the deployments it declares: those it declared before and no longer does
    are removed. Deployments added with `tideflow deploy` are picked up while it runs. Ctrl-C
    or SIGTERM stop it; runs in progress get --grace seconds to finish, then are cancelled.
    """
    if file is None and Path(DEFAULT_FILE).is_file():
        file = Path(DEFAULT_FILE)
    deployments: list[Deployment] = []
    if file is not None:
        try:
            deployments = load_deployments(file)
        except DeploymentError as exc:
            fail(str(exc))
    from tideflow.service.daemon import Service

    with deployment_store() as store:
        declared = {deployment.name for deployment in deployments}
        for name in now or ():  # before anything is registered or started
            if name not in declared and store.get_deployment(name) is None:
                fail(f"--now {name}: {deployment_not_found(name)}")
        source = None if file is None else str(file.resolve())
        service = Service(store, deployments, tick=tick, grace=grace, source=source)
        _banner(store, service.registry.snapshot().deployments, file, len(deployments), grace)
        for name in now or ():
            trigger(store, name)
        with _service_logging():
            service.run()


def _banner(
    store: SQLStore, deployments: list[Deployment], file: Path | None, from_file: int, grace: float
) -> None:
    now = datetime.now(UTC)
    say(f"Tideflow service, run store {store.where}")
    if file is not None:
        say(f"Registered {from_file} deployment(s) from {file}.")
    if deployments:  # as the service sees them: one whose stored spec is bad is left out
        console.print(_table(deployments[:BANNER_ROWS], now))
        if len(deployments) > BANNER_ROWS:
            more = len(deployments) - BANNER_ROWS
            say(f"... and {more:,} more: tideflow deployments lists them all.")
    else:
        say("No deployments yet: add them with tideflow deploy; the service picks them up.")
    say(
        "Look at it from another terminal: tideflow runs | tideflow runs show RUN_ID | "
        "tideflow logs RUN_ID --follow | tideflow metrics FLOW | tideflow deployments"
    )
    say(f"Ctrl-C to stop (runs in progress get {grace:g} s to finish).")


def _table(deployments: list[Deployment], now: datetime) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)  # a name cut in two cannot be copied into a command
    for _ in range(3):
        table.add_column(overflow="fold")
    for deployment in deployments:
        schedule = deployment.schedule
        upcoming = next_fire(deployment, now)
        if deployment.paused:
            status = "[yellow]paused[/]"
        elif upcoming is not None:
            status = f"next {plain(when(upcoming))}"
        else:
            status = "trigger or backfill only" if schedule is None else "no fire times left"
        table.add_row(
            plain(deployment.name),
            deployment.kind,
            plain("-" if schedule is None else schedule.describe()),
            status,
        )
    return table


@contextmanager
def _service_logging() -> Iterator[None]:
    """The service's log lines (runs started, crashed, retried) on standard error, while it
    runs; the handler is removed afterwards."""
    logger = logging.getLogger("tideflow.service")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
