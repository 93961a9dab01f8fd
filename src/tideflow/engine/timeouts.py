"""Enforcing a task's timeout.

Python cannot kill a thread, so how hard a timeout can be depends on where the task runs:

* On the main thread of a POSIX process (``flow.run()`` with the ``LocalExecutor``, the usual
  case), a ``SIGALRM`` timer interrupts the task, even inside ``time.sleep`` or a blocking call
  that returns to Python; the task's work stops there.
* Elsewhere (a worker thread), the task runs in a helper thread that is abandoned when the time is
  up: the task's state becomes ``TimedOut`` and the flow goes on, and an exception is raised
  inside the helper thread at its next Python instruction, which stops pure-Python work but not a
  call blocked in C.

Either way the caller gets :class:`TaskTimeout` on time.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Callable
from contextvars import copy_context
from typing import Any


class TaskTimeout(BaseException):
    """A task ran past its timeout.

    A BaseException, so that a task's own ``except Exception`` cannot swallow it.
    """


def call_with_timeout(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float) -> Any:
    """``fn(**kwargs)``, raising :class:`TaskTimeout` once ``timeout`` seconds have passed."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _call_with_alarm(fn, kwargs, timeout)
    return _call_in_thread(fn, kwargs, timeout)


def _raise_timeout(signum: int, frame: object) -> None:
    raise TaskTimeout


def _call_with_alarm(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float) -> Any:
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    # An alarm someone else set (an application's, or a test runner's guard) is put back
    # afterwards with the time it had left, minus what the task used.
    earlier, _ = signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.monotonic()
    try:
        return fn(**kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier > 0:
            left = earlier - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def _call_in_thread(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float) -> Any:
    outcome: dict[str, Any] = {}
    ctx = copy_context()

    def target() -> None:
        try:
            outcome["value"] = ctx.run(fn, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="tideflow-timeout", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _interrupt(worker)
        raise TaskTimeout
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _interrupt(worker: threading.Thread) -> None:
    """Raise TaskTimeout inside ``worker`` at its next Python instruction (best effort)."""
    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(TaskTimeout)
        )
