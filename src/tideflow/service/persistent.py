"""``python -m tideflow.service.persistent DEPLOYMENT``: the long-lived process of a deployment.

It loads the deployment's flow (or callable) once, and, when the deployment asks for a Dask
cluster to be created (``executor = {type = "dask", n_workers = 2}``), starts that cluster once
and keeps it for every run. Then it runs the runs claimed for it (:func:`tideflow.service.runner.
run_claimed`), oldest first. The service claims a run for this process and then writes the run's
id to its standard input, so a run starts within milliseconds of its fire time; the id is only a
wake-up call: the process runs whatever the store says is claimed for it, so a run claimed by a
service that died before writing the id is still run. End of input (the service stopped, or
died) ends the process once the runs claimed for it are done; the service restarts it, with
back-off, whenever it exits.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from tideflow.deployments import Deployment
from tideflow.engine.run_writer import claimed_here
from tideflow.executors.base import Executor
from tideflow.service.runner import (
    Loaded,
    executor_for,
    process_main,
    run_claimed,
    stored_deployment,
)
from tideflow.store import RunStore

log = logging.getLogger("tideflow.service")


@contextlib.contextmanager
def kept_executor(deployment: Deployment) -> Iterator[Executor | None]:
    """The deployment's executor; a Dask cluster it would create per run is created once here."""
    spec = deployment.executor
    if spec is None or spec.type != "dask" or spec.address:
        yield executor_for(spec)
        return
    from tideflow.executors.dask import DaskExecutor, dashboard_link, local_only, resolve_class

    cluster_class = resolve_class(spec.cluster_class or "distributed.LocalCluster")
    kwargs = local_only(cluster_class, dict(spec.cluster_kwargs))
    if cluster_class.__name__ == "LocalCluster":
        kwargs.setdefault("silence_logs", logging.ERROR)
    with cluster_class(**kwargs) as cluster:
        if spec.adapt_kwargs:
            cluster.adapt(**dict(spec.adapt_kwargs))
        log.info("%s keeps its Dask cluster at %s", deployment.name, dashboard_link(cluster))
        yield DaskExecutor(address=cluster.scheduler_address)


def serve_runs(store: RunStore, deployment: Deployment) -> None:
    with kept_executor(deployment) as executor:
        loaded = Loaded(deployment, executor)
        if deployment.entrypoint.kind == "flow":
            try:
                loaded.flow()  # load now, not when the first run is due
            except Exception as exc:
                # Keep serving: each run then fails with this reason in its own state, rather
                # than the process dying and being restarted over and over.
                log.error("%s cannot be loaded: %s", deployment.entrypoint.target, exc)
        for _ in sys.stdin:
            _run_claimed_for_me(store, loaded)
        _run_claimed_for_me(store, loaded)  # claimed before the service went away


def _run_claimed_for_me(store: RunStore, loaded: Loaded) -> None:
    """Run every run claimed for this process, oldest first, until none is left."""
    while True:
        mine = [run for run in store.unfinished_runs() if claimed_here(run)]
        if not mine:
            return
        for run in mine:
            run_claimed(store, run.id, loaded)


def main(argv: list[str]) -> int:
    return process_main(
        argv,
        "python -m tideflow.service.persistent DEPLOYMENT",
        lambda store, name: serve_runs(store, stored_deployment(store, name)),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
