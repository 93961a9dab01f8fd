"""Flows of flows: a task starts another run, waits for it, and reads its tasks' results.

The target of a child run is either a **deployment** (by name) or a **Flow object**:

- a deployment's child is a triggered run (:func:`tideflow.actions.trigger`) that a live
  ``tideflow serve`` launches in a process of its own, like any run of that deployment (its
  environment, interpreter, timeout and retries);
- a Flow object's child runs here and now, in the calling process, as a run of its own recorded
  in the same store (a Flow object built in a notebook or script may not be importable by another
  process, so it cannot be shipped to one; running it in place also keeps its logs beside the
  parent's). :func:`start_run` returns once it has finished, so waiting for it returns at once.

Either way the child records the run and the task that started it (``parent_run_id`` and
``parent_task``, ``key`` or ``key[i]`` for a mapped child), which ``tideflow runs show`` shows on
both sides, and cancelling the parent with ``tideflow cancel`` cancels its unfinished children.
A task that is retried finds the child it started before (the same parent run and task) and
re-attaches to it while that child is still going or has succeeded; a child that failed or was
cancelled gets a fresh run, so retrying the parent task retries the child.

Results. :func:`task_result` reads a child task's value from the store, where tasks marked
``checkpoint=True`` keep their JSON-serialisable return values. A Flow-object child that ran in
this process keeps every task's value in memory as well, whatever its type, for the tasks of
this process to read.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tideflow import actions
from tideflow.clock import SYSTEM_CLOCK, Clock
from tideflow.context import context
from tideflow.engine.api import run_once
from tideflow.engine.parameters import resolve_parameters
from tideflow.errors import TideflowError
from tideflow.flow import Flow
from tideflow.states import Failed, Mapped, State, state_from_name
from tideflow.store import FlowRunRecord, RunNotFoundError, RunStore

__all__ = [
    "FlowRunView",
    "SubflowError",
    "current_parent",
    "start_run",
    "task_result",
    "wait_for_run",
]

POLL_FIRST = 0.1
"""Seconds before the first look at a child run again; doubled after each look ..."""
POLL_MAX = 2.0
"""... up to this: a child is seen finished at most this long after it finishes."""
REMEMBERED = 256
"""How many Flow-object children's final states this process keeps for reading back."""

_LOCAL: OrderedDict[str, State] = OrderedDict()
_LOCAL_LOCK = threading.Lock()


class SubflowError(TideflowError, ValueError):
    """A child run cannot be started, waited for or read as asked (the message says why)."""


@dataclass(frozen=True)
class FlowRunView:
    """A child run as last seen: its id, its state (a :class:`~tideflow.states.State`; a run
    recorded ``Crashed`` is a :class:`~tideflow.states.Crashed`, a ``Failed``) and, when it is
    recorded, its store record."""

    flow_run_id: str
    state: State
    record: FlowRunRecord | None = None

    def __repr__(self) -> str:
        return f"<FlowRunView {self.flow_run_id}: {self.state.name}>"


def current_parent() -> tuple[str, str] | None:
    """(run id, task) of the task running now, as a child names its parent; None outside one."""
    run_id = context.get("flow_run_id")
    key = context.get("task_key")
    if run_id is None or key is None:
        return None
    index = context.get("map_index")
    return str(run_id), key if index is None else f"{key}[{index}]"


def start_run(
    target: str | Flow,
    parameters: Mapping[str, Any] | None = None,
    *,
    store: RunStore | None,
    at: datetime,
    parent: tuple[str, str] | None = None,
    run_name: str | None = None,
) -> str:
    """Start a child run of ``target`` (a deployment's name, or a Flow object); its run id.

    Raises:
        SubflowError: a deployment is named but there is no store to create its run in.
        DeploymentNotFoundError: no deployment is called ``target``.
        ParameterError: ``parameters`` do not fit the Flow object's parameters.
    """
    existing = _previous_child(store, target, parent)
    if existing is not None:
        return existing
    if isinstance(target, Flow):
        return _run_flow(target, parameters, store=store, parent=parent)
    if store is None:
        raise SubflowError(
            f"cannot start a run of deployment {target!r}: this run records into no store "
            "(TIDEFLOW_STORE=off, or store=None), so no service could see the new run; record "
            "the parent run in the store the service uses"
        )
    return actions.trigger(store, target, parameters, at=at, parent=parent, run_name=run_name).id


def _previous_child(
    store: RunStore | None, target: str | Flow, parent: tuple[str, str] | None
) -> str | None:
    """The child this very task started on an earlier attempt, still going or succeeded."""
    if store is None or parent is None:
        return None
    try:
        children = store.list_flow_runs(parent_run_id=parent[0], limit=None)
    except TideflowError:
        return None
    for child in children:
        if isinstance(target, Flow):
            same = child.deployment is None and child.flow_name == target.name
        else:
            same = child.deployment == target
        going = not child.is_finished or state_from_name(child.state)().is_successful()
        if same and child.parent_task == parent[1] and going:
            logging.getLogger("tideflow.flow").info(
                "Re-attached to child run %s, started by an earlier attempt", child.id
            )
            return child.id
    return None


def _run_flow(
    flow: Flow,
    parameters: Mapping[str, Any] | None,
    *,
    store: RunStore | None,
    parent: tuple[str, str] | None,
) -> str:
    values = resolve_parameters(flow, dict(parameters or {}))
    flow.validate()
    run_id = str(uuid.uuid4())
    state = run_once(flow, values, flow_run_id=run_id, store=store, parent=parent)
    with _LOCAL_LOCK:
        _LOCAL[run_id] = state
        while len(_LOCAL) > REMEMBERED:
            _LOCAL.popitem(last=False)
    return run_id


def _local(run_id: str) -> State | None:
    with _LOCAL_LOCK:
        return _LOCAL.get(run_id)


def _view(record: FlowRunRecord) -> FlowRunView:
    try:
        cls = state_from_name(record.state)
    except ValueError:
        cls = Failed
    return FlowRunView(record.id, cls(record.state_message), record)


def wait_for_run(
    flow_run_id: str,
    *,
    store: RunStore | None,
    clock: Clock = SYSTEM_CLOCK,
    timeout: timedelta | None = None,
    stream_states: bool = True,
    stream_logs: bool = False,
    logger: logging.Logger | None = None,
) -> FlowRunView:
    """Wait until child run ``flow_run_id`` has finished; the run as it ended.

    Looks at the store every :data:`POLL_FIRST` seconds at first, then less often, at most
    every :data:`POLL_MAX` seconds (on ``clock``). With ``stream_states``, each new state of the
    child is logged; with ``stream_logs``, the child's log lines too, prefixed with its id.

    Raises:
        SubflowError: the run is unknown, or has not finished within ``timeout``.
    """
    log = logger or logging.getLogger("tideflow.flow")
    local = _local(flow_run_id)
    if local is not None:
        return FlowRunView(flow_run_id, local)
    if store is None:
        raise SubflowError(
            f"cannot wait for run {flow_run_id}: this run records into no store, and the run "
            "did not run in this process"
        )
    started = clock.now()
    interval = POLL_FIRST
    seen: str | None = None
    last_log: int | None = None
    while True:
        try:
            record = store.get_flow_run(flow_run_id)
        except RunNotFoundError:
            raise SubflowError(f"no flow run has the id {flow_run_id!r} in the store") from None
        if stream_logs:
            for line in store.logs(record.id, after_id=last_log):
                last_log = line.id
                level = logging.getLevelName(line.level)
                log.log(
                    level if isinstance(level, int) else logging.INFO,
                    "[%s] %s",
                    record.id[:8],
                    line.message,
                )
        if stream_states and record.state != seen:
            seen = record.state
            log.info(
                "Child run %s (%s): %s",
                record.id,
                record.deployment or record.flow_name,
                record.state,
            )
        if record.is_finished:
            return _view(record)
        if timeout is not None and clock.now() - started >= timeout:
            raise SubflowError(
                f"child run {record.id} is still {record.state} after {timeout}; raise "
                "max_duration, or look at it with: tideflow runs show " + record.id[:8]
            )
        clock.sleep(interval)
        interval = min(interval * 2, POLL_MAX)


def task_result(
    flow_run_id: str,
    task_slug: str,
    map_index: int = -1,
    *,
    store: RunStore | None,
    clock: Clock = SYSTEM_CLOCK,
) -> Any:
    """The value task ``task_slug`` (its key, e.g. ``"predict-1"``, or its name when only one
    task has it) returned in run ``flow_run_id``; of mapped child ``map_index`` when it is
    >= 0. Waits for the run to finish first.

    Raises:
        SubflowError: the run is unknown, the task is not in it, or it kept no result (a value
            is kept in the store when the task has ``checkpoint=True``).
    """
    local = _local(flow_run_id)
    if local is not None:
        return _from_state(local, flow_run_id, task_slug, map_index)
    view = wait_for_run(flow_run_id, store=store, clock=clock, stream_states=False)
    assert store is not None  # wait_for_run refuses otherwise
    rows = [row for row in store.results(view.flow_run_id) if row.kind == "result"]
    keys = {row.task_key for row in rows} | {t.task_key for t in store.task_runs(flow_run_id)}
    key = _pick_key(task_slug, keys, {row.task_key: row.name for row in rows}, flow_run_id)
    index = None if map_index < 0 else map_index
    for row in rows:
        if row.task_key == key and row.map_index == index:
            return row.value
    if index is None:  # a mapped task keeps one row per child: give the list
        children = sorted(
            (row for row in rows if row.task_key == key and row.map_index is not None),
            key=lambda row: row.map_index or 0,
        )
        if children:
            return [row.value for row in children]
    raise SubflowError(
        f"task {key!r} of run {flow_run_id} kept no result"
        + ("" if index is None else f" for map index {index}")
        + "; give it checkpoint=True to keep its (JSON-serialisable) return value"
    )


def _pick_key(
    slug: str, keys: set[str | None], names: Mapping[str | None, str], run_id: str
) -> str:
    if slug in keys:
        return slug
    named = sorted(str(key) for key in keys if key is not None and names.get(key) == slug)
    named = named or sorted(
        str(key) for key in keys if key is not None and str(key).rsplit("-", 1)[0] == slug
    )
    if len(named) == 1:
        return named[0]
    known = ", ".join(sorted(str(key) for key in keys if key is not None)) or "none"
    what = "several tasks" if named else "no task"
    raise SubflowError(
        f"run {run_id} has {what} called {slug!r}; give a task key (its tasks: {known})"
    )


def _from_state(state: State, run_id: str, slug: str, map_index: int) -> Any:
    keys: dict[Any, str] = state.context.get("task_keys", {})
    by_key = {key: task for task, key in keys.items()}
    names: dict[str | None, str] = {key: task.name for key, task in by_key.items()}
    key = _pick_key(slug, set(by_key), names, run_id)
    task_state: State = state.result[by_key[key]]
    if map_index < 0:
        return task_state.result
    if not isinstance(task_state, Mapped) or map_index >= len(task_state.map_states):
        raise SubflowError(f"task {key!r} of run {run_id} has no mapped child {map_index}")
    return task_state.map_states[map_index].result
