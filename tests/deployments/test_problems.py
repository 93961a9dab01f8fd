"""Problems: found one by one, placed by file, deployment and field, raised together."""

from __future__ import annotations

import pytest

from tideflow.deployments.checks import count
from tideflow.deployments.problems import (
    Problem,
    attempt,
    line,
    raise_problems,
    suggest,
    unknown_field,
)
from tideflow.errors import DeploymentError, TideflowError


def test_deployment_error_is_a_tideflow_error_and_a_value_error() -> None:
    assert issubclass(DeploymentError, TideflowError)
    assert issubclass(DeploymentError, ValueError)


def test_a_problem_line_names_the_file_the_deployment_and_the_field() -> None:
    problem = Problem("retries", "expected a whole number")
    assert line("tideflow.toml", "etl", problem) == (
        "tideflow.toml: deployment 'etl', field 'retries': expected a whole number"
    )
    assert line("", "etl", problem) == "deployment 'etl', field 'retries': expected a whole number"
    assert line("", "etl", Problem(None, "is odd")) == "deployment 'etl': is odd"


def test_attempt_records_the_problem_and_goes_on() -> None:
    problems: list[Problem] = []
    assert attempt(problems, "retries", count, 2) == 2
    assert attempt(problems, "retries", count, -1) is None
    assert problems == [Problem("retries", "expected a whole number, 0 or more, got -1")]


def test_every_problem_is_raised_at_once_one_line_each() -> None:
    raise_problems([])  # nothing to report
    with pytest.raises(DeploymentError) as caught:
        raise_problems(["first", "second"])
    assert str(caught.value) == "first\nsecond"
    assert caught.value.problems == ["first", "second"]


def test_an_unknown_key_gets_the_closest_spelling_or_the_known_keys() -> None:
    assert suggest("retry-delay", ["retries", "retry_delay"]) == "did you mean 'retry_delay'?"
    assert suggest("zzz", ["a", "b"]) == "expected one of a, b"
    assert unknown_field("tz", ["timezone"], {"tz": "a hint"}) == "unknown field; a hint"
