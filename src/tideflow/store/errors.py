"""Errors raised by run stores.

Every store error derives from :class:`StoreError` (itself a
:class:`~tideflow.errors.TideflowError`), so a caller that only wants to know "the history could not
be read or written" catches one class. Each message names the store (the SQLite file, or the
database URL with its password hidden), the run id or prefix involved, and what to do about it.
"""

from __future__ import annotations

from tideflow.errors import TideflowError

__all__ = [
    "AmbiguousRunError",
    "DeploymentNotFoundError",
    "DuplicateRunError",
    "InvalidRecordError",
    "RunNotFoundError",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
]


class StoreError(TideflowError):
    """A run store could not do what was asked (base class of every store error)."""


class InvalidRecordError(StoreError, ValueError):
    """A record was built with a value the store cannot keep (a naive datetime, an unknown state
    name, a value that is not JSON-serialisable, ...)."""


class DuplicateRunError(StoreError):
    """A flow run with this id, or for this (deployment, scheduled time) slot, already exists."""


class RunNotFoundError(StoreError, LookupError):
    """No flow run has this id or id prefix."""


class DeploymentNotFoundError(StoreError, LookupError):
    """No deployment has this name."""


class AmbiguousRunError(StoreError, LookupError):
    """A run id prefix matches more than one flow run."""


class SchemaVersionError(StoreError):
    """The database was written by a newer Tideflow whose schema this release does not know."""


class StoreCorruptError(StoreError):
    """The store's file or tables are not a readable Tideflow run store."""


class StoreLockedError(StoreError):
    """Another connection held the database's write lock for longer than the busy timeout."""


class StoreClosedError(StoreError):
    """The store was used after :meth:`~tideflow.store.base.RunStore.close`."""
