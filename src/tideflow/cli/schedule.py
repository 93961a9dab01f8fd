"""``tideflow schedule preview``: show when a cron expression, an interval or an rrule would fire.

Thin over :mod:`tideflow.schedules`: parse the arguments, build the schedule, ask it for the next
fire times, print its description and a table of the times in local time and in UTC. ``--after``
makes the output reproducible (the default is now). Invalid input prints one ``Error:`` line on
standard error and exits with status 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from tideflow.cli.output import console, fail
from tideflow.durations import parse_duration
from tideflow.schedules import CronSchedule, IntervalSchedule, RRuleSchedule, Schedule

schedule_app = typer.Typer(
    help="Inspect schedules: preview when a cron expression or an interval fires.",
    no_args_is_help=True,
)

_EXAMPLE = "e.g. tideflow schedule preview '*/15 9-17 * * MON-FRI' --tz Europe/Berlin"


@schedule_app.command("preview")
def preview_command(
    cron: Annotated[
        str | None,
        typer.Argument(help="A cron expression such as '*/15 9-17 * * MON-FRI', or @daily."),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", "-i", help="An interval instead of cron: 90s, 15m, 1h30m, 1d."),
    ] = None,
    rrule: Annotated[
        str | None,
        typer.Option(
            "--rrule",
            help="An RFC 5545 recurrence rule instead of cron, e.g. 'FREQ=WEEKLY;BYDAY=MO;"
            "BYHOUR=9' (anchored at --start, else 2019-01-01).",
        ),
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone, e.g. Europe/Berlin.")] = "UTC",
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, max=10_000, help="How many fire times.")
    ] = 10,
    after: Annotated[
        str | None,
        typer.Option("--after", help="Show times after this ISO datetime (in --tz); default now."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="The schedule's start (ISO, in --tz); anchors intervals."),
    ] = None,
) -> None:
    """Print the schedule's description and its next fire times, local and UTC."""
    schedule = _build(cron, interval, rrule, tz, _parse_time("--start", start))
    times = schedule.next(count, after=_parse_time("--after", after))
    console.print(schedule.describe(), markup=False, highlight=False, soft_wrap=True)
    console.print(_table(times, tz))
    if len(times) < count:
        console.print(
            f"Only {len(times)} of {count} fire times: the schedule ends.",
            markup=False,
            highlight=False,
        )


def _build(
    cron: str | None, interval: str | None, rrule: str | None, tz: str, start: datetime | None
) -> Schedule:
    if sum(given is not None for given in (cron, interval, rrule)) != 1:
        fail(f"give one of a cron expression, --interval or --rrule; {_EXAMPLE}")
    try:
        if interval is not None:
            return IntervalSchedule(start, parse_duration(interval), tz=tz)
        if rrule is not None:
            return RRuleSchedule(rrule, start, tz=tz)
        return CronSchedule(str(cron), start, tz=tz)
    except ValueError as error:  # ScheduleError is a ValueError, and so are bad durations
        fail(str(error))


def _parse_time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: invalid ISO datetime {text!r}; use e.g. 2026-03-28T09:00")


def _table(times: list[datetime], tz: str) -> Table:
    table = Table(title_justify="left")
    table.add_column("#", justify="right")
    table.add_column(f"Local time ({tz})")
    table.add_column("UTC")
    for number, time in enumerate(times, start=1):
        local = f"{time:%a %Y-%m-%d %H:%M:%S} {_zone_label(time)}"
        table.add_row(str(number), local, f"{time.astimezone(UTC):%Y-%m-%d %H:%M:%S}")
    return table


def _zone_label(time: datetime) -> str:
    """``CEST (+02:00)``, or just ``+11:00`` for zones whose abbreviation is the offset."""
    digits = f"{time:%z}"
    offset = f"{digits[:3]}:{digits[3:]}"
    abbreviation = f"{time:%Z}"
    return offset if abbreviation[:1] in "+-" else f"{abbreviation} ({offset})"
