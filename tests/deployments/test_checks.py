"""Value checks: names, JSON parameters, durations and the one-second minimum interval."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tideflow.deployments import Deployment, Entrypoint
from tideflow.deployments.checks import MIN_INTERVAL, duration, env, frequent_enough
from tideflow.deployments.problems import Invalid
from tideflow.errors import DeploymentError

FLOW = Entrypoint("flow", "/srv/etl.py:flow")


@pytest.mark.parametrize("name", ["my job", "-flag", "", "a/b", "x" * 101])
def test_a_deployment_name_uses_letters_digits_dash_underscore_and_dot(name: str) -> None:
    with pytest.raises(DeploymentError, match="is not valid; use up to 100 letters, digits"):
        Deployment(name=name, entrypoint=FLOW)


@pytest.mark.parametrize("name", ["etl", "ticket-eval", "team.nightly_v2", "7am"])
def test_valid_names(name: str) -> None:
    assert Deployment(name=name, entrypoint=FLOW).name == name


def test_parameters_must_be_json_values() -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(name="etl", entrypoint=FLOW, parameters={"when": {"day": datetime(2026, 1, 1)}})
    assert str(caught.value) == (
        "deployment 'etl', field 'parameters': the value of 'when'['day'] is a datetime "
        "(datetime.datetime(2026, 1, 1, 0, 0)), not a JSON value; use a string, number, boolean, "
        "list or table"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(minutes=1), timedelta(minutes=1)),
        (90, timedelta(seconds=90)),
        (1.5, timedelta(seconds=1.5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
    ],
)
def test_a_duration_is_a_timedelta_a_number_of_seconds_or_text(
    value: object, expected: timedelta
) -> None:
    assert duration(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a duration such as '30s', '10m' or '1h30m', got True"),
        (float("inf"), "the duration inf is too large"),
        (-5, "must be 0 or more, got '-5s'"),
    ],
)
def test_a_bad_duration_says_what_is_allowed(value: object, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        duration(value)
    assert str(caught.value) == message


def test_environment_values_are_strings() -> None:
    with pytest.raises(Invalid, match=r"environment values are strings, write N = \"3\""):
        env({"N": 3})


def test_an_interval_of_a_second_or_more_is_frequent_enough() -> None:
    assert timedelta(seconds=1) == MIN_INTERVAL
    assert frequent_enough(timedelta(seconds=1)) == timedelta(seconds=1)


def test_an_interval_under_a_second_is_too_short() -> None:
    with pytest.raises(Invalid) as caught:
        frequent_enough(timedelta(milliseconds=1))
    assert str(caught.value) == (
        "1 ms is too short; the service runs a deployment at most once a second, so use at least 1s"
    )
