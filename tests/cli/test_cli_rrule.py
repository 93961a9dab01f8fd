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
def _store_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows.py").write_text(FLOWS)


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
