"""Running engine work away from the driver: in another process or on a Dask worker.

Two things must travel back with a task's states: the log lines it wrote (so the user sees them
in the flow run's log, in the terminal or notebook, as with a local run) and, for process pools,
everything must be pickled with cloudpickle (tasks defined in a notebook or a script's
``__main__`` are not importable by name). :func:`capture_logs` runs a function while recording
the ``tideflow`` log records it emits, made picklable; :class:`ReplayingFuture` re-emits them on
the driver when the result is collected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tideflow.engine.logs import ROOT

T = TypeVar("T")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Make the record self-contained: its arguments and traceback may not pickle.
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def capture_logs(
    fn: Callable[..., T], *args: Any, **kwargs: Any
) -> tuple[T, list[logging.LogRecord]]:
    """``fn(*args, **kwargs)`` and the ``tideflow`` log records it emitted."""
    logger = logging.getLogger(ROOT)
    collector = _Collector()
    previous_level = logger.level
    logger.addHandler(collector)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        value = fn(*args, **kwargs)
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous_level)
    return value, collector.records


def replay(records: list[logging.LogRecord]) -> None:
    """Emit ``records`` (from a worker) through the driver's loggers and handlers."""
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def run_cloudpickled(blob: bytes) -> bytes:
    """Run a cloudpickled ``(fn, args)`` with log capture; return the cloudpickled outcome."""
    import cloudpickle

    fn, args = cloudpickle.loads(blob)
    return bytes(cloudpickle.dumps(capture_logs(fn, *args)))


class ReplayingFuture(Generic[T]):
    """Wraps a future of ``(value, records)``: replays the records once, returns the value.

    ``decode`` turns the inner future's result into ``(value, records)`` (e.g. unpickling).
    """

    def __init__(self, inner: Any, decode: Callable[[Any], tuple[T, list[logging.LogRecord]]]):
        self._inner = inner
        self._decode = decode
        self._value: tuple[T, list[logging.LogRecord]] | None = None

    def result(self) -> T:
        if self._value is None:
            self._value = self._decode(self._inner.result())
            replay(self._value[1])
        return self._value[0]

    def done(self) -> bool:
        return bool(self._inner.done())

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None:
        self._inner.add_done_callback(lambda _: fn(self))
