"""``tideflow deploy --rrule``: a deployment on an RFC 5545 recurrence rule from the command
line, previewed and stored like one on cron."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from tideflow.cli import app
from tideflow.deployments import Deployment
from tideflow.schedules import RRuleClock
from tideflow.store import open_store

FLOWS = dedent(
    """
    from tideflow import Flow, Parameter, task

    @task
    def hello(name: str) -> str:
        return name

    with Flow("greeting") as greeting:
        hello(Parameter("name", default="world"))
    """
)


@pytest.fixture(autouse=True)
def _store_on(cli_store_on: Path) -> None:
    (cli_store_on / "flows.py").write_text(FLOWS)


def test_deploy_with_an_rrule_previews_and_stores_its_fire_times() -> None:
    rule = "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=0"
    args = ["deploy", "flows.py:greeting", "--name", "month-end", "--rrule", rule]
    args += ["--tz", "Europe/Berlin", "--start", "2099-01-01T00:00"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2099-01-30 17:00:00 CET (16:00:00 UTC)" in result.stdout  # the last Friday
    assert "2099-02-27 17:00:00 CET" in result.stdout
    opened = open_store()
    assert opened is not None
    with opened:
        record = opened.get_deployment("month-end")
    assert record is not None
    schedule = Deployment.from_dict(record.spec).schedule
    assert schedule is not None
    (clock,) = schedule.clocks
    assert isinstance(clock, RRuleClock)
    assert clock.rule_text == f"DTSTART:20990101T000000\nRRULE:{rule}"


def test_schedule_preview_shows_an_rrules_times_across_dst() -> None:
    args = ["schedule", "preview", "--rrule", "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9"]
    args += ["--tz", "Europe/Berlin", "-n", "2", "--after", "2026-03-25T00:00"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "by the rule FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9, anchored at 2019-01-01 00:00 (Europe/Berlin)"
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert "Thu 2026-03-26 09:00:00 CET (+01:00)" in rows[0]
    assert "Mon 2026-03-30 09:00:00 CEST (+02:00)" in rows[1]


def test_schedule_preview_refuses_a_bad_rrule_in_one_line() -> None:
    result = CliRunner().invoke(app, ["schedule", "preview", "--rrule", "FREQ=SOMETIMES"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: rrule: invalid recurrence rule 'FREQ=SOMETIMES' (")
    assert result.stderr.count("\n") == 1
