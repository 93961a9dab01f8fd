"""Deployments as the run store keeps them, and the snapshot the service plans with each tick.

:class:`Registry` reads every unfinished run and every deployment in two queries per tick and
shapes them into a :class:`Snapshot`: the parsed deployments, each one's
:class:`~tideflow.planner.History`, the unfinished runs, and the names of every registered
deployment (a deployment whose stored spec cannot be read is left out of the plan, but it is
still registered: its runs are not orphans). It reuses the parsed
:class:`~tideflow.deployments.Deployment` of a spec that did not change.

Runs are read *before* deployments, so a run whose deployment is not in the snapshot really
belongs to a deployment that was removed: a deployment is always registered before its runs are
created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from tideflow import lifecycle
from tideflow.deployments import Deployment
from tideflow.errors import DeploymentError, ScheduleError
from tideflow.planner import History, RunRef
from tideflow.store import DeploymentRecord, FlowRunRecord, RunStore

__all__ = ["SOURCE_KEY", "UNREADABLE", "Registry", "Snapshot", "deployment_of"]

log = logging.getLogger("tideflow.service")

SOURCE_KEY = "source"
"""The key, in a stored spec, of the file the deployment was declared in (if any)."""


@dataclass(frozen=True)
class Snapshot:
    """What the service knows at the start of a tick (see the module docstring)."""

    deployments: list[Deployment]
    histories: dict[str, History]
    unfinished: list[FlowRunRecord]
    registered: frozenset[str]

    def by_name(self) -> dict[str, Deployment]:
        return {deployment.name: deployment for deployment in self.deployments}


class Registry:
    """Reads :class:`Snapshot` values from the store."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._parsed: dict[str, tuple[datetime, Deployment | None]] = {}

    def snapshot(self) -> Snapshot:
        """The deployments (with their stored paused flags), their histories, and every
        unfinished run (of deployments or not), from two queries."""
        unfinished = self.store.unfinished_runs()
        records = self.store.list_deployments()
        current = {record.name for record in records}
        for name in list(self._parsed):
            if name not in current:
                del self._parsed[name]
        waiting: dict[str, list[RunRef]] = {}
        active: dict[str, list[RunRef]] = {}
        for run in unfinished:
            if run.deployment is None:
                continue
            if run.is_waiting:
                group = waiting
            elif run.state in lifecycle.ACTIVE:
                group = active
            else:
                continue  # paused: neither waiting to launch nor holding a process
            ref = RunRef(run.id, run.scheduled_start_time, run.state, run.origin, run.not_before)
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
        return Snapshot(
            [d for d in parsed if d is not None], histories, unfinished, frozenset(current)
        )

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
