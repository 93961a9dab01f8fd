"""Targets, the cache and results around one task attempt (the engine's side of them).

:func:`~tideflow.engine.task_runner.run_task` asks for a :class:`Persistence` only when the task
(or its flow) uses one of ``target``, ``cache_for`` or ``result``, so a task using none pays one
attribute check. Around the attempt, in this order (Prefect 1's)::

    target exists? ──> Cached (value read from the target; the task does not run)
    skip / trigger  ──> as usual
    cache hit?     ──> Cached (value from the cache; the task does not run)
    run ──> Success ──> write the value through the task's Result (the target when given)
                    └─> with cache_for: Cached, kept in the cache until it expires

The target is checked before the trigger, so a task whose output already exists is ``Cached``
even when an upstream task failed. Its template is formatted with the flow's parameters, the run
context (``flow_name``, ``task_name``, ``task_full_name``, ``today``, ``date``, ``map_index``,
``flow_run_id``, ``scheduled_start_time``, ...) and the task's inputs, later ones winning; a
callable target is called with the same names.

Which Result: the task's ``result``, else the flow's ``result``, else (for a task with a
``target``) a :class:`~tideflow.engine.results.LocalResult` under ``$TIDEFLOW_HOME/results``.
Values are written unless ``checkpoint=False``. A written location (or, for a
:class:`~tideflow.engine.results.PrefectResult`, the fact that the value is kept in the store)
travels with the final state as ``state.context["persisted"]``, for the run recorder.

Persisting never fails a task that succeeded: a value that cannot be written, a cache or target
that cannot be read, is a warning naming the file, and the task runs (or keeps its success).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tideflow.context import context
from tideflow.engine.cache import CacheStore, cache_key_for
from tideflow.engine.cache_validators import (
    duration_only,
    restore_clock,
    use_clock,
    uses_inputs,
)
from tideflow.engine.results import HOME_KEY, LocalResult, ResultError, format_location, home
from tideflow.parameter import Parameter
from tideflow.states import Cached, Failed, State

if TYPE_CHECKING:
    from tideflow.engine.task_runner import TaskCall
    from tideflow.flow import Flow

__all__ = [
    "FLOW_RESULT_KEY",
    "LOCATION_ARTIFACT",
    "Persistence",
    "run_context_additions",
    "uses_persistence",
]

LOCATION_ARTIFACT = "tideflow.result_location"
"""The name of the artifact row the run recorder keeps a task's written result location in."""
FLOW_RESULT_KEY = "flow_result"
"""The run context key holding ``Flow(result=...)``, when a flow has one."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]]+")


def run_context_additions(flow: Flow) -> dict[str, Any]:
    """What a flow run's context needs for persistence: the ``TIDEFLOW_HOME`` of the process that
    starts the run (so workers elsewhere use the same cache and results folders) and the flow's
    ``result``."""
    extra: dict[str, Any] = {HOME_KEY: str(home())}
    result = getattr(flow, "result", None)
    if result is not None:
        extra[FLOW_RESULT_KEY] = result
    return extra


def uses_persistence(task: Any, flow_context: Mapping[str, Any]) -> bool:
    """Whether a run of ``task`` needs a :class:`Persistence` (the one check every task pays)."""
    return (
        task.cache_for is not None
        or task.target is not None
        or task.result is not None
        or FLOW_RESULT_KEY in flow_context
    ) and not getattr(task, "is_secret", False)  # a secret's value is never written anywhere


class Persistence:
    """Targets, cache and result of one attempt of one task; see the module docstring."""

    __slots__ = ("call", "ctx", "logger", "now", "result", "writes")

    def __init__(
        self,
        call: TaskCall,
        ctx: Mapping[str, Any],
        now: Callable[[], datetime],
        logger: logging.Logger,
    ) -> None:
        self.call = call
        self.ctx = ctx
        self.now = now
        self.logger = logger
        task = call.task
        result = task.result
        if result is None and not isinstance(task, Parameter):
            result = ctx.get(FLOW_RESULT_KEY)
        if result is None and task.target is not None:
            result = LocalResult(validate_dir=False)
        self.result = result
        self.writes = result is not None and task.checkpoint is not False

    # -- names for templates -----------------------------------------------------------------

    def names(self) -> dict[str, Any]:
        """Parameters, then the run context, then the task's inputs (later ones win)."""
        return {**self.ctx.get("parameters", {}), **self.ctx, **self.call.inputs}

    def target_location(self) -> str:
        target = self.call.task.target
        names = self.names()
        if callable(target):
            location = target(**names)
            if not isinstance(location, str) or not location:
                raise ResultError(f"target function returned {location!r}, not a location")
            return location
        return format_location(str(target), names, "target")

    # -- before the task runs ----------------------------------------------------------------

    def from_target(self) -> State | None:
        """``Cached`` with the target's value when it exists, a ``Failed`` state when the target
        cannot even be named, else None (the task goes on)."""
        call = self.call
        task = call.task
        if task.target is None or self.result is None:
            return None
        if task.skip_on_upstream_skip and any(
            s.is_skipped() for s in call.upstream_states.values()
        ):
            return None  # skipped as usual, as in Prefect 1
        try:
            location = self.target_location()
        except Exception as exc:
            message = f"task {task.name!r}: cannot name its target: {exc}"
            self.logger.error("%s", message)
            return Failed(message, exc, timestamp=self.now())
        try:
            if not self.result.exists(location):
                return None
            found = self.result.read(location)
        except Exception as exc:
            self.logger.warning(
                "Task %r: its target %s cannot be read (%s); the task runs and writes it again",
                task.name,
                location,
                exc,
            )
            return None
        state = Cached(f"Result found at target {location}.", found.value, timestamp=self.now())
        state.context["persisted"] = self._persisted(found.location or location)
        return state

    def from_cache(self) -> State | None:
        """``Cached`` with a cached value its validator accepts, else None."""
        call = self.call
        task = call.task
        if task.cache_for is None:
            return None
        validator = task.cache_validator or duration_only
        store = CacheStore(_cache_root())
        key = self._cache_key()
        inputs = call.inputs
        parameters = self.ctx.get("parameters", {})
        now = self.now()
        token = use_clock(self.now)
        try:
            for candidate in store.candidates(key, now):
                try:
                    accepted = validator(candidate, inputs, parameters)
                except Exception as exc:
                    self.logger.warning(
                        "Task %r: cache validator %s raised %r; the cached result is not used",
                        task.name,
                        getattr(validator, "__name__", validator),
                        exc,
                    )
                    return None
                if accepted:
                    expiry = candidate.cached_result_expiration
                    return Cached(
                        f"Cache hit: the result of {_when(candidate.timestamp)}, valid until "
                        f"{_when(expiry)}.",
                        candidate.result,
                        cached_inputs=candidate.cached_inputs,
                        cached_parameters=candidate.cached_parameters,
                        cached_result_expiration=expiry,
                        timestamp=now,
                    )
        finally:
            restore_clock(token)
        return None

    def _cache_key(self) -> str:
        call = self.call
        return cache_key_for(
            call.task.cache_key, str(self.ctx.get("flow_name")), call.key, call.map_index
        )

    # -- after it succeeded ------------------------------------------------------------------

    def after_success(self, state: State) -> State:
        """``state``, or ``Cached`` with ``cache_for``; the value written where it is due."""
        task = self.call.task
        value = state.result
        out = state
        if task.cache_for is not None:
            expires = state.timestamp + task.cache_for
            out = Cached(
                f"Result cached until {_when(expires)}.",
                value,
                cached_parameters=dict(self.ctx.get("parameters", {})),
                cached_result_expiration=expires,
                timestamp=state.timestamp,
                context=state.context,
            )
            out.cached_inputs = dict(self.call.inputs)
            CacheStore(_cache_root()).put(
                self._cache_key(),
                out,
                state.timestamp,
                keep_inputs=uses_inputs(task.cache_validator or duration_only),
            )
            # The inputs stay in the cache file; the state travels back without them, so a
            # large input is not shipped back from a worker.
            out.cached_inputs = None
        if self.writes:
            assert self.result is not None
            try:
                written = self._write(value)
            except Exception as exc:
                self.logger.warning("Task %r: its result was not written: %s", task.name, exc)
            else:
                out.context["persisted"] = self._persisted(written.location)
        return out

    def _write(self, value: Any) -> Any:
        assert self.result is not None
        call = self.call
        if call.task.target is not None:
            location = self.target_location()
        elif getattr(self.result, "location", None) is not None:
            return self.result.write(value, **self.names())
        else:
            location = self.default_location()
        at = self.result.copy()
        at.location = location.replace("{", "{{").replace("}", "}}")
        return at.write(value)

    def default_location(self) -> str:
        """``<flow name>/<flow run id>/<task key>`` (``-<map index>`` for a mapped child)."""
        call = self.call
        parts = [str(self.ctx.get("flow_name")), str(self.ctx.get("flow_run_id")), call.key]
        name = "/".join(_UNSAFE.sub("_", p) for p in parts)
        return name if call.map_index is None else f"{name}-{call.map_index}"

    def _persisted(self, location: str | None) -> tuple[str, str | None]:
        if getattr(self.result, "keeps_value_in_store", False):
            return ("store", None)
        return ("location", location)


def _when(moment: datetime | None) -> str:
    return "forever" if moment is None else moment.isoformat(sep=" ", timespec="seconds")


def _cache_root() -> str:
    given = context.get(HOME_KEY)
    return os.path.join(given, "cache") if given else str(home() / "cache")
