"""Deployments on an RFC 5545 recurrence rule: ``rrule = "..."`` in ``tideflow.toml`` and
``tideflow deploy --rrule``, anchored deterministically, checked like cron and interval, and
stored through the schedule's JSON form."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tideflow.deployments import Deployment, deployment_from_options, load_deployments
from tideflow.errors import DeploymentError
from tideflow.schedules import RRuleSchedule

AFTER = datetime(2026, 3, 25, tzinfo=UTC)


def load(tmp_path: Path, keys: str) -> Deployment:
    path = tmp_path / "tideflow.toml"
    path.write_text(f'[deployments.x]\nflow = "jobs:f"\n{keys}\n')
    (deployment,) = load_deployments(path)
    return deployment


def problems(tmp_path: Path, keys: str) -> list[str]:
    with pytest.raises(DeploymentError) as caught:
        load(tmp_path, keys)
    return [p.split(": ", 1)[1] for p in caught.value.problems]


def next_times(deployment: Deployment, n: int = 3) -> list[str]:
    assert deployment.schedule is not None
    return [t.isoformat() for t in deployment.schedule.next(n, after=AFTER)]


def test_a_toml_rrule_fires_at_its_wall_clock_times_in_the_timezone(tmp_path: Path) -> None:
    deployment = load(
        tmp_path,
        'rrule = "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0"\ntimezone = "Europe/Berlin"',
    )
    assert next_times(deployment) == [
        "2026-03-26T09:00:00+01:00",
        "2026-03-30T09:00:00+02:00",
        "2026-04-02T09:00:00+02:00",
    ]


def test_without_dtstart_a_rule_is_anchored_at_start_else_at_2019(tmp_path: Path) -> None:
    every_three_days = 'rrule = "FREQ=DAILY;INTERVAL=3"'
    unanchored = load(tmp_path, every_three_days)
    assert unanchored == load(tmp_path, every_three_days)  # the same rule on every load
    assert unanchored.schedule == RRuleSchedule(
        "DTSTART:20190101T000000\nRRULE:FREQ=DAILY;INTERVAL=3"
    )
    anchored = load(tmp_path, every_three_days + '\nstart = "2026-03-27T06:30"')
    assert next_times(anchored, 2) == ["2026-03-27T06:30:00+00:00", "2026-03-30T06:30:00+00:00"]


def test_a_rule_with_its_own_dtstart_keeps_it(tmp_path: Path) -> None:
    rule = 'rrule = """DTSTART:20260101T170000\nRRULE:FREQ=MONTHLY;BYDAY=-1FR"""'
    assert next_times(load(tmp_path, rule), 2) == [
        "2026-03-27T17:00:00+00:00",
        "2026-04-24T17:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            'rrule = "FREQ=DAILY"\ncron = "@daily"',
            "deployment 'x': cron and rrule are both given; keep one",
        ),
        (
            'rrule = "FREQ=SOMETIMES"',
            "deployment 'x', field 'rrule': invalid recurrence rule 'FREQ=SOMETIMES' (",
        ),
        (
            "rrule = 5",
            "deployment 'x', field 'rrule': expected a rule such as "
            "'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9', got 5",
        ),
        (
            'rrule = """RRULE:FREQ=DAILY\nEXDATE:20260101T000000"""',
            "deployment 'x', field 'rrule': an rruleset is not supported; give each rrule its "
            "own RRuleClock",
        ),
    ],
)
def test_a_bad_rrule_is_a_problem_of_its_field(tmp_path: Path, keys: str, expected: str) -> None:
    (found,) = problems(tmp_path, keys)
    assert found.startswith(expected), found


def test_deploy_options_take_an_rrule_and_the_spec_round_trips(tmp_path: Path) -> None:
    deployment = deployment_from_options(
        "etl.py:flow",
        name="etl",
        rrule="FREQ=HOURLY;BYMINUTE=15",
        timezone="America/New_York",
        start="2026-01-01T00:00",
        base_dir=tmp_path,
    )
    assert next_times(deployment, 1) == ["2026-03-24T20:15:00-04:00"]
    assert Deployment.from_dict(deployment.to_dict()) == deployment
