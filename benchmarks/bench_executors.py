"""Parallel execution: Tideflow's executors beside raw Dask doing the same work in the same run.

* 10,000 mapped no-op children and a 1,000-task chain on ``LocalDaskExecutor(threads)`` beside
  ``dask.delayed`` on the threaded scheduler, and on ``DaskExecutor`` with a 2-worker
  ``LocalCluster`` beside ``client.map`` / a chain of ``client.submit``; the map once more with a
  run observer, as every recorded run has (its tasks then carry the state relay that announces
  long-running tasks, see tideflow.executors.remote).
* A map of eight 0.5 s sleeps on 2 workers beside the same flow on the ``LocalExecutor``.
* Peak memory (max RSS) of the driver process for a 100,000-child map, beside a plain Python
  loop over the same items, each in a fresh process (``dask.delayed`` takes minutes to schedule
  a graph of 100,000 tasks here, so it is no useful floor).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable

from benchmarks.bench_engine import Counting
from benchmarks.common import Row, best_of
from tideflow import Flow, task
from tideflow.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor
from tideflow.executors.base import Executor

MAP_WIDTH = 10_000
CHAIN_LENGTH = 1_000
MEMORY_WIDTH = 100_000


def noop(x: object = None) -> object:
    return x


def nap(x: object = None) -> object:
    time.sleep(0.5)
    return x


def mapped_flow(width: int, fn: Callable[..., object] = noop) -> Flow:
    with Flow(f"map-{width}") as flow:
        task(fn).map(list(range(width)))
    return flow


def chain_flow(length: int) -> Flow:
    t = task(noop)
    with Flow(f"chain-{length}") as flow:
        previous = t()
        for _ in range(length - 1):
            previous = t(previous)
    return flow


def per_task(
    flow: Flow, executor: Executor, n: int, repeats: int = 1, observed: bool = False
) -> float:
    def run() -> None:
        observers = [Counting()] if observed else []
        flow.run(executor=executor, progress=False, store=None, observers=observers)

    return best_of(repeats, run) / n * 1e6


def delayed_map(n: int) -> None:
    import dask

    dask.compute(*[dask.delayed(noop)(i) for i in range(n)], scheduler="threads")


def delayed_chain(n: int) -> None:
    import dask

    x = dask.delayed(noop)(None)
    for _ in range(n - 1):
        x = dask.delayed(noop)(x)
    dask.compute(x, scheduler="threads")


def local_dask_rows() -> list[Row]:
    executor = LocalDaskExecutor("threads")
    ours_map = per_task(mapped_flow(MAP_WIDTH), executor, MAP_WIDTH, 3)
    raw_map = best_of(3, lambda: delayed_map(MAP_WIDTH)) / MAP_WIDTH * 1e6
    ours_chain = per_task(chain_flow(CHAIN_LENGTH), executor, CHAIN_LENGTH, 3)
    raw_chain = best_of(3, lambda: delayed_chain(CHAIN_LENGTH)) / CHAIN_LENGTH * 1e6
    label = "dask.delayed, threads"
    return [
        Row(
            "LocalDaskExecutor(threads): 10,000 mapped no-ops, per task",
            ours_map,
            raw_map,
            "µs",
            label,
            "<= 1.5x",
        ),
        Row(
            "LocalDaskExecutor(threads): 1,000-task chain, per task",
            ours_chain,
            raw_chain,
            "µs",
            label,
            "<= 1.5x",
        ),
    ]


def distributed_rows() -> list[Row]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        executor = DaskExecutor(address=cluster.scheduler_address)
        ours_map = per_task(mapped_flow(MAP_WIDTH), executor, MAP_WIDTH)
        started = time.perf_counter()
        client.gather(client.map(noop, range(MAP_WIDTH), pure=False))
        raw_map = (time.perf_counter() - started) / MAP_WIDTH * 1e6
        observed_map = per_task(mapped_flow(MAP_WIDTH), executor, MAP_WIDTH, observed=True)
        ours_chain = per_task(chain_flow(CHAIN_LENGTH), executor, CHAIN_LENGTH)
        started = time.perf_counter()
        future = client.submit(noop, None, pure=False)
        for _ in range(CHAIN_LENGTH - 1):
            future = client.submit(noop, future, pure=False)
        future.result()
        raw_chain = (time.perf_counter() - started) / CHAIN_LENGTH * 1e6
    return [
        Row(
            "DaskExecutor, 2-worker LocalCluster: 10,000 mapped no-ops, per task",
            ours_map,
            raw_map,
            "µs",
            "client.map",
            "<= 1.5x",
        ),
        Row(
            "DaskExecutor, 2-worker LocalCluster: 10,000 mapped no-ops, one observer, per task",
            observed_map,
            ours_map,
            "µs",
            "no observer",
        ),
        Row(
            "DaskExecutor, 2-worker LocalCluster: 1,000-task chain, per task",
            ours_chain,
            raw_chain,
            "µs",
            "client.submit chain",
            "<= 1.5x",
        ),
    ]


def speedup_rows() -> list[Row]:
    flow = mapped_flow(8, nap)
    local = best_of(1, lambda: flow.run(executor=LocalExecutor(), progress=False, store=None))
    threads = best_of(
        1, lambda: flow.run(executor=LocalDaskExecutor(num_workers=2), progress=False, store=None)
    )
    cluster = DaskExecutor(
        cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "dashboard_address": ":0"}
    )
    dask_time = best_of(1, lambda: flow.run(executor=cluster, progress=False, store=None))
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
    ) as running:
        address = DaskExecutor(address=running.scheduler_address)
        warm = best_of(1, lambda: flow.run(executor=address, progress=False, store=None))
    return [
        Row(
            "eight 0.5 s sleeps: LocalDaskExecutor(2 threads), wall time",
            threads,
            local,
            "s",
            "LocalExecutor",
            f"speed-up {local / threads:.2f}x (goal >= 1.8x)",
        ),
        Row(
            "eight 0.5 s sleeps: DaskExecutor(2 workers, cluster start included)",
            dask_time,
            local,
            "s",
            "LocalExecutor",
            f"speed-up {local / dask_time:.2f}x",
        ),
        Row(
            "eight 0.5 s sleeps: DaskExecutor(address of a running 2-worker cluster)",
            warm,
            local,
            "s",
            "LocalExecutor",
            f"speed-up {local / warm:.2f}x (goal >= 1.8x)",
        ),
    ]


PEAK_CODE = """
import logging, sys
logging.getLogger("tideflow").setLevel(logging.WARNING)
from benchmarks.bench_executors import mapped_flow, noop, MEMORY_WIDTH
kind = sys.argv[1]
if kind == "python":
    results = [noop(i) for i in range(MEMORY_WIDTH)]
elif kind == "dask":
    from distributed import LocalCluster
    from tideflow.executors import DaskExecutor
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        executor = DaskExecutor(address=cluster.scheduler_address)
        state = mapped_flow(MEMORY_WIDTH).run(executor=executor, progress=False, store=None)
    assert state.is_successful()
else:
    from tideflow.executors import LocalDaskExecutor, LocalExecutor
    executor = LocalExecutor() if kind == "local" else LocalDaskExecutor("threads")
    state = mapped_flow(MEMORY_WIDTH).run(executor=executor, progress=False, store=None)
    assert state.is_successful()
# VmHWM is this process's own peak; ru_maxrss would carry the parent's over exec on Linux.
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def peak_mb(kind: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PEAK_CODE, kind], check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def memory_rows() -> list[Row]:
    floor = peak_mb("python")
    rows = []
    for label, kind in (
        ("LocalExecutor", "local"),
        ("LocalDaskExecutor(threads)", "threads"),
        ("DaskExecutor, 2-worker LocalCluster (workers are other processes)", "dask"),
    ):
        rows.append(
            Row(
                f"100,000-child map, driver peak RSS, {label}",
                peak_mb(kind),
                floor,
                "MB",
                "plain Python loop",
                "< 1500 MB",
            )
        )
    return rows


def run() -> list[Row]:
    logging.getLogger("tideflow").setLevel(logging.WARNING)
    return local_dask_rows() + distributed_rows() + speedup_rows() + memory_rows()


if __name__ == "__main__":
    from benchmarks.common import markdown

    print(markdown("Executors", run()))
