"""Readiness bookkeeping for one flow run: what waits for what, what may run now.

The unit of work is a :data:`Unit`, ``(key, None)`` for a task or ``(key, i)`` for child ``i``
of a mapped task. :class:`Readiness` is plain data plus small steps that the run loop calls:

* :meth:`Readiness.start` counts, per task, the upstream tasks it still waits for;
* :meth:`Readiness.record` takes a unit's new state and returns nothing: it moves downstream units
  to ``ready`` when their last input arrives;
* :meth:`Readiness.inputs` gives a ready unit its arguments and upstream states.

Mapping (``task.map``) is handled here. A mapped task *expands* into children once the width of
each mapped input is known: for an ordinary upstream task that is when it has finished (the
width is the length of its result); for a mapped upstream task it is as soon as *that* task has
expanded, because its width is its number of children. The width is the shortest mapped input.
Child ``i`` of a mapped-to-mapped chain then waits only for child ``i`` of its mapped upstream
tasks, so each child pipeline flows through on its own (depth first) instead of waiting for a
whole level to finish. A mapped task whose children have all finished ends ``Mapped`` with the
children's states in ``map_states`` and their results as a list; a task that consumes it without
mapping receives that list.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tideflow.engine.task_runner import upstream_verdict
from tideflow.flow import Flow
from tideflow.graph import Edge
from tideflow.states import Failed, Finished, Mapped, Pending, Retrying, State

Unit = tuple[str, int | None]


@dataclass
class Expansion:
    """A mapped task's children: their states, and how many inputs each still waits for."""

    width: int
    states: list[State | None]
    waiting: list[int]
    values: dict[Edge, list[Any]]  # mapped inputs that come from ordinary (non-mapped) tasks
    remaining: int


@dataclass
class Readiness:
    """See the module docstring."""

    flow: Flow
    waiting: dict[str, int]
    ready: deque[Unit] = field(default_factory=deque)
    states: dict[str, State] = field(default_factory=dict)
    running: set[Unit] = field(default_factory=set)
    retries: list[tuple[datetime, int, Unit]] = field(default_factory=list)
    expansions: dict[str, Expansion] = field(default_factory=dict)
    mapped: frozenset[str] = frozenset()

    @classmethod
    def start(cls, flow: Flow) -> Readiness:
        graph = flow.graph
        mapped = frozenset(k for k in graph.nodes if any(e.mapped for e in graph.upstream_edges(k)))
        waiting = {k: len(graph.upstream(k)) for k in graph.toposort()}
        ready = cls(flow, waiting, mapped=mapped)
        for key, count in waiting.items():
            if count == 0:
                ready._unblocked(key)
        return ready

    # -- which upstream event unblocks a downstream task ------------------------------------

    def _early(self, up: str, down: str) -> bool:
        """Whether ``down`` may start once ``up`` has *expanded* (before it finishes)."""
        edges = [e for e in self.flow.graph.upstream_edges(down) if e.upstream == up]
        return up in self.mapped and all(e.mapped and not e.flattened for e in edges)

    def _unblocked(self, key: str) -> None:
        if key in self.mapped:
            self._expand(key)
        else:
            self.ready.append((key, None))

    def _release(self, up: str, *, expanded: bool) -> None:
        for down in self.flow.graph.downstream(up):
            if self._early(up, down) != expanded:
                continue
            self.waiting[down] -= 1
            if self.waiting[down] == 0:
                self._unblocked(down)

    # -- recording states ---------------------------------------------------------------------

    def record(self, unit: Unit, state: State) -> None:
        """Take the latest state of ``unit`` and update what is ready."""
        key, index = unit
        self.running.discard(unit)
        if index is not None:
            self._record_child(key, index, state)
            return
        self.states[key] = state
        if isinstance(state, Finished):
            self._finished(key)

    def _finished(self, key: str) -> None:
        if key in self.mapped and key not in self.expansions:
            self._release(key, expanded=True)  # it ended without children: unblock anyway
        self._release(key, expanded=False)

    def _record_child(self, key: str, index: int, state: State) -> None:
        expansion = self.expansions[key]
        expansion.states[index] = state
        if not isinstance(state, Finished):
            return
        expansion.remaining -= 1
        for down in self.flow.graph.downstream(key):
            child_of_down = self.expansions.get(down)
            if child_of_down is not None and self._early(key, down) and index < child_of_down.width:
                child_of_down.waiting[index] -= 1
                if child_of_down.waiting[index] == 0:
                    # First in line: a child pipeline runs to its end before the next starts
                    # (depth first), so finished results can be released early.
                    self.ready.appendleft((down, index))
        if expansion.remaining == 0:
            self._close(key)

    def _close(self, key: str) -> None:
        children: list[State] = [s for s in self.expansions[key].states if s is not None]
        self.states[key] = Mapped(
            f"mapped over {len(children)} children",
            [s.result for s in children],
            map_states=children,
        )
        self._release(key, expanded=False)

    def retry_later(self, unit: Unit, state: Retrying, seq: int) -> None:
        self.record(unit, state)
        assert state.start_time is not None
        heapq.heappush(self.retries, (state.start_time, seq, unit))

    def due_retries(self, now: datetime) -> list[Unit]:
        due = []
        while self.retries and self.retries[0][0] <= now:
            due.append(heapq.heappop(self.retries)[2])
        return due

    def seconds_to_next_retry(self, now: datetime) -> float | None:
        if not self.retries:
            return None
        return max((self.retries[0][0] - now).total_seconds(), 0.0)

    def current(self, unit: Unit) -> State | None:
        key, index = unit
        if index is None:
            return self.states.get(key)
        return self.expansions[key].states[index]

    # -- expanding a mapped task ------------------------------------------------------------

    def _expand(self, key: str) -> None:
        task = self.flow.task(key)
        edges = self.flow.graph.upstream_edges(key)
        # Mapped-to-mapped inputs are judged child by child, not here.
        settled = {
            e: self.states[e.upstream]
            for e in edges
            if e.upstream in self.states
            and not (e.upstream in self.expansions and self._early(e.upstream, key))
        }
        verdict = upstream_verdict(task, settled) if settled else None
        if verdict is not None:
            self.states[key] = verdict
            self._finished(key)
            return
        try:
            values, width = self._mapped_inputs(key, edges)
        except _NotMappable as exc:
            self.states[key] = Failed(str(exc))
            self._finished(key)
            return
        waiting = [0] * width
        for e in edges:
            if e.mapped and e.upstream in self.expansions and self._early(e.upstream, key):
                upstream_children = self.expansions[e.upstream].states
                for i in range(width):
                    if not isinstance(upstream_children[i], Finished):
                        waiting[i] += 1
        self.expansions[key] = Expansion(width, [None] * width, waiting, values, width)
        self._release(key, expanded=True)
        if width == 0:
            self._close(key)
            return
        self.ready.extend((key, i) for i in range(width) if waiting[i] == 0)

    def _mapped_inputs(self, key: str, edges: list[Edge]) -> tuple[dict[Edge, list[Any]], int]:
        values: dict[Edge, list[Any]] = {}
        widths: list[int] = []
        for e in edges:
            if not e.mapped:
                continue
            if e.upstream in self.expansions and self._early(e.upstream, key):
                widths.append(self.expansions[e.upstream].width)
                continue
            result = self.states[e.upstream].result
            if not (isinstance(result, Sized) and isinstance(result, Iterable)):
                raise _NotMappable(
                    f"cannot map over the result of {e.upstream!r}: a "
                    f"{type(result).__name__} has no length; map over a list or tuple"
                )
            items = list(result)
            if e.flattened:
                items = [x for item in items for x in item]
            values[e] = items
            widths.append(len(items))
        return values, min(widths)

    # -- what a ready unit gets ------------------------------------------------------------

    def inputs(self, unit: Unit) -> tuple[dict[str, Any], dict[Edge, State]]:
        """The keyword arguments and upstream states of ``unit``."""
        key, index = unit
        flow = self.flow
        inputs = dict(flow.constants.get(flow.task(key), ()))
        upstream: dict[Edge, State] = {}
        expansion = self.expansions.get(key)
        for edge in flow.graph.upstream_edges(key):
            state, value = self._input(edge, index, expansion)
            upstream[edge] = state
            if edge.key is not None:
                inputs[edge.key] = value
        return inputs, upstream

    def _input(
        self, edge: Edge, index: int | None, expansion: Expansion | None
    ) -> tuple[State, Any]:
        if index is not None and edge.mapped and expansion is not None:
            if edge in expansion.values:
                return self.states[edge.upstream], expansion.values[edge][index]
            child = self.expansions[edge.upstream].states[index]
            assert child is not None
            return child, child.result
        state = self.states[edge.upstream]
        return state, state.result

    def final_states(self) -> dict[str, State]:
        """Every task's state; tasks that never ran are ``Pending("Task not run.")``."""
        return {
            k: self.states.get(k) or Pending("Task not run.") for k in self.flow.graph.toposort()
        }


class _NotMappable(Exception):
    pass
