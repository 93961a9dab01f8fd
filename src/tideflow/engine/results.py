"""Results: where a task's return value is written, and read back from (Prefect 1's ``Result``).

A :class:`Result` is a small, picklable description of a place plus a
:class:`~tideflow.engine.serializers.Serializer`. The engine uses it on three occasions:

- after a task succeeds, ``result.write(value, **names)`` keeps the value and returns a copy
  whose ``location`` says where it went (recorded with the task's state in the run history);
- before a task with a ``target`` runs, ``result.exists(target)`` says whether the value is there
  already; if it is, ``result.read(target).value`` is used and the task ends ``Cached`` unrun;
- ``tideflow retry RUN --from-failed`` reads back the results of the tasks that succeeded.

Locations are templates: ``"{flow_name}/{task_name}-{today}.pkl"`` is formatted with the run
context (``flow_name``, ``task_name``, ``today``, ``map_index``, ``flow_run_id``, ...), the flow's
parameters and the task's inputs. Two kinds ship:

- :class:`LocalResult`: a file under ``dir`` (default ``$TIDEFLOW_HOME/results``, created
  ``0700``; files ``0600``, written atomically), pickled by default;
- :class:`PrefectResult`: the value as JSON, kept in the run store beside the task's state (its
  "location" is the JSON text itself), for small values such as counts and ids.

>>> import tempfile
>>> r = LocalResult(dir=tempfile.mkdtemp(), location="{task_name}.pkl")
>>> written = r.write([1, 2], task_name="load")
>>> written.location.endswith("load.pkl"), r.exists("load.pkl"), r.read("load.pkl").value
(True, True, [1, 2])
"""

from __future__ import annotations

import copy
import json
import os
import string
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Self

from tideflow.context import context
from tideflow.engine.serializers import JSONSerializer, PickleSerializer, Serializer
from tideflow.errors import TideflowError

__all__ = [
    "HOME_KEY",
    "LocalResult",
    "PrefectResult",
    "Result",
    "ResultError",
    "format_location",
    "write_private",
]

HOME_KEY = "tideflow_home"
"""The run context key holding the ``TIDEFLOW_HOME`` the run started with (set by the engine),
so that every worker of the run, in any process, uses the same default directories."""


class ResultError(TideflowError):
    """A result cannot be written or read (the message names the location and why)."""


def home() -> Path:
    """The run's ``TIDEFLOW_HOME`` (see :data:`HOME_KEY`), else this process's."""
    given = context.get(HOME_KEY)
    if given:
        return Path(given)
    return Path(os.environ.get("TIDEFLOW_HOME") or "~/.tideflow").expanduser()


def format_location(template: str, names: dict[str, Any], what: str = "location") -> str:
    """``template`` formatted with ``names``; a missing name is one clear error line."""
    try:
        return template.format(**names)
    except KeyError as exc:
        known = sorted(k for k in names if isinstance(k, str) and k.isidentifier())
        raise ResultError(
            f"{what} {template!r} names {{{exc.args[0]}}}, which is neither a context value, "
            f"a parameter nor an input of the task; known names: {', '.join(known)}"
        ) from None
    except (IndexError, ValueError, AttributeError) as exc:
        raise ResultError(f"{what} {template!r} is not a valid template: {exc}") from None


def has_fields(template: str) -> bool:
    """Whether ``template`` has ``{...}`` fields to format."""
    try:
        return any(field is not None for _, field, _, _ in string.Formatter().parse(template))
    except ValueError:
        return True  # a broken template: formatting it reports the problem


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) ``0700`` when missing; a clear error when it cannot be."""
    if path.exists() and not path.is_dir():
        raise ResultError(f"{path} is a file, not a directory; give a directory")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultError(
            f"cannot create the directory {path}: {exc.strerror or exc}; give a directory you "
            "can write"
        ) from None


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a reader sees the old or the new file, never half
    of one), readable by its owner only (``0600``); its directory is created ``0700``."""
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp files are 0600 already
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Result:
    """Where a value goes and how it is serialised; subclass it for another place.

    Args:
        value: the value held (set by :meth:`read` and :meth:`write`).
        location: a template for where :meth:`write` puts values (default: chosen per task
            run by the engine, see :meth:`default_location`).
        serializer: how values become bytes (default depends on the subclass).
    """

    default_serializer: ClassVar[type[Serializer]] = PickleSerializer
    keeps_value_in_store: ClassVar[bool] = False
    """True when the value itself is kept in the run store (:class:`PrefectResult`)."""

    def __init__(
        self,
        value: Any = None,
        location: str | None = None,
        serializer: Serializer | None = None,
    ) -> None:
        if location is not None and not isinstance(location, str):
            raise TypeError(f"{type(self).__name__}: location must be a string, got {location!r}")
        if serializer is not None and not isinstance(serializer, Serializer):
            raise TypeError(
                f"{type(self).__name__}: serializer must be a tideflow.engine.serializers."
                f"Serializer such as PickleSerializer() or JSONSerializer(), got {serializer!r}"
            )
        self.value = value
        self.location = location
        self.serializer = serializer if serializer is not None else self.default_serializer()

    def copy(self) -> Self:
        """A shallow copy (the engine never changes a task's own result object)."""
        return copy.copy(self)

    def format(self, **names: Any) -> Self:
        """A copy whose ``location`` is this one's template formatted with ``names``."""
        new = self.copy()
        if self.location is not None:
            new.location = format_location(self.location, names)
        return new

    def exists(self, location: str, **names: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must define exists()")

    def read(self, location: str) -> Self:
        raise NotImplementedError(f"{type(self).__name__} must define read()")

    def write(self, value_: Any, **names: Any) -> Self:
        raise NotImplementedError(f"{type(self).__name__} must define write()")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.location!r}>"


class LocalResult(Result):
    """Values as files in a directory of this machine (or a shared file system).

    Args:
        dir: the directory (default ``$TIDEFLOW_HOME/results``); a relative ``location`` is
            under it, an absolute one is used as it is.
        validate_dir: create ``dir`` now (``0700``) and fail here if that is impossible.
        location: a template, e.g. ``"{flow_name}/{task_name}-{today}.pkl"``.
        serializer: default :class:`~tideflow.engine.serializers.PickleSerializer`.
    """

    def __init__(
        self,
        dir: str | os.PathLike[str] | None = None,
        validate_dir: bool = True,
        location: str | None = None,
        serializer: Serializer | None = None,
        value: Any = None,
    ) -> None:
        super().__init__(value=value, location=location, serializer=serializer)
        self.dir = None if dir is None else os.path.abspath(os.path.expanduser(os.fspath(dir)))
        if validate_dir and self.dir is not None:
            make_private_dir(Path(self.dir))

    def path(self, location: str) -> Path:
        """Where ``location`` is on disk."""
        base = Path(self.dir) if self.dir is not None else home() / "results"
        return base / location

    def exists(self, location: str, **names: Any) -> bool:
        if names:
            location = format_location(location, names)
        return self.path(location).is_file()

    def read(self, location: str) -> Self:
        new = self.copy()
        new.location = location
        path = self.path(location)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ResultError(f"cannot read the result at {path}: {exc.strerror or exc}") from None
        try:
            new.value = self.serializer.deserialize(data)
        except Exception as exc:
            raise ResultError(
                f"the result at {path} cannot be read with {self.serializer!r} "
                f"({type(exc).__name__}: {exc}); delete it to have it written again"
            ) from None
        return new

    def write(self, value_: Any, **names: Any) -> Self:
        new = self.format(**names)
        if new.location is None:
            raise ResultError(f"{self!r} has no location to write to; give location=...")
        path = self.path(new.location)
        try:
            data = self.serializer.serialize(value_)
        except Exception as exc:
            raise ResultError(
                f"cannot serialise a {type(value_).__name__} with {self.serializer!r} for "
                f"{path}: {exc}"
            ) from None
        try:
            write_private(path, data)
        except OSError as exc:
            raise ResultError(f"cannot write the result to {path}: {exc.strerror or exc}") from None
        new.location = str(path)
        new.value = value_
        return new

    def __repr__(self) -> str:
        return f"<LocalResult: dir={self.dir!r}, location={self.location!r}>"


class PrefectResult(Result):
    """Small JSON values kept in the run store with the task's state; the "location" is the
    JSON text itself, so reading never touches a file.

    >>> PrefectResult().write({"rows": 3}).location
    '{"rows": 3}'
    """

    default_serializer = JSONSerializer
    keeps_value_in_store = True

    def exists(self, location: str, **names: Any) -> bool:
        try:
            json.loads(location)
        except (TypeError, ValueError):
            return False
        return True

    def read(self, location: str) -> Self:
        new = self.copy()
        new.location = location
        try:
            new.value = self.serializer.deserialize(location.encode())
        except Exception as exc:
            raise ResultError(f"PrefectResult cannot read {location!r}: {exc}") from None
        return new

    def write(self, value_: Any, **names: Any) -> Self:
        new = self.copy()
        try:
            new.location = self.serializer.serialize(value_).decode()
        except Exception as exc:
            raise ResultError(
                f"PrefectResult keeps JSON values only; a {type(value_).__name__} is not one "
                f"({exc}). Use LocalResult() for other values."
            ) from None
        new.value = value_
        return new
