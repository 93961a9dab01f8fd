"""Fixtures for the executor tests: ``executor`` runs a test once on each of the four executors.

Two of them run tasks in other processes: ``LocalDaskExecutor("processes")`` (a process pool
with dask's multiprocessing context, "spawn" by default) and ``DaskExecutor`` (Dask worker
processes). A spawned process starts from a fresh interpreter and cannot import the test modules
(pytest imports them with ``--import-mode=importlib``, under names that exist only in this
process), while cloudpickle pickles module-level functions and classes *by reference* (by import
name). So every task the tests run across executors lives in ``flows.py``, and that module is
registered with ``cloudpickle.register_pickle_by_value`` below: its functions travel by value,
and no worker ever imports it. This keeps dask's default "spawn" context under test, which is
what users get, rather than switching to "fork", which is unsafe in a process that runs threads
(this one runs the Dask scheduler and clients of the session's cluster).

The helper modules are imported as ``tests.executors.flows`` and ``tests.executors.support``:
with ``--import-mode=importlib`` pytest names modules after their path from the rootdir, which
also lets ``DaskExecutor(cluster_class="tests.executors.flows.RecordingCluster")`` import one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import dask
import pytest
from distributed import LocalCluster
from tests.executors import flows
from tests.executors.support import ChildProcesses, executors_on, local_cluster

from tideflow.executors import Executor

cloudpickle.register_pickle_by_value(flows)


@pytest.fixture(scope="session", autouse=True)
def dask_scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Dask's scratch files (scheduler and worker folders, lock files) go to pytest's tmp.

    Not to ``/tmp/dask-scratch-space``, which would outlive the tests. Worker processes of a
    LocalCluster get this configuration from the process that starts them.
    """
    folder = tmp_path_factory.mktemp("dask-scratch")
    with dask.config.set({"temporary-directory": str(folder)}):
        yield folder


@pytest.fixture(scope="session")
def dask_cluster(dask_scratch: Path) -> Iterator[LocalCluster]:
    """One LocalCluster for the whole session: two worker processes with one thread each.

    Shared because a cluster takes a second or two to start; ``DaskExecutor`` connects to it by
    address. The create-a-cluster-per-run path is tested in ``test_dask_executor.py``.
    """
    with local_cluster(dask_scratch) as cluster:
        yield cluster


EXECUTORS = executors_on("dask_cluster")


@pytest.fixture(params=list(EXECUTORS))
def executor(request: pytest.FixtureRequest) -> Executor:
    """Each executor in turn (``indirect`` parametrization picks a subset by name)."""
    return EXECUTORS[request.param](request)


@pytest.fixture
def child_processes() -> ChildProcesses:
    """This process's children now; ``assert_none_left()`` checks the new ones have ended."""
    return ChildProcesses()
