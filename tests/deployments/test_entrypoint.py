"""Entrypoints: flow and callable references, and commands as argv tuples."""

from __future__ import annotations

import pytest

from tideflow.deployments import Entrypoint
from tideflow.errors import DeploymentError


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("flow", "path/to/file.py:flow"),
        ("flow", "package.module:flow"),
        ("flow", "file.py"),  # the file's only flow
        ("callable", "package.module:main"),
        ("callable", "script.py:main"),
    ],
)
def test_entrypoint_references(kind: str, target: str) -> None:
    assert Entrypoint(kind, target).target == target  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        ("callable", "package.module", "'package.module' names no function"),
        ("flow", "file.py:1x", "'1x' is not a Python name"),
        ("flow", "not a module:flow", "'not a module' is neither a .py file nor a module name"),
        ("flow", "", "expected a reference such as 'path/to/file.py:flow'"),
        ("command", [], "expected a non-empty list of arguments"),
        ("command", ["dbt", 3], "every argument must be a string"),
        ("script", "x", "entrypoint kind 'script' is not one of flow, callable, command"),
    ],
)
def test_bad_entrypoints_say_what_is_expected(kind: str, target: object, message: str) -> None:
    with pytest.raises(DeploymentError, match=r"^entrypoint: ") as caught:
        Entrypoint(kind, target)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_a_command_is_an_argv_tuple_and_a_string_is_split_without_a_shell() -> None:
    assert Entrypoint("command", ["dbt", "run"]).target == ("dbt", "run")  # type: ignore[arg-type]
    split = Entrypoint("command", "dbt run --select 'my model'")
    assert split.target == ("dbt", "run", "--select", "my model")
    assert str(split) == "command dbt run --select 'my model'"


@pytest.mark.parametrize(
    "entrypoint",
    [Entrypoint("flow", "etl.py:flow"), Entrypoint("command", ("dbt", "run"))],
    ids=str,
)
def test_an_entrypoint_round_trips_through_its_dict(entrypoint: Entrypoint) -> None:
    assert Entrypoint.from_dict(entrypoint.to_dict()) == entrypoint
