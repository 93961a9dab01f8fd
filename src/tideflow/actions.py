"""What people (and programs) can ask of Tideflow, as library functions.

The command line and the web API are thin callers of these; each function checks what it is
given, changes the store through its verbs, records an ``action`` event where the change is not
already one, and returns what it did. Every refusal is a :class:`~tideflow.errors.TideflowError`
whose message says what was wrong and what to do instead.

- :func:`deploy` registers deployments (the service picks them up on its next tick); with a
  ``source`` file, the deployments that file declared before and no longer does are deleted;
- :func:`pause` / :func:`resume`: a pause means "do not run": fire times during a pause are never
  run, not even after the resume;
- :func:`trigger`: a run now, with parameters replacing the deployment's; it is never skipped by
  the overlap policy: it waits for room;
- :func:`backfill`: one run per fire time in a window (a date as the end includes that day);
  like triggers, backfilled runs wait their turn rather than being skipped;
- :func:`delete`: forget a deployment, cancelling its waiting runs (its history stays);
- :func:`cancel`: a waiting run ends ``Cancelled`` at once, a running one is stopped by a live
  service (its whole process tree) and ends ``Cancelled``; the unfinished runs it started
  (flows of flows) are cancelled with it;
- :func:`retry`: a failed run gets another attempt;
- :func:`resume_run`: a paused run (tasks waiting for approval) goes on, in its own process.

>>> from datetime import UTC
>>> from tideflow.store import MemoryStore
>>> from tideflow.deployments import Deployment, Entrypoint
>>> store = MemoryStore()
>>> at = datetime(2026, 3, 1, 12, tzinfo=UTC)
>>> _ = deploy(store, [Deployment(name="etl", entrypoint=Entrypoint("flow", "etl.py:flow"))], at=at)
>>> trigger(store, "etl", {"day": "monday"}, at=at).state
'Scheduled'
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from tideflow import lifecycle
from tideflow.deployments import Deployment
from tideflow.engine.run_writer import HOST
from tideflow.errors import TideflowError
from tideflow.planner import backfill_slots
from tideflow.service.registry import SOURCE_KEY, deployment_of
from tideflow.store import DuplicateRunError, Event, FlowRunRecord, RunStore
from tideflow.store.base import deployment_not_found
from tideflow.store.records import Origin

__all__ = [
    "ActionError",
    "Backfill",
    "Deployed",
    "backfill",
    "cancel",
    "delete",
    "deploy",
    "new_run",
    "pause",
    "resume",
    "resume_run",
    "retry",
    "stored_deployment",
    "trigger",
]


TRIGGER_NUDGES = 1000
"""How many microseconds before its instant a trigger may move to find a free slot."""


class ActionError(TideflowError, ValueError):
    """An action that cannot be done as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class Deployed:
    """One deployment :func:`deploy` registered: whether it was new, and as stored."""

    deployment: Deployment
    created: bool


@dataclass(frozen=True)
class Backfill:
    """What :func:`backfill` did: the runs it created, and the fire times that had one."""

    created: list[FlowRunRecord]
    present: list[datetime]


def new_run(
    deployment: Deployment,
    scheduled: datetime,
    *,
    origin: Origin = "schedule",
    run_id: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    parent: tuple[str, str] | None = None,
) -> FlowRunRecord:
    """A waiting (``Scheduled``) run of ``deployment`` for ``scheduled``, carrying the
    deployment's timeout and retries as they are now; ``parent`` is the run and task that
    started it, if any."""
    return FlowRunRecord(
        id=run_id or str(uuid.uuid4()),
        flow_name=deployment.name,  # the run's process records the flow's own name
        deployment=deployment.name,
        parameters={**deployment.parameters, **(parameters or {})},
        scheduled_start_time=scheduled,
        start_time=None,
        end_time=None,
        state=lifecycle.SCHEDULED,
        state_message=None,
        lateness=None,
        host=HOST,
        pid=0,
        heartbeat=None,
        origin=origin,
        timeout=None if deployment.timeout is None else deployment.timeout.total_seconds(),
        retries=deployment.retries,
        retry_delay=deployment.retry_delay.total_seconds(),
        parent_run_id=None if parent is None else parent[0],
        parent_task=None if parent is None else parent[1],
    )


def stored_deployment(store: RunStore, name: str) -> Deployment:
    """Deployment ``name`` as the store keeps it.

    Raises:
        DeploymentNotFoundError: no deployment is called ``name``.
        DeploymentError: its stored spec cannot be read.
    """
    found = store.get_deployment(name)
    if found is None:
        raise deployment_not_found(name)
    return deployment_of(found)


# -- deployments ---------------------------------------------------------------------------------


def deploy(
    store: RunStore,
    deployments: Iterable[Deployment],
    *,
    at: datetime,
    source: str | None = None,
) -> list[Deployed]:
    """Register ``deployments`` (or update those with their names).

    A stored deployment keeps its paused flag across re-registration unless the spec itself
    changed its ``paused`` value: ``tideflow pause`` survives a restart of the service, and
    editing ``paused = true`` into ``tideflow.toml`` still pauses. With ``source`` (the path of
    the ``tideflow.toml`` they came from), the deployments registered earlier from that file that
    it no longer declares are deleted (:func:`delete`): the file is the truth for what it
    declares. Deployments from elsewhere (``tideflow deploy``) are left alone.
    """
    existing = {record.name: record for record in store.list_deployments()}
    writes: list[tuple[str, dict[str, Any], bool | None]] = []
    done: list[Deployed] = []
    for deployment in deployments:
        spec = deployment.to_dict()
        if source is not None:
            spec[SOURCE_KEY] = source
        old = existing.get(deployment.name)
        pause_changed = old is None or old.spec.get("paused") != deployment.paused
        if old is not None and old.paused and pause_changed and not deployment.paused:
            resume(store, deployment.name, at=at)  # "paused = true" taken out of the file
        paused = deployment.paused if pause_changed else None
        if old is None or old.spec != spec or pause_changed:
            writes.append((deployment.name, spec, paused))
        stored = deployment.paused if old is None or pause_changed else old.paused
        if stored != deployment.paused:
            deployment = replace(deployment, paused=stored)
        done.append(Deployed(deployment, old is None))
    if writes:
        store.upsert_deployments(writes, at)
    if source is not None:
        declared = {deployed.deployment.name for deployed in done}
        for record in existing.values():
            if record.spec.get(SOURCE_KEY) == source and record.name not in declared:
                delete(store, record.name, at=at, reason=f"it was removed from {source}")
    return done


def pause(store: RunStore, name: str, *, at: datetime) -> bool:
    """Pause deployment ``name``; False when it was paused already.

    Raises:
        DeploymentNotFoundError: no deployment is called ``name``.
    """
    return store.set_deployment_paused(name, True, at)


def resume(store: RunStore, name: str, *, at: datetime) -> bool:
    """Resume deployment ``name``: its schedule goes on from ``at``; False when it was not
    paused. Fire times during the pause are never run, so the schedule is first marked planned
    up to ``at``, before the pause is lifted: a service ticking in between cannot catch the
    pause up.

    Raises:
        DeploymentNotFoundError: no deployment is called ``name``.
    """
    record = store.get_deployment(name)
    if record is None:
        raise deployment_not_found(name)
    if not record.paused:
        return False
    store.advance_deployment(name, at)
    return store.set_deployment_paused(name, False, at)


def delete(store: RunStore, name: str, *, at: datetime, reason: str | None = None) -> int:
    """Delete deployment ``name``; its history stays. Its waiting runs (triggered, backfilled,
    retrying or not started yet) are cancelled, naming ``reason``, since nothing would ever
    start them. The number cancelled.

    Raises:
        DeploymentNotFoundError: no deployment is called ``name``.
    """
    if not store.delete_deployment(name, at):
        raise deployment_not_found(name)
    why = f"Cancelled: deployment {name!r} was deleted" + (f" ({reason})" if reason else "") + "."
    waiting = [run for run in store.unfinished_runs() if run.deployment == name and run.is_waiting]
    return sum(store.request_cancel(run.id, at=at, reason=why) is not None for run in waiting)


# -- runs ----------------------------------------------------------------------------------------


def trigger(
    store: RunStore,
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    at: datetime,
    parent: tuple[str, str] | None = None,
    run_name: str | None = None,
) -> FlowRunRecord:
    """Add a run of deployment ``name`` at ``at``, its parameters replaced by ``parameters``.
    A live service starts it as soon as the deployment has room (it is never skipped); a
    paused deployment's run waits for the resume. ``parent`` (run id, task) links a run that a
    task of another run started (flows of flows); ``run_name`` is kept in the action's event.

    Raises:
        DeploymentNotFoundError: no deployment is called ``name``.
    """
    deployment = stored_deployment(store, name)
    for nudge in range(TRIGGER_NUDGES):
        # A run per (deployment, scheduled time): a trigger at the very instant of another
        # run takes the free microsecond before it instead (so it is due at once).
        when = at - timedelta(microseconds=nudge)
        run = new_run(deployment, when, origin="trigger", parameters=parameters, parent=parent)
        try:
            store.create_flow_run(run)
        except DuplicateRunError:
            continue
        data: dict[str, Any] = {"parameters": dict(parameters or {})}
        if run_name is not None:
            data["run_name"] = run_name
        _record_action(store, "trigger", at, run, data)
        return run
    raise ActionError(f"deployment {name!r} already has {TRIGGER_NUDGES} runs at {at}; try again")


def backfill(
    store: RunStore, name: str, start: datetime | date, end: datetime | date, *, at: datetime
) -> Backfill:
    """One waiting run per fire time of deployment ``name`` in ``[start, end]``.

    A date as ``start`` means that day's midnight; a date as ``end`` includes that whole day.
    Naive datetimes are wall-clock times in the schedule's zone. Fire times that already have a
    run (in any state) are left alone, so a backfill can be repeated. Backfilled runs wait their
    turn under the deployment's capacity; they are never skipped.

    Raises:
        DeploymentNotFoundError: no deployment is called ``name``.
        PlannerError: it has no schedule, or the window is reversed or too large.
    """
    deployment = stored_deployment(store, name)
    first = start if isinstance(start, datetime) else datetime.combine(start, time())
    if isinstance(end, datetime):
        last = end
    else:
        last = datetime.combine(end + timedelta(days=1), time()) - timedelta(microseconds=1)
    created: list[FlowRunRecord] = []
    present: list[datetime] = []
    for moment, event in backfill_slots(deployment, first, last):
        parameters = event.parameter_defaults
        run = new_run(deployment, moment, origin="backfill", parameters=parameters)
        try:
            store.create_flow_run(run)
        except DuplicateRunError:
            present.append(moment)
            continue
        created.append(run)
    if created:
        store.record_event(
            Event(
                kind="action",
                name="backfill",
                at=at,
                deployment=name,
                data={
                    "start": first.isoformat(),
                    "end": last.isoformat(),
                    "created": len(created),
                    "present": len(present),
                },
            )
        )
    return Backfill(created, present)


def cancel(
    store: RunStore, run_id: str, *, at: datetime, reason: str | None = None
) -> FlowRunRecord:
    """Cancel run ``run_id`` (any unique id prefix): a waiting or paused one ends ``Cancelled``
    now; a claimed or running one becomes ``Cancelling`` and a live service stops its process
    tree, then records it ``Cancelled``. The unfinished runs it started (child runs of flows
    of flows) are cancelled the same way. The run as it is after the request.

    Raises:
        RunNotFoundError, AmbiguousRunError: ``run_id`` names no run, or several.
        ActionError: the run is already finished or being cancelled.
    """
    run = store.get_flow_run(run_id)
    why = reason or "Cancelled on request."
    changed = store.request_cancel(run.id, at=at, reason=why)
    if changed is None:
        current = store.get_flow_run(run.id)
        if current.state == lifecycle.CANCELLING:
            raise ActionError(f"run {run.id} is already being cancelled")
        raise ActionError(f"run {run.id} is already {current.state}; there is nothing to cancel")
    _record_action(store, "cancel", at, changed, {"reason": why})
    for child in store.list_flow_runs(parent_run_id=changed.id, limit=None):
        if not child.is_finished and child.state != lifecycle.CANCELLING:
            with contextlib.suppress(ActionError):  # it finished or was cancelled meanwhile
                cancel(store, child.id, at=at, reason=f"Cancelled with its parent run {run.id}.")
    return changed


def retry(
    store: RunStore, run_id: str, *, at: datetime, from_failed: bool = False
) -> FlowRunRecord:
    """Give failed run ``run_id`` (any unique id prefix) another attempt, as soon as its
    deployment has room. The run as it is now (``Retrying``).

    With ``from_failed``, the attempt reruns only the tasks that did not succeed, what is
    downstream of them, and tasks whose results cannot be read back; the others keep their
    results (see :mod:`tideflow.engine.resume`). The wish is recorded with the ``retry`` action
    event, where the run's process reads it.

    Raises:
        RunNotFoundError, AmbiguousRunError: ``run_id`` names no run, or several.
        ActionError: the run did not fail, or no deployment would start it.
    """
    run = store.get_flow_run(run_id)
    if run.deployment is None:
        raise ActionError(
            f"run {run.id} was started directly (flow.run() or tideflow run), not by a "
            "deployment, so no service would start it again; run the flow again instead"
        )
    if run.state not in lifecycle.FAILED:
        raise ActionError(
            f"run {run.id} is {run.state}; only a failed run (Failed, TimedOut, Crashed, "
            "TriggerFailed) can be retried"
        )
    if store.get_deployment(run.deployment) is None:
        raise ActionError(
            f"run {run.id} belongs to deployment {run.deployment!r}, which no longer exists, "
            "so no service would start it; deploy it again first"
        )
    how = " from its failed tasks" if from_failed else ""
    message = f"Attempt {run.attempts + 1}, retried{how} on request after {run.state}."
    changed = store.reschedule(run.id, at=at, message=message)
    if changed is None:  # it changed state meanwhile
        current = store.get_flow_run(run.id).state
        raise ActionError(f"run {run.id} is {current} now; only a failed run can be retried")
    data: dict[str, Any] = {"attempt": changed.attempts}
    if from_failed:
        data["from_failed"] = True
    _record_action(store, "retry", at, changed, data)
    return changed


def _record_action(
    store: RunStore, name: str, at: datetime, run: FlowRunRecord, data: dict[str, Any]
) -> None:
    store.record_event(
        Event(
            kind="action",
            name=name,
            at=at,
            flow_run_id=run.id,
            deployment=run.deployment,
            data=data,
        )
    )


def resume_run(store: RunStore, run_id: str, *, at: datetime) -> FlowRunRecord:
    """Approve paused run ``run_id`` (any unique id prefix): its process, which held it
    ``Paused``, runs the tasks that waited for approval and goes on with the results it has. The
    run as it is now (``Running``).

    Raises:
        RunNotFoundError, AmbiguousRunError: ``run_id`` names no run, or several.
        ActionError: the run is not paused.
    """
    run = store.get_flow_run(run_id)
    changed = store.resume(run.id, at=at, message="Resumed on request.")
    if changed is None:
        current = store.get_flow_run(run.id).state
        raise ActionError(
            f"run {run.id} is {current}; only a paused run (one whose tasks wait for approval) "
            "can be resumed"
        )
    _record_action(store, "resume", at, changed, {})
    return changed
