"""Concurrency limits in the run loop (engine/limits.py): slots are taken before a limited task
starts and given back when its attempt ends, whatever the end; two runs in two processes on one
store never run more limited tasks at once than the limit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.store.test_conformance import flow_run

from tideflow import Flow, task, triggers
from tideflow.actions import resume_run
from tideflow.clock import FakeClock
from tideflow.engine.limits import SlotGate
from tideflow.executors import LocalDaskExecutor
from tideflow.signals import FAIL
from tideflow.store import MemoryStore, StoreError, sqlite_store

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_run_whose_tasks_carry_no_limited_tag_has_no_gate() -> None:
    store = MemoryStore()
    store.set_concurrency_limit("db", 1, NOW)

    @task(tags=["api"])
    def call() -> int:
        return 1

    with Flow("untouched") as flow:
        call()
    assert SlotGate.for_run(store, flow, "r", lambda: NOW) is None
    assert SlotGate.for_run(None, flow, "r", lambda: NOW) is None


def test_slots_are_given_back_after_failures_and_retries() -> None:
    store = MemoryStore()
    store.set_concurrency_limit("db", 1, NOW)
    attempts: list[int] = []

    @task(tags=["db"], max_retries=1, retry_delay=0)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise FAIL("first attempt fails")
        return 1

    @task(tags=["db"])
    def broken() -> None:
        raise ValueError("broken")

    @task(tags=["db"])
    def after(x: int) -> int:
        return x + 1

    with Flow("failing") as flow:
        after(flaky())
        broken()
    state = flow.run(store=store, executor=LocalDaskExecutor(num_workers=2))
    assert state.is_failed()
    assert state.result[flow.get_tasks(name="after")[0]].result == 2
    assert len(attempts) == 2
    assert [limit.in_use for limit in store.concurrency_limits()] == [0]


def test_an_interrupted_run_gives_its_slots_back() -> None:
    store = MemoryStore()
    store.set_concurrency_limit("db", 2, NOW)

    @task(tags=["db"])
    def interrupt() -> None:
        assert store.concurrency_limits()[0].in_use == 1  # held while running
        raise KeyboardInterrupt

    with Flow("interrupted") as flow:
        interrupt()
    with pytest.raises(KeyboardInterrupt):
        flow.run(store=store)
    assert store.concurrency_limits()[0].in_use == 0


def test_a_store_that_fails_keeps_the_task_waiting_and_says_so(
    caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
) -> None:
    store = MemoryStore()
    store.set_concurrency_limit("db", 1, NOW)
    calls = 0
    real = store.acquire_slots

    def flaky_acquire(*args: object, **kwargs: object) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("run store x failed: disk I/O error")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    store.acquire_slots = flaky_acquire  # type: ignore[method-assign]

    @task(tags=["db"])
    def write() -> int:
        return 7

    with Flow("patient") as flow:
        write()
    state = flow.run(store=store, clock=fake_clock)  # the poll's pause passes at once
    assert state.is_successful()
    assert calls == 2
    assert "Concurrency limits: run store x failed: disk I/O error" in caplog.text
    assert "Task write: Waiting for a free slot of concurrency limit 'db' (limit 1)." in (
        caplog.text
    )


RUNNER = textwrap.dedent(
    """
    import sys, time, uuid
    from pathlib import Path
    from tideflow import Flow, task
    from tideflow.executors import LocalDaskExecutor
    from tideflow.store import sqlite_store

    store_path, folder = sys.argv[1], Path(sys.argv[2])

    @task(tags=["db"])
    def hold(i):
        mine = folder / f"running-{uuid.uuid4().hex}"
        mine.touch()
        try:
            (folder / f"peak-{mine.name}").write_text(str(len(list(folder.glob("running-*")))))
            # Hold the slot until the other process's run is recorded too, so both compete.
            with sqlite_store(store_path) as look:
                deadline = time.monotonic() + 30
                while len(look.list_flow_runs(flow="two")) < 2 and time.monotonic() < deadline:
                    time.sleep(0.02)
            time.sleep(0.2)
        finally:
            mine.unlink()
        return i

    with Flow("two") as flow:
        hold(1)
        hold(2)
    with sqlite_store(store_path) as store:
        state = flow.run(store=store, executor=LocalDaskExecutor(num_workers=2))
    sys.exit(0 if state.is_successful() else 1)
    """
)


def test_two_runs_in_two_processes_share_one_limit(tmp_path: Path) -> None:
    store_path = tmp_path / "shared.db"
    folder = tmp_path / "marks"
    folder.mkdir()
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    with sqlite_store(store_path) as store:
        store.set_concurrency_limit("db", 1, NOW)
    processes = [
        subprocess.Popen([sys.executable, str(script), str(store_path), str(folder)])
        for _ in range(2)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    assert max(int(path.read_text()) for path in folder.glob("peak-*")) == 1
    assert len(list(folder.glob("peak-*"))) == 4
    with sqlite_store(store_path) as store:
        runs = store.list_flow_runs(flow="two")
        assert [run.state for run in runs] == ["Success", "Success"]
        queued = [
            change
            for run in runs
            for change in store.task_states(run.id)
            if change.state == "Queued"
        ]
        assert queued  # some task visibly waited for the other run's slot
        assert store.concurrency_limits()[0].in_use == 0


class ScriptedClock(FakeClock):
    """A fake clock that does one scripted thing (if any) each time the run loop sleeps."""

    def __init__(self, start: datetime, steps: list[Callable[[], object]]) -> None:
        super().__init__(start)
        self.steps = steps

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.steps:
            self.steps.pop(0)()


def test_a_task_approved_after_a_pause_waits_for_a_slot_of_its_limit() -> None:
    store = MemoryStore()
    store.set_concurrency_limit("db", 1, NOW)
    store.create_flow_run(flow_run("other", state="Running", start_time=NOW, heartbeat=NOW))
    released: list[bool] = []  # whether 'other' had given its slot back when the task ran
    ran_after_release: list[bool] = []

    @task(tags=["db"], trigger=triggers.manual_only)
    def load() -> int:
        ran_after_release.append(bool(released))
        return 1

    with Flow("approved-load") as flow:
        load()

    def resume() -> None:
        (paused,) = [r for r in store.list_flow_runs() if r.id != "other"]
        resume_run(store, paused.id, at=NOW)
        # Someone else takes the only slot before the approved task asks for it.
        assert acquire_for("other") == []

    def acquire_for(run_id: str) -> list[str]:
        return store.acquire_slots(
            {"db"},
            flow_run_id=run_id,
            task_key="x",
            map_index=None,
            at=NOW,
            stale_before=NOW - timedelta(hours=1),
        )

    clock = ScriptedClock(
        NOW,
        [resume, lambda: None, lambda: (store.release_slots("other"), released.append(True))],
    )
    state = flow.run(store=store, clock=clock)
    assert state.is_successful(), state.message
    assert ran_after_release == [True], "the approved task waited for 'other' to give the slot back"
    history = [s.name for s in state.context["task_history"]["load"]]
    assert history[:3] == ["Paused", "Resume", "Queued"], history
