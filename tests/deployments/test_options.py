"""tideflow deploy options: checked as a tideflow.toml table is, problems without a file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tideflow.deployments import Deployment, Entrypoint, ExecutorSpec, deployment_from_options
from tideflow.errors import DeploymentError
from tideflow.schedules import CronSchedule, IntervalSchedule


def test_deployment_from_options(tmp_path: Path) -> None:
    deployment = deployment_from_options(
        "flows/etl.py:flow",
        name="etl",
        cron="0 6 * * *",
        timezone="Europe/Berlin",
        kind="persistent",
        params=["batch-size=500", "label=nightly", 'tags=["a", "b"]'],
        env=["FOO=bar=baz"],
        workers=3,
        timeout="1h",
        retries=1,
        retry_delay="10s",
        overlap="queue",
        base_dir=tmp_path,
    )
    assert deployment == Deployment(
        name="etl",
        entrypoint=Entrypoint("flow", f"{tmp_path}/flows/etl.py:flow"),
        kind="persistent",
        schedule=CronSchedule("0 6 * * *", tz="Europe/Berlin"),
        parameters={"batch-size": 500, "label": "nightly", "tags": ["a", "b"]},
        env={"FOO": "bar=baz"},
        executor=ExecutorSpec(type="dask", cluster_kwargs={"n_workers": 3}),
        timeout=timedelta(hours=1),
        retries=1,
        retry_delay=timedelta(seconds=10),
        overlap="queue",
    )


def test_deploy_options_for_a_command_and_a_local_dask_executor() -> None:
    deployment = deployment_from_options(
        ["dbt", "run"],
        name="dbt",
        entrypoint_kind="command",
        interval="15m",
        executor="local_dask",
        workers=4,
    )
    assert deployment.entrypoint == Entrypoint("command", ("dbt", "run"))
    assert deployment.executor == ExecutorSpec(type="local_dask", num_workers=4)
    assert deployment.schedule == IntervalSchedule(interval=timedelta(minutes=15))


def test_deploy_option_errors_have_no_file_part() -> None:
    with pytest.raises(DeploymentError) as caught:
        deployment_from_options(
            "etl.py:flow",
            name="etl",
            cron="0 6 * * *",
            interval="1h",
            params=["oops"],
            overlap="never",
        )
    assert caught.value.problems == [
        "deployment 'etl', field 'param': expected KEY=VALUE, got 'oops'",
        "deployment 'etl': cron and interval are both given; keep one",
        "deployment 'etl', field 'overlap': 'never' is not one of skip, queue, allow",
    ]


def test_deploy_options_take_max_active() -> None:
    deployment = deployment_from_options("etl.py:flow", name="etl", overlap="queue", max_active=3)
    assert (deployment.max_active, deployment.capacity) == (3, 3)
    assert deployment_from_options("etl.py:flow", name="etl").max_active is None


def test_deploy_options_refuse_max_active_with_overlap_allow() -> None:
    with pytest.raises(DeploymentError) as caught:
        deployment_from_options("etl.py:flow", name="etl", overlap="allow", max_active=2)
    assert caught.value.problems == [
        "deployment 'etl', field 'max_active': overlap \"allow\" means no limit; use overlap = "
        '"queue" with max_active = N to run up to N at once'
    ]


def test_deploy_options_refuse_an_interval_under_a_second() -> None:
    with pytest.raises(DeploymentError) as caught:
        deployment_from_options("etl.py:flow", name="etl", interval="0.25s")
    assert caught.value.problems == [
        "deployment 'etl', field 'interval': 250 ms is too short; the service runs a deployment "
        "at most once a second, so use at least 1s"
    ]
