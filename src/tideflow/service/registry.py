"""Deployments as the run store keeps them, and the history the planner reads.

:func:`register` puts deployment specs into the store (``tideflow serve --file``, ``tideflow
deploy``). A stored deployment keeps its paused flag across re-registration, unless the spec
itself changed its ``paused`` value: ``tideflow pause`` survives a restart of the service, and
editing ``paused = true`` into ``tideflow.toml`` still pauses. Registering a file's deployments
also removes those it declared before and no longer does.

:class:`Registry` reads every deployment and every unfinished run in two queries per tick and
shapes them into :class:`~tideflow.planner.History` values, reusing the parsed
:class:`~tideflow.deployments.Deployment` of a spec that did not change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from tideflow.deployments import Deployment
from tideflow.errors import DeploymentError, ScheduleError
from tideflow.planner import History, RunRef
from tideflow.store import DeploymentRecord, FlowRunRecord, RunStore

__all__ = ["SOURCE_KEY", "UNREADABLE", "Registry", "deployment_of", "register", "resume"]

log = logging.getLogger("tideflow.service")

SOURCE_KEY = "source"
"""The key, in a stored spec, of the file the deployment was declared in (if any)."""


def register(
    store: RunStore,
    deployments: Iterable[Deployment],
    now: datetime,
    *,
    source: str | None = None,
) -> None:
    """Record ``deployments`` in ``store`` (see the module docstring).

    With ``source`` (the path of the ``tideflow.toml`` they came from), deployments registered
    earlier from the same file that it no longer declares are removed: the file is the truth for
    what it declares. Deployments from elsewhere (``tideflow deploy``) are left alone.
    """
    declared = set()
    for deployment in deployments:
        declared.add(deployment.name)
        spec = deployment.to_dict()
        if source is not None:
            spec[SOURCE_KEY] = source
        old = store.get_deployment(deployment.name)
        pause_changed = old is None or old.spec.get("paused") != deployment.paused
        if old is not None and old.paused and pause_changed and not deployment.paused:
            resume(store, deployment.name, now)  # "paused = true" taken out of the file
        store.upsert_deployment(
            deployment.name, spec, now, paused=deployment.paused if pause_changed else None
        )
    if source is not None:
        for record in store.list_deployments():
            if record.spec.get(SOURCE_KEY) == source and record.name not in declared:
                store.delete_deployment(record.name)


def resume(store: RunStore, name: str, now: datetime) -> None:
    """Resume deployment ``name``: its schedule goes on from ``now``. Fire times during the
    pause are never run (a pause means "do not run"), so the schedule is first marked planned
    up to ``now``, before the pause is lifted: a service ticking in between cannot catch the
    pause up."""
    store.advance_deployment(name, now)
    store.set_deployment_paused(name, False, now)


class Registry:
    """What the planner needs each tick, read from the store."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._parsed: dict[str, tuple[datetime, Deployment | None]] = {}

    def snapshot(
        self, holding: set[str] | None = None
    ) -> tuple[list[Deployment], dict[str, History], list[FlowRunRecord]]:
        """Every deployment (with its stored paused flag), each one's history, and every
        unfinished run (of deployments or not), from two queries.

        Runs in ``holding`` (waiting out a retry delay) are left out of the histories: they are
        neither waiting to launch nor active.
        """
        records = self.store.list_deployments()
        unfinished = self.store.unfinished_runs()
        current = {record.name for record in records}
        for name in list(self._parsed):
            if name not in current:
                del self._parsed[name]
        waiting: dict[str, list[RunRef]] = {}
        active: dict[str, list[RunRef]] = {}
        for run in unfinished:
            if run.deployment is None or (holding and run.id in holding):
                continue
            ref = RunRef(run.id, run.scheduled_start_time, run.state)
            group = waiting if run.state == "Scheduled" else active
            group.setdefault(run.deployment, []).append(ref)
        histories = {
            record.name: History(
                registered_at=record.created_at,
                last_fire=record.last_fire,
                waiting=tuple(waiting.get(record.name, ())),
                active=tuple(active.get(record.name, ())),
            )
            for record in records
        }
        parsed = [self._deployment(record) for record in records]
        return [d for d in parsed if d is not None], histories, unfinished

    def _deployment(self, record: DeploymentRecord) -> Deployment | None:
        """The record's deployment; None (reported once per version of the record) when its
        spec cannot be read, so one bad deployment does not stop the others."""
        cached = self._parsed.get(record.name)
        if cached is None or cached[0] != record.updated_at:
            try:
                parsed: Deployment | None = deployment_of(record)
            except UNREADABLE as exc:
                log.error("Deployment %r is left out, its stored spec is bad: %s", record.name, exc)
                parsed = None
            cached = (record.updated_at, parsed)
            self._parsed[record.name] = cached
        return cached[1]


UNREADABLE = (DeploymentError, ScheduleError, KeyError, TypeError, ValueError, AttributeError)
"""What :func:`deployment_of` raises for a stored spec it cannot read (hand-edited, or written by
another release)."""


def deployment_of(record: DeploymentRecord) -> Deployment:
    """The deployment ``record`` holds, with the record's paused flag (``tideflow pause`` sets
    the record, not the spec).

    Raises:
        One of :data:`UNREADABLE`: the stored spec cannot be read.
    """
    deployment = Deployment.from_dict(record.spec)
    if deployment.paused != record.paused:
        deployment = replace(deployment, paused=record.paused)
    return deployment
