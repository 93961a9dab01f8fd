"""Learning which Dask futures finished, in batches, without a callback per future.

Distributed runs each future's done-callback through its own thread hop and event-loop wake-up
(``as_completed`` too, once per future); for ten thousand mapped children that costs more than
the tasks, and fetching each result on its own costs a round trip per task. A :class:`Watcher`
instead runs one thread per flow run that looks at the pending futures' status, takes every one
that is done as a batch, fetches their results with one ``gather``, and settles the matching
:class:`DaskFuture` objects, whose callbacks feed the run loop.

The watcher also knows each pending future by its Dask key, so the states a long task relays
while it runs (worker events, see :mod:`tideflow.executors.dask`) find their future here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tideflow.engine.logs import Captured
from tideflow.executors.remote import ReplayingFuture

T = TypeVar("T")

_MIN_POLL = 0.002  # seconds between looks while futures keep finishing
_MAX_POLL = 0.05  # ... and while none do


class DaskFuture(ReplayingFuture[T]):
    """A Dask future whose completion and result come from a :class:`Watcher`."""

    def __init__(self, inner: Any, watcher: Watcher) -> None:
        super().__init__(inner, _as_captured)
        self._watcher = watcher
        self._error: BaseException | None = None
        self._settled = threading.Event()
        self._callbacks: list[Callable[[Any], object]] = []
        watcher.watch(self)

    def fail(self, error: BaseException) -> None:
        self._error = error

    def finish(self) -> None:
        """Mark settled (a value or an error) and run the callbacks, each exactly once."""
        with self._lock:  # the lock of relay(): no state is relayed from now on
            self._closed = True
            self._settled.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    def done(self) -> bool:
        return self._settled.is_set()

    def result(self) -> T:
        if not self._settled.is_set():
            return super().result()  # asked early: fetch it directly
        if self._error is not None:
            raise self._error
        return super().result()

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None:
        with self._lock:
            if not self._settled.is_set():
                self._callbacks.append(fn)
                return
        fn(self)


def _as_captured(raw: Any) -> Captured[Any]:
    return raw  # type: ignore[no-any-return]


class Watcher:
    """One thread that settles :class:`DaskFuture` objects as their Dask futures finish.

    It polls the futures' status (a plain attribute read, no event-loop work) every few
    milliseconds, backing off to ``_MAX_POLL`` while nothing finishes. Latency does not matter
    much here: chained tasks start on the workers without waiting for this thread.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._pending: dict[str, DaskFuture[Any]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="tideflow-dask-watcher", daemon=True)
        self._thread.start()

    def watch(self, future: DaskFuture[Any]) -> None:
        with self._lock:
            self._pending[future.inner.key] = future
        self._wake.set()

    def relay(self, event: tuple[float, Any]) -> None:
        """A worker event with a running task's states (``{"key", "first", "states"}``): pass
        them to the task's future, if it is one of ours and still pending."""
        import cloudpickle

        _, message = event
        try:
            key, first, blob = message["key"], message["first"], message["states"]
        except (TypeError, KeyError):
            return
        with self._lock:
            future = self._pending.get(key)
        if future is None:
            return
        try:
            states = cloudpickle.loads(blob)
        except Exception:  # the states come with the task's result anyway
            return
        future.relay(first, states)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        pause = _MIN_POLL
        while not self._stopped:
            self._wake.wait(pause)
            self._wake.clear()
            started = time.perf_counter()
            with self._lock:
                done = [f.inner for f in self._pending.values() if f.inner.done()]
            # Looking costs time in proportion to the pending futures, and holds the GIL that
            # the client's event loop needs: never spend more than a tenth of the time looking.
            floor = 10 * (time.perf_counter() - started)
            if done:
                self._settle(done)
                pause = max(_MIN_POLL, floor)
            else:
                pause = max(min(pause * 2, _MAX_POLL), floor)

    def _settle(self, done: list[Any]) -> None:
        with self._lock:
            ours = [self._pending.pop(f.key) for f in done if f.key in self._pending]
        good = [f for f in ours if f.inner.status == "finished"]
        try:
            values = self._client.gather([f.inner for f in good]) if good else []
        except Exception:  # e.g. results lost with a worker: fall back to each future alone
            values = None
        for i, future in enumerate(good):
            if values is not None:
                future.settle(values[i])
            else:
                try:
                    future.settle(future.inner.result())
                except Exception as exc:
                    future.fail(exc)
        for future in ours:
            if future.inner.status != "finished":
                future.fail(_error_of(future.inner))
        for future in ours:
            future.finish()


def _error_of(inner: Any) -> BaseException:
    try:
        error = inner.exception(timeout=5)
    except Exception as exc:
        return exc
    return (
        error
        if isinstance(error, BaseException)
        else RuntimeError(f"Dask future {inner.key} failed")
    )
