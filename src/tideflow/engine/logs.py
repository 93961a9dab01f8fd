"""Logging for flow runs: per-task loggers, a readable default handler, and ``log_stdout``.

Each task logs through ``logging.getLogger("tideflow.task.<name>")``, available inside a task run
as ``tideflow.context.get("logger")``. The children of a mapped task share their task's logger (a
map of 100,000 children registers one logger, not 100,000, in ``logging``'s registry, where
loggers live as long as the process): a record says which child logged it in its
``tideflow_map_index`` attribute (``None`` outside mapped children), stamped by a filter of the
task logger from the run context, or where it was made for records captured on a worker.

When neither the ``tideflow`` logger nor the root logger has a handler (a plain script or a
notebook), the first run installs one that writes lines like::

    [2026-11-25 09:00:00+0000] INFO - tideflow.task.say_hello | Hello
    [2026-11-25 09:00:01+0000] INFO - tideflow.task.square[3] | squaring 3

(a mapped child's index after its task's logger name) to the *current* ``sys.stderr`` (so
notebooks and test capture see it). ``TIDEFLOW_LOG_LEVEL`` sets its level (default INFO).
Applications that configure logging themselves are left alone; their formatters can show the
index with ``%(tideflow_map_index)s`` on records of ``tideflow.task`` loggers.

Loggers named in the configuration's ``logging.extra_loggers`` (``tideflow.config``; e.g.
``["boto3", "my_lib"]``) get the configured ``logging.level`` when they have none, and the default
handler when Tideflow installed it, so their lines show with the run's and are recorded with it
(any logger used while a task runs is recorded; on a Dask worker, every record a task's code
emits is captured and replayed on the driver). Known secret values are masked (``****``, see
:mod:`tideflow.secrets`) in what the default handler prints and in captured records.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tideflow.configuration import ConfigError, get_config
from tideflow.context import context
from tideflow.secrets import MaskSecrets, mask, masking

T = TypeVar("T")

FORMAT = "[%(asctime)s] %(levelname)s - %(name)s | %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S%z"
ROOT = "tideflow"

_loggers: dict[str, logging.Logger] = {}


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that always writes to whatever ``sys.stderr`` is now."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> io.TextIOBase:
        return sys.stderr  # type: ignore[return-value]

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class ChildFormatter(logging.Formatter):
    """A formatter that shows a mapped child's index after its task logger's name, as in
    ``tideflow.task.square[3]``."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        index = getattr(record, "tideflow_map_index", None)
        if index is None:
            return super().formatMessage(record)
        shown = copy.copy(record)  # other handlers see the record as it was
        shown.name = f"{record.name}[{index}]"
        return super().formatMessage(shown)


_default_handler: StderrHandler | None = None


def ensure_handler() -> None:
    """Install the default handler unless logging is already configured; set up the
    configured extra loggers."""
    global _default_handler
    root = logging.getLogger(ROOT)
    if not root.handlers and not logging.getLogger().handlers:
        handler = StderrHandler()
        handler.setFormatter(ChildFormatter(FORMAT, DATE_FORMAT))
        handler.addFilter(MaskSecrets())
        root.addHandler(handler)
        _default_handler = handler
        if root.level == logging.NOTSET:
            root.setLevel(os.environ.get("TIDEFLOW_LOG_LEVEL", "INFO").upper())
    use_extra_loggers(console=True)


def extra_logger_names() -> list[str]:
    """The configuration's ``logging.extra_loggers`` (a bad value is warned about, not used)."""
    try:
        names = get_config().get("logging", {}).get("extra_loggers", [])
    except ConfigError as exc:  # a run goes on; the problem is said where it is seen
        flow_logger().warning("The configuration is not used: %s", exc)
        return []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        flow_logger().warning(
            "logging.extra_loggers must be a list of logger names such as "
            '["boto3", "my_lib"], got %r; no extra logger is used',
            names,
        )
        return []
    return [n for n in names if n != ROOT and not n.startswith(ROOT + ".")]


def use_extra_loggers(*, console: bool) -> None:
    """Give each extra logger the configured level (if it has none) and, with ``console``,
    the default handler (if Tideflow installed it)."""
    names = extra_logger_names()
    if not names:
        return
    level = str(get_config()["logging"].get("level", "INFO")).upper()
    for name in names:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
        handler = _default_handler
        if console and handler is not None and handler not in logger.handlers:
            logger.addHandler(handler)


def task_logger(name: str) -> logging.Logger:
    """The logger of task ``name``, shared by its mapped children (see the module docstring)."""
    full = f"{ROOT}.task.{name}"
    sink = _sink.get()
    if sink is not None:
        return _SinkLogger(full, sink)
    logger = _loggers.get(full)
    if logger is None:
        logger = logging.getLogger(full)
        logger.addFilter(_stamp_map_index)  # idempotent: a second thread here adds nothing
        _loggers[full] = logger
    return logger


def _stamp_map_index(record: logging.LogRecord) -> bool:
    """Say which mapped child logged ``record`` (unless it says so already: a replayed record
    was stamped where it was made, and the driver's context knows nothing of that child)."""
    if not hasattr(record, "tideflow_map_index"):
        record.tideflow_map_index = context.get("map_index")
    return True


def flow_logger() -> logging.Logger:
    return logging.getLogger(f"{ROOT}.flow")


class _LoggerWriter(io.TextIOBase):
    """A text stream whose complete lines become INFO records of ``logger``."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if line.strip():
                self._logger.info(line)
        return len(text)

    def flush(self) -> None:
        if self._buffer.strip():
            self._logger.info(self._buffer)
        self._buffer = ""


@contextmanager
def stdout_to(logger: logging.Logger) -> Iterator[None]:
    """Send ``print`` output to ``logger`` inside the block (for tasks with ``log_stdout``)."""
    writer = _LoggerWriter(logger)
    try:
        with redirect_stdout(writer):
            yield
    finally:
        writer.flush()


@dataclass
class Captured(Generic[T]):
    """A value computed elsewhere, with the ``tideflow`` log records emitted while computing it."""

    value: T
    records: list[logging.LogRecord]
    interrupt: BaseException | None = None


_sink: ContextVar[list[logging.LogRecord] | None] = ContextVar("tideflow_log_sink", default=None)


class _SinkLogger(logging.Logger):
    """A logger, outside logging's registry, that keeps its records in a list."""

    def __init__(self, name: str, sink: list[logging.LogRecord]) -> None:
        super().__init__(name, logging.INFO)
        self.propagate = False
        self._sink = sink

    def handle(self, record: logging.LogRecord) -> None:
        self._sink.append(_portable(record))


def _portable(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` made self-contained (its arguments and traceback may not pickle), masked, and
    stamped with the run and task it came from (the driver that replays it has another
    context)."""
    record.msg = mask(record.getMessage())
    record.args = None
    record.tideflow_run_id = context.get("flow_run_id")
    record.tideflow_task_key = context.get("task_key")
    record.tideflow_map_index = context.get("map_index")
    if record.exc_info:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text and masking():
        record.exc_text = mask(record.exc_text)
    return record


class _SinkHandler(logging.Handler):
    """On the root logger of a process that runs tasks for another (a Dask worker): keeps a copy
    of every record that reaches it while a task runs there (a library's logger, an extra logger,
    ``get_logger()``), so the driver replays and records it as it records them locally."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _sink.get()
        if sink is not None:
            sink.append(_portable(copy.copy(record)))


_root_sink: _SinkHandler | None = None


def _capture_other_loggers() -> None:
    global _root_sink
    if _root_sink is None:
        _root_sink = _SinkHandler(logging.INFO)
        logging.getLogger().addHandler(_root_sink)
        own = logging.getLogger(ROOT)
        if own.level == logging.NOTSET and own.getEffectiveLevel() > logging.INFO:
            own.setLevel(logging.INFO)  # as on the driver (see engine/recording.py)
        use_extra_loggers(console=False)


def capture_logs(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Captured[T]:
    """``fn(*args, **kwargs)`` with the task log records (INFO and up) it emitted.

    While it runs, :func:`task_logger` hands out loggers that keep their records instead of
    emitting them, so a worker (in-process or not) never prints them itself; the driver replays
    them (:func:`replay`).
    """
    if _root_sink is None:
        _capture_other_loggers()
    records: list[logging.LogRecord] = []
    token = _sink.set(records)
    try:
        value = fn(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit) as exc:
        # Raised on a worker, these would kill the worker process (and Dask would retry the task
        # elsewhere); carried back instead, they interrupt the flow run on the driver, as locally.
        return Captured(None, records, exc)  # type: ignore[arg-type]
    finally:
        _sink.reset(token)
    return Captured(value, records)


def capturing() -> bool:
    """Whether the caller runs inside :func:`capture_logs` (its records will be replayed)."""
    return _sink.get() is not None


def replay(records: list[logging.LogRecord]) -> None:
    """Emit ``records`` (captured elsewhere) through this process's loggers and handlers."""
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
