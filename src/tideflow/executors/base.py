"""The executor interface: how the engine hands work out.

An executor is a context manager ``start()`` that owns whatever resources it needs for one flow
run (a thread pool, a Dask client and cluster), plus ``submit(fn, *args, **kwargs)`` returning a
future, and ``wait(futures)`` returning their results. Futures follow
:class:`concurrent.futures.Future`'s small core: ``result()``, ``done()`` and
``add_done_callback(fn)``, which is all the engine's run loop uses. Executors differ only in how
they submit; the readiness bookkeeping, retries and state tracking live in the engine, once.

While a unit runs, the run loop wants to hear of the states it enters (``Running``) before the
unit returns them all. An executor that runs units in this process (in the calling thread or a
thread pool) needs nothing for that: the run loop passes its own callback along. One that runs
them elsewhere returns a :meth:`Executor.state_relay`: a picklable callable, called where the
unit runs, that carries the states back (for a unit that runs long enough to be worth it), and
its futures are :class:`RelayingFuture` objects that hand them to the run loop.
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


class RelayingFuture(FutureLike[T_co], Protocol):
    """The future of a unit run elsewhere, which relays the states the unit entered meanwhile."""

    def add_live_callback(self, fn: Callable[[int, list[Any]], object], /) -> None:
        """Call ``fn(first, states)`` when states of the unit arrive before it is done:
        ``states`` are the unit's states from number ``first`` on (0 is its first state).

        Never called once the future is done, and never after the done callbacks were.
        """


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

    def state_relay(self) -> Callable[[Any], object] | None:
        """What a unit run elsewhere calls with each state it enters; ``None`` in this process.

        ``None`` (the default) says units run in this process, where the run loop's own
        callback can be called directly. Otherwise the value is passed to the unit (so it must
        pickle), and the futures that :meth:`submit` returns are :class:`RelayingFuture`.
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
