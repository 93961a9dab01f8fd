"""``LocalDaskExecutor``: tasks in parallel on this machine, in threads or processes.

Dask's local schedulers are a graph loop over a ``concurrent.futures`` pool; Tideflow brings its
own graph loop (retries, triggers and mapping live there), so this executor takes the rest of
what dask's threaded and multiprocessing schedulers use: their pool types, their worker count
(``dask.system.CPU_COUNT``), their multiprocessing context and worker initialiser, and their
configuration (extra keyword arguments go to ``dask.config.set`` for the run). The pool lives for
one flow run. In process pools, tasks and values travel with cloudpickle, and what a task logs
is sent back and logged in the driver; a task still running after
:data:`~tideflow.executors.remote.PATIENCE` seconds tells the driver its ``Running`` state
through a queue of the pool (see :mod:`tideflow.executors.remote`).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from tideflow.executors.base import Executor, FutureLike
from tideflow.executors.local import run_now
from tideflow.executors.remote import (
    PoolRelay,
    ReplayingFuture,
    init_pool_worker,
    relay_to_pool,
    run_cloudpickled,
)

T = TypeVar("T")

SCHEDULERS = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "synchronous": "synchronous",
    "sync": "synchronous",
    "single-threaded": "synchronous",
}


class LocalDaskExecutor(Executor):
    """Run tasks in parallel on this machine.

    Args:
        scheduler: ``"threads"`` (default), ``"processes"`` or ``"synchronous"`` (one at a time,
            in the calling thread; for debugging).
        num_workers: pool size (default: dask's CPU count).
        **dask_config: settings for ``dask.config.set`` during the run.
    """

    def __init__(
        self, scheduler: str = "threads", num_workers: int | None = None, **dask_config: Any
    ) -> None:
        if scheduler not in SCHEDULERS:
            raise ValueError(
                f"LocalDaskExecutor: unknown scheduler {scheduler!r}; use one of "
                "'threads', 'processes' or 'synchronous'"
            )
        if num_workers is not None and num_workers < 1:
            raise ValueError(f"LocalDaskExecutor: num_workers must be >= 1, got {num_workers}")
        self.scheduler = SCHEDULERS[scheduler]
        self.num_workers = num_workers
        self.dask_config = dask_config
        self._pool: cf.Executor | None = None
        self._relay: PoolRelay | None = None

    @contextmanager
    def start(self) -> Iterator[None]:
        import dask
        from dask.system import CPU_COUNT

        workers = self.num_workers or CPU_COUNT
        with ExitStack() as stack:
            stack.enter_context(dask.config.set(self.dask_config))
            if self.scheduler == "threads":
                self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="tideflow-task")
            elif self.scheduler == "processes":
                from dask.multiprocessing import get_context, initialize_worker_process

                context = get_context()  # type: ignore[no-untyped-call]
                states = context.Queue()  # how long-running tasks say they run
                self._pool = cf.ProcessPoolExecutor(
                    workers,
                    mp_context=context,
                    initializer=init_pool_worker,
                    initargs=(states, initialize_worker_process),
                )
                self._relay = PoolRelay(states)
            try:
                yield
            finally:
                pool, self._pool = self._pool, None
                relay, self._relay = self._relay, None
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
                if relay is not None:  # after the pool: its workers may still be writing
                    relay.stop()
                    relay.states.close()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> FutureLike[T]:
        if self.scheduler == "synchronous" or self._pool is None:
            return run_now(fn, *args, **kwargs)
        if self.scheduler == "processes":
            import cloudpickle

            assert self._relay is not None
            token = self._relay.token()
            inner = self._pool.submit(run_cloudpickled, cloudpickle.dumps((fn, args)), token)
            future: ReplayingFuture[T] = ReplayingFuture(inner, cloudpickle.loads)
            self._relay.track(token, future)
            return future
        return self._pool.submit(fn, *args, **kwargs)

    def state_relay(self) -> Callable[[Any], object] | None:
        return relay_to_pool if self.scheduler == "processes" else None

    def __repr__(self) -> str:
        return f"LocalDaskExecutor(scheduler={self.scheduler!r}, num_workers={self.num_workers})"


__all__ = ["LocalDaskExecutor"]
