"""The deployment commands: ``deploy``, ``deployments``, ``pause``, ``resume``, ``trigger``,
``delete`` and ``backfill``.

Thin over the library: :func:`tideflow.deployments.deployment_from_options` builds and checks a
deployment and :mod:`tideflow.actions` does the rest (deploy, pause, resume, trigger, delete,
backfill); these commands parse options, call them and say what happened. The service
(``tideflow serve``) launches waiting runs on its next tick.

Deployments live in the run store, so these commands and the service always open it where it is
configured (``TIDEFLOW_DATABASE_URL``, else ``$TIDEFLOW_HOME/tideflow.db``), even with
``TIDEFLOW_STORE=off``, which only stops ad-hoc ``flow.run()`` calls from being recorded. It must
be a SQL store the service and its run processes share: an in-memory one (``memory://``) is one
``Error:`` line and exit status 2, as are an unknown deployment, an invalid option and a bad
backfill window.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tideflow import actions
from tideflow.cli.history import iso, minutes, opened_store, plain, print_json
from tideflow.cli.output import console, err_console, fail, say, styled_state
from tideflow.cli.run import parse_params
from tideflow.deployments import Deployment, deployment_from_options
from tideflow.entrypoints import is_file_ref, split_ref
from tideflow.errors import DeploymentError, FlowLoadError
from tideflow.service.registry import SOURCE_KEY, UNREADABLE, deployment_of
from tideflow.store import DeploymentRecord
from tideflow.store.base import deployment_not_found

if TYPE_CHECKING:
    from tideflow.store.sql import SQLStore

__all__ = [
    "backfill_command",
    "delete_command",
    "deploy_command",
    "deployment_store",
    "deployments_command",
    "next_fire",
    "pause_command",
    "resume_command",
    "trigger",
    "trigger_command",
    "when",
]

NEXT_SHOWN = 3
"""How many fire times ``tideflow deploy`` prints."""


# -- shared with `tideflow serve` ----------------------------------------------------------------


@contextmanager
def deployment_store() -> Iterator[SQLStore]:
    """The configured run store, which must be a SQL one (see
    :func:`~tideflow.cli.history.opened_store`; ``TIDEFLOW_STORE=off`` is not read: it turns off
    recording, not the store deployments live in); closed afterwards."""
    from tideflow.store.sql import SQLStore

    with opened_store(sql_only=True) as store:
        assert isinstance(store, SQLStore)
        yield store


def next_fire(deployment: Deployment, now: datetime) -> datetime | None:
    """The deployment's next fire time after ``now``; None when paused or without schedule."""
    if deployment.paused or deployment.schedule is None:
        return None
    times = deployment.schedule.next(1, after=now)
    return times[0] if times else None


def when(moment: datetime) -> str:
    """A fire time in its schedule's zone, with UTC beside it when that differs.

    >>> from zoneinfo import ZoneInfo
    >>> when(datetime(2026, 3, 2, 6, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    'Mon 2026-03-02 06:00:00 CET (05:00:00 UTC)'
    >>> when(datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    'Mon 2026-03-02 06:00:00 UTC'
    """
    utc = moment.astimezone(UTC)
    local = f"{moment:%a %Y-%m-%d %H:%M:%S} {moment:%Z}"
    if f"{moment:%Z}" == "UTC":
        return local
    return f"{local} ({utc:%H:%M:%S} UTC)"


def _record(store: SQLStore, name: str) -> DeploymentRecord:
    record = store.get_deployment(name)
    if record is None:
        fail(str(deployment_not_found(name)))
    return record


def _now() -> datetime:
    return datetime.now(UTC)


def _warn(text: str) -> None:
    err_console.print(f"[bold yellow]Warning:[/] {plain(text)}", highlight=False, soft_wrap=True)


# -- tideflow deploy -----------------------------------------------------------------------------


def deploy_command(
    target: Annotated[
        list[str],
        typer.Argument(
            metavar="FLOW_REF",
            help="path/to/file.py:flow or package.module:flow; with --callable a function "
            "(module:main); with --command a program and its arguments ('dbt run', or after --).",
            show_default=False,
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The deployment's name.")],
    cron: Annotated[
        str | None, typer.Option("--cron", help="A cron expression, e.g. '0 6 * * *'.")
    ] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="An interval instead: 90s, 15m, 1h30m.")
    ] = None,
    rrule: Annotated[
        str | None,
        typer.Option(
            "--rrule",
            help="An RFC 5545 recurrence rule instead, e.g. 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9' "
            "(anchored at --start).",
        ),
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="The schedule's time zone (default UTC).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="The schedule's start (ISO; wall-clock time in --tz)."),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="scheduled: a fresh process per run; persistent: one long-lived one."
        ),
    ] = "scheduled",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as KEY=VALUE (JSON values parse)."),
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="An environment variable as K=V.")
    ] = None,
    secret_env: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-env",
            help="An environment variable from a secret, as VAR=SECRET_NAME (or VAR).",
        ),
    ] = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="local, local_dask or dask.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Dask workers (implies --executor dask if none given)."),
    ] = None,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="Stop a run after this long: 10m, 2h.")
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", help="Run a failed run again up to this many times.")
    ] = 0,
    retry_delay: Annotated[
        str | None, typer.Option("--retry-delay", help="Wait between attempts: 30s.")
    ] = None,
    overlap: Annotated[
        str,
        typer.Option(
            "--overlap", help="A due run while another runs: skip, queue (wait) or allow."
        ),
    ] = "skip",
    max_active: Annotated[
        int | None,
        typer.Option(
            "--max-active", help="At most this many runs at once (default 1; allow: no limit)."
        ),
    ] = None,
    catchup: Annotated[
        str,
        typer.Option(
            "--catchup", help="Fire times missed while the service was down: none, latest, all."
        ),
    ] = "latest",
    misfire_grace: Annotated[
        str | None,
        typer.Option("--misfire-grace", help="A fire time is missed after this long (60s)."),
    ] = None,
    working_dir: Annotated[
        str | None, typer.Option("--working-dir", help="The runs' working directory.")
    ] = None,
    python: Annotated[
        str | None, typer.Option("--python", help="Another interpreter, e.g. .venv/bin/python.")
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Register it paused.")] = False,
    is_callable: Annotated[
        bool, typer.Option("--callable", help="FLOW_REF is any Python callable.")
    ] = False,
    is_command: Annotated[
        bool, typer.Option("--command", help="FLOW_REF is a program and its arguments.")
    ] = False,
) -> None:
    """Register a deployment in the run store, or update the one with that name.

    The running service (`tideflow serve`) picks it up on its next tick. Relative paths are
    resolved against the current directory. Without --cron, --interval or --rrule it runs
    only when triggered or backfilled. A deployment paused with `tideflow pause` stays paused.
    """
    if is_callable and is_command:
        fail("give --callable or --command, not both")
    entry_kind = "command" if is_command else "callable" if is_callable else "flow"
    if entry_kind != "command" and len(target) != 1:
        fail(f"expected one {entry_kind} reference, got {len(target)}: {' '.join(target)}")
    try:
        deployment = deployment_from_options(
            target[0] if len(target) == 1 else target,
            name=name,
            entrypoint_kind=entry_kind,  # type: ignore[arg-type]  # one of the three
            kind=kind,
            cron=cron,
            interval=interval,
            rrule=rrule,
            timezone=tz,
            start=start,
            params=param or [],
            env=env or [],
            secret_env=secret_env or [],
            executor=executor,
            workers=workers,
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            overlap=overlap,
            max_active=max_active,
            catchup=catchup,
            misfire_grace=misfire_grace,
            working_dir=working_dir,
            python=python,
            paused=paused,
        )
    except DeploymentError as exc:
        fail(str(exc))
    now = _now()
    with deployment_store() as store:
        (deployed,) = actions.deploy(store, [deployment], at=now)
    _report_deployed(deployed.deployment, not deployed.created, now)


def _report_deployed(deployment: Deployment, existed: bool, now: datetime) -> None:
    verb = "Updated" if existed else "Registered"
    say(f"{verb} deployment {deployment.name!r}: {deployment.entrypoint} ({deployment.kind}).")
    _warn_missing_file(deployment)
    schedule = deployment.schedule
    if schedule is None:
        say(
            "No schedule: it runs when triggered (tideflow trigger NAME) or backfilled "
            "(tideflow backfill NAME --start ... --end ...)."
        )
    else:
        say(f"Schedule: {schedule.describe()}.")
        times = schedule.next(NEXT_SHOWN, after=now)
        if times:
            say("Next fire times:")
            for moment in times:
                say(f"  {when(moment)}")
        else:
            say("The schedule has no fire times left.")
    if deployment.paused:
        say(f"It is paused: tideflow resume {deployment.name} lets it run.")
    else:
        say("The service (tideflow serve) runs it.")


def _warn_missing_file(deployment: Deployment) -> None:
    """A warning when a flow or callable names a file that is not there (yet)."""
    target = deployment.entrypoint.target
    if not isinstance(target, str):
        return
    try:
        where, _ = split_ref(target)
    except FlowLoadError:
        return
    if is_file_ref(where) and not os.path.exists(where):
        _warn(f"{where} does not exist (yet); runs will fail until it does")


# -- tideflow deployments ------------------------------------------------------------------------


def deployments_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array of deployments.")
    ] = False,
) -> None:
    """List the deployments: kind, schedule, paused, next fire time and the last run."""
    now = _now()
    rows: list[dict[str, Any]] = []
    with deployment_store() as store:
        for record in store.list_deployments():
            last = store.list_flow_runs(deployment=record.name, limit=1)
            try:
                deployment = deployment_of(record)
            except UNREADABLE as exc:  # listed, so it can be seen and deleted
                rows.append(_unreadable_json(record, exc))
                continue
            rows.append(_deployment_json(record, deployment, last[0] if last else None, now))
    if as_json:
        print_json(rows)
    elif rows:
        console.print(_deployments_table(rows))
    else:
        say("No deployments: add one with tideflow deploy or tideflow serve --file tideflow.toml.")


def _deployment_json(
    record: DeploymentRecord, deployment: Deployment, last: Any, now: datetime
) -> dict[str, Any]:
    schedule = deployment.schedule
    return {
        "name": deployment.name,
        "kind": deployment.kind,
        "entrypoint": deployment.entrypoint.to_dict(),
        "schedule": None if schedule is None else schedule.describe(),
        "paused": deployment.paused,
        "next_fire_time": iso(next_fire(deployment, now)),
        "last_fire": iso(record.last_fire),
        "last_run": None
        if last is None
        else {
            "id": last.id,
            "state": last.state,
            "scheduled_start_time": iso(last.scheduled_start_time),
        },
        "overlap": deployment.overlap,
        "max_active": deployment.capacity,
        "catchup": deployment.catchup,
        "source": record.spec.get(SOURCE_KEY),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "spec": record.spec,
    }


def _unreadable_json(record: DeploymentRecord, error: Exception) -> dict[str, Any]:
    return {
        "name": record.name,
        "error": f"its stored spec cannot be read: {error}",
        "paused": record.paused,
        "spec": record.spec,
    }


def _deployments_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title_justify="left")
    table.add_column("Name")
    table.add_column("Kind")
    table.add_column("Schedule", overflow="fold")
    table.add_column("Paused")
    table.add_column("Next fire (UTC)")
    table.add_column("Last run")
    table.add_column("Scheduled (UTC)")
    for row in rows:
        if "error" in row:
            table.add_row(plain(row["name"]), "-", f"[red]{plain(row['error'])}[/]")
            continue
        last = row["last_run"]
        table.add_row(
            plain(row["name"]),
            row["kind"],
            plain(row["schedule"] or "-"),
            "[yellow]yes[/]" if row["paused"] else "no",
            _minutes(row["next_fire_time"]),
            "-" if last is None else styled_state(last["state"]),
            "-" if last is None else _minutes(last["scheduled_start_time"]),
        )
    return table


def _minutes(text: str | None) -> str:
    return minutes(None if text is None else datetime.fromisoformat(text))


# -- tideflow pause / resume ---------------------------------------------------------------------

_NAME_HELP = "The deployment's name."


def pause_command(name: Annotated[str, typer.Argument(help=_NAME_HELP)]) -> None:
    """Pause a deployment: the service creates and starts none of its runs until it is resumed.

    A pause means "do not run": fire times during the pause are never run, not even after
    `tideflow resume`. Runs already going finish; waiting triggered or backfilled runs wait.
    The pause outlasts restarts of the service and re-deploys.
    """
    with deployment_store() as store:
        if not actions.pause(store, name, at=_now()):
            say(f"Deployment {name!r} is already paused.")
            return
    say(f"Paused deployment {name!r}; tideflow resume {name} lets it run again.")


def resume_command(name: Annotated[str, typer.Argument(help=_NAME_HELP)]) -> None:
    """Resume a paused deployment; its schedule goes on from now.

    Fire times that passed during the pause are skipped, not caught up (a pause means "do not
    run", not "run later"); waiting triggered or backfilled runs start.
    """
    now = _now()
    with deployment_store() as store:
        if not actions.resume(store, name, at=now):
            say(f"Deployment {name!r} is not paused.")
            return
        deployment = actions.stored_deployment(store, name)
    upcoming = next_fire(deployment, now)
    after = f"; next fire time {when(upcoming)}" if upcoming is not None else ""
    say(f"Resumed deployment {name!r}{after}.")


# -- tideflow trigger ----------------------------------------------------------------------------


def trigger_command(
    name: Annotated[str, typer.Argument(help=_NAME_HELP)],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="Override a parameter as KEY=VALUE (JSON values parse)."
        ),
    ] = None,
) -> None:
    """Add a run of a deployment now; the running service starts it as soon as there is room.

    The run gets the deployment's parameters, with --param values replacing them. A triggered
    run is never skipped by the overlap policy: while other runs of the deployment go, it waits.
    """
    overrides = parse_params(param or [])
    with deployment_store() as store:
        trigger(store, name, overrides)
    say("The service (tideflow serve) starts it.")


def trigger(store: SQLStore, name: str, overrides: dict[str, Any] | None = None) -> str:
    """Add a waiting run of deployment ``name`` now, saying so; its id."""
    run = actions.trigger(store, name, overrides, at=_now())
    say(f"Triggered run {run.id} of deployment {name!r}: tideflow logs {run.id} --follow")
    if _record(store, name).paused:
        _warn(f"deployment {name!r} is paused: the run waits until tideflow resume {name}")
    return run.id


# -- tideflow delete -----------------------------------------------------------------------------


def delete_command(
    name: Annotated[str, typer.Argument(help=_NAME_HELP)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a deployment; its recorded runs stay in the history.

    Its waiting runs (triggered, backfilled or not started yet) are cancelled, since nothing
    would ever start them. Without --yes, asks first. A deployment declared in a tideflow.toml
    comes back when the service is started with that file again: remove it from the file.
    """
    with deployment_store() as store:
        _record(store, name)
        if not yes and not typer.confirm(
            f"Delete deployment {name!r}? Its recorded runs stay in the history"
        ):
            say("Nothing deleted.")
            raise typer.Exit(1)
        cancelled = actions.delete(store, name, at=_now())
    more = f"; cancelled its {cancelled} waiting run(s)" if cancelled else ""
    say(f"Deleted deployment {name!r}{more}. Its recorded runs stay in the history.")


# -- tideflow backfill ---------------------------------------------------------------------------


def backfill_command(
    name: Annotated[str, typer.Argument(help=_NAME_HELP)],
    start: Annotated[
        str,
        typer.Option(
            "--start",
            help="The window's start: a date or an ISO datetime (without offset: in the "
            "schedule's zone).",
        ),
    ],
    end: Annotated[
        str,
        typer.Option("--end", help="The window's end, included: a date (the whole day) or ISO."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the created and existing runs as JSON.")
    ] = False,
) -> None:
    """Add one waiting run per fire time of a deployment's schedule in a window.

    Fire times that already have a run (in any state) are left alone, so a backfill can be
    repeated. The service starts the runs one after another as the deployment has room
    (max_active); backfilled runs are never skipped by the overlap policy.
    """
    first, last = _parse_time("--start", start), _parse_time("--end", end)
    with deployment_store() as store:
        done = actions.backfill(store, name, first, last, at=_now())
        deployment = actions.stored_deployment(store, name)
    created = [
        {"id": run.id, "scheduled_start_time": run.scheduled_start_time.isoformat()}
        for run in done.created
    ]
    present = [moment.isoformat() for moment in done.present]
    _backfill_warnings(deployment, len(created))
    if as_json:
        print_json({"deployment": name, "created": created, "already_present": present})
        return
    total = len(created) + len(present)
    if not total:
        say(f"No fire time of {name!r} falls in the window; nothing to backfill.")
        return
    times = [row["scheduled_start_time"] for row in created] + present
    span = f"{_minutes(min(times))} to {_minutes(max(times))} UTC"
    say(
        f"Backfill of {name!r}, {total} fire time(s) from {span}: created {len(created)} "
        f"waiting run(s), {len(present)} already had a run."
    )


def _backfill_warnings(deployment: Deployment, created: int) -> None:
    name = deployment.name
    if created > 1 and deployment.overlap == "allow":
        _warn(f'deployment {name!r} has overlap "allow": its due runs all start at once')
    if created and deployment.paused:
        _warn(f"deployment {name!r} is paused: the runs wait until tideflow resume {name}")


def _parse_time(option: str, text: str) -> datetime | date:
    """A date (``2026-03-07``: the day) or an ISO datetime."""
    try:
        if len(text.strip()) == 10:
            return date.fromisoformat(text.strip())
        return datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"{option}: invalid date or ISO datetime {text!r}; "
            "use e.g. 2026-03-01 or 2026-03-01T06:00"
        )
