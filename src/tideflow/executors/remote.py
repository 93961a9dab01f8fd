"""Running engine work away from the driver: in another process or on a Dask worker.

What travels back with a unit's states is the log lines it wrote (so the user sees them in the
flow run's log, in the terminal or notebook, as with a local run): remote work runs under
:func:`~tideflow.engine.logs.capture_logs`, and :class:`ReplayingFuture` re-emits the records on
the driver when the result is collected. For process pools everything travels with cloudpickle,
since tasks defined in a notebook or a script's ``__main__`` cannot be imported by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tideflow.engine.logs import Captured, capture_logs, replay

T = TypeVar("T")


def run_cloudpickled(blob: bytes) -> bytes:
    """Run a cloudpickled ``(fn, args)`` with log capture; return the cloudpickled outcome."""
    import cloudpickle

    fn, args = cloudpickle.loads(blob)
    return bytes(cloudpickle.dumps(capture_logs(fn, *args)))


class ReplayingFuture(Generic[T]):
    """Wraps a future whose result ``decode`` turns into a :class:`Captured` value.

    ``result()`` replays the captured log records once and returns the value.
    """

    def __init__(self, inner: Any, decode: Callable[[Any], Captured[T]]) -> None:
        self.inner = inner
        self._decode = decode
        self._value: Captured[T] | None = None
        self._replayed = False

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
        self.inner.add_done_callback(lambda _: fn(self))
