"""The executor interface: how the engine hands work out.

An executor is a context manager ``start()`` that owns whatever resources it needs for one flow
run (a thread pool, a Dask client and cluster), plus ``submit(fn, *args, **kwargs)`` returning a
future, and ``wait(futures)`` returning their results. Futures follow
:class:`concurrent.futures.Future`'s small core: ``result()``, ``done()`` and
``add_done_callback(fn)``, which is all the engine's run loop uses. Executors differ only in how
they submit; the readiness bookkeeping, retries and state tracking live in the engine, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class FutureLike(Protocol[T_co]):
    """What the engine needs from a future."""

    def result(self) -> T_co: ...

    def done(self) -> bool: ...

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None: ...


class Executor(ABC):
    """Base class of executors.

    ``chains_futures`` says whether futures returned by ``submit`` may be passed (inside lists
    and tuples) as arguments of later submissions, to be resolved by the executor before the
    function runs. The run loop then submits a task as soon as its upstream tasks are
    submitted, not finished (see :mod:`tideflow.engine.readiness`).
    """

    chains_futures: bool = False

    @contextmanager
    def start(self) -> Iterator[None]:
        """Hold the executor's resources for the duration of one flow run."""
        yield

    @abstractmethod
    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> FutureLike[T]:
        """Arrange for ``fn(*args, **kwargs)`` to run; return its future."""

    def submit_many(
        self, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]]
    ) -> list[FutureLike[T]]:
        """Submit ``fn(*args)`` for each ``args`` in ``calls`` (executors may batch this)."""
        return [self.submit(fn, *args) for args in calls]

    def wait(self, futures: Iterable[FutureLike[T]]) -> list[T]:
        """The results of ``futures``, in order, once all are done."""
        return [f.result() for f in futures]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
