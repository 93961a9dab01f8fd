"""Resuming a failed run from its failed tasks: what ``tideflow retry RUN --from-failed`` reruns.

:func:`resume_states` reads what the earlier attempts of run ``run_id`` left in the run store
(each task's last state, and its value: kept in the store by ``checkpoint=True`` or a
``PrefectResult``, or at the location a ``Result`` wrote it to) and returns the ``task_states`` for
``flow.run``: every task that succeeded and need not run again, given its finished state and
value, so the engine does not run it. A task runs again when:

- it did not succeed (failed, trigger failed, cancelled, never ran; a mapped task with a child
  that did not succeed, or from an attempt that crashed or was cancelled, which may have left
  children unstarted), or
- it is downstream of a task that runs again (its inputs may change), or
- a task that runs again needs its value and the value cannot be read back (nothing was kept,
  the file is gone or unreadable).

Parameters are never restored: they run again and give the run's parameters, which a retry keeps.
A task that succeeded and whose value nobody needs is restored without reading it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tideflow.engine.persistence import LOCATION_ARTIFACT
from tideflow.engine.results import LocalResult
from tideflow.flow import Flow
from tideflow.lifecycle import FINAL
from tideflow.parameter import Parameter
from tideflow.states import Mapped, State, Success, state_from_name
from tideflow.store.base import RunStore
from tideflow.store.records import Event

__all__ = ["Resumed", "from_failed_requested", "resume_states"]

log = logging.getLogger("tideflow.flow")

Unit = tuple[str, int | None]


@dataclass
class Resumed:
    """What :func:`resume_states` decided: the states to give, and the keys that run again."""

    task_states: dict[str, State] = field(default_factory=dict)
    rerun: list[str] = field(default_factory=list)


def from_failed_requested(store: RunStore, run_id: str, attempt: int) -> bool:
    """Whether attempt ``attempt`` of run ``run_id`` was asked for with ``from_failed``: the
    latest ``retry`` action recorded for the run (see :func:`tideflow.actions.retry`) says so."""
    retries: list[Event] = [
        e for e in store.events(kinds=["action"], flow_run_id=run_id) if e.name == "retry"
    ]
    if not retries:
        return False
    latest = retries[-1].data
    return bool(latest.get("from_failed")) and latest.get("attempt") == attempt


def resume_states(flow: Flow, store: RunStore, run_id: str) -> Resumed:
    """See the module docstring."""
    last: dict[Unit, str] = {}
    for change in store.task_states(run_id):
        last[(change.task_key, change.map_index)] = change.state
    kept: dict[Unit, Any] = {}
    locations: dict[Unit, str] = {}
    for row in store.results(run_id):
        unit = (row.task_key or "", row.map_index)
        if row.kind == "result":
            kept[unit] = row.value
        elif row.kind == "artifact" and row.name == LOCATION_ARTIFACT:
            locations[unit] = row.value
    children: dict[str, list[int]] = {}
    for key, index in last:
        if index is not None:
            children.setdefault(key, []).append(index)
    # A mapped task's own (parent) state is not recorded, only its children's. After an attempt
    # that was cut short (crashed, cancelled), children that never started have no rows at all,
    # so a mapped task is restored only from an attempt that ended by itself.
    whole = _ended_by_itself(store, run_id)

    graph = flow.graph
    order = graph.toposort()
    params = {k for k in order if isinstance(flow.task(k), Parameter)}

    def succeeded(key: str) -> bool:
        if key in children:
            indexes = sorted(children[key])
            return (
                whole
                and indexes == list(range(len(indexes)))
                and all(last[(key, i)] in _SUCCESS for i in indexes)
            )
        return last.get((key, None)) in _SUCCESS

    reader = _Reader(flow, kept, locations)
    rerun = {k for k in order if k not in params and not succeeded(k)}
    while True:
        before = len(rerun)
        for key in order:  # downstream of a rerun task: its inputs may change
            if key in rerun or key in params:
                continue
            if any(u in rerun for u in graph.upstream(key)):
                rerun.add(key)
        for key in list(rerun):  # a value a rerun task needs, that cannot be read back
            for edge in graph.upstream_edges(key):
                up = edge.upstream
                carries = edge.key is not None or edge.mapped or edge.flattened
                if not carries or up in rerun or up in params:
                    continue
                if not reader.known(up, last, children):
                    rerun.add(up)
        if len(rerun) == before:
            break

    needed = {
        e.upstream
        for key in rerun
        for e in graph.upstream_edges(key)
        if e.key is not None or e.mapped or e.flattened
    }
    resumed = Resumed(rerun=[k for k in order if k in rerun])
    for key in order:
        if key in rerun or key in params:
            continue
        resumed.task_states[key] = reader.state(key, last, children, key in needed)
    return resumed


_SUCCESS = frozenset({"Success", "Cached", "Skipped"})


class _Reader:
    """Reads back the values of the earlier attempts, each at most once."""

    def __init__(self, flow: Flow, kept: dict[Unit, Any], locations: dict[Unit, str]) -> None:
        self.flow = flow
        self.kept = kept
        self.locations = locations
        self._read: dict[Unit, tuple[bool, Any]] = {}

    def value(self, unit: Unit) -> tuple[bool, Any]:
        if unit in self._read:
            return self._read[unit]
        found: tuple[bool, Any] = (False, None)
        if unit in self.kept:
            found = (True, self.kept[unit])
        elif unit in self.locations:
            found = _read_back(self._result_of(unit[0]), self.locations[unit])
        self._read[unit] = found
        return found

    def _result_of(self, key: str) -> Any:
        task = self.flow.task(key)
        result = task.result or getattr(self.flow, "result", None)
        return result if result is not None else LocalResult(validate_dir=False)

    def known(self, key: str, last: dict[Unit, str], children: dict[str, list[int]]) -> bool:
        if key in children:
            return all(
                last[(key, i)] == "Skipped" or self.value((key, i))[0] for i in children[key]
            )
        if last.get((key, None)) == "Skipped":
            return True
        return self.value((key, None))[0]

    def state(
        self, key: str, last: dict[Unit, str], children: dict[str, list[int]], needed: bool
    ) -> State:
        message = "Restored from an earlier attempt of this run."
        if key in children:
            states = []
            for i in sorted(children.get(key, [])):
                value = self.value((key, i))[1] if needed else None
                states.append(_restored(last[(key, i)], message, value))
            return Mapped(message, [s.result for s in states], map_states=states)
        name = last[(key, None)]
        value = self.value((key, None))[1] if needed and name != "Skipped" else None
        return _restored(name, message, value)


def _ended_by_itself(store: RunStore, run_id: str) -> bool:
    """Whether the latest attempt of run ``run_id`` that ended did not crash nor was cancelled."""
    ended = [
        e.name for e in store.events(kinds=["flow_run"], flow_run_id=run_id) if e.name in FINAL
    ]
    return not ended or ended[-1] not in _CUT_SHORT


_CUT_SHORT = frozenset({"Crashed", "Cancelled"})


def _restored(name: str, message: str, value: Any) -> State:
    cls: Callable[..., State] = state_from_name(name)
    if not issubclass(state_from_name(name), Success):
        raise ValueError(f"cannot restore a task from state {name}")
    return cls(message, value)


def _read_back(result: Any, location: str) -> tuple[bool, Any]:
    try:
        if not result.exists(location):
            return False, None
        return True, result.read(location).value
    except Exception as exc:
        log.warning("The result at %s cannot be read back (%s); its task runs again", location, exc)
        return False, None
