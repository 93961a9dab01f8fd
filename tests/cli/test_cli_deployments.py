"""The deployment commands: `tideflow deploy`, `deployments`, `pause`, `resume`, `trigger`,
`delete`, `backfill` and `serve`.

Each test uses the SQLite store in ``$TIDEFLOW_HOME`` (a temporary directory, see
``tests/conftest.py``) and a tiny flow file in ``tmp_path``, the current directory. The service
loop itself never runs here (``tests/service`` covers it): ``serve`` is tested up to the call of
``Service.run``, which is replaced by a recorder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tideflow.cli import app
from tideflow.deployments import Deployment
from tideflow.planner import backfill_times
from tideflow.service.daemon import Service
from tideflow.store import FlowRunRecord, RunStore, open_store

runner = CliRunner()
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)

FLOWS = dedent(
    """
    from tideflow import Flow, Parameter, task

    @task
    def hello(name: str) -> str:
        return name

    with Flow("greeting") as greeting:
        hello(Parameter("name", default="world"))
    """
)

FAR = "2099-01-01T00:00"
"""A fixed schedule start, so next fire times do not depend on today."""


@pytest.fixture(autouse=True)
def _store_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Deployments need the store, whatever the suite's default; run in ``tmp_path``."""
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows.py").write_text(FLOWS)


@pytest.fixture
def store() -> Iterator[RunStore]:
    """The store the CLI writes: SQLite in ``$TIDEFLOW_HOME``."""
    opened = open_store()
    assert opened is not None
    with opened:
        yield opened


def invoke(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def ok(*args: str, input: str | None = None) -> Result:
    result = invoke(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def error(result: Result) -> str:
    """The ``Error:`` output (all its lines) of a command that exited with status 2."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: "), result.stderr
    return result.stderr.removeprefix("Error: ").rstrip("\n")


def deploy(name: str = "etl", *extra: str) -> Result:
    return ok("deploy", "flows.py:greeting", "--name", name, *extra)


def daily(name: str = "etl", *extra: str) -> Result:
    """A deployment at 06:00 Berlin time every day from 2099-01-01."""
    return deploy(name, "--cron", "0 6 * * *", "--tz", "Europe/Berlin", "--start", FAR, *extra)


def berlin(name: str = "etl", *extra: str) -> Result:
    """A deployment at 06:00 Berlin time every day, without a start: for backfills."""
    return deploy(name, "--cron", "0 6 * * *", "--tz", "Europe/Berlin", *extra)


def listed() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(ok("deployments", "--json").stdout)
    return rows


def table_row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if f" {name} " in line)
    return [cell.strip() for cell in line.strip("│ \n").split("│")]


def runs_of(store: RunStore, name: str) -> list[FlowRunRecord]:
    return sorted(
        store.list_flow_runs(deployment=name, limit=None), key=lambda r: r.scheduled_start_time
    )


# -- deploy and deployments ----------------------------------------------------------------------


def test_deploy_registers_and_prints_the_next_three_fire_times(
    store: RunStore, tmp_path: Path
) -> None:
    result = daily("etl", "-p", "name=ann", "--overlap", "queue", "--retries", "2")
    assert "Registered deployment 'etl'" in result.stdout
    assert "at 06:00 every day" in result.stdout
    for day in (1, 2, 3):
        assert f"2099-01-0{day} 06:00:00 CET (05:00:00 UTC)" in result.stdout
    record = store.get_deployment("etl")
    assert record is not None
    deployment = Deployment.from_dict(record.spec)
    assert deployment.entrypoint.target == f"{tmp_path}/flows.py:greeting"  # made absolute
    assert deployment.parameters == {"name": "ann"}
    assert (deployment.overlap, deployment.retries) == ("queue", 2)


def test_deploy_max_active_sets_how_many_runs_go_at_once(store: RunStore) -> None:
    daily("etl", "--overlap", "queue", "--max-active", "3")
    deploy("every", "--overlap", "allow")
    rows = {row["name"]: row for row in listed()}
    assert (rows["etl"]["max_active"], rows["every"]["max_active"]) == (3, None)
    assert error(
        invoke(
            "deploy", "flows.py:greeting", "--name", "x", "--overlap", "allow", "--max-active", "2"
        )
    ) == (
        "deployment 'x', field 'max_active': overlap \"allow\" means no limit; use overlap = "
        '"queue" with max_active = N to run up to N at once'
    )


def test_deployments_lists_the_next_fire_time_and_the_last_run(store: RunStore) -> None:
    daily("etl")
    deploy("adhoc")
    (adhoc, etl) = listed()
    assert etl["name"] == "etl"
    assert etl["next_fire_time"] == "2099-01-01T05:00:00+00:00"
    assert etl["schedule"].startswith("at 06:00 every day")
    assert (etl["kind"], etl["paused"], etl["last_run"]) == ("scheduled", False, None)
    assert (adhoc["schedule"], adhoc["next_fire_time"]) == (None, None)
    run_id = ok("trigger", "etl").stdout.split()[2]
    (_, etl) = listed()
    assert etl["last_run"]["id"] == run_id
    assert etl["last_run"]["state"] == "Scheduled"

    table = ok("deployments").stdout
    row = table_row(table, "etl")
    assert row[:2] == ["etl", "scheduled"]
    assert row[2].startswith("at 06:00 every day")
    assert row[3:6] == ["no", "2099-01-01 05:00", "Scheduled"]
    assert table_row(table, "adhoc")[2:5] == ["-", "no", "-"]


def test_deployments_without_any_says_how_to_add_one(store: RunStore) -> None:
    assert "No deployments" in ok("deployments").stdout
    assert listed() == []


def test_a_paused_deployment_has_no_next_fire_time(store: RunStore) -> None:
    daily("etl", "--paused")
    (etl,) = listed()
    assert (etl["paused"], etl["next_fire_time"]) == (True, None)
    assert table_row(ok("deployments").stdout, "etl")[3:5] == ["yes", "-"]


def test_deploy_again_updates_and_keeps_a_pause(store: RunStore) -> None:
    daily("etl")
    ok("pause", "etl")
    result = deploy("etl", "--interval", "90s")
    assert "Updated deployment 'etl'" in result.stdout
    assert "every 90 seconds" in result.stdout
    assert "It is paused" in result.stdout
    record = store.get_deployment("etl")
    assert record is not None
    assert record.paused


def test_deploy_a_command_as_one_string_or_after_a_double_dash(store: RunStore) -> None:
    ok("deploy", "dbt run --full-refresh", "--command", "--name", "one")
    ok("deploy", "--command", "--name", "two", "--", "dbt", "run", "--full-refresh")
    targets = [row["entrypoint"] for row in listed()]
    expected = {"kind": "command", "target": ["dbt", "run", "--full-refresh"]}
    assert targets == [expected, expected]


def test_deploy_warns_about_a_flow_file_that_is_not_there(store: RunStore) -> None:
    result = ok("deploy", "missing.py:flow", "--name", "etl")
    assert "missing.py does not exist (yet)" in result.stderr


def test_deploy_reports_every_bad_option_at_once(store: RunStore) -> None:
    result = invoke(
        "deploy",
        *("flows.py:greeting", "--name", "etl", "--cron", "61 * * * *"),
        *("--overlap", "sometimes", "--param", "oops", "--executor", "spark"),
    )
    assert error(result) == "\n".join(
        [
            "deployment 'etl', field 'param': expected KEY=VALUE, got 'oops'",
            "deployment 'etl', field 'cron': invalid cron expression '61 * * * *': minute "
            "field: value '61' is out of range 0-59",
            "deployment 'etl', field 'executor.type': 'spark' is not one of local, "
            "local_dask, dask",
            "deployment 'etl', field 'overlap': 'sometimes' is not one of skip, queue, allow",
        ]
    )
    assert store.list_deployments() == []


def test_deploy_refuses_callable_and_command_together(store: RunStore) -> None:
    result = invoke("deploy", "jobs:main", "--name", "x", "--callable", "--command")
    assert error(result) == "give --callable or --command, not both"


# -- pause and resume ----------------------------------------------------------------------------


def test_pause_then_resume_moves_the_schedule_past_the_pause(store: RunStore) -> None:
    daily("etl")
    assert "Paused deployment 'etl'" in ok("pause", "etl").stdout
    record = store.get_deployment("etl")
    assert record is not None
    assert record.paused
    assert record.last_fire is None
    assert "already paused" in ok("pause", "etl").stdout

    before = datetime.now(UTC)
    result = ok("resume", "etl")
    after = datetime.now(UTC)
    assert "Resumed deployment 'etl'; next fire time Thu 2099-01-01 06:00:00 CET" in result.stdout
    record = store.get_deployment("etl")
    assert record is not None
    assert not record.paused
    assert record.last_fire is not None
    assert before <= record.last_fire <= after


def test_resume_of_a_deployment_that_is_not_paused_changes_nothing(store: RunStore) -> None:
    daily("etl")
    assert "is not paused" in ok("resume", "etl").stdout
    record = store.get_deployment("etl")
    assert record is not None
    assert record.last_fire is None


@pytest.mark.parametrize(
    "args",
    [
        ["pause", "nope"],
        ["resume", "nope"],
        ["trigger", "nope"],
        ["delete", "nope", "--yes"],
        ["backfill", "nope", "--start", "2026-03-01", "--end", "2026-03-02"],
    ],
    ids=lambda args: args[0],
)
def test_an_unknown_deployment_is_one_error(store: RunStore, args: list[str]) -> None:
    berlin("etl")
    assert error(invoke(*args)) == (
        "no deployment is called 'nope'; `tideflow deployments` lists them"
    )


# -- trigger -------------------------------------------------------------------------------------


def test_trigger_adds_a_waiting_run_now_with_merged_parameters(store: RunStore) -> None:
    daily("etl", "-p", "name=ann", "-p", "keep=true")
    before = datetime.now(UTC)
    result = ok("trigger", "etl", "--param", "name=bob", "-p", "extra=3")
    (run,) = store.list_flow_runs(deployment="etl")
    assert run.state == "Scheduled"
    assert run.parameters == {"name": "bob", "keep": True, "extra": 3}
    assert before <= run.scheduled_start_time <= datetime.now(UTC)
    assert f"Triggered run {run.id} of deployment 'etl'" in result.stdout
    assert f"tideflow logs {run.id} --follow" in result.stdout
    assert result.stderr == ""


def test_trigger_of_a_paused_deployment_warns_that_the_run_waits(store: RunStore) -> None:
    daily("etl", "--paused")
    result = ok("trigger", "etl")
    assert "is paused: the run waits until tideflow resume etl" in result.stderr


def test_trigger_with_a_bad_parameter_is_one_error(store: RunStore) -> None:
    daily("etl")
    assert "bad --param 'oops'" in error(invoke("trigger", "etl", "-p", "oops"))
    assert store.list_flow_runs() == []


# -- delete --------------------------------------------------------------------------------------


def test_delete_with_yes_removes_the_deployment_and_keeps_its_runs(store: RunStore) -> None:
    daily("etl")
    run_id = ok("trigger", "etl").stdout.split()[2]
    result = ok("delete", "etl", "--yes")
    assert "Deleted deployment 'etl'; cancelled its 1 waiting run(s)" in result.stdout
    assert store.get_deployment("etl") is None
    run = store.get_flow_run(run_id)
    assert run.state == "Cancelled"
    assert run.state_message == "Cancelled: deployment 'etl' was deleted."


def test_delete_asks_first(store: RunStore) -> None:
    daily("etl")
    result = invoke("delete", "etl", input="n\n")
    assert result.exit_code == 1
    assert "Nothing deleted." in result.stdout
    assert store.get_deployment("etl") is not None
    ok("delete", "etl", input="y\n")
    assert store.get_deployment("etl") is None


# -- backfill ------------------------------------------------------------------------------------


def test_backfill_creates_one_run_per_fire_time_once(store: RunStore) -> None:
    berlin("etl", "--overlap", "queue")
    window = ("--start", "2026-03-01", "--end", "2026-03-03T23:00")  # wall-clock, Berlin
    first = json.loads(ok("backfill", "etl", *window, "--json").stdout)
    expected = [datetime(2026, 3, day, 5, 0, tzinfo=UTC) for day in (1, 2, 3)]
    assert [row["scheduled_start_time"] for row in first["created"]] == [
        moment.isoformat() for moment in expected
    ]
    assert first["already_present"] == []
    runs = runs_of(store, "etl")
    assert [run.scheduled_start_time for run in runs] == expected
    assert {run.state for run in runs} == {"Scheduled"}
    assert [row["id"] for row in first["created"]] == [run.id for run in runs]

    again = ok("backfill", "etl", *window)
    assert "created 0 waiting run(s), 3 already had a run" in again.stdout
    assert len(runs_of(store, "etl")) == 3
    assert again.stderr == ""


def test_backfill_matches_the_planner_and_keeps_existing_slots(store: RunStore) -> None:
    deploy("etl", "--interval", "6h", "--start", "2026-03-01T00:00", "--overlap", "queue")
    ok("backfill", "etl", "--start", "2026-03-01T06:00", "--end", "2026-03-01T12:00")
    result = ok("backfill", "etl", "--start", "2026-03-01T00:00Z", "--end", "2026-03-02T00:00Z")
    assert "5 fire time(s) from 2026-03-01 00:00 to 2026-03-02 00:00 UTC" in result.stdout
    assert "created 3 waiting run(s), 2 already had a run" in result.stdout
    record = store.get_deployment("etl")
    assert record is not None
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    planned = backfill_times(Deployment.from_dict(record.spec), start, end)
    assert [run.scheduled_start_time for run in runs_of(store, "etl")] == planned


def test_backfilled_runs_are_never_skipped_so_overlap_skip_needs_no_warning(
    store: RunStore,
) -> None:
    berlin("etl")  # overlap "skip", the default
    result = ok("backfill", "etl", "--start", "2026-03-01", "--end", "2026-03-03T06:00", "--json")
    assert len(json.loads(result.stdout)["created"]) == 3  # standard output: JSON only
    assert result.stderr == ""
    assert {run.origin for run in runs_of(store, "etl")} == {"backfill"}


def test_a_date_as_the_end_of_a_backfill_includes_that_day(store: RunStore) -> None:
    berlin("etl")  # 06:00 Europe/Berlin every day
    result = ok("backfill", "etl", "--start", "2026-03-01", "--end", "2026-03-07", "--json")
    created = json.loads(result.stdout)["created"]
    assert [row["scheduled_start_time"][:10] for row in created][-1] == "2026-03-07"
    assert len(created) == 7


def test_backfill_of_an_empty_window_creates_nothing(store: RunStore) -> None:
    berlin("etl")
    result = ok("backfill", "etl", "--start", "2026-03-01T07:00", "--end", "2026-03-01T08:00")
    assert "nothing to backfill" in result.stdout
    assert store.list_flow_runs() == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--start", "2026-03-03", "--end", "2026-03-01"],
            "deployment 'etl': the backfill window ends (2026-03-01 22:59:59 UTC) before it "
            "starts (2026-03-02 23:00:00 UTC)",
        ),
        (
            ["--start", "yesterday", "--end", "2026-03-01"],
            "--start: invalid date or ISO datetime 'yesterday'; use e.g. 2026-03-01 or "
            "2026-03-01T06:00",
        ),
    ],
    ids=["reversed", "not-iso"],
)
def test_a_bad_backfill_window_is_one_error(
    store: RunStore, extra: list[str], message: str
) -> None:
    berlin("etl")
    assert error(invoke("backfill", "etl", *extra)) == message


def test_backfill_of_an_unscheduled_deployment_is_one_error(store: RunStore) -> None:
    deploy("adhoc")
    result = invoke("backfill", "adhoc", "--start", "2026-03-01", "--end", "2026-03-02")
    assert error(result) == (
        "deployment 'adhoc' has no schedule, so it has no fire times to backfill; "
        "trigger runs instead"
    )


# -- serve ---------------------------------------------------------------------------------------

GOOD_TOML = """
[deployments.every-minute]
flow = "flows.py:greeting"
interval = "1m"
start = 2099-01-01T00:00:00

[deployments.on-demand]
callable = "jobs:main"
kind = "persistent"
"""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """``Service.run`` replaced: each call records the names of the deployments in the store."""
    calls: list[list[str]] = []

    def run(self: Service) -> None:
        calls.append([record.name for record in self.store.list_deployments()])

    monkeypatch.setattr(Service, "run", run)
    return calls


def test_serve_registers_the_file_prints_a_banner_and_runs_the_service(
    store: RunStore, tmp_path: Path, served: list[list[str]]
) -> None:
    (tmp_path / "deploy.toml").write_text(GOOD_TOML)
    daily("etl", "--paused")
    result = ok("serve", "--file", "deploy.toml", "--tick", "0.5", "--grace", "5")
    assert served == [["etl", "every-minute", "on-demand"]]
    out = result.stdout
    assert "Tideflow service, run store " in out
    assert "tideflow.db" in out
    assert "Registered 2 deployment(s) from deploy.toml." in out
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in out.splitlines()[2:5]}
    assert lines["every-minute"] == (
        "scheduled every minute, from 2099-01-01 00:00 next Thu 2099-01-01 00:00:00 UTC"
    )
    assert lines["on-demand"] == "persistent - trigger or backfill only"
    assert lines["etl"].endswith("paused")
    assert "Ctrl-C to stop (runs in progress get 5 s to finish)." in out


def test_serve_reads_tideflow_toml_in_the_current_directory(
    store: RunStore, tmp_path: Path, served: list[list[str]]
) -> None:
    (tmp_path / "tideflow.toml").write_text(GOOD_TOML)
    assert "from tideflow.toml" in ok("serve").stdout
    assert served == [["every-minute", "on-demand"]]


def test_serve_without_a_file_or_deployments_still_runs(
    store: RunStore, served: list[list[str]]
) -> None:
    assert "No deployments yet" in ok("serve").stdout
    assert served == [[]]


def test_serve_rejects_a_bad_file_listing_every_problem(
    store: RunStore, tmp_path: Path, served: list[list[str]]
) -> None:
    (tmp_path / "bad.toml").write_text(
        dedent(
            """
            [deployments.etl]
            flow = "flows.py:greeting"
            cron = "0 6 * * *"
            overlap = "sometimes"
            tz = "Europe/Berlin"

            [deployments.report]
            callable = "jobs:main"
            interval = "soon"
            retries = -1
            """
        )
    )
    assert error(invoke("serve", "--file", "bad.toml")) == "\n".join(
        [
            "bad.toml: deployment 'etl', field 'tz': unknown field; did you mean 'timezone'?",
            "bad.toml: deployment 'etl', field 'overlap': 'sometimes' is not one of skip, "
            "queue, allow",
            "bad.toml: deployment 'report', field 'interval': invalid duration 'soon': use "
            "'90s', '15m', '2h', '30d', '1w', '1h30m' or a plain number of seconds such as '90'",
            "bad.toml: deployment 'report', field 'retries': expected a whole number, 0 or "
            "more, got -1",
        ]
    )
    assert served == []
    assert store.list_deployments() == []


def test_serve_of_a_missing_file_is_one_error(served: list[list[str]]) -> None:
    result = invoke("serve", "--file", "nowhere.toml")
    assert error(result) == "nowhere.toml: cannot read the file: No such file or directory"


@pytest.mark.parametrize("url", ["memory://", "sqlite:///:memory:"])
def test_serve_refuses_a_store_in_memory(
    monkeypatch: pytest.MonkeyPatch, served: list[list[str]], url: str
) -> None:
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", url)
    message = error(invoke("serve"))
    assert message.startswith(
        "deployments live in the run store, which the service, its runs and every tideflow "
        "command share, so they need a SQL store (SQLite or PostgreSQL), not "
        f"{url} (in memory: other processes cannot see it, and it is gone when this command "
        "ends); unset TIDEFLOW_DATABASE_URL"
    )
    assert served == []


EVERY_COMMAND = [
    ["serve"],
    ["deploy", "flows.py:greeting", "--name", "etl"],
    ["deployments"],
    ["pause", "etl"],
    ["resume", "etl"],
    ["trigger", "etl"],
    ["delete", "etl", "--yes"],
    ["backfill", "etl", "--start", "2026-03-01", "--end", "2026-03-02"],
]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=lambda args: args[0])
def test_every_command_needs_a_sql_store_it_can_open(
    monkeypatch: pytest.MonkeyPatch, served: list[list[str]], args: list[str]
) -> None:
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", "memory://")
    assert "not memory://" in error(invoke(*args))
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", "nosuchdb://nowhere/tideflow")
    assert error(invoke(*args)).startswith("cannot open run store")
    assert served == []


def test_the_store_is_used_even_when_recording_is_off(
    monkeypatch: pytest.MonkeyPatch, store: RunStore, served: list[list[str]]
) -> None:
    monkeypatch.setenv("TIDEFLOW_STORE", "off")  # stops flow.run() recording, not deployments
    daily("etl")
    assert [row["name"] for row in listed()] == ["etl"]
    ok("serve")
    assert served == [["etl"]]
    assert store.get_deployment("etl") is not None


def test_serve_lets_the_file_own_its_deployments(
    store: RunStore, tmp_path: Path, served: list[list[str]]
) -> None:
    (tmp_path / "tideflow.toml").write_text(GOOD_TOML)
    daily("etl")
    ok("serve")
    sources = {row["name"]: row["source"] for row in listed()}
    toml = str(tmp_path / "tideflow.toml")
    assert sources == {"etl": None, "every-minute": toml, "on-demand": toml}
    (tmp_path / "tideflow.toml").write_text(GOOD_TOML.split("[deployments.on-demand]")[0])
    ok("serve")
    assert [row["name"] for row in listed()] == ["etl", "every-minute"]


def test_next_fire_times_are_after_now(store: RunStore) -> None:
    deploy("etl", "--interval", "1h")
    (etl,) = listed()
    upcoming = datetime.fromisoformat(etl["next_fire_time"])
    now = datetime.now(UTC)
    assert now < upcoming <= now + timedelta(hours=1)


def test_a_deployment_whose_stored_spec_cannot_be_read_is_listed_with_why_and_served_around(
    store: RunStore, tmp_path: Path, served: list[list[str]]
) -> None:
    daily("etl")
    store.upsert_deployment("broken", {"name": "broken", "overlap": "sometimes"}, T0)
    (row,) = [r for r in listed() if r["name"] == "broken"]
    assert row["error"].startswith("its stored spec cannot be read: ")
    assert "its stored spec cannot be read" in " ".join(
        table_row(ok("deployments").stdout, "broken")
    )
    result = ok("serve")
    assert served == [["broken", "etl"]]
    assert " broken " not in result.stdout, "the banner shows what the service will run"


def test_serve_now_with_an_unknown_deployment_fails_before_registering_anything(
    store: RunStore, tmp_path: Path, served: list[list[str]]
) -> None:
    (tmp_path / "deploy.toml").write_text(GOOD_TOML)
    message = error(
        invoke("serve", "--file", "deploy.toml", "--now", "every-minute", "--now", "nope")
    )
    assert (
        message == "--now nope: no deployment is called 'nope'; `tideflow deployments` lists them"
    )
    assert served == []
    assert store.list_deployments() == []
    assert store.list_flow_runs() == []


def test_errors_print_brackets_as_typed() -> None:
    assert error(invoke("pause", "[bold]etl[/bold]")) == (
        "no deployment is called '[bold]etl[/bold]'; `tideflow deployments` lists them"
    )
