"""A flow as data and as a file: ``serialize``, ``serialized_hash``, ``save`` and ``load``.

:func:`serialize` describes a flow as a JSON-compatible dict: its name and slug, its schedule in
words, its parameters (name, default, required), every task (slug, name, type, tags, options) and
every edge. It is what changes when the flow's shape changes, so :func:`serialized_hash` (a
SHA-256 of it) tells two versions of a flow apart. It holds no code: to keep a whole flow, tasks'
functions included, :func:`save` pickles it with cloudpickle, under ``$TIDEFLOW_HOME/flows/<slug>``
unless a path is given, and :func:`load` reads it back.

Prefect 1's ``flow.register()`` and ``flow.run_agent()`` talked to Prefect Cloud or Server;
Tideflow has no server to register with, and :func:`not_in_tideflow` says what replaces them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tideflow import visualization
from tideflow.errors import FlowLoadError, TideflowError

if TYPE_CHECKING:
    from tideflow.flow import Flow
    from tideflow.states import State
    from tideflow.task import Task

SERIALIZED_VERSION = 1
_MAGIC = b"tideflow-flow\n"  # written before the pickle, so a stray file is told apart at once


def _json(value: Any) -> Any:
    """``value`` if JSON can hold it, else its ``repr``."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _type_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _task(flow: Flow, task: Task) -> dict[str, Any]:
    trigger = task.trigger
    return {
        "slug": flow.key(task),
        "name": task.name,
        "type": _type_name(task),
        "tags": sorted(task.tags),
        "max_retries": task.max_retries,
        "retry_delay": task.retry_delay,
        "timeout": task.timeout,
        "trigger": getattr(trigger, "__name__", repr(trigger)) if trigger else "all_successful",
        "skip_on_upstream_skip": task.skip_on_upstream_skip,
        "mapped": any(e.mapped for e in flow.edges_to(task)),
        "constants": {k: _json(v) for k, v in sorted(flow.constants.get(task, {}).items())},
    }


def serialize(flow: Flow) -> dict[str, Any]:
    """The flow as a JSON-compatible dict (see the module docstring)."""
    schedule = flow.schedule
    describe = getattr(schedule, "describe", None)
    return {
        "version": SERIALIZED_VERSION,
        "type": _type_name(flow),
        "name": flow.name,
        "slug": flow.slug,
        "schedule": None if schedule is None else describe() if describe else repr(schedule),
        "executor": None if flow.executor is None else _type_name(flow.executor),
        "parameters": [
            {
                "name": p.name,
                "slug": flow.key(p),
                "default": _json(p.default),
                "required": p.required,
            }
            for p in sorted(flow.parameters(), key=lambda p: p.name)
        ],
        "tasks": [_task(flow, t) for t in flow.sorted_tasks()],
        "edges": flow.graph.to_dict()["edges"],
        "reference_tasks": sorted(flow.key(t) for t in flow.reference_tasks()),
    }


def serialized_hash(flow: Flow) -> str:
    """A SHA-256 hex digest of :func:`serialize`: equal for flows of the same shape."""
    text = json.dumps(serialize(flow), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def flows_folder() -> Path:
    return Path(os.environ.get("TIDEFLOW_HOME") or "~/.tideflow").expanduser() / "flows"


def save(flow: Flow, path: str | os.PathLike[str] | None = None) -> Path:
    """Pickle ``flow`` (with cloudpickle) to ``path`` or ``$TIDEFLOW_HOME/flows/<slug>``."""
    import cloudpickle

    target = Path(path) if path is not None else flows_folder() / flow.slug
    target.parent.mkdir(parents=True, exist_ok=True)
    data = cloudpickle.dumps(flow)
    target.write_bytes(_MAGIC + data)
    return target


def load(path: str | os.PathLike[str]) -> Flow:
    """The flow saved at ``path``, or under that name in ``$TIDEFLOW_HOME/flows``."""
    from tideflow import flow_edit
    from tideflow.flow import Flow

    target = Path(path)
    if not target.exists() and not target.is_absolute() and len(target.parts) == 1:
        target = flows_folder() / flow_edit.slugify(str(path))
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise FlowLoadError(
            f"cannot load a flow from {os.fspath(path)!r}: {exc.strerror}"
        ) from None
    if not data.startswith(_MAGIC):
        raise FlowLoadError(
            f"{os.fspath(target)!r} is not a flow saved by flow.save(); save one with flow.save()"
        )
    try:
        flow = pickle.loads(data[len(_MAGIC) :])
    except Exception as exc:
        raise FlowLoadError(
            f"cannot load the flow saved in {os.fspath(target)!r}: {type(exc).__name__}: {exc} "
            "(was it saved with other versions of its modules or of Python?)"
        ) from None
    if not isinstance(flow, Flow):
        raise FlowLoadError(f"{os.fspath(target)!r} holds a {type(flow).__name__}, not a flow")
    return flow


def not_in_tideflow(flow: Flow, what: str) -> TideflowError:
    """The error of Prefect 1's server-side methods, saying what to use instead."""
    advice = {
        "register": (
            f"flow.register() is Prefect 1's; Tideflow has no server to register with: deploy "
            f"it with `tideflow deploy FILE.py:flow --name {flow.slug}` (or a tideflow.toml) "
            "and run it with `tideflow serve`"
        ),
        "run_agent": (
            "flow.run_agent() is Prefect 1's; in Tideflow `tideflow serve` runs every "
            "deployment on its schedule (deploy the flow first with `tideflow deploy`)"
        ),
    }
    return TideflowError(advice[what])


class FlowFiles:
    """Drawing, serialising and saving methods, mixed into :class:`~tideflow.flow.Flow`."""

    __slots__ = ()

    @property
    def _flow(self) -> Flow:
        return cast("Flow", self)

    def visualize(
        self,
        flow_state: State | None = None,
        filename: str | os.PathLike[str] | None = None,
        format: str | None = None,
        horizontal: bool = False,
    ) -> Any:
        """Draw the flow, its tasks coloured by their states in ``flow_state`` when given.

        With Graphviz (``pip install 'tideflow[viz]'``): shown inline in a notebook, else
        rendered to ``filename`` (default ``$TIDEFLOW_HOME/graphs/<slug>``) as ``format``
        (default pdf); returns the ``graphviz.Digraph``. Without it: the Mermaid text.
        """
        return visualization.visualize(self._flow, flow_state, filename, format, horizontal)

    def to_mermaid(self, flow_state: State | None = None, horizontal: bool = False) -> str:
        """The flow as Mermaid flowchart text (no Graphviz needed)."""
        return visualization.mermaid(self._flow, flow_state, horizontal)

    def _repr_svg_(self) -> str | None:
        return visualization.svg(self._flow)

    def serialize(self, build: bool = False) -> dict[str, Any]:
        """The flow as a JSON-compatible dict (``build`` is accepted for Prefect 1 code)."""
        return serialize(self._flow)

    def serialized_hash(self, build: bool = False) -> str:
        """A hash of :meth:`serialize`: it changes when the flow's shape changes."""
        return serialized_hash(self._flow)

    def save(self, fpath: str | os.PathLike[str] | None = None) -> Path:
        """Pickle the flow to ``fpath`` (default ``$TIDEFLOW_HOME/flows/<slug>``); the path."""
        return save(self._flow, fpath)

    @classmethod
    def load(cls, fpath: str | os.PathLike[str]) -> Flow:
        """A flow saved with :meth:`save`, from its path or its name."""
        return load(fpath)

    def register(self, *args: Any, **kwargs: Any) -> None:
        """Prefect 1's registration with a server: replaced by ``tideflow deploy``."""
        raise not_in_tideflow(self._flow, "register")

    def run_agent(self, *args: Any, **kwargs: Any) -> None:
        """Prefect 1's agent: replaced by ``tideflow serve``."""
        raise not_in_tideflow(self._flow, "run_agent")
