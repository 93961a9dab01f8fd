"""Running one unit (a task, or one child of a mapped task) from where its inputs come from.

The run loop describes a unit's inputs as *sources* (see
:meth:`~tideflow.engine.readiness.Readiness.sources`): states it already knows, or the futures of
units still running when the executor chains futures (Dask resolves them before the unit starts,
on the worker). :func:`run_unit` turns the sources into arguments and upstream states
(:func:`materialize`) and runs the task; with ``retry_in_place`` (chaining executors) it also
runs the task's retries there, giving its worker slot back while it waits.

``live`` hears, where the unit runs, of every state the unit enters but its last, when it enters
it: each attempt's ``Running``, and the ``Retrying`` between attempts run in place. So the states
it hears of are always the first ones of the history :func:`run_unit` returns.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from tideflow.engine.logs import Captured
from tideflow.engine.task_runner import Live, Now, TaskCall, run_task, utcnow
from tideflow.graph import Edge
from tideflow.states import Finished, Mapped, Pending, Retrying, State

Kind = Literal["state", "item", "unit", "children"]
Source = tuple[Edge, Kind, Any]


def _history(payload: Any) -> list[State]:
    return payload.value if isinstance(payload, Captured) else payload  # type: ignore[no-any-return]


def _last(payload: Any) -> State:
    if isinstance(payload, State):
        return payload
    history = _history(payload)
    return history[-1] if history else Pending("its upstream task did not finish")


def materialize(call: TaskCall, spec: list[Source]) -> bool:
    """Fill ``call``'s inputs and upstream states from ``spec``; False if an upstream is unfinished.

    ``unit`` and ``children`` payloads are what their units returned (a state history, possibly
    wrapped in :class:`Captured` by a remote executor).
    """
    upstream: dict[Edge, State] = {}
    finished = True
    for edge, kind, payload in spec:
        if kind == "item":
            state, value = payload
        else:
            if kind == "state":
                state = payload
            elif kind == "unit":
                state = _last(payload)
            else:
                children = [_last(p) for p in payload]
                # A child still waiting (paused) leaves the whole mapped input unfinished.
                finished = finished and all(isinstance(c, Finished) for c in children)
                state = Mapped(
                    f"mapped over {len(children)} children",
                    [c.result for c in children],
                    map_states=children,
                )
            value = state.result
        upstream[edge] = state
        if edge.key is not None:
            call.inputs[edge.key] = value
    call.upstream_states = upstream
    return finished and all(isinstance(s, Finished) for s in upstream.values())


def run_unit(
    call: TaskCall,
    spec: list[Source],
    now: Now = utcnow,
    retry_in_place: bool = False,
    live: Live | None = None,
) -> list[State]:
    """Run ``call`` once its inputs are resolved; the states it went through, final one last.

    An empty list means an upstream task never finished (it is paused), so this one waits too.
    """
    if not materialize(call, spec):
        return []
    history = run_task(call, now, live)
    while retry_in_place and isinstance(history[-1], Retrying):
        retry = history[-1]
        assert retry.start_time is not None
        if live is not None:
            live(retry)  # no longer the last state: the unit waits, then runs again
        _sleep_without_a_slot((retry.start_time - now()).total_seconds())
        call.state, call.run_count = retry, retry.run_count
        history += run_task(call, now, live)
    return history


def _sleep_without_a_slot(seconds: float) -> None:
    """Wait for a retry; on a Dask worker, hand the thread's slot to other tasks meanwhile."""
    if seconds <= 0:
        return
    try:
        from distributed import rejoin, secede
        from distributed.worker import get_worker

        get_worker()
    except (ImportError, ValueError):
        time.sleep(seconds)
        return
    secede()  # type: ignore[no-untyped-call]
    try:
        time.sleep(seconds)
    finally:
        rejoin()  # type: ignore[no-untyped-call]
