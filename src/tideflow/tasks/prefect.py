"""Flows of flows, under Prefect 1's module path ``prefect.tasks.prefect``.

A parent flow starts child runs with these tasks, and each child is a run of its own, recorded
in the parent's store with a link to the parent run and task (``tideflow runs show`` of either
shows the other). The target is a **deployment** (Prefect 1 named a registered flow by
``flow_name`` and ``project_name``; in Tideflow ``flow_name`` is a deployment's name, or give
``deployment_name=``), which a running ``tideflow serve`` launches like any triggered run, or a
**Flow object**, which runs in place as its own recorded run (see :mod:`tideflow.subflows`)::

    from tideflow.tasks.prefect import create_flow_run, wait_for_flow_run, get_task_run_result

    with Flow("parent") as flow:
        child = create_flow_run(flow_name="nightly-etl", parameters={"day": "2026-03-01"})
        finished = wait_for_flow_run(child, raise_final_state=True)
        rows = get_task_run_result(child, "load-1", upstream_tasks=[finished])

- :data:`create_flow_run` returns the child run's id;
- :data:`wait_for_flow_run` waits for it to finish and returns a
  :class:`~tideflow.subflows.FlowRunView` (``.state`` is its final state); with
  ``raise_final_state=True`` the task fails when the child did not succeed;
- :data:`get_task_run_result` returns a child task's value (kept in the store when that task
  has ``checkpoint=True``);
- :class:`StartFlowRun` does the first two in one task.

``project_name``, ``labels`` and ``idempotency_key`` are Prefect Server/Cloud notions with no
Tideflow counterpart: they are accepted and ignored with a warning. A retried task re-attaches
to the child it started (Prefect 1's default idempotency key, the task run, did the same),
unless that child failed: then it starts a fresh one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tideflow.context import context
from tideflow.engine.run_stores import current_store
from tideflow.flow import Flow
from tideflow.signals import FAIL
from tideflow.store import RunStore, default_store
from tideflow.subflows import (
    FlowRunView,
    SubflowError,
    current_parent,
    start_run,
    task_result,
    wait_for_run,
)
from tideflow.task import FunctionTask, Task

__all__ = [
    "FlowRunView",
    "StartFlowRun",
    "create_flow_run",
    "get_task_run_result",
    "wait_for_flow_run",
]

MAX_DURATION = timedelta(hours=12)
"""How long :data:`wait_for_flow_run` waits by default, as in Prefect 1."""


def _store() -> RunStore | None:
    """The store of the run this task belongs to; else the configured default store."""
    return current_store() or default_store()


def _logger() -> logging.Logger:
    found = context.get("logger")
    return found if isinstance(found, logging.Logger) else logging.getLogger("tideflow.flow")


def _ignored(**given: Any) -> None:
    for name, value in given.items():
        if value:
            _logger().warning(
                "%s=%r has no meaning in Tideflow (there is no Prefect Server or agent); ignored",
                name,
                value,
            )


def _target(flow_name: str | Flow | None, deployment_name: str | None) -> str | Flow:
    if (flow_name is None) == (deployment_name is None):
        raise SubflowError(
            "name the child run's target once: flow_name=<deployment name or Flow object> or "
            f"deployment_name=<name> (got flow_name={flow_name!r}, "
            f"deployment_name={deployment_name!r})"
        )
    found = flow_name if flow_name is not None else deployment_name
    if not isinstance(found, str | Flow) or (isinstance(found, str) and not found):
        raise SubflowError(
            f"a child run's target is a deployment name or a Flow object, got {found!r}"
        )
    return found


def _create(
    flow_name: str | Flow | None = None,
    project_name: str | None = None,
    parameters: dict[str, Any] | None = None,
    run_name: str | None = None,
    labels: list[str] | None = None,
    idempotency_key: str | None = None,
    scheduled_start_time: datetime | None = None,
    deployment_name: str | None = None,
) -> str:
    """Start a child run of a deployment (its name) or a Flow object; the child's run id."""
    target = _target(flow_name, deployment_name)
    _ignored(project_name=project_name, labels=labels, idempotency_key=idempotency_key)
    at = scheduled_start_time or datetime.now(UTC)
    if at.tzinfo is None:
        raise SubflowError(
            f"scheduled_start_time {at.isoformat()} has no time zone; give an aware datetime"
        )
    child = start_run(
        target,
        parameters,
        store=_store(),
        at=at,
        parent=current_parent(),
        run_name=run_name,
    )
    what = f"deployment {target!r}" if isinstance(target, str) else f"flow {target.name!r}"
    _logger().info("Started child run %s of %s", child, what)
    return child


create_flow_run = FunctionTask(_create, name="create_flow_run")
"""Task: start a child run (see the module docstring); returns its run id."""


def _wait(
    flow_run_id: str,
    stream_states: bool = True,
    stream_logs: bool = False,
    raise_final_state: bool = False,
    max_duration: timedelta = MAX_DURATION,
) -> FlowRunView:
    """Wait for child run ``flow_run_id`` to finish; the run as it ended."""
    try:
        view = wait_for_run(
            flow_run_id,
            store=_store(),
            timeout=max_duration,
            stream_states=stream_states,
            stream_logs=stream_logs,
            logger=_logger(),
        )
    except SubflowError as exc:
        raise FAIL(str(exc)) from None
    if raise_final_state and not view.state.is_successful():
        message = view.state.message or "no message"
        raise FAIL(f"child run {flow_run_id} ended {view.state.name}: {message}", result=view)
    return view


wait_for_flow_run = FunctionTask(_wait, name="wait_for_flow_run")
"""Task: wait for a child run to finish; returns a :class:`~tideflow.subflows.FlowRunView`."""


def _result(flow_run_id: str, task_slug: str, map_index: int = -1, poll_time: int = 5) -> Any:
    """The value task ``task_slug`` returned in run ``flow_run_id`` (``poll_time`` is accepted
    for Prefect 1's signature; the wait polls on its own schedule)."""
    return task_result(flow_run_id, task_slug, map_index, store=_store())


get_task_run_result = FunctionTask(_result, name="get_task_run_result")
"""Task: a child run's task's result, once the child has finished."""


class StartFlowRun(Task):
    """A task that starts a child run of a deployment or a Flow object, and with ``wait=True``
    waits for it and ends as it ended (failed when it did not succeed). Its result is the
    child's run id.

    Args:
        flow_name: the deployment's name, or a Flow object (or give ``deployment_name``).
        project_name: ignored (Prefect Server's projects have no Tideflow counterpart).
        parameters: the child's parameters (a deployment's are replaced by them).
        run_name: kept with the trigger in the event log.
        wait: wait for the child to finish.
        stream_states, stream_logs: while waiting, log the child's states, its log lines.
        max_duration: how long to wait at most.
        deployment_name: the deployment's name.
        **kwargs: options of :class:`~tideflow.task.Task` (``name``, ``max_retries``, ...).
    """

    def __init__(
        self,
        flow_name: str | Flow | None = None,
        project_name: str | None = None,
        parameters: dict[str, Any] | None = None,
        run_name: str | None = None,
        wait: bool = False,
        stream_states: bool = True,
        stream_logs: bool = False,
        max_duration: timedelta = MAX_DURATION,
        deployment_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.flow_name = flow_name
        self.project_name = project_name
        self.parameters = parameters
        self.run_name = run_name
        self.wait = wait
        self.stream_states = stream_states
        self.stream_logs = stream_logs
        self.max_duration = max_duration
        self.deployment_name = deployment_name
        kwargs.setdefault("name", "StartFlowRun")
        super().__init__(**kwargs)

    def run(
        self,
        flow_name: str | Flow | None = None,
        project_name: str | None = None,
        parameters: dict[str, Any] | None = None,
        run_name: str | None = None,
        idempotency_key: str | None = None,
        scheduled_start_time: datetime | None = None,
    ) -> str:
        """Start the child (arguments given here win over the constructor's); its run id."""
        target = flow_name if flow_name is not None else self.flow_name
        child = _create(
            flow_name=target,
            project_name=project_name or self.project_name,
            parameters=parameters if parameters is not None else self.parameters,
            run_name=run_name or self.run_name,
            idempotency_key=idempotency_key,
            scheduled_start_time=scheduled_start_time,
            deployment_name=self.deployment_name if target is None else None,
        )
        if self.wait:
            view = _wait(
                child,
                stream_states=self.stream_states,
                stream_logs=self.stream_logs,
                raise_final_state=False,
                max_duration=self.max_duration,
            )
            if not view.state.is_successful():
                message = view.state.message or "no message"
                raise FAIL(f"child run {child} ended {view.state.name}: {message}", result=child)
        return child
