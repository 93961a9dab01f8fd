"""Running engine work away from the driver: in another process or on a Dask worker.

What travels back with a unit's states is the log lines it wrote (so the user sees them in the
flow run's log, in the terminal or notebook, as with a local run): remote work runs under
:func:`run_remote` (:func:`~tideflow.engine.logs.capture_logs`), and :class:`ReplayingFuture`
re-emits the records on the driver when the result is collected. For process pools everything
travels with cloudpickle, since tasks defined in a notebook or a script's ``__main__`` cannot be
imported by name.

A unit's states come back with its result, when it ends; a long unit is also announced while it
runs. Each process that runs units keeps one :class:`Lookout`: the unit calls a *state relay*
(:func:`relay_to_pool` here, ``relay_to_dask`` for Dask) with each state it enters, which only
notes the state, and the lookout's thread looks twice a second for units that have been running
for :data:`PATIENCE` seconds or more and publishes their new states to the driver. A unit shorter
than that costs a dictionary entry and nothing else. On the driver, :meth:`ReplayingFuture.relay`
hands what arrives to the run loop, unless the unit is done by then (its states then come with
its result, so none is reported twice).
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tideflow.engine.logs import Captured, capture_logs, replay

T = TypeVar("T")

PATIENCE = 2.0
"""Seconds a unit runs before the driver hears of the states it entered (then, of each new one
within :data:`TICK`)."""
TICK = 0.5

Publish = Callable[[Any, int, bytes], object]
"""``publish(token, first, states)``: send the cloudpickled ``states`` of unit ``token``, the
first of them being its state number ``first``, towards the driver."""


@dataclass(slots=True)
class _Watched:
    token: Any
    publish: Publish
    since: float
    states: list[Any] = field(default_factory=list)
    sent: int = 0


class Lookout:
    """The units running on this process's threads, and one thread that announces long ones."""

    def __init__(self) -> None:
        self._units: dict[int, _Watched] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def entered(self, state: Any, token: Any, publish: Publish) -> None:
        """The unit running on this thread (``token``, sent with ``publish``) entered ``state``."""
        ident = threading.get_ident()
        watched = self._units.get(ident)
        if watched is None:
            watched = self._units[ident] = _Watched(token, publish, time.monotonic())
            if self._thread is None:
                self._start()
        watched.states.append(state)

    def done(self) -> None:
        """The unit running on this thread returned: nothing of it is left to announce."""
        self._units.pop(threading.get_ident(), None)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="tideflow-lookout", daemon=True
                )
                self._thread.start()

    def _watch(self) -> None:
        while True:
            time.sleep(TICK)
            self.announce(time.monotonic())

    def announce(self, now: float) -> None:
        """Publish the new states of every unit running since ``PATIENCE`` s before ``now``."""
        import cloudpickle

        for watched in list(self._units.values()):
            if now - watched.since < PATIENCE or len(watched.states) <= watched.sent:
                continue
            first = watched.sent
            states = watched.states[first:]
            watched.sent = first + len(states)
            # A state that does not pickle, a closed connection: the states still come with the
            # unit's result; only their early news is lost.
            with contextlib.suppress(Exception):
                watched.publish(watched.token, first, cloudpickle.dumps(states))


LOOKOUT = Lookout()
"""This process's lookout."""


def run_remote(fn: Callable[..., T], *args: Any) -> Captured[T]:
    """``fn(*args)`` with its log records captured, in a worker; its unit is watched meanwhile."""
    try:
        return capture_logs(fn, *args)
    finally:
        LOOKOUT.done()


# -- process pools -----------------------------------------------------------------------------

_pool_states: Any = None  # this pool worker's queue to the driver (see init_pool_worker)
_pool_token = 0  # the unit this pool worker runs (one at a time)


def init_pool_worker(states: Any, then: Callable[[], object] | None = None) -> None:
    """Initialise a pool worker process: its states go to the queue ``states``; then ``then()``."""
    global _pool_states
    _pool_states = states
    if then is not None:
        then()


def run_cloudpickled(blob: bytes, token: int = 0) -> bytes:
    """Run a cloudpickled ``(fn, args)`` as unit ``token``; return the cloudpickled outcome."""
    import cloudpickle

    global _pool_token
    _pool_token = token
    fn, args = cloudpickle.loads(blob)
    return bytes(cloudpickle.dumps(run_remote(fn, *args)))


def relay_to_pool(state: Any) -> None:
    """The state relay of process pools: ``state`` goes to the driver if the unit runs long."""
    if _pool_states is not None:
        LOOKOUT.entered(state, _pool_token, _put_on_pool_queue)


def _put_on_pool_queue(token: Any, first: int, states: bytes) -> None:
    _pool_states.put((token, first, states))


class PoolRelay:
    """The driver's end of a process pool's state queue: a thread that hands what arrives to the
    future of its unit. Each unit is sent with a :meth:`token`, its future :meth:`track` ed."""

    def __init__(self, states: Any) -> None:
        self.states = states
        self._futures: dict[int, ReplayingFuture[Any]] = {}
        self._tokens = itertools.count(1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tideflow-pool-relay", daemon=True)
        self._thread.start()

    def token(self) -> int:
        """A new token, to send with a unit (see :func:`run_cloudpickled`)."""
        return next(self._tokens)

    def track(self, token: int, future: ReplayingFuture[Any]) -> None:
        """What arrives under ``token`` goes to ``future``, until it is done."""
        self._futures[token] = future
        future.add_done_callback(lambda _: self._futures.pop(token, None))

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import cloudpickle

        while not self._stopped.is_set():
            try:
                token, first, blob = self.states.get(timeout=TICK)
            except queue.Empty:
                continue
            except (EOFError, OSError):  # the queue was closed under us
                return
            future = self._futures.get(token)
            if future is not None:
                future.relay(first, cloudpickle.loads(blob))


# -- the driver's end ------------------------------------------------------------------------------


class ReplayingFuture(Generic[T]):
    """Wraps a future whose result ``decode`` turns into a :class:`Captured` value.

    ``result()`` replays the captured log records once and returns the value. States relayed
    while the unit runs (:meth:`relay`) go to the live callback until the future is done.
    """

    def __init__(self, inner: Any, decode: Callable[[Any], Captured[T]]) -> None:
        self.inner = inner
        self._decode = decode
        self._value: Captured[T] | None = None
        self._replayed = False
        self._lock = threading.Lock()
        self._closed = False  # done: relayed states are dropped from now on
        self._on_live: Callable[[int, list[Any]], object] | None = None

    def result(self) -> T:
        if self._value is None:
            self.settle(self.inner.result())
        assert self._value is not None
        if not self._replayed:
            self._replayed = True
            replay(self._value.records)
        if self._value.interrupt is not None:
            raise self._value.interrupt
        return self._value.value

    def settle(self, raw: Any) -> None:
        """Take the inner future's result (fetched elsewhere, e.g. in a batch)."""
        if self._value is None:
            self._value = self._decode(raw)

    def done(self) -> bool:
        return bool(self.inner.done())

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None:
        def done(_: Any) -> None:
            self.close()
            fn(self)

        self.inner.add_done_callback(done)

    def add_live_callback(self, fn: Callable[[int, list[Any]], object], /) -> None:
        self._on_live = fn

    def relay(self, first: int, states: list[Any]) -> None:
        """States ``first``, ``first + 1``, ... of the unit arrived: pass them on, unless done.

        Under the same lock as :meth:`close`, so what is passed on is passed on before the
        done callbacks run, or not at all.
        """
        with self._lock:
            if not self._closed and self._on_live is not None:
                self._on_live(first, states)

    def close(self) -> None:
        """The unit is done; call before running the done callbacks."""
        with self._lock:
            self._closed = True
