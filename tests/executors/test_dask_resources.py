"""``dask-resource:NAME=AMOUNT`` task tags become Dask worker resources, and ``client_kwargs``
reach the run's ``distributed.Client`` (not the process's default client unless asked)."""

from __future__ import annotations

from collections.abc import Iterator

import cloudpickle
import pytest
from distributed import Scheduler, SpecCluster, Worker
from distributed.client import _get_global_client
from tests.executors import limit_flows
from tests.executors.limit_flows import gpu_flow

from tideflow.executors import DaskExecutor
from tideflow.executors.dask import dask_resources

cloudpickle.register_pickle_by_value(limit_flows)


LOOPBACK = {"host": "127.0.0.1"}


@pytest.fixture(scope="module")
def gpu_cluster() -> Iterator[SpecCluster]:
    """One worker with a GPU resource and one without, in this process."""
    workers = {
        "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}, **LOOPBACK}},
        "cpu": {"cls": Worker, "options": {"nthreads": 1, **LOOPBACK}},
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": "127.0.0.1:0", **LOOPBACK}}
    with SpecCluster(workers=workers, scheduler=scheduler) as cluster:
        cluster.wait_for_workers(2)
        yield cluster


def test_tasks_tagged_with_a_resource_run_only_on_workers_that_have_it(
    gpu_cluster: SpecCluster,
) -> None:
    flow = gpu_flow()
    state = flow.run(executor=DaskExecutor(address=gpu_cluster.scheduler_address))
    assert state.is_successful(), state.message
    gpu_address = next(
        address
        for address, worker in gpu_cluster.scheduler.workers.items()
        if worker.resources == {"GPU": 1}
    )
    assert set(state.result[flow.get_tasks(name="on_gpu_worker")[0]].result) == {gpu_address}


def test_resource_tags_are_read_and_bad_ones_named() -> None:
    assert dask_resources(frozenset({"dask-resource:GPU=1", "db", "dask-resource:MEM=2.5e9"})) == {
        "GPU": 1.0,
        "MEM": 2.5e9,
    }
    for bad in ("dask-resource:GPU", "dask-resource:GPU=lots", "dask-resource:=1"):
        with pytest.raises(ValueError, match=f"tag '{bad}' is not dask-resource:NAME=AMOUNT"):
            dask_resources(frozenset({bad}), "task 'train'")


def test_client_kwargs_reach_the_client_which_is_not_the_default_unless_asked(
    gpu_cluster: SpecCluster,
) -> None:
    address = gpu_cluster.scheduler_address
    quiet = DaskExecutor(address=address, client_kwargs={"name": "tideflow-run"})
    with quiet.start():
        assert "-tideflow-run-" in quiet.client.id  # Client(name=...) names its id
        assert _get_global_client() is not quiet.client
    default = DaskExecutor(address=address, client_kwargs={"set_as_default": True})
    with default.start():
        assert _get_global_client() is default.client
