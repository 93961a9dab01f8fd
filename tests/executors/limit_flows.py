"""Tasks for the concurrency-limit and Dask-resource tests, run on every executor.

Registered with cloudpickle by value (see ``conftest.py``), so spawned processes and Dask
workers need not import this module. Concurrency across processes is observed through files:
a task holds a ``running-*`` file while it runs and writes how many it saw at its start.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from tideflow import Flow, Parameter, task, unmapped

HOLD_SECONDS = 0.2
"""How long a limited task works: long enough that, without the limit, two would overlap."""


@task(tags=["db"])
def hold(folder: str, item: int) -> int:
    """Work for :data:`HOLD_SECONDS` while holding a ``running-*`` file in ``folder``."""
    where = Path(folder)
    mine = where / f"running-{uuid.uuid4().hex}"
    mine.touch()
    try:
        seen = len(list(where.glob("running-*")))
        (where / f"peak-{mine.name}").write_text(str(seen))
        time.sleep(HOLD_SECONDS)
    finally:
        mine.unlink()
    return item * 10


@task
def free(folder: str) -> float:
    """An untagged task: when it ran (it must not wait for the limited ones)."""
    return time.time()


def peak(folder: Path) -> int:
    """The most limited tasks seen running at once."""
    return max(int(path.read_text()) for path in folder.glob("peak-*"))


def limited_flow() -> Flow:
    """Three mapped children tagged ``db`` beside one untagged task."""
    with Flow("limited") as flow:
        folder = Parameter("folder")
        hold.map(unmapped(folder), [1, 2, 3])
        free(folder)
    return flow


@task(tags=["dask-resource:GPU=1"])
def on_gpu_worker(x: int) -> str:
    """The address of the Dask worker that ran it."""
    from distributed import get_worker

    return str(get_worker().address)


def gpu_flow() -> Flow:
    with Flow("gpu") as flow:
        on_gpu_worker.map([1, 2, 3, 4])
    return flow
