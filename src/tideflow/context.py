"""The run context: what a task can know about the run it is part of.

``tideflow.context`` is a read-only mapping whose contents depend on where it is read. Inside a
task run it holds (among others) ``logger`` (a ``logging.Logger`` for that task), ``flow_name``,
``flow_id`` (the flow's slug), ``flow_run_id`` (new for every run), ``flow_run_name``
(``<flow slug>-<first 8 characters of the run id>``), ``scheduled_start_time``, ``parameters``,
``date``, ``today``/``yesterday``/``tomorrow`` (``YYYY-MM-DD``, plus ``*_nodash`` forms),
``task_name``, ``task_key`` and ``task_slug`` (the task's key in its flow), ``task_run_id``
(``<flow_run_id>/<task key>``, with ``[i]`` for a mapped child), ``task_tags``,
``task_run_count`` and ``map_index``.

``with tideflow.context(key=value):`` layers values on top for the duration of the block; the
engine does exactly this around every task run. Values live in a :class:`contextvars.ContextVar`,
so each thread and each asyncio task sees its own context. ``context.key = value`` (or
``context["key"] = value``) sets a key in the current context, as Prefect 1's did: inside a task
it lasts until the task run ends, elsewhere until the thread ends; it never changes another
thread's context.

>>> from tideflow import context
>>> with context(answer=42):
...     context.get("answer")
42
>>> context.get("answer", "unset")
'unset'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_current: ContextVar[Mapping[str, Any]] = ContextVar("tideflow_context", default=_EMPTY)


class Context(Mapping[str, Any]):
    """Read access to the current context, and ``context(**values)`` to layer new values."""

    def __getitem__(self, key: str) -> Any:
        return _current.get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_current.get())

    def __len__(self) -> int:
        return len(_current.get())

    def __getattr__(self, key: str) -> Any:
        try:
            return _current.get()[key]
        except KeyError:
            raise AttributeError(f"the run context has no {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        if hasattr(type(self), key):
            raise AttributeError(
                f"context.{key} is a method of the run context and cannot be set; "
                f"use context[{key!r}] = ... to set a key of that name"
            )
        self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        """Set ``key`` in the current context (a new layer: no other context sees it)."""
        _current.set({**_current.get(), key: value})

    def __delattr__(self, key: str) -> None:
        del self[key]

    def __delitem__(self, key: str) -> None:
        current = dict(_current.get())
        try:
            del current[key]
        except KeyError:
            raise KeyError(f"the run context has no {key!r}") from None
        _current.set(current)

    def to_dict(self) -> dict[str, Any]:
        """A copy of the current context."""
        return dict(_current.get())

    @contextmanager
    def __call__(self, *mappings: Mapping[str, Any], **values: Any) -> Iterator[Context]:
        """Layer ``mappings`` and ``values`` over the current context inside a ``with`` block."""
        merged = dict(_current.get())
        for mapping in mappings:
            merged.update(mapping)
        merged.update(values)
        token = _current.set(merged)
        try:
            yield self
        finally:
            _current.reset(token)

    def __repr__(self) -> str:
        return f"<Context: {sorted(_current.get())}>"


context = Context()


@contextmanager
def use_context(values: Mapping[str, Any]) -> Iterator[None]:
    """Replace the whole context with ``values`` (the engine's fast path; no copy is made)."""
    token = _current.set(values)
    try:
        yield
    finally:
        _current.reset(token)
