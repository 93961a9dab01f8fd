"""The SQLite store in real use: several processes on one file, killed processes, broken files,
and where :func:`tideflow.store.open_store` puts the file.

Child processes are separate interpreters (``subprocess``), as the scheduler's runs are. Each runs
a function of this file sent as source by :func:`start` (with the record helpers it uses), so the
children never import the test modules, which pytest imports under names only it knows.
"""

from __future__ import annotations

import inspect
import itertools
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tideflow.store import (
    FlowRunRecord,
    LogLine,
    MemoryStore,
    ResultRow,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    TaskStateChange,
    open_store,
    sqlite_store,
)
from tideflow.store.sql import SQLStore

# -- child processes -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def run_record(run_id: str, deployment: str | None = None, minute: int = 0) -> FlowRunRecord:
    return FlowRunRecord(
        id=run_id,
        flow_name="tickets",
        deployment=deployment,
        parameters={"minute": minute},
        scheduled_start_time=T0 + timedelta(minutes=minute),
        start_time=None,
        end_time=None,
        state="Scheduled",
        state_message=None,
        lateness=None,
        host="host-a",
        pid=os.getpid(),
        heartbeat=None,
    )


def state_change(run_id: str, key: str, state: str) -> TaskStateChange:
    return TaskStateChange(
        flow_run_id=run_id,
        task_key=key,
        task_name=key,
        map_index=None,
        state=state,
        message=None,
        timestamp=datetime.now(UTC),
    )


def log_line(run_id: str, key: str, message: str) -> LogLine:
    now = datetime.now(UTC)
    return LogLine(
        flow_run_id=run_id,
        task_key=key,
        map_index=None,
        timestamp=now,
        level="INFO",
        logger=f"tideflow.task.{key}",
        message=message,
    )


def metric_row(run_id: str, number: float) -> ResultRow:
    now = datetime.now(UTC)
    return ResultRow(
        flow_run_id=run_id,
        task_key="score",
        map_index=None,
        name="mae",
        kind="metric",
        value=number,
        number=number,
        timestamp=now,
    )


def wait_for_all(path: str, worker: str, workers: int) -> None:
    """A barrier between child processes: each marks itself ready, then waits for the others."""
    import glob
    import time

    open(f"{path}.ready-{worker}", "w").close()
    deadline = time.monotonic() + 30
    while len(glob.glob(f"{path}.ready-*")) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never became ready")
        time.sleep(0.005)


def record_runs(path: str, worker: str, workers: str, count: str) -> None:
    """A child: once all ``workers`` are ready, record ``count`` complete runs, each with task
    states, logs and a metric."""
    wait_for_all(path, worker, int(workers))
    with sqlite_store(path) as store:
        for i in range(int(count)):
            run_id = f"w{worker}-{i:03d}"
            store.create_flow_run(run_record(run_id, deployment=f"d{worker}", minute=i))
            now = datetime.now(UTC)
            store.claim(run_id, at=now, host="here", pid=int(worker))
            store.start(run_id, at=now, host="here", pid=int(worker))
            states = ("Pending", "Running", "Success")
            store.record_task_states([state_change(run_id, "score", s) for s in states])
            store.record_logs([log_line(run_id, "score", f"line {n}") for n in (1, 2)])
            store.record_results([metric_row(run_id, float(i))])
            store.finish(run_id, "Success", None, at=datetime.now(UTC))


def die_mid_run(path: str) -> None:
    """A child: start a run, record part of its history, then die without finishing it."""
    store = sqlite_store(path)
    store.create_flow_run(run_record("doomed"))
    store.claim("doomed", at=datetime.now(UTC), host="here", pid=1)
    store.start("doomed", at=datetime.now(UTC), host="here", pid=1)
    steps = [("a", "Running"), ("a", "Success"), ("b", "Running")]
    store.record_task_states([state_change("doomed", key, state) for key, state in steps])
    store.record_logs([log_line("doomed", "b", "halfway")])
    os._exit(1)  # no close, no cleanup: as if killed


CHILD_PRELUDE = """\
import os, sys
from datetime import UTC, datetime, timedelta
from tideflow.store import FlowRunRecord, LogLine, ResultRow, TaskStateChange, sqlite_store
"""
CHILD_HELPERS = (run_record, state_change, log_line, metric_row, wait_for_all)


def start(function: Callable[..., None], *args: object) -> subprocess.Popen[str]:
    """Run ``function(*args)`` in a new interpreter, sent as source with the record helpers."""
    sources = [inspect.getsource(f) for f in (*CHILD_HELPERS, function)]
    code = "\n".join(
        [
            CHILD_PRELUDE,
            f"T0 = datetime.fromisoformat({T0.isoformat()!r})",
            *sources,
            f"{function.__name__}(*sys.argv[1:])",
        ]
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def finish(process: subprocess.Popen[str], timeout: float = 60) -> int:
    """Wait for ``process``; its exit code. Shows its stderr if it failed unexpectedly."""
    _, stderr = process.communicate(timeout=timeout)
    if process.returncode not in (0, 1) or "Traceback" in stderr:
        raise AssertionError(f"child process failed ({process.returncode}):\n{stderr}")
    return process.returncode


def count_rows(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        count: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


def worker_switches(path: Path) -> int:
    """How often consecutive log lines (in id order) come from different workers."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT flow_run_id FROM logs ORDER BY id").fetchall()
    workers = [run_id.split("-")[0] for (run_id,) in rows]
    return sum(a != b for a, b in itertools.pairwise(workers))


# -- tests ---------------------------------------------------------------------------------------


def test_the_store_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    sqlite_store(tmp_path / "tideflow.db").close()
    with closing(sqlite3.connect(tmp_path / "tideflow.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_four_processes_recording_at_once_lose_nothing(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "tideflow.db"
    children += [start(record_runs, path, worker, 4, 50) for worker in range(4)]
    assert [finish(child) for child in children] == [0, 0, 0, 0]
    with sqlite_store(path) as store:
        runs = store.list_flow_runs(limit=None)
        assert len(runs) == 200
        assert {run.state for run in runs} == {"Success"}
        assert len(store.metrics("tickets")) == 200
        assert [len(store.task_runs(run.id)) for run in runs] == [1] * 200
        assert sum(len(store.task_states(run.id)) for run in runs) == 600
    assert count_rows(path, "logs") == 400
    assert worker_switches(path) > 0, "the workers did not write at the same time"


def test_a_run_killed_mid_flight_leaves_a_readable_unfinished_history(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "tideflow.db"
    children.append(start(die_mid_run, path))
    assert finish(children[0]) == 1
    with sqlite_store(path) as store:
        assert [run.id for run in store.unfinished_runs()] == ["doomed"]
        assert store.get_flow_run("doomed").state == "Running"
        assert [(t.task_key, t.state) for t in store.task_runs("doomed")] == [
            ("a", "Success"),
            ("b", "Running"),
        ]
        assert [line.message for line in store.logs("doomed")] == ["halfway"]


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "tideflow.db"
    path.write_bytes(b"certainly not SQLite\n" * 300)
    with pytest.raises(StoreCorruptError) as caught:
        sqlite_store(path)
    message = str(caught.value)
    assert message.startswith(f"run store {path} is not a readable SQLite database")
    assert f"move it aside (e.g. `mv {path} {path}.corrupt`)" in message


def test_a_database_locked_too_long_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "tideflow.db"
    store = sqlite_store(path, busy_timeout=0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
        with pytest.raises(StoreLockedError) as caught:
            store.create_flow_run(run_record("blocked"))
        assert str(caught.value).startswith(
            f"run store {path} is locked: another process held its write lock for longer "
            "than the busy timeout (0.1 s)"
        )
        assert store.list_flow_runs() == []  # readers are not blocked (WAL)
        holder.execute("ROLLBACK")
        store.create_flow_run(run_record("unblocked"))
        assert [run.id for run in store.list_flow_runs()] == ["unblocked"]
    finally:
        holder.close()
        store.close()


def test_a_missing_directory_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="its directory does not exist"):
        sqlite_store(tmp_path / "nowhere" / "tideflow.db")


# -- permissions: the history is private -------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_store_file_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "tideflow.db"
    with sqlite_store(path) as store:
        store.create_flow_run(run_record("one"))  # the WAL file holds it until a checkpoint
        siblings = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {p.name: mode(p) for p in siblings} == {p.name: 0o600 for p in siblings}


def test_a_store_file_named_by_a_sqlite_url_is_private(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/elsewhere.db"):
        assert mode(tmp_path / "elsewhere.db") == 0o600


def test_a_new_tideflow_home_is_private_but_its_parents_are_not_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEFLOW_HOME", str(tmp_path / "parent" / "home"))
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    with open_store():
        pass
    assert mode(tmp_path / "parent" / "home") == 0o700
    assert mode(tmp_path / "parent" / "home" / "tideflow.db") == 0o600
    assert mode(tmp_path / "parent") == 0o777 & ~current_umask()


def test_an_existing_home_and_store_file_keep_their_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o750)
    sqlite_store(home / "tideflow.db").close()
    (home / "tideflow.db").chmod(0o640)  # the owner shares it with a group, on purpose
    monkeypatch.setenv("TIDEFLOW_HOME", str(home))
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    with open_store() as store:
        store.create_flow_run(run_record("one"))
        assert mode(Path(f"{home}/tideflow.db-wal")) == 0o640
    assert (mode(home), mode(home / "tideflow.db")) == (0o750, 0o640)


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# -- open_store: where the history lives ---------------------------------------------------------


def test_the_default_store_is_a_file_in_tideflow_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "not-yet" / "home"
    monkeypatch.setenv("TIDEFLOW_HOME", str(home))
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    with open_store() as store:
        assert isinstance(store, SQLStore)
        assert store.where == str(home / "tideflow.db")
    assert (home / "tideflow.db").is_file()


def test_tideflow_database_url_overrides_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    with open_store() as store:
        assert isinstance(store, SQLStore)
        assert store.where == f"{tmp_path}/elsewhere.db"


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", "no"])
def test_tideflow_store_off_turns_the_default_store_off(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEFLOW_STORE", value)
    assert open_store() is None
    with open_store(tmp_path / "explicit.db") as explicit:  # an explicit location still opens
        assert isinstance(explicit, SQLStore)


def test_an_unknown_tideflow_store_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEFLOW_STORE", "maybe")
    with pytest.raises(StoreError, match="TIDEFLOW_STORE must be 'on' or 'off', got 'maybe'"):
        open_store()


def test_memory_url_opens_a_memory_store() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


def test_importing_the_store_loads_no_sqlalchemy() -> None:
    code = (
        "import sys, tideflow.store as s\n"
        "s.open_store('memory://').list_flow_runs()\n"
        "print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
