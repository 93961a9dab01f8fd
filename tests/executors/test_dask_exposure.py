"""A Dask cluster created for a run serves its dashboard on 127.0.0.1 only, unless told where.

Dask's ``LocalCluster`` listens on every interface (``:8787``) by default, and its dashboard has
no authentication. ``DaskExecutor`` and a persistent deployment's kept cluster bind it (and the
worker's web server) to 127.0.0.1, on port 8787 when it is free and on any free port otherwise,
and log the link where it really listens. A ``dashboard_address`` or ``host`` the user gives in
``cluster_kwargs`` is respected. The clusters here run one in-process worker, to stay quick; the
listening sockets are this process's own. Port 8787 itself is never touched: the tests point
``DASHBOARD_PORT`` at a port of their own.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from distributed import LocalCluster

import tideflow.executors.dask as dask_executor
from tideflow import Flow, Task, task
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.executors import DaskExecutor
from tideflow.service.persistent import kept_executor
from tideflow.states import State

SMALL = {"n_workers": 1, "threads_per_worker": 1, "processes": False, "silence_logs": False}
"""One in-process worker; ``silence_logs=False`` keeps caplog's handler working (see
``test_dask_executor.py``)."""


@task
def one() -> int:
    return 1


def listening(port: int) -> set[str]:
    """The addresses this process listens on at ``port``."""
    connections = psutil.Process().net_connections(kind="inet")
    return {c.laddr.ip for c in connections if c.status == "LISTEN" and c.laddr.port == port}


class Probe(RunObserver):
    """Looks, while the run is on, at where its cluster's web servers listen."""

    def __init__(self, executor: DaskExecutor) -> None:
        self.executor = executor
        self.dashboard: tuple[int, set[str]] | None = None
        self.worker_http: set[str] = set()

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        cluster = self.executor.client.cluster if self.executor.client else None
        if self.dashboard is None and cluster is not None:
            port = cluster.scheduler.http_server.port
            self.dashboard = (port, listening(port))
            for worker in cluster.workers.values():
                self.worker_http |= listening(worker.http_server.port)


def probed_run(executor: DaskExecutor) -> Probe:
    with Flow("on-a-dask-cluster") as flow:
        one()
    probe = Probe(executor)
    assert flow.run(executor=executor, observers=[probe]).is_successful()
    assert probe.dashboard is not None
    return probe


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on now (as DASHBOARD_PORT: "8787 is free")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on (as DASHBOARD_PORT: "8787 is taken")."""
    with socket.create_server(("127.0.0.1", 0)) as other:
        yield other.getsockname()[1]


def dashboard_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "dashboard" in r.getMessage().lower()]


def test_a_run_s_cluster_serves_its_dashboard_on_127_0_0_1_port_8787_when_free(
    free_port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dask_executor, "DASHBOARD_PORT", free_port)
    caplog.set_level(logging.INFO)
    probe = probed_run(DaskExecutor(cluster_kwargs=SMALL))
    assert probe.dashboard == (free_port, {"127.0.0.1"})
    assert probe.worker_http == {"127.0.0.1"}
    assert f"Dask dashboard: http://127.0.0.1:{free_port}/status" in dashboard_lines(caplog)


def test_when_the_port_is_taken_another_free_one_is_used_without_a_warning(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dask_executor, "DASHBOARD_PORT", taken_port)
    caplog.set_level(logging.INFO)
    probe = probed_run(DaskExecutor(cluster_kwargs=SMALL))
    assert probe.dashboard is not None
    port, addresses = probe.dashboard
    assert port != taken_port
    assert addresses == {"127.0.0.1"}
    assert f"Dask dashboard: http://127.0.0.1:{port}/status" in dashboard_lines(caplog)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_dashboard_address_given_by_the_user_is_respected(free_port: int) -> None:
    kwargs = {**SMALL, "dashboard_address": f":{free_port}"}  # every interface, on purpose
    probe = probed_run(DaskExecutor(cluster_kwargs=kwargs))
    assert probe.dashboard is not None
    port, addresses = probe.dashboard
    assert port == free_port
    assert addresses & {"0.0.0.0", "::"}


@pytest.mark.parametrize(
    "given",
    [{"dashboard_address": ":0"}, {"host": "0.0.0.0"}, {"worker_dashboard_address": ":0"}],
    ids=["dashboard_address", "host", "worker_dashboard_address"],
)
def test_the_user_s_own_addresses_are_passed_on_unchanged(given: dict[str, Any]) -> None:
    kwargs = dask_executor.local_only(LocalCluster, given)
    assert {k: kwargs[k] for k in given} == given
    if "host" in given:
        assert kwargs == given  # where the user wants it; nothing added


def test_other_cluster_classes_get_their_kwargs_unchanged() -> None:
    class Elsewhere:
        pass

    assert dask_executor.local_only(Elsewhere, {"cores": 4}) == {"cores": 4}


def test_a_persistent_deployment_keeps_its_cluster_s_dashboard_on_127_0_0_1(
    free_port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dask_executor, "DASHBOARD_PORT", free_port)
    caplog.set_level(logging.INFO)
    spec = SimpleNamespace(
        type="dask", address=None, cluster_class=None, cluster_kwargs=SMALL, adapt_kwargs={}
    )
    deployment: Any = SimpleNamespace(name="kept", executor=spec)
    with kept_executor(deployment) as executor:
        assert isinstance(executor, DaskExecutor)
        assert listening(free_port) == {"127.0.0.1"}
    assert f"kept keeps its Dask cluster at http://127.0.0.1:{free_port}/status" in [
        r.getMessage() for r in caplog.records
    ]
