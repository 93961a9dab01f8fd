"""Every ``flow.run()`` is recorded: the flow, the run, every task state, log lines, metrics,
artifacts and checkpointed results, and the final state before ``flow.run()`` returns."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tideflow import Flow, Parameter, TideflowError, context, log_artifact, log_metric, task
from tideflow.clock import FakeClock
from tideflow.engine import recording as recording_module
from tideflow.engine import run_writer
from tideflow.store import MemoryStore, RunStore, StoreError, default_home, sqlite_store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made: RunStore = MemoryStore() if request.param == "memory" else sqlite_store(tmp_path / "t.db")
    yield made
    made.close()


@task(max_retries=2, retry_delay=0)
def flaky(n: int) -> int:
    if context.task_run_count < 3:
        raise ConnectionError("not yet")
    return n


@task
def double(x: int) -> int:
    return 2 * x


def test_a_recorded_run_keeps_its_state_parameters_and_task_attempts(
    store: RunStore, fake_clock: FakeClock
) -> None:
    with Flow("recorded") as flow:
        out = double.map(flaky(Parameter("n", default=[1, 2])))
    state = flow.run(store=store, clock=fake_clock, n=[3, 4])
    run = store.get_flow_run(state.context["flow_run_id"][:8])
    assert run.flow_name == "recorded"
    assert run.state == "Success"
    assert run.parameters == {"n": [3, 4]}
    assert run.end_time is not None
    tasks = {(t.task_key, t.map_index): t for t in store.task_runs(run.id)}
    assert tasks[("flaky", None)].attempts == 3
    assert tasks[("flaky", None)].state == "Success"
    assert {tasks[("double", i)].state for i in (0, 1)} == {"Success"}
    flow_record = store.get_flow("recorded")
    assert flow_record is not None
    assert flow_record.graph == flow.graph.to_dict()
    assert state.result[out].result == [6, 8]


def test_a_failed_run_is_recorded_failed(store: RunStore) -> None:
    @task
    def boom() -> None:
        raise ValueError("nope")

    with Flow("failing") as flow:
        boom()
    state = flow.run(store=store)
    run = store.get_flow_run(state.context["flow_run_id"])
    assert run.state == "Failed"
    assert run.state_message == "Some reference tasks failed."
    assert [t.state for t in store.task_runs(run.id)] == ["Failed"]


def test_an_interrupted_run_is_recorded_cancelled(store: RunStore) -> None:
    @task
    def interrupt() -> None:
        raise KeyboardInterrupt

    with Flow("interrupted") as flow:
        interrupt()
    with pytest.raises(KeyboardInterrupt):
        flow.run(store=store)
    (run,) = store.list_flow_runs(flow="interrupted")
    assert run.state == "Cancelled"
    assert store.unfinished_runs() == []


def test_the_run_records_where_it_ran_and_how_late_it_started(
    store: RunStore, fake_clock: FakeClock
) -> None:
    import os

    with Flow("whereabouts") as flow:
        double(1)
    scheduled = fake_clock.now()
    fake_clock.advance(1.5)
    state = flow.run(store=store, clock=fake_clock, scheduled_start_time=scheduled)
    run = store.get_flow_run(state.context["flow_run_id"])
    assert run.pid == os.getpid()
    assert run.host
    assert run.lateness == 1.5
    assert run.scheduled_start_time == scheduled


# -- recording by default ------------------------------------------------------------------------


@task
def say(word: str) -> str:
    context.logger.info("saying %s", word)
    return word


def test_every_run_is_recorded_into_tideflow_home_by_default(recording: Path) -> None:
    with Flow("by-default") as flow:
        say("hi")
    state = flow.run()
    assert recording.is_file()
    with sqlite_store(recording) as store:
        run = store.get_flow_run(state.context["flow_run_id"])
        assert (run.flow_name, run.state) == ("by-default", "Success")
        assert [line.message for line in store.logs(run.id, task_key="say")] == ["saying hi"]


def test_store_none_runs_without_recording(recording: Path) -> None:
    with Flow("unrecorded") as flow:
        say("hi")
    assert flow.run(store=None).is_successful()
    assert not recording.exists()


def test_tideflow_store_off_runs_without_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEFLOW_STORE", "off")
    with Flow("unrecorded") as flow:
        say("hi")
    assert flow.run().is_successful()
    assert list(default_home().iterdir()) == []


def test_a_default_store_that_cannot_be_opened_is_reported_and_the_run_goes_on(
    recording: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    recording.write_bytes(b"this is not a database" * 100)
    with Flow("unrecordable") as flow:
        say("hi")
    assert flow.run().is_successful()
    assert any(
        "This run is not recorded" in r.getMessage() and str(recording) in r.getMessage()
        for r in caplog.records
    )


# -- logs, metrics, artifacts, checkpoints -------------------------------------------------------


def test_log_lines_are_kept_with_their_task_and_the_flow_s_own_lines(store: RunStore) -> None:
    with Flow("chatty") as flow:
        say.map(["a", "b"])
    logging.getLogger("tideflow.task.say").info("outside any run")
    state = flow.run(store=store)
    run_id = state.context["flow_run_id"]
    lines = [(ln.task_key, ln.map_index, ln.level, ln.message) for ln in store.logs(run_id)]
    assert ("say", 0, "INFO", "saying a") in lines
    assert ("say", 1, "INFO", "saying b") in lines
    assert lines[0][:3] == (None, None, "INFO")
    assert lines[0][3].startswith("Beginning flow run")
    assert lines[-1] == (None, None, "INFO", "Flow run SUCCESS: All reference tasks succeeded.")
    assert all("outside any run" not in line[3] for line in lines)


def test_two_runs_at_once_keep_their_own_lines(store: RunStore) -> None:
    with Flow("twins") as flow:
        say.map([str(i) for i in range(20)])
    states: list[Any] = []
    threads = [threading.Thread(target=lambda: states.append(flow.run(store=store)))]
    threads.append(threading.Thread(target=lambda: states.append(flow.run(store=store))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for state in states:
        said = [ln.message for ln in store.logs(state.context["flow_run_id"], task_key="say")]
        assert sorted(said) == sorted(f"saying {i}" for i in range(20))


@task(checkpoint=True)
def evaluate(n: int) -> dict[str, float]:
    log_metric("mae", n / 2)
    log_metric("rows", n)
    log_artifact("sample", [1, 2, n])
    return {"mae": n / 2}


def test_metrics_artifacts_and_checkpointed_results_are_kept(
    store: RunStore, fake_clock: FakeClock
) -> None:
    with Flow("evaluation") as flow:
        evaluate(Parameter("n", default=10))
    first = flow.run(store=store, clock=fake_clock)
    fake_clock.advance(60)
    flow.run(store=store, clock=fake_clock, n=30)
    points = store.metrics("evaluation", "mae")
    assert [p.number for p in points] == [5.0, 15.0]
    run_id = first.context["flow_run_id"]
    kept = {(r.kind, r.name): r.value for r in store.results(run_id)}
    assert kept == {
        ("metric", "mae"): 5.0,
        ("metric", "rows"): 10.0,
        ("artifact", "sample"): [1, 2, 10],
        ("result", "evaluate"): {"mae": 5.0},
    }


def test_a_result_that_json_cannot_hold_is_reported_not_kept(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    @task(checkpoint=True)
    def opaque() -> object:
        return object()

    with Flow("opaque") as flow:
        opaque()
    state = flow.run(store=store)
    assert state.is_successful()
    assert store.results(state.context["flow_run_id"]) == []
    assert any(
        "checkpoint=True but returned a object, which is not JSON-serialisable" in r.getMessage()
        for r in caplog.records
    )


def test_results_are_not_kept_unless_the_task_asks() -> None:
    store = MemoryStore()
    with Flow("plain") as flow:
        say("x")
    state = flow.run(store=store)
    assert store.results(state.context["flow_run_id"]) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("nan"), "metric 'mae': the value must be a finite number, got nan"),
        ("1.5", "metric 'mae': the value must be a finite number, got '1.5'"),
        (True, "metric 'mae': the value must be a finite number, got True"),
    ],
)
def test_a_bad_metric_fails_the_task_that_logged_it(value: object, problem: str) -> None:
    @task
    def bad() -> None:
        log_metric("mae", value)  # type: ignore[arg-type]

    with Flow("bad-metric") as flow:
        called = bad()
    state = flow.run(store=MemoryStore())
    assert state.result[
        called
    ].message == f"ValueError: {problem}; convert it with float() and " + (
        "drop NaN or infinite values"
    )


def test_an_artifact_json_cannot_hold_fails_its_task() -> None:
    @task
    def bad() -> None:
        log_artifact("frame", {1, 2})

    with Flow("bad-artifact") as flow:
        called = bad()
    state = flow.run(store=MemoryStore())
    message = state.result[called].message
    assert "artifact 'frame': the value must be JSON-serialisable" in message


def test_metrics_outside_a_task_run_are_refused() -> None:
    with pytest.raises(TideflowError, match=r"log_metric\(\) was called outside a running task"):
        log_metric("mae", 1.0)
    with pytest.raises(TideflowError, match=r"log_artifact\(\) was called outside"):
        log_artifact("x", 1)


# -- liveness, failures of the store, retention --------------------------------------------------


def test_a_running_flow_beats_its_heartbeat(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_writer, "HEARTBEAT_SECONDS", 0.01)
    monkeypatch.setattr(run_writer, "FLUSH_SECONDS", 0.01)

    @task
    def wait_for_a_beat() -> bool:
        run = store.get_flow_run(context.flow_run_id)
        first = run.heartbeat
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if store.get_flow_run(context.flow_run_id).heartbeat != first:
                return True
            time.sleep(0.01)
        return False

    with Flow("alive") as flow:
        beat = wait_for_a_beat()
    state = flow.run(store=store)
    assert state.result[beat].result is True


class BrokenStore(MemoryStore):
    def record_task_state_rows(self, flow_run_id: str, flat: Sequence[Any]) -> None:
        raise StoreError("disk full")


def test_a_store_that_fails_mid_run_does_not_fail_the_run(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_writer, "RETRY_BACKOFF", 0.0)
    store = BrokenStore()
    with Flow("unlucky") as flow:
        say("x")
    state = flow.run(store=store)
    assert state.is_successful()
    warning = next(r for r in caplog.records if "recording into the run store failed" in r.message)
    assert "disk full" in warning.getMessage()


def test_tideflow_retention_prunes_old_finished_runs_after_a_run(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEFLOW_RETENTION", "30d")
    monkeypatch.setattr(recording_module, "_last_prune", None)
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with Flow("old") as flow:
        say("x")
    old = flow.run(store=store, clock=FakeClock(long_ago))
    monkeypatch.setattr(recording_module, "_last_prune", None)
    new = flow.run(store=store)
    remaining = {run.id for run in store.list_flow_runs()}
    assert remaining == {new.context["flow_run_id"]}
    assert old.context["flow_run_id"] not in remaining


def test_a_bad_retention_setting_is_reported_and_nothing_is_pruned(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TIDEFLOW_RETENTION", "forever")
    monkeypatch.setattr(recording_module, "_last_prune", None)
    with Flow("kept") as flow:
        say("x")
    flow.run(store=store)
    assert len(store.list_flow_runs()) == 1
    assert any(
        "TIDEFLOW_RETENTION='forever' is not a duration" in r.message for r in caplog.records
    )


class FlakyStore(MemoryStore):
    """Fails the first ``failures`` writes of each kind, as a briefly locked database would."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.left = {"states": failures, "final": failures}

    def _maybe_fail(self, kind: str) -> None:
        if self.left[kind]:
            self.left[kind] -= 1
            raise StoreError("database is locked")

    def record_task_state_rows(self, flow_run_id: str, flat: Sequence[Any]) -> None:
        self._maybe_fail("states")
        super().record_task_state_rows(flow_run_id, flat)

    def finish(self, run_id: str, state: str, *args: Any, **kwargs: Any) -> Any:
        if state == "Success":
            self._maybe_fail("final")
        return super().finish(run_id, state, *args, **kwargs)


def test_writes_that_fail_for_a_while_are_kept_and_made_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run_writer, "FLUSH_SECONDS", 0.01)
    monkeypatch.setattr(run_writer, "RETRY_BACKOFF", 0.0)
    store = FlakyStore(failures=2)

    @task
    def slow_enough() -> None:
        time.sleep(0.1)  # a few flushes happen (and fail) while it runs

    with Flow("flaky-store") as flow:
        slow_enough()
        say("x")
    state = flow.run(store=store)
    run = store.get_flow_run(state.context["flow_run_id"])
    assert run.state == "Success", "the final state was retried until it was written"
    assert {t.task_key: t.state for t in store.task_runs(run.id)} == {
        "slow_enough": "Success",
        "say": "Success",
    }


def test_a_run_marked_by_the_service_meanwhile_is_not_written_over(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    @task
    def marked() -> None:
        store.finish(context.flow_run_id, "Crashed", "taken for dead", at=utc_now())

    with Flow("overtaken") as flow:
        marked()
    state = flow.run(store=store)
    assert state.is_successful()
    run = store.get_flow_run(state.context["flow_run_id"])
    assert (run.state, run.state_message) == ("Crashed", "taken for dead")
    assert any("it was marked Crashed meanwhile" in r.getMessage() for r in caplog.records)


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- a run killed in the middle of a task --------------------------------------------------------

KILLED_MID_TASK = """
import time

from tideflow import Flow, task


@task
def first() -> int:
    return 1


@task
def blocks(x: int) -> None:
    time.sleep(600)  # killed long before


with Flow("killed-mid-task") as flow:
    blocks(first())
flow.run()
"""


def test_a_run_killed_in_the_middle_of_a_task_shows_the_task_it_stopped_in(
    recording: Path, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    script = tmp_path / "killed.py"
    script.write_text(KILLED_MID_TASK)
    with (tmp_path / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen([sys.executable, str(script)], stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        seen: dict[str, str] = {}
        while seen.get("blocks") != "Running":
            assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline, f"the store never showed blocks running: {seen}"
            time.sleep(0.05)
            if recording.is_file():
                seen = _task_states(recording, "killed-mid-task")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    with sqlite_store(recording) as store:
        (run,) = store.list_flow_runs(flow="killed-mid-task")
        assert run.state == "Running", "the run stopped where it was: it never finished"
        assert run.end_time is None
        tasks = {t.task_key: t.state for t in store.task_runs(run.id)}
    assert tasks == {"first": "Success", "blocks": "Running"}


def _task_states(path: Path, flow_name: str) -> dict[str, str]:
    """Each task's state in the (only) run of ``flow_name`` recorded in ``path``, if any yet."""
    try:
        with sqlite_store(path) as store:
            runs = store.list_flow_runs(flow=flow_name)
            return {t.task_key: t.state for t in store.task_runs(runs[0].id)} if runs else {}
    except StoreError:  # the run's process is still creating the store
        return {}
