"""Fixtures for the reference pipeline's flow and notebook tests: a small generated incident log
and a Dask cluster whose workers read it.

The flows find their data through ``$TIDEFLOW_INCIDENTS``, which every process reads for itself:
the test process (``incidents`` sets it with monkeypatch), a process pool's workers (spawned
during the test, so they inherit it) and Dask workers. The session's LocalCluster starts its
workers before any test runs, so it hands them the variable (and a ``TIDEFLOW_HOME`` of their
own for the Parquet cache) explicitly, through the nannies' ``env``. The cluster is otherwise
the executor tests' one (``local_cluster`` in ``tests/executors/support.py``).

Unlike the executor tests (``tests/executors/conftest.py``), nothing here needs pickling by
value: the flows' tasks live in an installed module, ``tideflow.reference.flows``, which the
workers import like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster
from tests.executors.support import executors_on, local_cluster

from tideflow.executors import Executor
from tideflow.reference import write_incidents_zip

INCIDENTS = 400
"""Incidents in the generated log: enough for two dozen closing weeks, parsed in milliseconds."""


@pytest.fixture(scope="session")
def incidents_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated incident log in UCI's zip format, made once per session."""
    folder = tmp_path_factory.mktemp("incidents")
    return write_incidents_zip(INCIDENTS, folder / "incident_event_log.csv.zip", seed=11)


@pytest.fixture
def incidents(incidents_zip: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$TIDEFLOW_INCIDENTS`` points to the generated log for this test."""
    monkeypatch.setenv("TIDEFLOW_INCIDENTS", str(incidents_zip))
    return incidents_zip


@pytest.fixture(scope="session")
def reference_cluster(
    tmp_path_factory: pytest.TempPathFactory, incidents_zip: Path
) -> Iterator[LocalCluster]:
    """Two worker processes with one thread each, reading the generated log."""
    scratch = tmp_path_factory.mktemp("dask-scratch")
    home = tmp_path_factory.mktemp("worker-home")
    env = {
        "TIDEFLOW_INCIDENTS": str(incidents_zip),
        "TIDEFLOW_HOME": str(home),
        "TIDEFLOW_STORE": "off",
    }
    with local_cluster(scratch, env=env) as cluster:
        yield cluster


EXECUTORS = executors_on("reference_cluster")


@pytest.fixture(params=list(EXECUTORS))
def executor(request: pytest.FixtureRequest) -> Executor:
    """Each executor in turn."""
    return EXECUTORS[request.param](request)
