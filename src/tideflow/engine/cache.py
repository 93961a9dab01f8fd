"""The task cache: ``Cached`` states kept as files, readable by any later process.

A task with ``cache_for`` keeps each success here, under its *cache key*: the task's
``cache_key`` when given (shared by every task and flow that names it), else the flow's name and
the task's key in the flow (``"etl/load"``), so that two flows, or two copies of one task in a
flow, never read each other's values by accident. A mapped child adds its index (``[3]``).

Layout, under ``$TIDEFLOW_HOME/cache`` (``0700``; every file ``0600``, written atomically)::

    cache/<key, made file-safe>-<hash of key>/<fingerprint>-<expiry ms>.entry

One file per distinct (inputs, parameters) fingerprint, so ``all_inputs`` can keep a value per
input; a new write with the same fingerprint replaces the old file. A file holds a small header
and the pickled (cloudpickle) entry: the value, the expiry, the parameters, and the inputs when
the validator needs them. Expired files are deleted when the key is next written, and a key
keeps at most :data:`MAX_ENTRIES` files.

A file that cannot be read (truncated, written by another version, unpicklable) is reported as a
warning naming it, deleted, and treated as a miss: the task runs and writes a fresh entry. A cache
that cannot be written is a warning too; the run goes on. Every hit unpickles its entry afresh,
so a run that changes a cached value in place never changes what the next hit gets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import cloudpickle

from tideflow.engine.results import write_private
from tideflow.states import Cached

__all__ = ["MAX_ENTRIES", "CacheStore", "cache_key_for"]

MAGIC = b"tideflow-cache 1\n"
MAX_ENTRIES = 64
_MEMO_LIMIT = 4096
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

log = logging.getLogger("tideflow.cache")


def cache_key_for(cache_key: str | None, flow_name: str, task_key: str, index: int | None) -> str:
    """The key a task's entries live under (see the module docstring)."""
    key = cache_key if cache_key is not None else f"{flow_name}/{task_key}"
    return key if index is None else f"{key}[{index}]"


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str
    fingerprint: str
    expires_ms: int


class CacheStore:
    """The cache under ``root`` (see the module docstring)."""

    _folders: ClassVar[dict[str, str]] = {}  # key -> its folder's name

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)

    def folder(self, key: str) -> str:
        name = self._folders.get(key)
        if name is None:
            digest = hashlib.sha256(key.encode()).hexdigest()[:16]
            name = f"{_UNSAFE.sub('_', key)[:60]}-{digest}"
            if len(self._folders) >= _MEMO_LIMIT:
                self._folders.clear()
            self._folders[key] = name
        return f"{self.root}{os.sep}{name}"

    def candidates(self, key: str, now: datetime) -> Iterator[Cached]:
        """The unexpired entries of ``key``, newest expiry first, each read when it is reached
        (a validator that accepts the first one costs one file read)."""
        folder = self.folder(key)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("Cannot read the cache folder %s (%s); running the task", folder, exc)
            return
        limit = _ms(now)
        entries = [e for e in (_parse(folder, n) for n in names) if e and e.expires_ms > limit]
        if len(entries) > 1:
            entries.sort(key=lambda e: e.expires_ms, reverse=True)
        for entry in entries:
            state = self._load(entry.path)
            if state is not None:
                yield state

    def _load(self, path: str) -> Cached | None:
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:  # another process replaced it meanwhile
            return None
        except OSError as exc:
            log.warning("Cannot read the cache entry %s (%s); running the task", path, exc)
            return None
        try:
            if not data.startswith(MAGIC):
                raise ValueError("it is not a Tideflow cache entry")
            fields = cloudpickle.loads(data[len(MAGIC) :])
            state = Cached(
                fields["message"],
                fields["value"],
                cached_inputs=fields["inputs"],
                cached_parameters=fields["parameters"],
                cached_result_expiration=fields["expiration"],
                timestamp=fields["written"],
            )
        except Exception as exc:
            log.warning(
                "The cache entry %s cannot be read (%s: %s); it is deleted and the task runs",
                path,
                type(exc).__name__,
                exc,
            )
            _unlink(path)
            return None
        return state

    def put(self, key: str, state: Cached, now: datetime, *, keep_inputs: bool) -> str | None:
        """Keep ``state`` under ``key``; its file, or None (with a warning) if it cannot be."""
        folder = self.folder(key)
        inputs = state.cached_inputs if keep_inputs else None
        try:
            blob = cloudpickle.dumps(
                {
                    "key": key,
                    "message": state.message,
                    "value": state.result,
                    "inputs": inputs,
                    "parameters": state.cached_parameters,
                    "expiration": state.cached_result_expiration,
                    "written": state.timestamp,
                }
            )
            fingerprint = _fingerprint(inputs, state.cached_parameters)
        except Exception as exc:
            log.warning(
                "Cannot keep %r's result in the cache (%s: %s); it will run again next time",
                key,
                type(exc).__name__,
                exc,
            )
            return None
        expiration = state.cached_result_expiration
        expires_ms = _ms(expiration) if expiration is not None else 10**13 - 1
        path = os.path.join(folder, f"{fingerprint}-{expires_ms:013d}.entry")
        try:
            self._prune(folder, fingerprint, _ms(now))
            write_private(Path(path), MAGIC + blob)
        except Exception as exc:
            log.warning("Cannot write the cache entry %s (%s); the run goes on", path, exc)
            return None
        return path

    def _prune(self, folder: str, fingerprint: str, now_ms: int) -> None:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        kept = []
        for entry in (_parse(folder, n) for n in names):
            if entry is None:
                continue
            if entry.fingerprint == fingerprint or entry.expires_ms <= now_ms:
                _unlink(entry.path)
            else:
                kept.append(entry)
        kept.sort(key=lambda e: e.expires_ms)
        for entry in kept[: max(len(kept) - MAX_ENTRIES + 1, 0)]:
            _unlink(entry.path)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _parse(folder: str, name: str) -> _Entry | None:
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix != "entry":
        return None
    fingerprint, _, expires = stem.rpartition("-")
    if not fingerprint or not expires.isdigit():
        return None
    return _Entry(f"{folder}{os.sep}{name}", fingerprint, int(expires))


def _ms(when: datetime) -> int:
    return int(when.astimezone(UTC).timestamp() * 1000)


def _fingerprint(inputs: dict[str, Any] | None, parameters: dict[str, Any] | None) -> str:
    digest = hashlib.sha256(cloudpickle.dumps(inputs))
    digest.update(json.dumps(parameters, sort_keys=True, default=repr).encode())
    return digest.hexdigest()[:32]
