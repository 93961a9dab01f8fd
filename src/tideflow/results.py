"""What a task reports besides its return value: metrics and artifacts, kept in the run history.

Inside a running task::

    import tideflow

    @tideflow.task
    def evaluate(y_true, y_pred):
        mae = mean_absolute_error(y_true, y_pred)
        tideflow.log_metric("mae", mae)                      # a number, plotted across runs
        tideflow.log_artifact("summary", {"mae": mae, "n": len(y_true)})   # any JSON value
        return mae

Each call is collected with the task attempt that made it and travels back with that attempt's
final state (``state.context["outputs"]``), so it works the same whether the task ran in this
process, in a process pool or on a Dask worker. The run recorder then writes it to the run store
(``tideflow metrics FLOW`` reads metrics back). Values are checked when logged, so a bad value
fails the task that logged it, with a message naming the metric.

A task's return value itself is kept when the task asks for it with ``checkpoint=True``
(``@task(checkpoint=True)``) and the value is JSON-serialisable.

Called outside a task run, both functions raise :class:`~tideflow.errors.TideflowError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from numbers import Real
from typing import Any, Literal

from tideflow.errors import TideflowError

__all__ = ["Output", "collect_outputs", "log_artifact", "log_metric"]


@dataclass(frozen=True, slots=True)
class Output:
    """One metric or artifact logged by a task attempt."""

    kind: Literal["metric", "artifact"]
    name: str
    value: Any
    number: float | None
    timestamp: datetime


_outputs: ContextVar[list[Output] | None] = ContextVar("tideflow_outputs", default=None)


@contextmanager
def collect_outputs() -> Iterator[list[Output]]:
    """Collect what :func:`log_metric` and :func:`log_artifact` log inside the block."""
    collected: list[Output] = []
    token = _outputs.set(collected)
    try:
        yield collected
    finally:
        _outputs.reset(token)


def log_metric(name: str, value: float) -> None:
    """Record the number ``value`` as metric ``name`` of the running task's flow run.

    Raises:
        TideflowError: called outside a running task.
        ValueError: ``name`` is empty or ``value`` is not a finite real number.
    """
    sink = _sink("log_metric")
    _check_name(name, "metric")
    number = _finite(name, value)
    sink.append(Output("metric", name, number, number, datetime.now(UTC)))


def log_artifact(name: str, value: Any) -> None:
    """Record ``value`` (anything JSON can hold) as artifact ``name`` of the running task.

    Raises:
        TideflowError: called outside a running task.
        ValueError: ``name`` is empty or ``value`` is not JSON-serialisable.
    """
    sink = _sink("log_artifact")
    _check_name(name, "artifact")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"artifact {name!r}: the value must be JSON-serialisable ({exc}); "
            "log a dict, list, string or number, e.g. a DataFrame's .to_dict('records')"
        ) from None
    sink.append(Output("artifact", name, value, None, datetime.now(UTC)))


def _sink(function: str) -> list[Output]:
    sink = _outputs.get()
    if sink is None:
        raise TideflowError(
            f"tideflow.{function}() was called outside a running task; call it from inside a "
            "task function while the flow runs"
        )
    return sink


def _finite(name: str, value: object) -> float:
    # numbers.Real admits numpy's scalars too (numpy.int64 is not an int).
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(
            f"metric {name!r}: the value must be a finite number, got {value!r}; "
            "convert it with float() and drop NaN or infinite values"
        )
    return float(value)


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {what} name must be a non-empty string, got {name!r}")
