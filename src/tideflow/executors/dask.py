"""``DaskExecutor``: tasks on a Dask cluster, local or multi-node.

With ``address``, each flow run connects a client to that running cluster and leaves the cluster
running afterwards. Without it, the run creates a cluster from ``cluster_class`` (a class or an
import string such as ``"dask_jobqueue.SLURMCluster"``; default ``distributed.LocalCluster``) and
``cluster_kwargs``, applies ``adapt_kwargs`` when given, logs the dashboard link, and closes
client and cluster when the run ends, also when it fails or is interrupted, so no process
outlives the run. Tasks travel to workers with Dask's cloudpickle serialisation; what they log
is sent back and logged by the driver, so it appears in the flow run's log like local output.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from tideflow.engine.logs import capture_logs, flow_logger
from tideflow.executors.base import Executor, FutureLike
from tideflow.executors.dask_watch import DaskFuture, Watcher
from tideflow.executors.remote import ReplayingFuture

T = TypeVar("T")


def resolve_class(spec: type[Any] | str) -> type[Any]:
    """A cluster class from a class or an import string (``"package.module.Class"``)."""
    if not isinstance(spec, str):
        return spec
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise ValueError(
            f"DaskExecutor: cluster_class {spec!r} is not an import path; give "
            "'package.module.ClassName', e.g. 'distributed.LocalCluster'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"DaskExecutor: cannot import {module_name!r} for cluster_class {spec!r} ({exc}); "
            "install the package that provides it"
        ) from None
    try:
        cls: type[Any] = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"DaskExecutor: {module_name!r} has no {attr!r}") from None
    return cls


class DaskExecutor(Executor):
    """Run tasks on a Dask cluster; see the module docstring.

    Args:
        address: a running scheduler (``"tcp://10.0.0.5:8786"``); the cluster is left running.
        cluster_class: the cluster to create per run when no address is given.
        cluster_kwargs: keyword arguments for ``cluster_class``.
        adapt_kwargs: keyword arguments for ``cluster.adapt`` (adaptive scaling).
        client_kwargs: keyword arguments for ``distributed.Client``.
        debug: keep the cluster's own logs (silenced by default).
        performance_report_path: write Dask's HTML performance report of the run there.
    """

    chains_futures = True

    def __init__(
        self,
        address: str | None = None,
        cluster_class: type[Any] | str | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        debug: bool = False,
        performance_report_path: str | None = None,
    ) -> None:
        if address is not None and (cluster_class or cluster_kwargs or adapt_kwargs):
            raise ValueError(
                "DaskExecutor: give either address= (connect to a running cluster) or "
                "cluster_class/cluster_kwargs/adapt_kwargs (create one per run), not both"
            )
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = adapt_kwargs
        self.client_kwargs = dict(client_kwargs or {})
        self.debug = debug
        self.performance_report_path = performance_report_path
        self.client: Any = None
        self._watcher: Any = None
        self._run = ""
        self._count = 0

    @contextmanager
    def start(self) -> Iterator[None]:
        from distributed import Client

        log = flow_logger()
        with ExitStack() as stack:
            if self.address is not None:
                target: Any = self.address
            else:
                target = stack.enter_context(self._create_cluster())
                if self.adapt_kwargs:
                    target.adapt(**self.adapt_kwargs)
            client = Client(target, set_as_default=False, **self.client_kwargs)  # type: ignore[no-untyped-call]
            stack.enter_context(client)
            log.info("Dask dashboard: %s", client.dashboard_link)
            if self.performance_report_path:
                from distributed import performance_report

                path = self.performance_report_path
                stack.enter_context(client.as_current())  # the report reads the current client
                stack.enter_context(performance_report(filename=path))  # type: ignore[no-untyped-call]
            self.client, self._run, self._count = client, uuid.uuid4().hex[:8], 0
            self._watcher = Watcher(client)
            try:
                yield
            finally:
                self._watcher.stop()
                self.client = self._watcher = None

    @contextmanager
    def _create_cluster(self) -> Iterator[Any]:
        cls = resolve_class(self.cluster_class or "distributed.LocalCluster")
        kwargs = dict(self.cluster_kwargs)
        if cls.__name__ == "LocalCluster" and not self.debug:
            kwargs.setdefault("silence_logs", logging.ERROR)
        flow_logger().info("Creating a Dask cluster: %s(%s)", cls.__name__, kwargs)
        cluster = cls(**kwargs)
        try:
            yield cluster
        finally:
            cluster.close()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> FutureLike[T]:
        """Submit ``fn``; futures from earlier submissions in ``args`` are resolved first."""
        if kwargs:
            raise TypeError("DaskExecutor.submit() takes positional arguments only")
        return self.submit_many(fn, [args])[0]

    def submit_many(
        self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]]
    ) -> list[FutureLike[T]]:
        """Submit all ``calls`` to the scheduler in one message; futures in them resolve first."""
        if self.client is None:
            raise RuntimeError("DaskExecutor.submit() outside of start(); run flows with it")
        if not calls:
            return []
        keys = [self._key(fn, args) for args in calls]
        columns = list(zip(*(_to_dask(args) for args in calls), strict=True))
        inner = self.client.map(capture_logs, [fn] * len(calls), *columns, key=keys, pure=False)
        return [DaskFuture(f, self._watcher) for f in inner]

    def _key(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
        self._count += 1
        # Dask groups tasks by the key's prefix (``key_split``): "inc-1a2b3c4d-17" belongs to
        # "inc". A child index in brackets would make every mapped child its own group, which
        # the scheduler's per-group bookkeeping turns into quadratic work.
        label = getattr(args[0], "key", fn.__name__) if args else fn.__name__
        return f"{label}-{self._run}-{self._count}"

    def __repr__(self) -> str:
        where = self.address or self.cluster_class or "LocalCluster"
        return f"DaskExecutor({where!r})"


def _to_dask(value: Any) -> Any:
    """``value`` with our future wrappers replaced by Dask futures, which Dask resolves."""
    if isinstance(value, ReplayingFuture):
        return value.inner
    if isinstance(value, list):
        return [_to_dask(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_dask(v) for v in value)
    return value
