"""Deployments: the validated spec, its JSON round trip, tideflow.toml and deploy options."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tideflow.deployments import (
    DEFAULT_MISFIRE_GRACE,
    Deployment,
    Entrypoint,
    ExecutorSpec,
    deployment_from_options,
    load_deployments,
)
from tideflow.errors import DeploymentError, TideflowError
from tideflow.schedules import CronSchedule, IntervalSchedule

FLOW = Entrypoint("flow", "/srv/etl.py:flow")


def write(tmp_path: Path, text: str, name: str = "tideflow.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DeploymentError) as caught:
        load_deployments(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# -- the spec ------------------------------------------------------------------------------------


def test_a_deployment_has_sensible_defaults() -> None:
    deployment = Deployment(name="etl", entrypoint=FLOW)
    assert deployment.kind == "scheduled"
    assert deployment.schedule is None
    assert (deployment.overlap, deployment.catchup) == ("skip", "latest")
    assert deployment.misfire_grace == DEFAULT_MISFIRE_GRACE == timedelta(seconds=60)
    assert (deployment.retries, deployment.retry_delay, deployment.timeout) == (
        0,
        timedelta(0),
        None,
    )
    assert (deployment.parameters, deployment.env, deployment.paused) == ({}, {}, False)


def test_deployment_error_is_a_tideflow_error_and_a_value_error() -> None:
    assert issubclass(DeploymentError, TideflowError)
    assert issubclass(DeploymentError, ValueError)


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


@pytest.mark.parametrize("name", ["my job", "-flag", "", "a/b", "x" * 101])
def test_a_deployment_name_uses_letters_digits_dash_underscore_and_dot(name: str) -> None:
    with pytest.raises(DeploymentError, match="is not valid; use up to 100 letters, digits"):
        Deployment(name=name, entrypoint=FLOW)


@pytest.mark.parametrize("name", ["etl", "ticket-eval", "team.nightly_v2", "7am"])
def test_valid_names(name: str) -> None:
    assert Deployment(name=name, entrypoint=FLOW).name == name


def test_a_deployment_is_frozen_and_owns_copies_of_its_dicts() -> None:
    parameters = {"batch-size": 1000, "tags": ["a"]}
    deployment = Deployment(name="etl", entrypoint=FLOW, parameters=parameters)
    parameters["tags"].append("b")  # type: ignore[attr-defined]
    assert deployment.parameters == {"batch-size": 1000, "tags": ["a"]}
    with pytest.raises(AttributeError):
        deployment.name = "other"  # type: ignore[misc]


def test_parameters_must_be_json_values() -> None:
    with pytest.raises(DeploymentError) as caught:
        Deployment(name="etl", entrypoint=FLOW, parameters={"when": {"day": datetime(2026, 1, 1)}})
    assert str(caught.value) == (
        "deployment 'etl', field 'parameters': the value of 'when'['day'] is a datetime "
        "(datetime.datetime(2026, 1, 1, 0, 0)), not a JSON value; use a string, number, boolean, "
        "list or table"
    )


# -- entrypoints ---------------------------------------------------------------------------------


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
    assert Entrypoint("command", ["dbt", "run"]).target == ("dbt", "run")
    split = Entrypoint("command", "dbt run --select 'my model'")
    assert split.target == ("dbt", "run", "--select", "my model")
    assert str(split) == "command dbt run --select 'my model'"


# -- executors -----------------------------------------------------------------------------------


def test_the_n_workers_shortcut_goes_into_cluster_kwargs() -> None:
    spec = ExecutorSpec.from_dict({"type": "dask", "n_workers": 2, "cluster_kwargs": {"x": 1}})
    assert spec == ExecutorSpec(type="dask", cluster_kwargs={"x": 1, "n_workers": 2})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "dask", "address": "tcp://h:8786", "n_workers": 2}, "executor.address: connects"),
        ({"type": "local", "num_workers": 4}, "executor.num_workers: applies only to type"),
        ({"type": "local_dask", "scheduler": "greenlets"}, "'greenlets' is not one of threads"),
        ({"type": "dask", "cluster_class": "SLURMCluster"}, "expected an import path such as"),
        ({"type": "dask", "workers": 2}, "executor.workers: unknown field; did you mean"),
        ({"scheduler": "threads"}, "executor.type: missing; give one of local, local_dask, dask"),
        ({"type": "dask", "n_workers": 2, "cluster_kwargs": {"n_workers": 3}}, "differs from"),
    ],
)
def test_bad_executor_specs_name_the_option(data: dict[str, object], message: str) -> None:
    with pytest.raises(DeploymentError) as caught:
        ExecutorSpec.from_dict(data)
    assert message in str(caught.value)


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


def test_from_dict_ignores_unknown_keys_from_newer_writers() -> None:
    assert Deployment.from_dict(EVERYTHING.to_dict() | {"labels": ["x"]}) == EVERYTHING


# -- tideflow.toml -------------------------------------------------------------------------------

FULL_EXAMPLE = """
[deployments.ticket-eval]
flow = "examples/ticket.py:flow"
kind = "persistent"
interval = "1m"
parameters = { batch-size = 1000 }
executor = { type = "dask", n_workers = 2 }
timeout = "10m"
retries = 2
retry_delay = "30s"
overlap = "skip"
catchup = "latest"
env = { FOO = "bar" }
working_dir = "."

[deployments.nightly]
callable = "reports.daily:main"
cron = "0 6 * * MON-FRI"
timezone = "Europe/Berlin"
start = 2026-01-01T00:00:00
executor = "local_dask"
misfire_grace = 300
python = ".venv/bin/python"
paused = true

[deployments.dbt]
command = ["dbt", "run", "--select", "tickets"]
overlap = "queue"
catchup = "none"
"""


def test_loading_a_full_example(tmp_path: Path) -> None:
    found = load_deployments(write(tmp_path, FULL_EXAMPLE))
    assert found == [
        Deployment(
            name="ticket-eval",
            entrypoint=Entrypoint("flow", f"{tmp_path}/examples/ticket.py:flow"),
            kind="persistent",
            schedule=IntervalSchedule(interval=timedelta(minutes=1)),
            parameters={"batch-size": 1000},
            executor=ExecutorSpec(type="dask", cluster_kwargs={"n_workers": 2}),
            timeout=timedelta(minutes=10),
            retries=2,
            retry_delay=timedelta(seconds=30),
            overlap="skip",
            catchup="latest",
            env={"FOO": "bar"},
            working_dir=str(tmp_path),
        ),
        Deployment(
            name="nightly",
            entrypoint=Entrypoint("callable", "reports.daily:main"),
            schedule=CronSchedule(
                "0 6 * * MON-FRI", start_date=datetime(2026, 1, 1), tz="Europe/Berlin"
            ),
            executor=ExecutorSpec(type="local_dask"),
            misfire_grace=timedelta(minutes=5),
            python=f"{tmp_path}/.venv/bin/python",
            paused=True,
        ),
        Deployment(
            name="dbt",
            entrypoint=Entrypoint("command", ("dbt", "run", "--select", "tickets")),
            overlap="queue",
            catchup="none",
        ),
    ]


def test_the_schedule_start_is_wall_clock_time_in_the_timezone(tmp_path: Path) -> None:
    (deployment,) = load_deployments(
        write(
            tmp_path,
            '[deployments.x]\nflow = "jobs:f"\ninterval = "1d"\ntimezone = "Europe/Berlin"\n'
            'start = "2026-03-28T09:00"\n',
        )
    )
    assert deployment.schedule is not None
    after = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo("UTC"))
    assert [t.isoformat() for t in deployment.schedule.next(2, after=after)] == [
        "2026-03-29T09:00:00+02:00",
        "2026-03-30T09:00:00+02:00",
    ]


BAD_FILE = """
[deployments.nightly]
flow = "etl.py:flow"
cron = "0 25 * * *"
overlap = "sometimes"
retires = 3
timeout = "5 minutes"

[deployments.hourly]
flow = "etl.py:flow"
command = ["etl"]
interval = "1h"
cron = "@hourly"
executor = { type = "local_dask", n_workers = 2 }
env = { RETRIES = 3 }

[deployments."bad name"]
callable = "jobs:main"
timezone = "Mars/Olympus"
"""


def test_a_bad_file_reports_every_problem_with_file_deployment_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, BAD_FILE)
    with pytest.raises(DeploymentError) as caught:
        load_deployments("tideflow.toml")
    assert str(caught.value) == (
        "tideflow.toml: deployment 'nightly', field 'retires': unknown field; "
        "did you mean 'retries'?\n"
        "tideflow.toml: deployment 'nightly', field 'cron': invalid cron expression "
        "'0 25 * * *': hour field: value '25' is out of range 0-23\n"
        "tideflow.toml: deployment 'nightly', field 'timeout': invalid duration '5 minutes': "
        "use '90s', '15m', '2h', '30d', '1w', '1h30m' or a plain number of seconds such as '90'\n"
        "tideflow.toml: deployment 'nightly', field 'overlap': 'sometimes' is not one of skip, "
        "queue, allow\n"
        "tideflow.toml: deployment 'hourly': give exactly one of flow, callable or command, "
        'e.g. flow = "path/to/file.py:flow"; found flow and command\n'
        "tideflow.toml: deployment 'hourly': cron and interval are both given; keep one\n"
        "tideflow.toml: deployment 'hourly', field 'executor.n_workers': applies only to type "
        "'dask'; for 'local_dask' use num_workers\n"
        "tideflow.toml: deployment 'hourly', field 'env': the value of 'RETRIES' is 3; "
        'environment values are strings, write RETRIES = "3"\n'
        "tideflow.toml: deployment 'bad name': the name 'bad name' is not valid; use up to 100 "
        "letters, digits, '-', '_' and '.', starting with a letter or digit\n"
        "tideflow.toml: deployment 'bad name', field 'timezone': unknown time zone "
        "'Mars/Olympus'; use an IANA zone name such as 'Europe/Berlin', 'America/New_York' or "
        "'UTC'\n"
        "tideflow.toml: deployment 'bad name', field 'timezone': is given without cron or "
        "interval; add one"
    )
    assert len(caught.value.problems) == 11


@pytest.mark.parametrize(
    ("field", "suggestion"),
    [
        ("retry-delay", "did you mean 'retry_delay'?"),
        ("schedule", """give cron = "0 6 * * *" or interval = "1h" instead"""),
        ("tz", "did you mean 'timezone'?"),
        ("frequency", "expected one of flow, callable, command, kind, cron, interval, timezone"),
        ("workingdir", "did you mean 'working_dir'?"),
        ("params", "did you mean 'parameters'?"),
    ],
)
def test_an_unknown_field_gets_a_suggestion(tmp_path: Path, field: str, suggestion: str) -> None:
    path = write(tmp_path, f'[deployments.x]\nflow = "jobs:f"\n{field} = 1\n')
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: deployment 'x', field '{field}': unknown field; ")
    assert suggestion in problem


def test_an_unknown_top_level_key_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, '[deployment.x]\nflow = "jobs:f"\n')
    assert problems_of(path) == [
        f"{path}: unknown top-level key 'deployment'; did you mean 'deployments'?"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[deployments.x]\nflow = \n", "line 2, column 8: invalid TOML: Invalid value"),
        (
            '[deployments.x]\nflow = "a"\nflow = "b"\n',
            "line 3, column 11: invalid TOML: Cannot overwrite a value",
        ),
        ("x = [1,\n", "invalid TOML: Invalid value at the end of the file"),
        (
            '[deployments.x]\nflow = "a.py"\n[deployments.x]\nflow = "b.py"\n',
            "line 3, column 15: invalid TOML: Cannot declare ('deployments', 'x') twice",
        ),
    ],
)
def test_toml_syntax_errors_give_file_line_and_column(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    assert problems_of(path) == [f"{path}: {expected}"]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert problems_of(path) == [f"{path}: cannot read the file: No such file or directory"]


def test_a_file_without_deployments_declares_none(tmp_path: Path) -> None:
    assert load_deployments(write(tmp_path, "# nothing yet\n")) == []


def test_a_deployment_must_be_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[deployments]\nx = 1\n")
    assert problems_of(path) == [
        f"{path}: deployment 'x': expected a table such as [deployments.x] with "
        'flow = "file.py:flow", got 1'
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ('interval = "0s"', "field 'interval': must be positive, got '0s'"),
        ('interval = "soon"', "field 'interval': invalid duration 'soon'"),
        ("interval = 0.5", "timedelta(seconds=0.5)"),
        ('cron = "* * *"', "field 'cron': invalid cron expression '* * *': expected 5 fields"),
        ('cron = "@daily"\nstart = "noon"', "field 'start': expected a datetime such as"),
        ('cron = "@daily"\nstart = 2026-01-01T06:00:00+01:00', "field 'start': start_date: "),
        ("retries = true", "field 'retries': expected a whole number, 0 or more, got True"),
        ('kind = "daemon"', "field 'kind': 'daemon' is not one of scheduled, persistent"),
        ('catchup = "some"', "field 'catchup': 'some' is not one of none, latest, all"),
        ('paused = "yes"', "field 'paused': expected true or false, got 'yes'"),
        ("retry_delay = -5", "field 'retry_delay': must be 0 or more, got '-5s'"),
        ('working_dir = ""', "field 'working_dir': expected a non-empty string, got ''"),
        ("parameters = [1]", "field 'parameters': expected a table of names to JSON values"),
        ("executor = 3", "field 'executor': expected a type name such as 'dask'"),
        ('executor = "k8s"', "field 'executor.type': 'k8s' is not one of local, local_dask, dask"),
    ],
)
def test_each_field_is_checked(tmp_path: Path, fields: str, expected: str) -> None:
    path = write(tmp_path, f'[deployments.x]\nflow = "jobs:f"\n{fields}\n')
    if expected.startswith("timedelta"):  # not an error: sub-second intervals are allowed
        (deployment,) = load_deployments(path)
        assert expected in repr(deployment.schedule)
        return
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: deployment 'x', {expected}")


def test_relative_paths_are_resolved_against_the_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write(
        project,
        """
[deployments.file]
flow = "flows/etl.py:flow"
working_dir = "data/../work"
python = ".venv/bin/python"

[deployments.module]
callable = "pkg.jobs:main"
working_dir = "/abs/dir"
python = "python3"

[deployments.bare]
flow = "../shared/etl.py"
""",
    )
    monkeypatch.chdir(tmp_path)
    file, module, bare = load_deployments("project/tideflow.toml")
    assert file.entrypoint.target == f"{project}/flows/etl.py:flow"
    assert file.working_dir == f"{project}/work"
    assert file.python == f"{project}/.venv/bin/python"
    assert module.entrypoint.target == "pkg.jobs:main"  # a module, not a path
    assert (module.working_dir, module.python) == ("/abs/dir", "python3")
    assert bare.entrypoint.target == f"{tmp_path}/shared/etl.py"
    assert all(os.path.isabs(d.working_dir or "/") for d in (file, module, bare))


# -- tideflow deploy options ---------------------------------------------------------------------


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
