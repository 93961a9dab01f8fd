"""The engine's entry point behind ``flow.run()``: check parameters, pick the executor, run.

``run`` runs a flow once now, or, when the flow has a schedule and ``run_on_schedule`` is not
False, at each of its fire times (see :mod:`tideflow.engine.scheduled`).

The run context a task sees is built here: ``flow_name``, ``flow_run_id`` (a new uuid4 per run),
``scheduled_start_time`` (the fire time, or the start time of an unscheduled run), ``date`` (the
same instant, so a backfilled run sees the day it stands for), ``today``, ``yesterday``,
``tomorrow`` (``YYYY-MM-DD``) and their ``*_nodash`` forms, and ``parameters``. Values passed
with ``context={...}`` are layered on top.

Every run is recorded in the run store (:func:`tideflow.store.default_store`: SQLite in
``$TIDEFLOW_HOME`` unless configured otherwise) unless ``TIDEFLOW_STORE=off`` or
``store=None``; ``store=`` also takes any :class:`~tideflow.store.base.RunStore`. A default store
that cannot be opened is reported as a warning and the run goes on unrecorded.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from tideflow.clock import SYSTEM_CLOCK, Clock
from tideflow.engine import scheduled
from tideflow.engine.flow_runner import FlowRunner
from tideflow.engine.limits import SlotGate
from tideflow.engine.logs import ensure_handler, flow_logger
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.engine.parameters import resolve_parameters
from tideflow.engine.progress import ProgressBar, progress_wanted
from tideflow.engine.run_stores import STORE_URL_KEY, registered, url_of
from tideflow.executors.base import Executor
from tideflow.executors.local import LocalExecutor
from tideflow.flow import Flow
from tideflow.states import State

if TYPE_CHECKING:
    from tideflow.store.base import RunStore


class _Default(enum.Enum):
    STORE = "the configured run store"


DEFAULT_STORE: Final = _Default.STORE
"""``store=`` default: record into :func:`tideflow.store.default_store`."""


def run(
    flow: Flow,
    parameters: Mapping[str, Any] | None = None,
    run_on_schedule: bool | None = None,
    *,
    executor: Executor | None = None,
    context: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    observers: Sequence[RunObserver] = (),
    flow_run_id: str | None = None,
    scheduled_start_time: datetime | None = None,
    progress: bool | None = None,
    store: RunStore | _Default | None = DEFAULT_STORE,
    task_states: Mapping[Any, State] | None = None,
    state: State | None = None,
    **named_parameters: Any,
) -> State:
    """Run ``flow``; see :meth:`tideflow.Flow.run`.

    ``task_states={task: state}`` gives tasks their states up front: a task given a finished
    state does not run and its result feeds its downstream tasks (Prefect 1's semantics).
    ``state``: a finished flow-run state is returned as it is, without running anything.
    """
    declared = {p.name for p in flow.parameters()}
    return_tasks = (
        None if "return_tasks" in declared else named_parameters.pop("return_tasks", None)
    )
    if "state" in declared and state is not None:  # a parameter named like the run option
        named_parameters["state"], state = state, None
    if state is not None and state.is_finished():
        flow_logger().info("Flow run is already %s; nothing runs.", state.name)
        return state
    given = {**(parameters or {}), **named_parameters}
    values = resolve_parameters(flow, given)
    flow.validate()
    options: dict[str, Any] = {
        "executor": executor,
        "context": context,
        "clock": clock,
        "observers": observers,
        "progress": progress,
        "store": store,
        "task_states": _task_keys(flow, task_states),
    }
    if flow.schedule is not None and run_on_schedule is not False:

        def one_run(
            flow: Flow, parameters: dict[str, Any], *, scheduled_start_time: datetime
        ) -> State:
            return run_once(flow, parameters, scheduled_start_time=scheduled_start_time, **options)

        state = scheduled.run_on_schedule(flow, given, one_run, clock=clock)
    else:
        state = run_once(
            flow,
            values,
            flow_run_id=flow_run_id,
            scheduled_start_time=scheduled_start_time,
            **options,
        )
    if return_tasks is not None:  # Prefect 1's option: only these tasks' states in the result
        wanted = set(return_tasks)
        state.result = {t: s for t, s in state.result.items() if t in wanted}
    return state


def run_once(
    flow: Flow,
    parameters: dict[str, Any],
    *,
    executor: Executor | None = None,
    context: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    observers: Sequence[RunObserver] = (),
    flow_run_id: str | None = None,
    scheduled_start_time: datetime | None = None,
    progress: bool | None = None,
    store: RunStore | _Default | None = DEFAULT_STORE,
    deployment: str | None = None,
    claimed: bool = False,
    parent: tuple[str, str] | None = None,
    task_states: Mapping[str, State] | None = None,
) -> State:
    """One run of ``flow`` with already-checked ``parameters``, recorded in ``store``.

    ``deployment`` names the deployment the run belongs to; ``claimed`` says its row already
    exists with id ``flow_run_id`` (the service created it) and is moved to Running.
    ``parent`` names the run and task that started this one (flows of flows).
    """
    ensure_handler()
    clock = clock or SYSTEM_CLOCK
    started = clock.now()
    run_id = flow_run_id or str(uuid.uuid4())
    scheduled = scheduled_start_time or started
    info = FlowRunInfo(flow, run_id, parameters, scheduled, started)
    info.context = {
        **run_context(flow.name, run_id, scheduled, parameters),
        "flow_id": flow.slug,
        "flow_run_name": f"{flow.slug}-{run_id[:8]}",
        **(context or {}),
    }
    watchers = list(observers)
    if progress or (progress is None and progress_wanted()):
        watchers.append(ProgressBar())
    recording_into = _resolve_store(store)
    if recording_into is not None:
        from tideflow.engine.recording import StoreRecorder

        watchers.append(
            StoreRecorder(recording_into, deployment=deployment, claimed=claimed, parent=parent)
        )
        url = url_of(recording_into)
        if url is not None:
            info.context.setdefault(STORE_URL_KEY, url)
    chosen = executor or flow.executor or LocalExecutor()
    gate = SlotGate.for_run(recording_into, flow, run_id, clock.now)
    with registered(run_id, recording_into):
        return FlowRunner(flow, chosen, info, clock, watchers, gate, task_states=task_states).run()


def _task_keys(flow: Flow, task_states: Mapping[Any, State] | None) -> dict[str, State] | None:
    """``task_states`` keyed by task key (given by task or by key)."""
    if not task_states:
        return None
    keyed: dict[str, State] = {}
    for task, given in task_states.items():
        if not isinstance(given, State):
            raise TypeError(
                f"flow.run(task_states=...): the state of {task!r} must be a tideflow.states "
                f"State such as Success(result=...), got {given!r}"
            )
        keyed[task if isinstance(task, str) and task in flow.graph.nodes else flow.key(task)] = (
            given
        )
    return keyed


def _resolve_store(store: RunStore | _Default | None) -> RunStore | None:
    if store is not DEFAULT_STORE:
        return store
    from tideflow.store import StoreError, default_store

    try:
        return default_store()
    except StoreError as exc:
        flow_logger().warning("This run is not recorded: %s", exc)
        return None


def run_context(
    flow_name: str, flow_run_id: str, scheduled: datetime, parameters: dict[str, Any]
) -> dict[str, Any]:
    """The flow-level keys of the run context (see the module docstring)."""
    day = timedelta(days=1)
    ctx: dict[str, Any] = {
        "flow_name": flow_name,
        "flow_run_id": flow_run_id,
        "scheduled_start_time": scheduled,
        "date": scheduled,
        "parameters": parameters,
    }
    for name, when in (("today", scheduled), ("yesterday", scheduled - day)):
        ctx[name] = when.strftime("%Y-%m-%d")
        ctx[f"{name}_nodash"] = when.strftime("%Y%m%d")
    ctx["tomorrow"] = (scheduled + day).strftime("%Y-%m-%d")
    ctx["tomorrow_nodash"] = (scheduled + day).strftime("%Y%m%d")
    return ctx
