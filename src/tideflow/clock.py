"""Time as an input.

Everything in Tideflow that waits or asks for the time goes through a :class:`Clock`, so tests
drive schedules, retries and the scheduler with a :class:`FakeClock` instead of sleeping or
patching ``datetime``.

A clock answers three questions: what time is it (``now``, always timezone-aware UTC), sleep for a
while (``sleep``) and wait for the next item on a queue for at most a while (``wait``). The last
one is how run loops wait for "a task finished or the next retry is due, whichever comes first"
and "a stop signal or the next fire time": a :class:`FakeClock` makes the idle part of such a wait
take no real time.
"""

from __future__ import annotations

import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """What the engine, the schedule loop and the scheduler service need to know about time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (returns at once for zero or negative values)."""
        ...

    def wait(self, q: queue.SimpleQueue[T], timeout: float | None) -> T | None:
        """The next item of ``q``, or ``None`` once ``timeout`` seconds passed without one."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, q: queue.SimpleQueue[T], timeout: float | None) -> T | None:
        try:
            return q.get(timeout=None if timeout is None else max(timeout, 0.0))
        except queue.Empty:
            return None

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that moves only when told to, or when something sleeps or idles on it.

    ``sleep(s)`` and an idle ``wait(q, s)`` advance the clock by ``s`` at once, so a test runs a
    hundred scheduled runs or a retry delay of an hour in no real time. Safe to share between
    threads.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError(f"FakeClock needs a timezone-aware start, got {start!r}")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the clock forward and return the new time."""
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        with self._lock:
            self._now += delta
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.advance(seconds)

    def wait(self, q: queue.SimpleQueue[T], timeout: float | None) -> T | None:
        try:
            return q.get_nowait()
        except queue.Empty:
            pass
        if timeout is None:
            return q.get()
        # Nothing has arrived: the idle time passes at once.
        self.advance(max(timeout, 0.0))
        return None

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"

    def __reduce__(self) -> tuple[type[FakeClock], tuple[datetime]]:
        # Sent to another process (a Dask worker), it is a copy at the time it was sent.
        return (FakeClock, (self.now(),))


SYSTEM_CLOCK = SystemClock()
