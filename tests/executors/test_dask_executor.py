"""``DaskExecutor``: the cluster it creates for a run, and that nothing of it outlives the run.

The behaviour shared with the other executors is in ``test_executor_behaviour.py``; these tests
are about what only the Dask executor does: create a cluster from ``cluster_class`` (a class or
an import string) with ``cluster_kwargs`` and ``adapt_kwargs``, close it whatever the run's end,
and write a performance report. Each test that creates a cluster watches this process's child
processes: the cluster's worker processes must be gone once ``flow.run()`` has returned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import LocalCluster
from tests.executors.flows import (
    RecordingCluster,
    add,
    boom,
    interrupt,
    log_in_step,
    numbers,
    start_then_sleep,
)
from tests.executors.support import ChildProcesses, wait_until

import tideflow.engine.executors
import tideflow.executors
from tideflow import Flow, Task, unmapped
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.executors import DaskExecutor
from tideflow.states import Failed, State, Success


def cluster_kwargs(**overrides: Any) -> dict[str, Any]:
    """Two single-threaded worker processes, and a dashboard on any free port.

    (Scratch folders go to pytest's tmp: see the ``dask_scratch`` fixture in conftest.py.)
    """
    return {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": "127.0.0.1:0",
        **overrides,
    }


class ClusterProbe(RunObserver):
    """Looks, from the driver while the run is on, at the cluster and at our child processes."""

    def __init__(self, executor: DaskExecutor, children: ChildProcesses) -> None:
        self.executor = executor
        self.children = children
        self.nthreads: dict[str, int] = {}
        self.worker_pids: set[int] = set()
        self.new_children: set[int] = set()
        self.lock = threading.Lock()  # observers may be told from more than one thread

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        client = self.executor.client
        with self.lock:
            if not self.nthreads and client is not None:
                self.nthreads = client.nthreads()
                self.worker_pids = set(client.run(os.getpid).values())
                self.new_children = self.children.new()


def mapped_flow() -> tuple[Flow, Task]:
    with Flow("on-a-new-cluster") as flow:
        out = add.map(numbers(), unmapped(10))
    return flow, out


@pytest.mark.parametrize(
    "cluster_class", [LocalCluster, "distributed.LocalCluster"], ids=["class", "import-string"]
)
def test_without_an_address_a_run_creates_its_cluster_from_cluster_class_and_closes_it(
    cluster_class: Any, child_processes: ChildProcesses
) -> None:
    executor = DaskExecutor(cluster_class=cluster_class, cluster_kwargs=cluster_kwargs())
    probe = ClusterProbe(executor, child_processes)
    flow, out = mapped_flow()
    state = flow.run(executor=executor, observers=[probe])
    assert isinstance(state, Success)
    assert state.result[out].result == [11, 12, 13]
    assert sorted(probe.nthreads.values()) == [1, 1]  # cluster_kwargs reached the cluster
    assert len(probe.worker_pids) == 2
    assert probe.worker_pids <= probe.new_children  # started by this run, on this machine
    assert executor.client is None
    child_processes.assert_none_left()


def test_adapt_kwargs_go_to_the_cluster_named_by_an_import_string(
    child_processes: ChildProcesses,
) -> None:
    RecordingCluster.adapt_calls.clear()
    executor = DaskExecutor(
        cluster_class="tests.executors.flows.RecordingCluster",
        cluster_kwargs=cluster_kwargs(n_workers=1),
        adapt_kwargs={"minimum": 1, "maximum": 2},
    )
    flow, out = mapped_flow()
    state = flow.run(executor=executor)
    assert state.result[out].result == [11, 12, 13]
    assert RecordingCluster.adapt_calls == [{"minimum": 1, "maximum": 2}]
    child_processes.assert_none_left()


def interrupt_from_outside(folder: Path) -> threading.Thread:
    """A thread that presses Ctrl-C (SIGINT to this process) once a task has started."""

    def press_ctrl_c() -> None:
        # A cluster can take minutes to start on a loaded machine: wait as long as the test may.
        wait_until((folder / "started").exists, 280, "the task to start")
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=press_ctrl_c, name="ctrl-c", daemon=True)
    thread.start()
    return thread


# In the whole suite on two xdist workers beside two CPU burners, "is stopped by ctrl-c" failed
# three runs out of three: the SIGINT did not interrupt the run (it went on to Success), though no
# earlier test leaves a SIGINT handler behind and it passes alone, beside burners, every time.
# Until the cause is found it runs with `make slow` (still in CI), in a process of its own kind.
@pytest.mark.timeout(300)  # each run starts its own cluster, slow on a loaded machine
@pytest.mark.parametrize(
    "ending",
    [
        "succeeds",
        "fails",
        pytest.param("is stopped by ctrl-c", marks=pytest.mark.slow),
        "has a task raising KeyboardInterrupt",
    ],
)
def test_no_cluster_process_outlives_a_run_that(
    ending: str, tmp_path: Path, child_processes: ChildProcesses
) -> None:
    executor = DaskExecutor(cluster_kwargs=cluster_kwargs())
    with Flow(ending) as flow:
        if ending == "succeeds":
            add(1, 2)
        elif ending == "fails":
            boom()
        elif ending == "is stopped by ctrl-c":
            start_then_sleep(str(tmp_path))
        else:
            interrupt()
    if ending == "succeeds":
        assert isinstance(flow.run(executor=executor), Success)
    elif ending == "fails":
        assert isinstance(flow.run(executor=executor), Failed)
    elif ending == "is stopped by ctrl-c":
        ctrl_c = interrupt_from_outside(tmp_path)
        with pytest.raises(KeyboardInterrupt):
            flow.run(executor=executor)
        ctrl_c.join(10)
    else:
        # How the run ends is test_a_keyboard_interrupt_raised_inside_a_task_interrupts_the_run;
        # here only the cluster matters. A KeyboardInterrupt ends the Dask worker running the
        # task; allow no retry on another worker (the default is 3), to keep the test short.
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            contextlib.suppress(KeyboardInterrupt),
        ):
            flow.run(executor=executor)
    assert executor.client is None
    child_processes.assert_none_left()


def test_a_keyboard_interrupt_raised_inside_a_task_interrupts_the_run(
    child_processes: ChildProcesses,
) -> None:
    with Flow("interrupted") as flow:
        interrupt()
    interrupted = False
    # Without the fix the scheduler would retry the task on three more workers (each dies).
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        try:
            flow.run(executor=DaskExecutor(cluster_kwargs=cluster_kwargs()))
        except KeyboardInterrupt:
            interrupted = True
    child_processes.assert_none_left()
    assert interrupted, "flow.run() did not re-raise the KeyboardInterrupt"


def test_each_line_logged_by_tasks_sharing_a_worker_arrives_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    with Flow("shared-worker") as flow:
        log_in_step(str(tmp_path), "a", "b")
        log_in_step(str(tmp_path), "b", "a")
    # silence_logs=False: LocalCluster silences the "distributed" logger's handlers, and under
    # pytest those include caplog's own (shared with the root logger), which would hide INFO.
    executor = DaskExecutor(
        cluster_kwargs=cluster_kwargs(n_workers=1, threads_per_worker=2, silence_logs=False)
    )
    assert flow.run(executor=executor).is_successful()
    lines = [r.getMessage() for r in caplog.records if r.name == "tideflow.task.log_in_step"]
    assert sorted(lines) == ["a was here", "b was here"]


def test_performance_report_path_writes_an_html_report_of_the_run(
    tmp_path: Path, dask_cluster: LocalCluster
) -> None:
    report = tmp_path / "report.html"
    executor = DaskExecutor(
        address=dask_cluster.scheduler_address, performance_report_path=str(report)
    )
    flow, out = mapped_flow()
    state = flow.run(executor=executor)
    assert state.result[out].result == [11, 12, 13]
    assert report.read_text().lstrip().lower().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("cluster_class", "message"),
    [
        (
            "no_such_package.Cluster",
            "DaskExecutor: cannot import 'no_such_package' for cluster_class "
            "'no_such_package.Cluster' (No module named 'no_such_package'); install the "
            "package that provides it",
        ),
        ("distributed.NoSuchCluster", "DaskExecutor: 'distributed' has no 'NoSuchCluster'"),
        (
            "LocalCluster",
            "DaskExecutor: cluster_class 'LocalCluster' is not an import path; give "
            "'package.module.ClassName', e.g. 'distributed.LocalCluster'",
        ),
    ],
)
def test_a_cluster_class_that_cannot_be_imported_is_a_clear_error(
    cluster_class: str, message: str, child_processes: ChildProcesses
) -> None:
    flow, _ = mapped_flow()
    with pytest.raises(ValueError) as info:
        flow.run(executor=DaskExecutor(cluster_class=cluster_class))
    assert str(info.value) == message
    assert not child_processes.new()


@pytest.mark.parametrize(
    "cluster_option",
    [
        {"cluster_class": LocalCluster},
        {"cluster_kwargs": {"n_workers": 1}},
        {"adapt_kwargs": {"maximum": 2}},
    ],
    ids=["cluster_class", "cluster_kwargs", "adapt_kwargs"],
)
def test_an_address_with_cluster_options_is_refused(cluster_option: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"give either address= .* not both"):
        DaskExecutor(address="tcp://127.0.0.1:8786", **cluster_option)


def test_submitting_outside_a_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="outside of start"):
        DaskExecutor().submit(print)


def test_the_executors_are_also_importable_from_their_prefect_1_path() -> None:
    assert tideflow.engine.executors.DaskExecutor is tideflow.executors.DaskExecutor
    assert tideflow.engine.executors.LocalDaskExecutor is tideflow.executors.LocalDaskExecutor
    assert tideflow.engine.executors.LocalExecutor is tideflow.executors.LocalExecutor
