"""A deployment's ``secret_env``: the value is read from the service's secrets at launch, reaches
the run's process, and shows as ``****`` or not at all in every output."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.executors.support import wait_until
from tests.service.support import CLI, stop_run_processes
from typer.testing import CliRunner

from tideflow.cli import app
from tideflow.deployments import Deployment, Entrypoint, deployment_from_options, load_deployments
from tideflow.errors import DeploymentError
from tideflow.secrets import MASKED_ENV
from tideflow.service.launchers import LaunchError, LocalLauncher
from tideflow.service.processes import secret_environment
from tideflow.store import sqlite_store

VALUE = "pg-Secret-Value-31337"


def tideflow(*args: str) -> str:
    """The output of ``tideflow *args`` (in this process, on ``TIDEFLOW_DATABASE_URL``)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"tideflow {' '.join(args)} failed: {result.output}"
    return result.output


FLOW = """
import hashlib
import os

from tideflow import Flow, context, task


@task(checkpoint=True)
def connect() -> str:
    value = os.environ["DB_PASSWORD"]
    context.logger.info("connecting with password %s", value)
    return hashlib.sha256(value.encode()).hexdigest()


@task
def refuse(digest: str) -> None:
    raise RuntimeError(f"login refused for {os.environ['DB_PASSWORD']}")


with Flow("uses-secret") as flow:
    refuse(connect())
"""


def test_secret_env_names_secrets_in_tideflow_toml(tmp_path: Path) -> None:
    (tmp_path / "tideflow.toml").write_text(
        textwrap.dedent(
            """
            [deployments.etl]
            command = ["true"]
            env = { REGION = "eu" }
            secret_env = { DB_PASSWORD = "PROD_DB_PASSWORD" }
            """
        )
    )
    (deployment,) = load_deployments(tmp_path / "tideflow.toml")
    assert deployment.secret_env == {"DB_PASSWORD": "PROD_DB_PASSWORD"}
    assert deployment.to_dict()["secret_env"] == {"DB_PASSWORD": "PROD_DB_PASSWORD"}


@pytest.mark.parametrize(
    ("secret_env", "problem"),
    [
        ({"DB_PASSWORD": ""}, "must be a secret's name"),
        ({"A=B": "X"}, "'A=B' is not a valid environment variable name"),
        ("DB_PASSWORD", "expected a table of variable names to secret names"),
        ({"REGION": "X"}, "REGION is in both env and secret_env"),
    ],
)
def test_a_bad_secret_env_is_refused_naming_the_field(secret_env: object, problem: str) -> None:
    with pytest.raises(DeploymentError, match="field 'secret_env'") as caught:
        Deployment(
            name="etl",
            entrypoint=Entrypoint("command", ["true"]),
            env={"REGION": "eu"},
            secret_env=secret_env,  # type: ignore[arg-type]
        )
    assert problem in str(caught.value)


def test_the_run_environment_gets_the_values_and_the_names_to_mask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIDEFLOW__CONTEXT__SECRETS__PROD_DB", VALUE)
    deployment = Deployment(
        name="etl",
        entrypoint=Entrypoint("command", ["true"]),
        secret_env={"DB_PASSWORD": "PROD_DB"},
    )
    assert secret_environment(deployment) == {"DB_PASSWORD": VALUE, MASKED_ENV: "DB_PASSWORD"}


def test_a_missing_secret_stops_the_launch_saying_where_it_was_looked_for(tmp_path: Path) -> None:
    deployment = Deployment(
        name="etl", entrypoint=Entrypoint("command", ["true"]), secret_env={"X": "NOT_THERE"}
    )
    launcher = LocalLauncher(f"sqlite:///{tmp_path / 't.db'}")
    with pytest.raises(LaunchError, match="secret 'NOT_THERE' was not found"):
        launcher.start_run(deployment, "run-1")
    assert launcher.started() == []


def test_a_served_run_gets_the_value_and_every_output_shows_it_masked_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOW))
    toml = tmp_path / "tideflow.toml"
    toml.write_text(
        textwrap.dedent(
            """
            [deployments.uses-secret]
            flow = "flows.py:flow"
            secret_env = { DB_PASSWORD = "PROD_DB" }

            [deployments.command-prints-it]
            command = ["sh", "-c", "echo password=$DB_PASSWORD; exit 1"]
            secret_env = { DB_PASSWORD = "PROD_DB" }

            [deployments.secret-missing]
            command = ["true"]
            secret_env = { DB_PASSWORD = "NOT_THERE" }
            """
        )
    )
    url = f"sqlite:///{tmp_path / 'tideflow.db'}"
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("TIDEFLOW_STORE")
    service_env = {**os.environ, "TIDEFLOW__CONTEXT__SECRETS__PROD_DB": VALUE}
    service = subprocess.Popen(
        [
            *(sys.executable, "-c", CLI, "serve", "--file", str(toml), "--tick", "0.2"),
            *("--now", "uses-secret", "--now", "secret-missing", "--now", "command-prints-it"),
        ],
        env=service_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = sqlite_store(tmp_path / "tideflow.db")
    try:
        done = lambda name: [r for r in store.list_flow_runs(deployment=name) if r.is_finished]  # noqa: E731
        names = ("uses-secret", "secret-missing", "command-prints-it")
        wait_until(lambda: all(done(name) for name in names), 120, "the three runs")
        (run,) = done("uses-secret")
        (command,) = done("command-prints-it")
        assert [line.message for line in store.logs(command.id)][1:] == ["password=****"]
        (missing,) = done("secret-missing")
        stored = {r.task_key: r.value for r in store.results(run.id)}
        assert stored["connect"] == hashlib.sha256(VALUE.encode()).hexdigest()
        lines = [line.message for line in store.logs(run.id)]
        assert "connecting with password ****" in lines
        assert "secret 'NOT_THERE' was not found" in (missing.state_message or "")
        outputs = {
            "deployments": tideflow("deployments"),
            "deployments --json": tideflow("deployments", "--json"),
            "runs show": tideflow("runs", "show", run.id),
            "logs": tideflow("logs", run.id),
            "events": tideflow("events", "-n", "500"),
            "events --json": tideflow("events", "--json", "-n", "500"),
            "logs --json": tideflow("logs", "--json", run.id),
        }
    finally:
        stop_run_processes(store)
        store.close()
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=60)
    outputs["serve"] = out + err
    assert "connecting with password ****" in outputs["logs"]
    assert "login refused for ****" in outputs["runs show"]
    assert "login refused for ****" in outputs["events --json"]
    for name, text in outputs.items():
        assert VALUE not in text, f"the secret's value is in the output of {name}"


def test_tideflow_deploy_takes_secret_env_by_name_or_with_the_same_name() -> None:
    deployment = deployment_from_options(
        ["true"],
        name="etl",
        entrypoint_kind="command",
        secret_env=["DB_PASSWORD=PROD_DB", "API_TOKEN"],
    )
    assert deployment.secret_env == {"DB_PASSWORD": "PROD_DB", "API_TOKEN": "API_TOKEN"}
