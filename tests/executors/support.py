"""Helpers for the executor tests (and the reference flows' tests): the executors and the session
cluster they run on, waiting on a deadline, and watching child processes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import dask
import psutil
import pytest
from distributed import LocalCluster

from tideflow import Flow
from tideflow.executors import DaskExecutor, Executor, LocalDaskExecutor, LocalExecutor
from tideflow.states import Mapped, State

ExecutorFactory = Callable[[pytest.FixtureRequest], Executor]


def executors_on(cluster_fixture: str) -> dict[str, ExecutorFactory]:
    """One factory per executor kind; the Dask one uses the cluster of fixture
    ``cluster_fixture`` (a session LocalCluster)."""
    return {
        "local": lambda request: LocalExecutor(),
        "threads": lambda request: LocalDaskExecutor("threads", num_workers=2),
        "processes": lambda request: LocalDaskExecutor("processes", num_workers=2),
        "dask": lambda request: DaskExecutor(
            address=request.getfixturevalue(cluster_fixture).scheduler_address
        ),
    }


@contextlib.contextmanager
def local_cluster(scratch: Path, env: Mapping[str, str] | None = None) -> Iterator[LocalCluster]:
    """A LocalCluster of two worker processes with one thread each, its scratch files (scheduler
    and worker folders, lock files) in ``scratch``, its workers started with ``env`` added to
    their environment when given.

    A session fixture shares one, because a cluster takes a second or two to start.
    """
    options: dict[str, Any] = {} if env is None else {"env": dict(env)}
    with (
        dask.config.set({"temporary-directory": str(scratch)}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # any free loopback port: no clash
            # silence_logs would lower the level of every StreamHandler on the "distributed"
            # logger for as long as the cluster lives - pytest's caplog handler included - so
            # later tests in the session would stop capturing log records.
            silence_logs=False,
            **options,
        ) as cluster,
    ):
        yield cluster


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` once ``timeout`` s have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def alive(pids: Iterable[int]) -> set[int]:
    """Those of ``pids`` that still run (a zombie has ended; only its exit status is left)."""
    running = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.add(pid)
        except psutil.NoSuchProcess:
            pass
    return running


def child_pids() -> set[int]:
    """Every live descendant process of this (the test) process."""
    return alive(p.pid for p in psutil.Process().children(recursive=True))


def describe(pids: Iterable[int]) -> list[str]:
    """``pid: command line`` for each of ``pids`` still there, for failure messages."""
    out = []
    for pid in sorted(pids):
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(f"{pid}: {' '.join(psutil.Process(pid).cmdline())[:200]}")
    return out


class ChildProcesses:
    """The test process's descendants when made, to tell later which ones are new."""

    def __init__(self) -> None:
        # Multiprocessing starts one resource tracker process the first time anything is
        # spawned, and it lives as long as this process, by design. Start it now, so that it
        # is counted as already there rather than as a leftover of the run under test.
        resource_tracker.ensure_running()
        self.before = child_pids()

    def new(self) -> set[int]:
        return child_pids() - self.before

    def assert_none_left(self, timeout: float = 20) -> None:
        """Every process started since this was made has ended (waiting up to ``timeout``)."""
        try:
            wait_until(lambda: not self.new(), timeout, "the run's processes to end")
        except AssertionError:
            raise AssertionError(f"processes outlived the run: {describe(self.new())}") from None


def outcome(state: State) -> Any:
    """A state as comparable plain data: class, message, and result (children for Mapped)."""
    result = state.result
    if isinstance(state, Mapped):
        result = [outcome(child) for child in state.map_states]
    elif isinstance(result, BaseException):
        result = (type(result).__name__, str(result))
    return (type(state).__name__, state.message, result)


def by_key(flow: Flow, state: State) -> dict[str, State]:
    """The final state of every task of ``flow`` in the flow run ``state``, by task key."""
    return {flow.key(t): s for t, s in state.result.items()}
