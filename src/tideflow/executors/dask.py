"""``DaskExecutor``: tasks on a Dask cluster, local or multi-node.

With ``address``, each flow run connects a client to that running cluster and leaves the cluster
running afterwards. Without it, the run creates a cluster from ``cluster_class`` (a class or an
import string such as ``"dask_jobqueue.SLURMCluster"``; default ``distributed.LocalCluster``) and
``cluster_kwargs`` (a ``LocalCluster``'s dashboard listens on 127.0.0.1 only unless they say
where, see :func:`local_only`), applies ``adapt_kwargs`` when given, logs the dashboard link
(where it really listens), and closes client and cluster when the run ends, also when it fails
or is interrupted, so no process outlives the run. Tasks travel to workers with Dask's
cloudpickle serialisation; what they log is sent back and logged by the driver, so it appears in
the flow run's log like local output. A task tagged ``dask-resource:NAME=AMOUNT`` runs only on
workers that have that resource (see :data:`RESOURCE_TAG`). ``client_kwargs`` go to
``distributed.Client``; as in Prefect 1 the client is not made the process's default client
unless they say ``set_as_default=True``.
"""

from __future__ import annotations

import functools
import importlib
import logging
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, TypeVar

from tideflow.engine.logs import flow_logger
from tideflow.executors.base import Executor, FutureLike
from tideflow.executors.dask_watch import DaskFuture, Watcher
from tideflow.executors.remote import LOOKOUT, ReplayingFuture, run_remote

T = TypeVar("T")

STATES_TOPIC = "tideflow-task-states"
"""The topic of the worker events by which a task still running after
:data:`~tideflow.executors.remote.PATIENCE` seconds tells the driver which states it entered
(``Running``): workers send them with ``Worker.log_event`` (see :func:`relay_to_dask`), and the
run's client subscribes to the topic, so long tasks are seen running while they run."""


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


DASHBOARD_PORT = 8787
"""Dask's usual dashboard port, used when it is free on this machine's loopback interface."""


def local_only(cls: type[Any], cluster_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``cluster_kwargs`` for creating a ``cls`` cluster, its web servers bound to 127.0.0.1.

    A ``LocalCluster`` serves its dashboard (no authentication: every task, worker and their logs,
    and the scheduler's HTTP API) on every interface (``:8787``), and with ``processes=False`` its
    worker's web server too. Unless the caller chose where (``dashboard_address``,
    ``worker_dashboard_address`` or ``host``), both listen on 127.0.0.1 only: the dashboard on port
    8787 when it is free (another cluster may hold it), else on any free port, chosen here so Dask
    does not warn about it. Other cluster classes get ``cluster_kwargs`` unchanged.
    """
    kwargs = dict(cluster_kwargs)
    from distributed import LocalCluster

    if not issubclass(cls, LocalCluster) or "host" in kwargs:
        return kwargs
    if "dashboard_address" not in kwargs:
        port = DASHBOARD_PORT if _free_on_loopback(DASHBOARD_PORT) else 0
        kwargs["dashboard_address"] = f"127.0.0.1:{port}"
    kwargs.setdefault("worker_dashboard_address", "127.0.0.1:0")
    return kwargs


def _free_on_loopback(port: int) -> bool:
    with socket.socket() as probe:
        # As the dashboard's server will: a port in TIME_WAIT is free, one listened on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def dashboard_link(cluster: Any) -> str:
    """The dashboard link of ``cluster`` where it really listens.

    A cluster builds its link from its scheduler's address, which for an in-process scheduler
    (``processes=False``) is this machine's network address, though the dashboard may listen on
    127.0.0.1 only; when the scheduler is in this process, its web server says where it listens.
    """
    from distributed.utils import format_dashboard_link

    server = getattr(getattr(cluster, "scheduler", None), "http_server", None)
    host = getattr(server, "address", None)  # distributed sets address and port when it binds
    if host and host not in ("0.0.0.0", "::"):
        return str(format_dashboard_link(host, server.port))  # type: ignore[no-untyped-call,union-attr]
    return str(cluster.dashboard_link)


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
            options = {"set_as_default": False, **self.client_kwargs}
            client = Client(target, **options)  # type: ignore[no-untyped-call]
            stack.enter_context(client)
            log.info(
                "Dask dashboard: %s",
                client.dashboard_link if self.address else dashboard_link(target),
            )
            if self.performance_report_path:
                from distributed import performance_report

                path = self.performance_report_path
                stack.enter_context(client.as_current())  # the report reads the current client
                stack.enter_context(performance_report(filename=path))  # type: ignore[no-untyped-call]
            self.client, self._run, self._count = client, uuid.uuid4().hex[:8], 0
            self._watcher = Watcher(client)
            client.subscribe_topic(STATES_TOPIC, self._watcher.relay)  # type: ignore[no-untyped-call]
            try:
                yield
            finally:
                client.unsubscribe_topic(STATES_TOPIC)  # type: ignore[no-untyped-call]
                self._watcher.stop()
                self.client = self._watcher = None

    @contextmanager
    def _create_cluster(self) -> Iterator[Any]:
        cls = resolve_class(self.cluster_class or "distributed.LocalCluster")
        kwargs = local_only(cls, self.cluster_kwargs)
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
        wanted = [_resources_of(args) for args in calls]
        if not any(wanted):  # the common case: one message for the whole batch
            columns = list(zip(*(_to_dask(args) for args in calls), strict=True))
            inner = self.client.map(run_remote, [fn] * len(calls), *columns, key=keys, pure=False)
            return [DaskFuture(f, self._watcher) for f in inner]
        # Tasks that need worker resources go in one map per set of resources.
        groups: dict[tuple[tuple[str, float], ...], list[int]] = {}
        for i, resources in enumerate(wanted):
            groups.setdefault(tuple(sorted((resources or {}).items())), []).append(i)
        futures: list[Any] = [None] * len(calls)
        for resources_key, indices in groups.items():
            columns = list(zip(*(_to_dask(calls[i]) for i in indices), strict=True))
            inner = self.client.map(
                run_remote,
                [fn] * len(indices),
                *columns,
                key=[keys[i] for i in indices],
                pure=False,
                resources=dict(resources_key) or None,
            )
            for i, future in zip(indices, inner, strict=True):
                futures[i] = DaskFuture(future, self._watcher)
        return futures

    def state_relay(self) -> Callable[[Any], object]:
        return relay_to_dask

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


RESOURCE_TAG = "dask-resource:"
"""A task tag ``dask-resource:NAME=AMOUNT`` asks for ``AMOUNT`` of worker resource ``NAME``: Dask
runs the task only on workers started with that resource (``--resources "GPU=1"``, or
``LocalCluster(resources={"GPU": 1})``), and no more such tasks at once than it has."""


@functools.lru_cache(maxsize=1024)
def dask_resources(tags: frozenset[str], owner: str = "a task") -> dict[str, float]:
    """The worker resources ``tags`` ask for (see :data:`RESOURCE_TAG`); {} when none.

    Raises:
        ValueError: a ``dask-resource:`` tag is not ``NAME=AMOUNT`` with a number >= 0.
    """
    found: dict[str, float] = {}
    for tag in tags:
        if not tag.startswith(RESOURCE_TAG):
            continue
        name, sep, amount = tag.removeprefix(RESOURCE_TAG).partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not name.strip() or not value >= 0:
            raise ValueError(
                f"{owner}: tag {tag!r} is not {RESOURCE_TAG}NAME=AMOUNT with a number >= 0; "
                f"write it as e.g. '{RESOURCE_TAG}GPU=1'"
            )
        found[name.strip()] = value
    return found


def _resources_of(args: tuple[Any, ...]) -> dict[str, float] | None:
    """The resources the unit of ``run_unit`` arguments ``args`` needs, if any."""
    task = getattr(args[0], "task", None) if args else None
    tags = getattr(task, "tags", None)
    if not tags:
        return None
    return dask_resources(tags, f"task {getattr(task, 'name', '?')!r}") or None


def relay_to_dask(state: Any) -> None:
    """The state relay of Dask workers: the driver hears of ``state`` if the task runs long."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not in a Dask task (a unit called directly): nobody to tell
        return
    LOOKOUT.entered(state, worker.get_current_task(), partial(_publish, worker))


def _publish(worker: Any, key: str, first: int, states: bytes) -> None:
    worker.log_event(STATES_TOPIC, {"key": key, "first": first, "states": states})


def _to_dask(value: Any) -> Any:
    """``value`` with our future wrappers replaced by Dask futures, which Dask resolves."""
    if isinstance(value, ReplayingFuture):
        return value.inner
    if isinstance(value, list):
        return [_to_dask(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_dask(v) for v in value)
    return value
