"""Cache validators: may a cached result stand in for running the task now?

A task with ``cache_for=timedelta(...)`` keeps each successful result in the cache (a ``Cached``
state holding the value, the inputs, the flow's parameters and an expiry). Before it runs again,
each candidate entry, newest first, is offered to its ``cache_validator``
``fn(state, inputs, parameters) -> bool``; the first one accepted is used and the task does not
run. The validators, as in Prefect 1:

- :func:`never_use`: never (the default of a task without ``cache_for``);
- :func:`duration_only`: while the entry has not expired (the default with ``cache_for``);
- :func:`all_inputs`: not expired, and called with the same inputs;
- :func:`all_parameters`: not expired, and the flow run has the same parameters;
- :func:`partial_inputs_only` / :func:`partial_parameters_only` ``(validate_on=[names])``: not
  expired, and the named inputs (parameters) are the same; ``validate_on=None`` means all.

Inputs are compared with ``==`` (values whose ``==`` is not a plain boolean, such as data frames,
are compared by their pickled bytes). The current time is the run's clock, so a run on a
:class:`~tideflow.clock.FakeClock` sees its own time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import cloudpickle

from tideflow.states import Cached, State

__all__ = [
    "CacheValidator",
    "all_inputs",
    "all_parameters",
    "duration_only",
    "never_use",
    "partial_inputs_only",
    "partial_parameters_only",
]

CacheValidator = Callable[[State, Mapping[str, Any], Mapping[str, Any]], bool]


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: ContextVar[Callable[[], datetime]] = ContextVar("tideflow_cache_now", default=_system_now)


@contextmanager
def clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Validators inside the block read the time from ``now`` (the engine's clock)."""
    token = _now.set(now)
    try:
        yield
    finally:
        _now.reset(token)


def use_clock(now: Callable[[], datetime]) -> Token[Callable[[], datetime]]:
    """Validators read the time from ``now`` until :func:`restore_clock` (the engine's path)."""
    return _now.set(now)


def restore_clock(token: Token[Callable[[], datetime]]) -> None:
    _now.reset(token)


def _unexpired(state: State) -> bool:
    expiration = getattr(state, "cached_result_expiration", None)
    return expiration is None or expiration > _now.get()()


def same(a: Any, b: Any) -> bool:
    """Whether two values are the same for caching: ``==``, else equal pickled bytes."""
    if a is b:
        return True
    try:
        equal = a == b
        if isinstance(equal, bool):
            return equal
        return bool(equal)
    except Exception:
        pass
    try:
        return bool(cloudpickle.dumps(a) == cloudpickle.dumps(b))
    except Exception:
        return False


def _same_items(
    cached: Mapping[str, Any] | None, now: Mapping[str, Any], names: Iterable[str] | None
) -> bool:
    if cached is None:
        return False
    keys = set(cached) | set(now) if names is None else set(names)
    missing = object()
    return all(same(cached.get(k, missing), now.get(k, missing)) for k in keys)


def never_use(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Never use a cached result."""
    return False


def duration_only(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Use a cached result until it expires, whatever the inputs and parameters."""
    return isinstance(state, Cached) and _unexpired(state)


def all_inputs(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Use a cached result that has not expired and was computed from the same inputs."""
    return duration_only(state, inputs, parameters) and _same_items(
        getattr(state, "cached_inputs", None), inputs, None
    )


def all_parameters(state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Use a cached result that has not expired and was computed with the same parameters."""
    return duration_only(state, inputs, parameters) and _same_items(
        getattr(state, "cached_parameters", None), parameters, None
    )


def partial_inputs_only(validate_on: Iterable[str] | None = None) -> CacheValidator:
    """A validator comparing only the inputs named in ``validate_on`` (None: all of them)."""
    names = None if validate_on is None else _names(validate_on, "partial_inputs_only")

    def partial_inputs(
        state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
    ) -> bool:
        return duration_only(state, inputs, parameters) and _same_items(
            getattr(state, "cached_inputs", None), inputs, names
        )

    return partial_inputs


def partial_parameters_only(validate_on: Iterable[str] | None = None) -> CacheValidator:
    """A validator comparing only the parameters named in ``validate_on`` (None: all of them)."""
    names = None if validate_on is None else _names(validate_on, "partial_parameters_only")

    def partial_parameters(
        state: State, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
    ) -> bool:
        return duration_only(state, inputs, parameters) and _same_items(
            getattr(state, "cached_parameters", None), parameters, names
        )

    return partial_parameters


def _names(validate_on: Iterable[str], fn: str) -> frozenset[str]:
    if isinstance(validate_on, str):
        raise TypeError(
            f"{fn}(validate_on=...) takes a list of names, e.g. validate_on=[{validate_on!r}], "
            f"not the single string {validate_on!r}"
        )
    return frozenset(validate_on)


def uses_inputs(validator: Callable[..., bool]) -> bool:
    """Whether entries for ``validator`` must keep the task's inputs (pickled with the value).

    The built-in validators that never look at inputs let the cache skip storing them."""
    if validator in (never_use, duration_only, all_parameters):
        return False
    return getattr(validator, "__name__", "") != "partial_parameters"
