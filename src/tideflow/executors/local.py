"""The default executor: runs each task at once, in the calling thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tideflow.executors.base import Executor

T = TypeVar("T")


class DoneFuture(Generic[T]):
    """A future that is complete when made: the result or the exception of a call already run."""

    __slots__ = ("_error", "_value")

    def __init__(self, value: T | None = None, error: BaseException | None = None) -> None:
        self._value = value
        self._error = error

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def done(self) -> bool:
        return True

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None:
        fn(self)


class LocalExecutor(Executor):
    """Run every task synchronously in the calling thread, one at a time (no parallelism)."""

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> DoneFuture[T]:
        return run_now(fn, *args, **kwargs)


def run_now(fn: Callable[..., T], *args: Any, **kwargs: Any) -> DoneFuture[T]:
    """Call ``fn`` here and now; its value or exception as a completed future."""
    try:
        return DoneFuture(fn(*args, **kwargs))
    except Exception as exc:
        return DoneFuture(error=exc)
