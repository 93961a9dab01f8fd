"""``DaskExecutor(address=...)`` on a cluster started as a user starts one: with the dask CLI.

A scheduler and two workers run as separate processes (``dask scheduler``, ``dask worker``), as
they would on separate machines. The flow run connects to the scheduler, leaves the cluster
running afterwards, and survives the loss of a worker in the middle of a mapped run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from distributed import Client
from tests.executors.flows import slow_square, square_where
from tests.executors.support import alive, wait_until

from tideflow import Flow, unmapped
from tideflow.executors import DaskExecutor
from tideflow.states import Success

DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    # The port is free now; another process could take it before the scheduler binds it, a
    # small race that a test machine can live with.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MultiNodeCluster:
    """A scheduler and two workers, each its own process group (as if on its own machine)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[subprocess.Popen[bytes]] = []
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"
        )
        self.workers = [
            self._start(
                f"worker-{i}",
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            )
            for i in range(2)
        ]

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "wb") as log:
            # A session of its own: killing the group takes the worker's nanny and its worker
            # process together, as when a machine goes away.
            process = subprocess.Popen(
                [DASK, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Scratch folders and lock files in the test's tmp, not /tmp/dask-scratch-space.
                env={**os.environ, "DASK_TEMPORARY_DIRECTORY": str(self.folder)},
            )
        self.processes.append(process)
        return process

    def client(self) -> Client:
        return Client(self.address, timeout="60s", set_as_default=False)

    def group_members(self) -> set[int]:
        """Every live process in the process groups of the cluster's processes."""
        groups = {p.pid for p in self.processes}
        members = set()
        for proc in psutil.process_iter():
            try:
                if os.getpgid(proc.pid) in groups:
                    members.add(proc.pid)
            except (ProcessLookupError, PermissionError):
                pass
        return alive(members)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        # The groups' other members (a nanny's worker process) go with their group leader.
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[MultiNodeCluster]:
    nodes = MultiNodeCluster(tmp_path)
    try:
        with nodes.client() as client:
            client.wait_for_workers(2, timeout=60)
        yield nodes
    finally:
        nodes.stop()
        wait_until(lambda: not nodes.group_members(), 20, "the cluster's processes to end")


def test_a_flow_runs_on_a_running_cluster_and_leaves_it_running(
    cluster: MultiNodeCluster,
) -> None:
    with cluster.client() as client:
        worker_pids = set(client.run(os.getpid).values())
    with Flow("multi-node") as flow:
        out = square_where.map(list(range(10)))
    state = flow.run(executor=DaskExecutor(address=cluster.address))
    assert isinstance(state, Success)
    squares, pids = zip(*state.result[out].result, strict=True)
    assert list(squares) == [x * x for x in range(10)]
    assert set(pids) <= worker_pids  # computed by the cluster's worker processes
    assert cluster.scheduler.poll() is None
    with cluster.client() as client:
        assert len(client.nthreads()) == 2  # both workers are still connected


@pytest.mark.slow  # a chaos test: about 6 s of mapped work, half of it on one worker
def test_a_mapped_run_survives_the_loss_of_a_worker_in_its_middle(
    cluster: MultiNodeCluster, tmp_path: Path
) -> None:
    done = tmp_path / "done"
    done.mkdir()
    lost = cluster.workers[0]
    finished_before_the_loss: list[int] = []

    def lose_a_worker() -> None:
        wait_until(lambda: len(list(done.iterdir())) >= 3, 60, "three children to finish")
        cluster.kill(lost)
        finished_before_the_loss.append(len(list(done.iterdir())))

    killer = threading.Thread(target=lose_a_worker, name="worker-killer", daemon=True)
    killer.start()
    with Flow("losing-a-worker") as flow:
        out = slow_square.map(list(range(20)), unmapped(str(done)))
    state = flow.run(executor=DaskExecutor(address=cluster.address))
    killer.join(10)
    assert finished_before_the_loss, "the worker was never killed"
    assert finished_before_the_loss[0] < 20  # it was lost in the middle of the run
    assert lost.poll() == -signal.SIGKILL
    assert isinstance(state, Success), state.result[out]
    assert state.result[out].result == [x * x for x in range(20)]
    assert cluster.scheduler.poll() is None
    with cluster.client() as client:
        assert len(client.nthreads()) == 1
