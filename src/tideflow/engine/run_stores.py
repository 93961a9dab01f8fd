"""The store a running flow run records into, for code inside the run (flows of flows).

A task that starts, waits for or reads another run (:mod:`tideflow.tasks.prefect`) must use the
store its own run records into, so that the child is linked to it and every process sees both.
Inside the process that runs the flow the store object itself is at hand (:func:`registered`);
a task on a Dask worker, in another process, gets the store's URL from the run context key
:data:`STORE_URL_KEY` (set for SQLite files and PostgreSQL; an in-memory store cannot be
reached from another process) and opens it once per process.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tideflow.context import context
from tideflow.store.base import RunStore

__all__ = ["STORE_URL_KEY", "current_store", "registered", "url_of"]

STORE_URL_KEY = "run_store_url"
"""The run context key holding the URL of the store the run records into (when it has one)."""

_RUNS: dict[str, RunStore] = {}
_OPENED: dict[str, RunStore] = {}
_LOCK = threading.Lock()


@contextmanager
def registered(flow_run_id: str, store: RunStore | None) -> Iterator[None]:
    """While the block runs, :func:`current_store` of run ``flow_run_id`` is ``store``."""
    if store is None:
        yield
        return
    _RUNS[flow_run_id] = store
    try:
        yield
    finally:
        _RUNS.pop(flow_run_id, None)


def url_of(store: RunStore | None) -> str | None:
    """The URL another process opens ``store`` with; None for stores only this one has."""
    url = getattr(store, "url", None)
    where = getattr(store, "where", None)
    if not isinstance(url, str) or where in (":memory:", ""):
        return None
    return url


def current_store() -> RunStore | None:
    """The store the current flow run records into, if this process can reach it."""
    run_id = context.get("flow_run_id")
    if run_id is not None and run_id in _RUNS:
        return _RUNS[run_id]
    url = context.get(STORE_URL_KEY)
    if not isinstance(url, str):
        return None
    with _LOCK:
        store = _OPENED.get(url)
        if store is None:
            from tideflow.store import open_store

            store = open_store(url)
            if store is None:
                return None
            _OPENED[url] = store
    return store


@atexit.register
def _close_opened() -> None:
    for store in _OPENED.values():
        store.close()
    _OPENED.clear()
