"""`tideflow schedule preview`: description, local and UTC fire times, one-line errors."""

from __future__ import annotations

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from tideflow.cli.schedule import schedule_app

runner = CliRunner()
app = typer.Typer()


@app.callback()
def _root() -> None:
    """A stand-in for the main ``tideflow`` app."""


app.add_typer(schedule_app, name="schedule")


def preview(*args: str) -> Result:
    return runner.invoke(app, ["schedule", "preview", *args])


def table_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("│")]


def test_a_cron_preview_shows_the_description_and_local_and_utc_times() -> None:
    result = preview(
        "*/15 9-17 * * MON-FRI", "--tz", "Europe/Berlin", "-n", "3", "--after", "2026-03-28T00:00"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "every 15th minute from 09:00 through 17:59 on Monday through Friday, Europe/Berlin"
    )
    assert "Local time (Europe/Berlin)" in result.stdout
    rows = table_rows(result.stdout)
    assert len(rows) == 3
    assert "Mon 2026-03-30 09:00:00 CEST (+02:00)" in rows[0]
    assert "2026-03-30 07:00:00" in rows[0]
    assert "Mon 2026-03-30 09:30:00 CEST (+02:00)" in rows[2]


def test_a_preview_across_dst_shows_the_shifted_time() -> None:
    result = preview(
        "30 2 * * *", "--tz", "Europe/Berlin", "-n", "2", "--after", "2026-03-28T12:00"
    )
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert "Sun 2026-03-29 03:00:00 CEST (+02:00)" in rows[0]
    assert "2026-03-29 01:00:00" in rows[0]
    assert "Mon 2026-03-30 02:30:00 CEST (+02:00)" in rows[1]


def test_an_interval_preview() -> None:
    result = preview("--interval", "90s", "-n", "2", "--after", "2026-03-28T00:00")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "every 90 seconds"
    rows = table_rows(result.stdout)
    assert "Sat 2026-03-28 00:01:30 UTC (+00:00)" in rows[0]
    assert "Sat 2026-03-28 00:03:00 UTC (+00:00)" in rows[1]


def test_start_anchors_an_interval() -> None:
    result = preview(
        "--interval", "1h", "--start", "2026-03-28T00:15", "-n", "2", "--after", "2026-03-28T06:00"
    )
    assert result.exit_code == 0, result.output
    assert "2026-03-28 06:15:00" in table_rows(result.stdout)[0]


def test_a_zone_without_an_abbreviation_shows_the_offset_once() -> None:
    result = preview(
        "--interval", "1h", "--tz", "Australia/Lord_Howe", "-n", "1", "--after", "2026-04-05T00:30"
    )
    assert "Sun 2026-04-05 01:00:00 +11:00 " in table_rows(result.stdout)[0]


def test_fewer_times_than_asked_are_explained() -> None:
    result = preview("@daily", "-n", "40", "--after", "9999-12-01T00:00")
    assert result.exit_code == 0, result.output
    assert len(table_rows(result.stdout)) == 30
    assert "Only 30 of 40 fire times: the schedule ends." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["61 * * * *"],
            "Error: invalid cron expression '61 * * * *': minute field: value '61' is out of "
            "range 0-59",
        ),
        (["@fortnightly"], "Error: invalid cron expression '@fortnightly': unknown alias"),
        (["--interval", "5x"], "Error: invalid duration '5x': use '90s', '15m'"),
        (["--interval", "0s"], "Error: interval: must be positive, got timedelta(seconds=0)"),
        (["@daily", "--tz", "Mars/Olympus"], "Error: tz: unknown time zone 'Mars/Olympus'"),
        (["@daily", "--after", "tomorrow"], "Error: --after: invalid ISO datetime 'tomorrow'"),
        (
            ["@daily", "--interval", "1h"],
            "Error: give one of a cron expression, --interval or --rrule",
        ),
        ([], "Error: give one of a cron expression, --interval or --rrule"),
    ],
)
def test_bad_input_prints_one_error_line_and_exits_with_status_2(
    args: list[str], message: str
) -> None:
    result = preview(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_the_group_shows_help_without_a_command() -> None:
    result = runner.invoke(app, ["schedule"])
    assert "preview" in result.output
