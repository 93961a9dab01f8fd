"""The Deployment value: defaults, checks when built, capacity, and the JSON round trip."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tideflow.deployments import (
    DEFAULT_MISFIRE_GRACE,
    Deployment,
    Entrypoint,
    ExecutorSpec,
)
from tideflow.errors import DeploymentError
from tideflow.schedules import CronSchedule, IntervalClock, IntervalSchedule, Schedule

FLOW = Entrypoint("flow", "/srv/etl.py:flow")

TOO_SHORT = "the service runs a deployment at most once a second, so use at least 1s"


def test_a_deployment_has_sensible_defaults() -> None:
    deployment = Deployment(name="etl", entrypoint=FLOW)
    assert deployment.kind == "scheduled"
    assert deployment.schedule is None
    assert (deployment.overlap, deployment.catchup) == ("skip", "latest")
    assert deployment.max_active is None
    assert deployment.misfire_grace == DEFAULT_MISFIRE_GRACE == timedelta(seconds=60)
    assert (deployment.retries, deployment.retry_delay, deployment.timeout) == (
        0,
        timedelta(0),
        None,
    )
    assert (deployment.parameters, deployment.env, deployment.paused) == ({}, {}, False)


def test_a_deployment_reports_every_bad_field_at_once() -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(
            name="etl",
            entrypoint=FLOW,
            overlap="sometimes",  # type: ignore[arg-type]
            retries=-1,
            timeout=timedelta(0),
        )
    assert caught.value.problems == [
        "deployment 'etl', field 'timeout': must be positive, got '0s'",
        "deployment 'etl', field 'retries': expected a whole number, 0 or more, got -1",
        "deployment 'etl', field 'overlap': 'sometimes' is not one of skip, queue, allow",
    ]


def test_a_deployment_needs_an_entrypoint_value() -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(name="etl", entrypoint="etl.py:flow")  # type: ignore[arg-type]
    assert caught.value.problems == [
        "deployment 'etl', field 'entrypoint': expected an Entrypoint, e.g. "
        "Entrypoint('flow', 'path/to/file.py:flow'), got 'etl.py:flow'"
    ]


def test_a_deployment_is_frozen_and_owns_copies_of_its_dicts() -> None:
    parameters = {"batch-size": 1000, "tags": ["a"]}
    deployment = Deployment(name="etl", entrypoint=FLOW, parameters=parameters)
    parameters["tags"].append("b")  # type: ignore[attr-defined]
    assert deployment.parameters == {"batch-size": 1000, "tags": ["a"]}
    with pytest.raises(AttributeError):
        deployment.name = "other"  # type: ignore[misc]


# -- the one-second minimum ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "shown"),
    [
        (timedelta(milliseconds=1), "1 ms"),
        (timedelta(milliseconds=500), "500 ms"),
        (timedelta(microseconds=999_999), "999.999 ms"),
    ],
)
def test_a_deployment_refuses_an_interval_schedule_under_a_second(
    interval: timedelta, shown: str
) -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(name="x", entrypoint=FLOW, schedule=IntervalSchedule(interval=interval))
    assert caught.value.problems == [
        f"deployment 'x', field 'schedule': {shown} is too short; {TOO_SHORT}"
    ]


def test_a_deployment_refuses_any_clock_of_its_schedule_under_a_second() -> None:
    schedule = Schedule([IntervalClock(timedelta(hours=1)), IntervalClock(timedelta(seconds=0.5))])
    with pytest.raises(DeploymentError, match="field 'schedule': 500 ms is too short"):
        Deployment(name="x", entrypoint=FLOW, schedule=schedule)


def test_a_deployment_may_run_every_second() -> None:
    schedule = IntervalSchedule(interval=timedelta(seconds=1))
    assert Deployment(name="x", entrypoint=FLOW, schedule=schedule).schedule == schedule


# -- capacity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overlap", "max_active", "capacity"),
    [
        ("skip", None, 1),
        ("queue", None, 1),
        ("allow", None, None),
        ("queue", 3, 3),
        ("skip", 2, 2),
    ],
)
def test_capacity_is_max_active_or_one_and_no_limit_for_overlap_allow(
    overlap: str, max_active: int | None, capacity: int | None
) -> None:
    deployment = Deployment(
        name="x",
        entrypoint=FLOW,
        overlap=overlap,  # type: ignore[arg-type]
        max_active=max_active,
    )
    assert deployment.capacity == capacity


def test_capacity_is_read_only() -> None:
    deployment = Deployment(name="x", entrypoint=FLOW)
    with pytest.raises(AttributeError):
        deployment.capacity = 2  # type: ignore[misc]


# -- the JSON round trip -------------------------------------------------------------------------

EVERYTHING = Deployment(
    name="ticket-eval",
    entrypoint=Entrypoint("flow", "/srv/examples/ticket.py:flow"),
    kind="persistent",
    schedule=CronSchedule("30 2 * * *", start_date=datetime(2026, 1, 1, 6, 30), tz="Europe/Berlin"),
    parameters={"batch-size": 1000, "metrics": ["mae", "r2"], "deep": {"x": None, "y": 1.5}},
    executor=ExecutorSpec(
        type="dask",
        cluster_class="dask_jobqueue.SLURMCluster",
        cluster_kwargs={"cores": 4, "n_workers": 2},
        adapt_kwargs={"maximum": 10},
    ),
    working_dir="/srv/work",
    env={"FOO": "bar", "EMPTY": ""},
    python="/srv/venv/bin/python",
    timeout=timedelta(minutes=10, microseconds=500),
    retries=2,
    retry_delay=timedelta(seconds=30),
    overlap="queue",
    max_active=3,
    catchup="all",
    misfire_grace=timedelta(minutes=5),
    paused=True,
)


@pytest.mark.parametrize(
    "deployment",
    [
        EVERYTHING,
        Deployment(name="bare", entrypoint=Entrypoint("callable", "pkg.jobs:main")),
        Deployment(
            name="shell",
            entrypoint=Entrypoint("command", ("dbt", "run")),
            schedule=IntervalSchedule(interval=timedelta(minutes=1)),
            executor=ExecutorSpec(type="local_dask", scheduler="processes", num_workers=4),
        ),
        Deployment(
            name="remote",
            entrypoint=FLOW,
            executor=ExecutorSpec(type="dask", address="tcp://scheduler:8786"),
        ),
        Deployment(name="local", entrypoint=FLOW, executor=ExecutorSpec()),
    ],
    ids=lambda d: d.name,
)
def test_to_dict_and_from_dict_round_trip_through_json(deployment: Deployment) -> None:
    data = json.loads(json.dumps(deployment.to_dict()))
    assert Deployment.from_dict(data) == deployment
    assert Deployment.from_dict(data).to_dict() == data


def test_to_dict_writes_durations_as_seconds_and_the_schedule_as_its_dict() -> None:
    data = EVERYTHING.to_dict()
    assert data["version"] == 1
    assert (data["timeout"], data["retry_delay"], data["misfire_grace"]) == (600.0005, 30, 300)
    assert data["schedule"] == EVERYTHING.schedule.to_dict()  # type: ignore[union-attr]
    assert data["entrypoint"] == {"kind": "flow", "target": "/srv/examples/ticket.py:flow"}
    assert data["executor"] == {
        "type": "dask",
        "cluster_class": "dask_jobqueue.SLURMCluster",
        "cluster_kwargs": {"cores": 4, "n_workers": 2},
        "adapt_kwargs": {"maximum": 10},
    }


def test_max_active_round_trips_and_is_left_out_when_not_set() -> None:
    assert EVERYTHING.to_dict()["max_active"] == 3
    assert Deployment.from_dict(EVERYTHING.to_dict()).max_active == 3
    assert "max_active" not in Deployment(name="etl", entrypoint=FLOW).to_dict()


def test_a_spec_stored_before_max_active_existed_still_loads() -> None:
    data = EVERYTHING.to_dict()
    del data["max_active"]
    deployment = Deployment.from_dict(data)
    assert deployment.max_active is None
    assert deployment.capacity == 1  # overlap "queue"


def test_from_dict_reads_a_null_max_active_as_no_max_active() -> None:
    data = Deployment(name="etl", entrypoint=FLOW).to_dict() | {"max_active": None}
    assert Deployment.from_dict(data).max_active is None


def test_from_dict_refuses_data_from_a_newer_tideflow() -> None:
    data = EVERYTHING.to_dict() | {"version": 2}
    with pytest.raises(DeploymentError, match="has version 2, but this Tideflow reads version 1"):
        Deployment.from_dict(data)


def test_from_dict_names_the_deployment_and_field_of_bad_stored_data() -> None:
    data = EVERYTHING.to_dict()
    data["schedule"]["clocks"][0]["cron"] = "61 * * * *"
    with pytest.raises(DeploymentError) as caught:
        Deployment.from_dict(data)
    assert str(caught.value) == (
        "deployment 'ticket-eval', field 'schedule': invalid cron expression '61 * * * *': "
        "minute field: value '61' is out of range 0-59"
    )


def test_from_dict_names_the_deployment_of_stored_data_without_an_entrypoint() -> None:
    data = EVERYTHING.to_dict()
    del data["entrypoint"]
    with pytest.raises(DeploymentError) as caught:
        Deployment.from_dict(data)
    assert str(caught.value) == (
        "deployment 'ticket-eval', field 'entrypoint': entrypoint: entrypoint kind None is not "
        "one of flow, callable, command"
    )


def test_from_dict_ignores_unknown_keys_from_newer_writers() -> None:
    assert Deployment.from_dict(EVERYTHING.to_dict() | {"labels": ["x"]}) == EVERYTHING
