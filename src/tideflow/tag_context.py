"""``with tags("a", "b"):``: tags for every task created or called inside the block.

Prefect 1's ``prefect.tags``. Tasks made (``Task(...)``, ``@task``) or bound into a flow (calling
a task copies it) inside the block get the block's tags on top of their own; nested blocks add
up, and leaving a block takes its tags away for tasks created after it.

>>> from tideflow import Flow, tags, task
>>> @task
... def extract() -> int:
...     return 1
>>> with Flow("tagged") as flow:
...     with tags("etl"):
...         with tags("nightly"):
...             first = extract()
...     second = extract()
>>> sorted(first.tags), sorted(second.tags)
(['etl', 'nightly'], [])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tideflow.errors import TaskDefinitionError

__all__ = ["current_tags", "tags"]

_active: ContextVar[frozenset[str]] = ContextVar("tideflow_tags", default=frozenset())


def current_tags() -> frozenset[str]:
    """The tags of the ``with tags(...)`` blocks around the caller (empty outside any)."""
    return _active.get()


@contextmanager
def tags(*names: str) -> Iterator[frozenset[str]]:
    """Add ``names`` to every task created or called inside the block (see the module)."""
    for name in names:
        if not isinstance(name, str) or not name:
            raise TaskDefinitionError(
                f"tags(...) takes tag names as strings, e.g. tags('etl', 'nightly'); got {name!r}"
            )
    token = _active.set(_active.get() | frozenset(names))
    try:
        yield _active.get()
    finally:
        _active.reset(token)
