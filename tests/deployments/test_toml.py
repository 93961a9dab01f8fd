"""tideflow.toml: whole files read, every problem reported with file, deployment and field."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tideflow.deployments import Deployment, Entrypoint, ExecutorSpec, load_deployments
from tideflow.errors import DeploymentError
from tideflow.schedules import CronSchedule, IntervalSchedule

TOO_SHORT = "the service runs a deployment at most once a second, so use at least 1s"


def write(tmp_path: Path, text: str, name: str = "tideflow.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DeploymentError) as caught:
        load_deployments(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


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
        "tideflow.toml: deployment 'bad name', field 'timezone': is given without cron, "
        "interval or rrule; add one"
    )
    assert len(caught.value.problems) == 11


@pytest.mark.parametrize(
    ("field", "suggestion"),
    [
        ("retry-delay", "did you mean 'retry_delay'?"),
        ("schedule", """give cron = "0 6 * * *", interval = "1h" or rrule = "FREQ=DAILY" """),
        ("tz", "did you mean 'timezone'?"),
        ("frequency", "expected one of flow, callable, command, kind, cron, interval, rrule"),
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
        ("interval = 0.5", f"field 'interval': 500 ms is too short; {TOO_SHORT}"),
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


# -- max_active and the one-second minimum -------------------------------------------------------


def test_max_active_is_read_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[deployments.x]\nflow = "jobs:f"\noverlap = "queue"\nmax_active = 4\n')
    (deployment,) = load_deployments(path)
    assert (deployment.max_active, deployment.capacity) == (4, 4)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("max_active = 0", "field 'max_active': expected a whole number, 1 or more, got 0"),
        ("max_active = 2.5", "field 'max_active': expected a whole number, 1 or more, got 2.5"),
        ('max_active = "3"', "field 'max_active': expected a whole number, 1 or more, got '3'"),
        (
            'overlap = "allow"\nmax_active = 2',
            'field \'max_active\': overlap "allow" means no limit; use overlap = "queue" with '
            "max_active = N to run up to N at once",
        ),
    ],
)
def test_a_bad_max_active_is_one_problem(tmp_path: Path, fields: str, expected: str) -> None:
    path = write(tmp_path, f'[deployments.x]\nflow = "jobs:f"\n{fields}\n')
    assert problems_of(path) == [f"{path}: deployment 'x', {expected}"]


@pytest.mark.parametrize(
    ("interval", "shown"),
    [("0.001", "1 ms"), ('"0.5s"', "500 ms"), ("0.999999", "999.999 ms")],
)
def test_an_interval_under_a_second_is_refused(tmp_path: Path, interval: str, shown: str) -> None:
    path = write(tmp_path, f'[deployments.x]\nflow = "jobs:f"\ninterval = {interval}\n')
    assert problems_of(path) == [
        f"{path}: deployment 'x', field 'interval': {shown} is too short; {TOO_SHORT}"
    ]


def test_an_interval_in_milliseconds_is_refused_as_one_problem(tmp_path: Path) -> None:
    path = write(tmp_path, '[deployments.x]\nflow = "jobs:f"\ninterval = "500ms"\n')
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: deployment 'x', field 'interval': ")


def test_an_interval_of_one_second_is_allowed(tmp_path: Path) -> None:
    (deployment,) = load_deployments(
        write(tmp_path, '[deployments.x]\nflow = "jobs:f"\ninterval = "1s"\n')
    )
    assert deployment.schedule == IntervalSchedule(interval=timedelta(seconds=1))
