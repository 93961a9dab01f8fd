"""Tasks (and a cluster class) shared by the executor tests.

They live in their own module rather than in the test modules so that they can travel to other
processes: ``conftest.py`` registers this module with ``cloudpickle.register_pickle_by_value``,
so everything defined here is pickled by value and a spawned worker never has to import it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from distributed import LocalCluster

from tideflow import context, log_artifact, log_metric, signals, task


@task
def one() -> int:
    return 1


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def numbers(n: int = 3) -> list[int]:
    return list(range(1, n + 1))


@task
def boom(x: Any = None) -> int:
    raise ValueError("boom")


@task
def picky(x: int) -> int:
    if x == 2:
        raise ValueError("two")
    return x


@task
def skip_two(x: int) -> int:
    if x == 2:
        raise signals.SKIP("not two")
    return x


@task
def ran(a: Any = None, b: Any = None) -> str:
    """Says that it ran, whatever its upstream tasks gave it (for trigger tests)."""
    return "ran"


@task
def skipper() -> None:
    raise signals.SKIP("nothing to do today")


@task(max_retries=2, retry_delay=0.01)
def third_time_lucky() -> int:
    """Fails on its first two attempts; returns the attempt number that succeeded."""
    attempt: int = context.task_run_count
    if attempt < 3:
        raise ConnectionError(f"attempt {attempt} fails")
    return attempt


@task(timeout=0.5)
def sleeps_too_long() -> str:
    time.sleep(30)
    return "never"


@task(timeout=0.5, max_retries=1, retry_delay=0.01)
def slow_then_fast() -> int:
    """Runs past its timeout on the first attempt only; returns the attempt number."""
    attempt: int = context.task_run_count
    if attempt == 1:
        time.sleep(10)
    return attempt


@task
def chatty(x: int) -> int:
    context.logger.info("processing item %s", x)
    return x


@task(checkpoint=True)
def measured(x: int) -> int:
    log_metric("score", 2.0 * x)
    log_artifact("summary", {"x": x})
    return 2 * x


@task
def pid() -> int:
    return os.getpid()


def wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.01)


@task
def rendezvous(folder: str, me: str, other: str) -> str:
    """Announce ``me`` and wait for ``other``: finishes only if both run at the same time."""
    Path(folder, me).touch()
    wait_for_file(Path(folder, other))
    return me


@task
def log_in_step(folder: str, me: str, other: str) -> str:
    """Log one line while ``other`` runs too, and return only once ``other`` has logged too."""
    Path(folder, f"{me}-started").touch()
    wait_for_file(Path(folder, f"{other}-started"))
    context.logger.info("%s was here", me)
    Path(folder, f"{me}-logged").touch()
    wait_for_file(Path(folder, f"{other}-logged"))
    return me


@task
def interrupt() -> None:
    raise KeyboardInterrupt


@task
def start_then_sleep(folder: str) -> None:
    """Say it started (a file), then work for far longer than any test waits."""
    Path(folder, "started").touch()
    time.sleep(60)


@task
def square_where(x: int) -> tuple[int, int]:
    """``x`` squared, and the process that squared it."""
    return x * x, os.getpid()


@task
def slow_square(x: int, folder: str) -> int:
    """Simulated work; leaves a file behind when done so a test can tell how far a run got."""
    time.sleep(0.3)
    Path(folder, f"done-{x}-{os.getpid()}").touch()
    return x * x


class RecordingCluster(LocalCluster):  # type: ignore[misc]
    """A LocalCluster that remembers how ``adapt`` was called (importable by string)."""

    adapt_calls: list[dict[str, Any]] = []  # noqa: RUF012 - shared on purpose, read by tests

    def adapt(self, **kwargs: Any) -> Any:
        RecordingCluster.adapt_calls.append(kwargs)
        return super().adapt(**kwargs)


@task
def slow_numbers(n: int = 3) -> list[int]:
    """A list that arrives after a mapped task elsewhere in the flow has finished some children."""
    time.sleep(0.5)
    return list(range(n))


@task
def plus_all(x: int, others: list[int]) -> int:
    return x + sum(others)


@task(max_retries=1, retry_delay=0)
def waits_to_be_seen(folder: str, attempts: int = 1) -> int:
    """Waits until the driver has seen this attempt running (the test's observer leaves a file
    ``seen-<attempt>`` when it hears of ``Running``); fails its first attempt when ``attempts``
    is 2. Returns the attempt that succeeded."""
    attempt: int = context.task_run_count
    wait_for_file(Path(folder, f"seen-{attempt}"), timeout=120)
    if attempt < attempts:
        raise ConnectionError(f"attempt {attempt} fails after being seen")
    return attempt
