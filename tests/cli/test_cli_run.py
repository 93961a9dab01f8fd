"""`tideflow run`: runs a flow once, prints its task table, and reports errors in one line."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from tideflow.cli import app

runner = CliRunner()

FLOWS = dedent(
    """
    from tideflow import Flow, Parameter, task

    @task
    def double(x: int) -> int:
        return 2 * x

    @task
    def explode(x: int) -> int:
        raise RuntimeError("kaput")

    with Flow("good") as good:
        doubled = double(Parameter("batch-size", default=3))

    with Flow("bad") as bad:
        explode(double(1))
    """
)


@pytest.fixture
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(FLOWS)
    return path


def test_run_prints_a_table_of_task_states_and_succeeds(flows_file: Path) -> None:
    result = runner.invoke(app, ["run", f"{flows_file}:good", "--param", "batch-size=21"])
    assert result.exit_code == 0, result.output
    assert "batch-size" in result.output
    assert "double" in result.output
    assert "Success" in result.output
    assert "Attempts" in result.output
    assert "All reference tasks succeeded." in result.output


def test_run_exits_with_status_one_when_the_flow_fails(flows_file: Path) -> None:
    result = runner.invoke(app, ["run", f"{flows_file}:bad"])
    assert result.exit_code == 1
    assert "Failed" in result.output
    assert "RuntimeError: kaput" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.py:flow"], "Error: no such file: 'missing.py'"),
        (["run", "{file}:nope"], "has no flow named 'nope'; flows in it: bad, good"),
        (["run", "{file}:good", "--param", "x=1"], "unknown parameter 'x'"),
        (["run", "{file}:good", "--param", "novalue"], "bad --param 'novalue': expected KEY=VALUE"),
    ],
)
def test_run_reports_bad_input_in_one_line_without_a_traceback(
    flows_file: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [a.format(file=flows_file) for a in args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_parameter_values_are_parsed_as_json_when_they_can_be() -> None:
    from tideflow.cli.run import parse_params

    assert parse_params(["n=3", "name=ada", "flags=[1, 2]", "empty="]) == {
        "n": 3,
        "name": "ada",
        "flags": [1, 2],
        "empty": "",
    }
