"""Deployments as the run store keeps them, and the snapshot the service plans with each tick.

:class:`Registry` reads every unfinished run and every deployment's version (name, last change,
last fire time) in two queries per tick and shapes them into a :class:`Snapshot`: the parsed
deployments, each one's :class:`~tideflow.planner.History`, the unfinished runs, and the names
of every registered deployment (a deployment whose stored spec cannot be read is left out of the
plan, but it is still registered: its runs are not orphans). It reads a deployment's spec again,
and parses it, only when the deployment changed.

Runs are read *before* deployments, so a run whose deployment is not in the snapshot really
belongs to a deployment that was removed: a deployment is always registered before its runs are
created.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from tideflow import lifecycle
from tideflow.deployments import Deployment
from tideflow.errors import DeploymentError, ScheduleError
from tideflow.planner import History, RunRef
from tideflow.store import DeploymentRecord, FlowRunRecord, RunStore
from tideflow.store.records import DeploymentVersion

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
    """Reads :class:`Snapshot` values from the store.

    It keeps every deployment's record and parsed spec between ticks and reads a spec again only
    when its ``updated_at`` moved (each tick reads only names, change times and last fire
    times), so a tick costs little with thousands of deployments.
    """

    REREAD_ALL = 100
    """With more changed deployments than this, all are read in one query rather than one by one."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._records: dict[str, DeploymentRecord] = {}
        self._parsed: dict[str, Deployment | None] = {}
        self._histories: dict[str, tuple[tuple[object, ...], History]] = {}
        self._seeded: dict[str, Deployment] = {}
        self._seeded_at: datetime | None = None

    def seed(self, deployments: Iterable[Deployment], at: datetime) -> None:
        """Take ``deployments``, just registered at ``at``, as the parsed form of their records
        (so thousands registered from a file are not parsed again). A record changed after
        ``at`` is parsed from the store as usual."""
        self._seeded = {deployment.name: deployment for deployment in deployments}
        self._seeded_at = at

    def snapshot(self) -> Snapshot:
        """The deployments (with their stored paused flags), their histories, and every
        unfinished run (of deployments or not)."""
        unfinished = self.store.unfinished_runs()
        versions = self.store.deployment_versions()
        self._refresh(versions)
        waiting: dict[str, list[RunRef]] = {}
        active: dict[str, list[RunRef]] = {}
        for run in unfinished:
            if run.deployment is None:
                continue
            if run.is_waiting:
                group = waiting
            elif run.state in lifecycle.ACTIVE:  # a paused run's process holds it too
                group = active
            else:
                continue
            ref = RunRef(run.id, run.scheduled_start_time, run.state, run.origin, run.not_before)
            group.setdefault(run.deployment, []).append(ref)
        histories = {
            version.name: self._history(
                version, tuple(waiting.get(version.name, ())), tuple(active.get(version.name, ()))
            )
            for version in versions
            if version.name in self._records
        }
        parsed = [self._parsed.get(name) for name in histories]
        return Snapshot(
            [d for d in parsed if d is not None], histories, unfinished, frozenset(histories)
        )

    def _history(
        self, version: DeploymentVersion, waiting: tuple[RunRef, ...], active: tuple[RunRef, ...]
    ) -> History:
        """The deployment's history; the one built last tick when nothing in it changed."""
        registered = self._records[version.name].created_at
        key = (registered, version.last_fire, waiting, active)
        kept = self._histories.get(version.name)
        if kept is not None and kept[0] == key:
            return kept[1]
        history = History(
            registered_at=registered, last_fire=version.last_fire, waiting=waiting, active=active
        )
        self._histories[version.name] = (key, history)
        return history

    def _refresh(self, versions: list[DeploymentVersion]) -> None:
        """Read again the records whose ``updated_at`` moved; forget deleted ones."""
        current = {version.name for version in versions}
        for name in [name for name in self._records if name not in current]:
            del self._records[name]
            self._parsed.pop(name, None)
            self._histories.pop(name, None)
        stale = [
            v.name
            for v in versions
            if v.name not in self._records or self._records[v.name].updated_at != v.updated_at
        ]
        if not stale:
            return
        if len(stale) > self.REREAD_ALL:
            found = self.store.list_deployments()
        else:
            found = [r for r in map(self.store.get_deployment, stale) if r is not None]
        for record in found:
            old = self._records.get(record.name)
            self._records[record.name] = record
            if old is None or old.updated_at != record.updated_at:
                self._parsed[record.name] = self._seeded_form(record) or _parse(record)

    def _seeded_form(self, record: DeploymentRecord) -> Deployment | None:
        seeded = self._seeded.pop(record.name, None)
        at = self._seeded_at
        if seeded is None or at is None or record.updated_at > at:
            return None
        return seeded if seeded.paused == record.paused else None


def _parse(record: DeploymentRecord) -> Deployment | None:
    """The record's deployment; None (reported once per version of the record) when its spec
    cannot be read, so one bad deployment does not stop the others."""
    try:
        return deployment_of(record)
    except UNREADABLE as exc:
        log.error("Deployment %r is left out, its stored spec is bad: %s", record.name, exc)
        return None


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
