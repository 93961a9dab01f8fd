"""The run-history commands: `tideflow runs`, `runs show`, `logs`, `metrics` and `prune`.

Each test fills the SQLite store in ``$TIDEFLOW_HOME`` (a temporary directory, see
``tests/conftest.py``) by writing records directly, then reads it back through the CLI.
"""

from __future__ import annotations

import json
import pathlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tideflow.cli import app
from tideflow.cli import logs as logs_module
from tideflow.cli.metrics import sparkline
from tideflow.store import (
    FlowRecord,
    FlowRunRecord,
    LogLine,
    ResultRow,
    RunStore,
    TaskStateChange,
    open_store,
)

runner = CliRunner()

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""When the fixed runs of these tests are scheduled (the first of them)."""


@pytest.fixture(autouse=True)
def _history_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record runs whatever the suite's default, and print tables wide enough to read whole."""
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def store() -> Iterator[RunStore]:
    """The store the CLI will read: SQLite in ``$TIDEFLOW_HOME``."""
    opened = open_store()
    assert opened is not None
    with opened:
        yield opened


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def add_run(
    store: RunStore,
    run_id: str,
    *,
    flow: str = "etl",
    deployment: str | None = None,
    state: str = "Success",
    scheduled: datetime = T0,
    started: timedelta | None = timedelta(seconds=2),
    took: timedelta | None = timedelta(seconds=90),
    message: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> FlowRunRecord:
    """Record a run of ``flow`` that started ``started`` after ``scheduled`` and took ``took``
    (None: not started / not ended)."""
    store.upsert_flow(FlowRecord(name=flow, graph_hash="hash", graph={"tasks": []}))
    start = None if started is None else scheduled + started
    end = None if start is None or took is None else start + took
    run = FlowRunRecord(
        id=run_id,
        flow_name=flow,
        deployment=deployment,
        parameters=parameters or {},
        scheduled_start_time=scheduled,
        start_time=start,
        end_time=end,
        state=state,
        state_message=message,
        lateness=None if started is None else started.total_seconds(),
        host="worker-1",
        pid=4242,
        heartbeat=None,
    )
    store.create_flow_run(run)
    return run


def change(
    run_id: str, key: str, state: str, seconds: float, *, index: int | None = None, msg: str = ""
) -> TaskStateChange:
    return TaskStateChange(
        flow_run_id=run_id,
        task_key=key,
        task_name=key.split("-")[0],
        map_index=index,
        state=state,
        message=msg or None,
        timestamp=T0 + timedelta(seconds=seconds),
    )


def log(run_id: str, message: str, *, task: str | None = None, seconds: float = 0) -> LogLine:
    return LogLine(
        flow_run_id=run_id,
        task_key=task,
        map_index=None,
        timestamp=T0 + timedelta(seconds=seconds),
        level="INFO",
        logger=f"tideflow.task.{task}" if task else "tideflow.flow",
        message=message,
    )


def metric(run_id: str, name: str, number: float) -> ResultRow:
    return ResultRow(
        flow_run_id=run_id,
        task_key="train",
        map_index=None,
        name=name,
        kind="metric",
        value=None,
        number=number,
        timestamp=T0,
    )


def table_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("│")]


def assert_one_error_line(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# -- tideflow runs -------------------------------------------------------------------------------


@pytest.fixture
def many_states(store: RunStore) -> RunStore:
    """One run per state of interest, an hour apart, in the order listed (newest last)."""
    for hour, (state, deployment) in enumerate(
        [
            ("Success", "nightly"),
            ("Failed", "nightly"),
            ("TimedOut", None),
            ("TriggerFailed", None),
            ("Crashed", "hourly"),
            ("Skipped", "hourly"),
            ("Cached", None),
            ("Cancelled", None),
            ("Running", "hourly"),
        ]
    ):
        add_run(
            store,
            f"{state.lower()}-0000-run",
            state=state,
            deployment=deployment,
            scheduled=T0 + timedelta(hours=hour),
            took=None if state == "Running" else timedelta(seconds=90),
        )
    add_run(store, "other-flow-run", flow="report", scheduled=T0 - timedelta(days=1))
    return store


def listed_ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [row.split("│")[1].strip() for row in table_rows(result.stdout)]


def test_runs_lists_newest_first_with_short_ids_and_columns(many_states: RunStore) -> None:
    result = invoke("runs")
    assert listed_ids(result) == [
        "running-",
        "cancelle",
        "cached-0",
        "skipped-",
        "crashed-",
        "triggerf",
        "timedout",
        "failed-0",
        "success-",
        "other-fl",
    ]
    rows = table_rows(result.stdout)
    assert "Scheduled (UTC)" in result.stdout
    cells = [cell.strip() for cell in rows[-2].split("│")[1:-1]]
    # id, flow, deployment, state, scheduled, started, duration, lateness
    assert cells == [
        "success-",
        "etl",
        "nightly",
        "Success",
        "2026-03-01 12:00",
        "12:00:02",
        "1m30s",
        "2.00 s",
    ]
    running = [cell.strip() for cell in rows[0].split("│")[1:-1]]
    assert running[2:4] == ["hourly", "Running"]
    assert running[6] == "-"  # not ended: no duration
    assert [cell.strip() for cell in rows[1].split("│")[1:-1]][2] == "-"  # no deployment


def test_runs_filters_by_flow_and_deployment(many_states: RunStore) -> None:
    assert listed_ids(invoke("runs", "--flow", "report")) == ["other-fl"]
    assert listed_ids(invoke("runs", "--deployment", "hourly")) == [
        "running-",
        "skipped-",
        "crashed-",
    ]
    assert listed_ids(invoke("runs", "-f", "etl", "-d", "nightly")) == ["failed-0", "success-"]


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["failed"], ["crashed-", "triggerf", "timedout", "failed-0"]),
        (["FAILED"], ["crashed-", "triggerf", "timedout", "failed-0"]),
        (["timedout"], ["timedout"]),
        (["success"], ["cached-0", "skipped-", "success-", "other-fl"]),
        (["Cancelled", "crashed"], ["cancelle", "crashed-"]),
        (["pending"], []),
        (["running"], ["running-"]),
    ],
)
def test_runs_state_filter_includes_the_subclasses_of_each_state(
    many_states: RunStore, states: list[str], expected: list[str]
) -> None:
    args = [arg for state in states for arg in ("--state", state)]
    result = invoke("runs", *args)
    assert listed_ids(result) == expected
    if not expected:
        assert "No flow runs recorded match." in result.stdout


def test_runs_with_a_finished_state_filter_lists_every_finished_run(
    many_states: RunStore,
) -> None:
    assert "running-" not in listed_ids(invoke("runs", "--state", "finished"))
    assert len(listed_ids(invoke("runs", "--state", "finished"))) == 9


def test_an_unknown_state_is_one_error_listing_the_valid_names(many_states: RunStore) -> None:
    result = invoke("runs", "--state", "succeeded")
    assert_one_error_line(result, "'succeeded'", "Failed", "TimedOut", "Success", "Running")


def test_runs_limit_keeps_the_newest(many_states: RunStore) -> None:
    assert listed_ids(invoke("runs", "--limit", "2")) == ["running-", "cancelle"]
    assert listed_ids(invoke("runs", "-n", "1", "--state", "failed")) == ["crashed-"]


def test_runs_lists_at_most_twenty_by_default(store: RunStore) -> None:
    for minute in range(25):
        add_run(store, f"run-{minute:02d}", scheduled=T0 + timedelta(minutes=minute))
    ids = listed_ids(invoke("runs"))
    assert len(ids) == 20
    assert ids[0] == "run-24"


def test_runs_since_keeps_runs_scheduled_within_the_duration(store: RunStore) -> None:
    now = datetime.now(UTC)
    add_run(store, "recent-run", scheduled=now - timedelta(hours=1))
    add_run(store, "earlier-run", scheduled=now - timedelta(hours=5))
    add_run(store, "old-run", scheduled=now - timedelta(days=3))
    assert listed_ids(invoke("runs", "--since", "2h")) == ["recent-r"]
    assert listed_ids(invoke("runs", "--since", "1d")) == ["recent-r", "earlier-"]
    assert len(listed_ids(invoke("runs", "--since", "1w"))) == 3


def test_a_bad_since_duration_is_one_error(store: RunStore) -> None:
    assert_one_error_line(invoke("runs", "--since", "yesterday"), "--since", "'yesterday'")


def test_runs_json_is_a_plain_array_of_runs(many_states: RunStore) -> None:
    result = invoke("runs", "--json", "--state", "failed", "--limit", "2")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert [run["id"] for run in runs] == ["crashed-0000-run", "triggerfailed-0000-run"]
    crashed = runs[0]
    assert crashed == {
        "id": "crashed-0000-run",
        "flow": "etl",
        "deployment": "hourly",
        "state": "Crashed",
        "state_message": None,
        "finished": True,
        "parameters": {},
        "scheduled_start_time": "2026-03-01T16:00:00+00:00",
        "start_time": "2026-03-01T16:00:02+00:00",
        "end_time": "2026-03-01T16:01:32+00:00",
        "duration": 90.0,
        "lateness": 2.0,
        "host": "worker-1",
        "pid": 4242,
        "heartbeat": None,
        "attempts": 1,
        "parent_run_id": None,
        "parent_task": None,
    }


def test_runs_json_of_nothing_is_an_empty_array(store: RunStore) -> None:
    result = invoke("runs", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


# -- tideflow runs show --------------------------------------------------------------------------


@pytest.fixture
def finished_run(store: RunStore) -> FlowRunRecord:
    """A failed run with a retried task, a mapped task and a task that never ran."""
    run = add_run(
        store,
        "3f2a9c1e-aaaa-4bbb-8ccc-000000000001",
        deployment="nightly",
        state="Failed",
        message="Some reference tasks failed.",
        parameters={"batch-size": 500},
    )
    add_run(store, "3f2a0000-aaaa-4bbb-8ccc-000000000002", scheduled=T0 - timedelta(hours=1))
    rid = run.id
    store.record_task_states(
        [
            change(rid, "extract", "Pending", 2),
            change(rid, "extract", "Running", 3),
            change(rid, "extract", "Retrying", 4, msg="ConnectionError: reset"),
            change(rid, "extract", "Running", 10),
            change(rid, "extract", "Success", 12.5),
            change(rid, "square", "Running", 13),
            change(rid, "square", "Running", 13.1, index=0),
            change(rid, "square", "Success", 13.35, index=0),
            change(rid, "square", "Running", 13.2, index=1),
            change(rid, "square", "Failed", 14.2, index=1, msg="ValueError: negative"),
            change(rid, "square", "Mapped", 14.5),
            change(rid, "load", "TriggerFailed", 15, msg="Trigger was 'all_successful'"),
        ]
    )
    return run


def task_cells(output: str) -> dict[str, list[str]]:
    rows = [[cell.strip() for cell in row.split("│")[1:-1]] for row in table_rows(output)]
    return {cells[0]: cells[1:] for cells in rows}


def test_runs_show_prints_the_details_and_the_task_table(finished_run: FlowRunRecord) -> None:
    result = invoke("runs", "show", "3f2a9")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert finished_run.id in out
    assert "Failed - Some reference tasks failed." in out
    assert '{"batch-size": 500}' in out
    assert "nightly" in out
    assert "2026-03-01T12:00:00+00:00" in out  # scheduled
    assert "2026-03-01T12:00:02+00:00" in out  # started
    assert "2026-03-01T12:01:32+00:00" in out  # ended
    assert "worker-1" in out
    assert "4242" in out
    tasks = task_cells(out)
    assert list(tasks) == ["extract", "square", "square[0]", "square[1]", "load"]
    assert tasks["extract"] == ["Success", "2", "9.50 s", ""]
    assert tasks["square"] == ["Mapped", "1", "1.50 s", ""]
    assert tasks["square[0]"] == ["Success", "1", "250.0 ms", ""]
    assert tasks["square[1]"] == ["Failed", "1", "1.00 s", "ValueError: negative"]
    assert tasks["load"] == ["TriggerFailed", "0", "-", "Trigger was 'all_successful'"]


def test_runs_show_accepts_the_full_id(finished_run: FlowRunRecord) -> None:
    result = invoke("runs", "show", finished_run.id)
    assert result.exit_code == 0, result.output
    assert "Some reference tasks failed." in result.stdout


def test_runs_show_refuses_an_ambiguous_prefix_naming_the_matches(
    finished_run: FlowRunRecord,
) -> None:
    result = invoke("runs", "show", "3f2a")
    assert_one_error_line(
        result, "'3f2a' is ambiguous", finished_run.id, "3f2a0000-aaaa", "give more characters"
    )


def test_runs_show_refuses_an_unknown_id(finished_run: FlowRunRecord) -> None:
    assert_one_error_line(invoke("runs", "show", "beef"), "no flow run", "'beef'")


def test_runs_show_json_has_the_run_and_its_tasks(finished_run: FlowRunRecord) -> None:
    result = invoke("runs", "show", "3f2a9c", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == finished_run.id
    assert data["state"] == "Failed"
    assert data["parameters"] == {"batch-size": 500}
    assert data["duration"] == 90.0
    assert [(t["task_key"], t["map_index"]) for t in data["tasks"]] == [
        ("extract", None),
        ("square", None),
        ("square", 0),
        ("square", 1),
        ("load", None),
    ]
    extract = data["tasks"][0]
    assert extract == {
        "task_key": "extract",
        "task_name": "extract",
        "map_index": None,
        "state": "Success",
        "message": None,
        "attempts": 2,
        "start_time": "2026-03-01T12:00:03+00:00",
        "end_time": "2026-03-01T12:00:12.500000+00:00",
        "duration": 9.5,
    }


def test_runs_show_of_a_run_without_tasks_says_so(store: RunStore) -> None:
    add_run(store, "lonely-run", state="Scheduled", started=None)
    result = invoke("runs", "show", "lonely")
    assert result.exit_code == 0, result.output
    assert "Scheduled" in result.stdout
    assert "No task states recorded." in result.stdout


# -- tideflow logs -------------------------------------------------------------------------------


@pytest.fixture
def logged_run(store: RunStore) -> FlowRunRecord:
    run = add_run(store, "a1b2c3d4-logs", state="Success")
    store.record_logs(
        [
            log(run.id, "Beginning flow run 'etl'", seconds=1),
            log(run.id, "Hello, world!", task="say_hello", seconds=2),
            log(run.id, "two squared is 4", task="t-2", seconds=3),
            log(run.id, "Flow run SUCCESS: all reference tasks succeeded", seconds=4),
        ]
    )
    return run


def test_logs_prints_every_line_with_time_level_task_and_logger(logged_run: FlowRunRecord) -> None:
    result = invoke("logs", "a1b2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0] == "2026-03-01 12:00:01.000 INFO     tideflow.flow: Beginning flow run 'etl'"
    assert lines[1] == (
        "2026-03-01 12:00:02.000 INFO     say_hello tideflow.task.say_hello: Hello, world!"
    )
    assert "t-2" in lines[2]
    assert "two squared is 4" in lines[2]


@pytest.mark.parametrize(("task", "message"), [("say_hello", "Hello"), ("t-2", "two squared")])
def test_logs_task_keeps_that_tasks_lines(
    logged_run: FlowRunRecord, task: str, message: str
) -> None:
    result = invoke("logs", logged_run.id, "--task", task)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert message in lines[0]


def test_logs_of_an_unknown_task_say_there_are_none(logged_run: FlowRunRecord) -> None:
    result = invoke("logs", logged_run.id, "--task", "nope")
    assert result.exit_code == 0, result.output
    assert "No log lines recorded by task 'nope'" in result.stdout


def test_logs_json_prints_one_object_per_line(logged_run: FlowRunRecord) -> None:
    result = invoke("logs", "a1b2c3", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in lines][1:3] == ["Hello, world!", "two squared is 4"]
    assert lines[1] == {
        "id": lines[1]["id"],
        "flow_run_id": logged_run.id,
        "task_key": "say_hello",
        "map_index": None,
        "timestamp": "2026-03-01T12:00:02+00:00",
        "level": "INFO",
        "logger": "tideflow.task.say_hello",
        "message": "Hello, world!",
    }
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)


def test_logs_of_an_unknown_run_is_one_error(logged_run: FlowRunRecord) -> None:
    assert_one_error_line(invoke("logs", "zzz"), "no flow run", "'zzz'")


class Polls:
    """Stands in for the ``time`` module of ``tideflow.cli.logs``: counts the follow loop's
    polls, so a writer thread can act between them, and waits only a moment each time."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def sleep(self, seconds: float) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()
        time.sleep(0.005)

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, timeout=5)


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> Polls:
    stand_in = Polls()
    monkeypatch.setattr(logs_module, "time", SimpleNamespace(sleep=stand_in.sleep))
    monkeypatch.setattr(logs_module, "FOLLOW_POLL_SECONDS", 0.005)
    return stand_in


def follow_while_writing(store: RunStore, polls: Polls, *args: str) -> tuple[Result, float]:
    """Follow a running run while a thread logs two more lines and then finishes it."""
    add_run(store, "f0110w-run", state="Running", took=None)
    store.record_logs([log("f0110w-run", "first line", seconds=1)])

    def writer() -> None:
        other = open_store()
        assert other is not None
        with other:
            polls.wait_for(1)
            other.record_logs([log("f0110w-run", "second line", task="say_hello", seconds=2)])
            polls.wait_for(polls.count + 2)
            other.record_logs([log("f0110w-run", "third line", seconds=3)])
            other.finish(
                "f0110w-run", "Success", "done", at=T0 + timedelta(seconds=4), expected=["Running"]
            )

    thread = threading.Thread(target=writer)
    started = time.perf_counter()
    thread.start()
    result = invoke("logs", "f0110w", "--follow", *args)
    elapsed = time.perf_counter() - started
    thread.join(timeout=5)
    assert not thread.is_alive()
    return result, elapsed


def test_logs_follow_prints_new_lines_until_the_run_finishes(store: RunStore, polls: Polls) -> None:
    result, elapsed = follow_while_writing(store, polls)
    assert result.exit_code == 0, result.output
    messages = [line.rsplit(": ", 1)[-1] for line in result.stdout.splitlines()]
    assert messages == ["first line", "second line", "third line"]
    assert polls.count >= 3
    assert elapsed < 5


def test_logs_follow_json_prints_json_lines(store: RunStore, polls: Polls) -> None:
    result, _ = follow_while_writing(store, polls, "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in lines] == ["first line", "second line", "third line"]


def test_logs_follow_of_a_finished_run_prints_everything_and_exits(
    logged_run: FlowRunRecord, polls: Polls
) -> None:
    result = invoke("logs", logged_run.id, "--follow")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 4
    assert polls.count == 0


def test_logs_follow_exits_quietly_with_130_on_ctrl_c(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_run(store, "interrupted-run", state="Running", took=None)
    store.record_logs([log("interrupted-run", "still going")])

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(logs_module, "time", SimpleNamespace(sleep=interrupt))
    result = invoke("logs", "interrupted", "--follow")
    assert result.exit_code == 130
    assert "still going" in result.stdout
    assert "Aborted" not in result.output
    assert "Traceback" not in result.output


# -- tideflow metrics ----------------------------------------------------------------------------


@pytest.fixture
def trained(store: RunStore) -> RunStore:
    """Five runs of flow "train" recording mae (falling) and rows (rising); one of "other"."""
    for day in range(5):
        run = add_run(store, f"train-{day}", flow="train", scheduled=T0 + timedelta(days=day))
        store.record_results(
            [metric(run.id, "mae", 0.5 - day * 0.125), metric(run.id, "rows", 1000 * (day + 1))]
        )
    other = add_run(store, "other-0", flow="other")
    store.record_results([metric(other.id, "mae", 99.0)])
    return store


def test_metrics_shows_count_last_min_max_and_a_sparkline(trained: RunStore) -> None:
    result = invoke("metrics", "train")
    assert result.exit_code == 0, result.output
    rows = task_cells(result.stdout)
    assert rows["mae"] == ["5", "0", "0", "0.5", "█▇▅▃▁"]
    assert rows["rows"] == ["5", "5000", "1000", "5000", "▁▃▅▇█"]
    assert "99" not in result.stdout  # another flow's metric


def test_metrics_name_and_limit_narrow_the_values(trained: RunStore) -> None:
    result = invoke("metrics", "train", "--name", "rows", "--limit", "3")
    assert result.exit_code == 0, result.output
    rows = task_cells(result.stdout)
    assert list(rows) == ["rows"]
    assert rows["rows"] == ["3", "5000", "3000", "5000", "▁▅█"]


def test_metrics_json(trained: RunStore) -> None:
    result = invoke("metrics", "train", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flow"] == "train"
    assert [m["name"] for m in data["metrics"]] == ["mae", "rows"]
    rows = data["metrics"][1]
    assert {key: rows[key] for key in ("count", "last", "min", "max")} == {
        "count": 5,
        "last": 5000.0,
        "min": 1000.0,
        "max": 5000.0,
    }
    assert rows["points"][0] == {
        "flow_run_id": "train-0",
        "value": 1000.0,
        "timestamp": "2026-03-01T12:00:00+00:00",
        "scheduled_start_time": "2026-03-01T12:00:00+00:00",
    }
    assert [p["flow_run_id"] for p in rows["points"]] == [f"train-{day}" for day in range(5)]


@pytest.mark.parametrize("args", [["etl"], ["train", "--name", "accuracy"]])
def test_metrics_of_a_flow_without_any_explain_how_to_record_one(
    trained: RunStore, args: list[str]
) -> None:
    result = invoke("metrics", *args)
    assert result.exit_code == 0, result.output
    assert f"recorded for flow {args[0]!r}" in result.stdout
    assert "tideflow.log_metric(name, value)" in result.stdout


def test_metrics_json_without_any_is_an_empty_list(trained: RunStore) -> None:
    result = invoke("metrics", "etl", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"flow": "etl", "metrics": []}


def test_the_sparkline_scales_from_min_to_max_and_shows_the_last_forty() -> None:
    assert sparkline([0, 7, 14]) == "▁▅█"
    assert sparkline([2.5] * 3) == "▄▄▄"
    assert sparkline([]) == ""
    line = sparkline(range(100))
    assert len(line) == 40
    assert line[0] == "▁"
    assert line[-1] == "█"


# -- tideflow prune ------------------------------------------------------------------------------


def test_prune_deletes_old_finished_runs_but_never_unfinished_ones(store: RunStore) -> None:
    now = datetime.now(UTC)
    add_run(store, "old-success", scheduled=now - timedelta(days=40))
    add_run(store, "old-failed", state="Failed", scheduled=now - timedelta(days=35))
    add_run(store, "old-running", state="Running", took=None, scheduled=now - timedelta(days=50))
    add_run(store, "recent-success", scheduled=now - timedelta(days=3))
    store.record_logs([log("old-success", "gone with its run")])
    result = invoke("prune", "--older-than", "30d")
    assert result.exit_code == 0, result.output
    assert "Deleted 2 finished flow runs that ended before" in result.stdout
    remaining = {run.id for run in store.list_flow_runs(limit=None)}
    assert remaining == {"old-running", "recent-success"}
    assert store.logs("old-success") == []


def test_prune_json(store: RunStore) -> None:
    add_run(store, "old-success", scheduled=datetime.now(UTC) - timedelta(days=2))
    result = invoke("prune", "--older-than", "1d", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["deleted"] == 1
    cutoff = datetime.fromisoformat(data["older_than"])
    assert abs(cutoff - (datetime.now(UTC) - timedelta(days=1))) < timedelta(minutes=1)


def test_prune_help_mentions_automatic_retention() -> None:
    result = invoke("prune", "--help")
    assert result.exit_code == 0
    assert "TIDEFLOW_RETENTION" in result.stdout


def test_prune_needs_a_valid_duration(store: RunStore) -> None:
    assert_one_error_line(invoke("prune", "--older-than", "a month"), "--older-than", "'a month'")


# -- the store itself ----------------------------------------------------------------------------

EVERY_COMMAND = [
    ["runs"],
    ["runs", "--json"],
    ["runs", "show", "abc"],
    ["logs", "abc"],
    ["logs", "abc", "--follow"],
    ["metrics", "etl"],
    ["prune", "--older-than", "30d"],
]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=" ".join)
def test_every_command_refuses_when_history_is_off(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("TIDEFLOW_STORE", "off")
    assert_one_error_line(
        invoke(*args),
        "run history is turned off (TIDEFLOW_STORE=off); unset it to record and read runs",
    )


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=" ".join)
def test_every_command_reports_a_store_that_cannot_be_opened(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", "nosuchdb://nowhere/tideflow")
    assert_one_error_line(invoke(*args), "cannot open run store")


def test_a_bad_tideflow_store_setting_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEFLOW_STORE", "maybe")
    assert_one_error_line(invoke("runs"), "TIDEFLOW_STORE must be 'on' or 'off'")


def test_a_history_home_that_cannot_be_created_is_one_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TIDEFLOW_HOME", str(blocker / "home"))
    result = invoke("runs")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot create the run store's directory: ")


def test_a_database_url_that_is_not_a_url_is_one_error_naming_it(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", "not a url")
    assert_one_error_line(
        invoke("runs"),
        "TIDEFLOW_DATABASE_URL='not a url' is not a database URL",
        "sqlite:////",
        "postgresql+psycopg://",
    )
    assert list(tmp_path.iterdir()) == []  # no SQLite file called "not a url"


def test_a_history_home_that_is_a_file_is_one_error_naming_it(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory")
    monkeypatch.setenv("TIDEFLOW_HOME", str(home))
    assert_one_error_line(
        invoke("runs"),
        f"TIDEFLOW_HOME={home} is a file, not a directory; point it at a directory",
    )


def test_a_run_id_with_brackets_is_named_as_typed() -> None:
    result = invoke("runs", "show", "[bold]abc[/bold]")
    assert result.exit_code == 2
    assert "'[bold]abc[/bold]'" in result.stderr
