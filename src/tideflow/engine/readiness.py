"""Readiness bookkeeping for one flow run: what waits for what, what may run now.

The unit of work is a :data:`Unit`, ``(key, None)`` for a task or ``(key, i)`` for child ``i``
of a mapped task. :class:`Readiness` is plain data plus small steps that the run loop calls:
:meth:`~Readiness.submitted` when it hands a unit to the executor, :meth:`~Readiness.record`
when a unit's state comes back, and :meth:`~Readiness.sources` to learn where a ready unit's
inputs come from. Units whose inputs are all available move to ``ready``.

**When is an input available?** A downstream task waits for each upstream task until one of
three events, decided per pair of tasks (:meth:`Readiness.when`):

* ``expanded``: the upstream is a mapped task feeding a mapped downstream child by child. Its
  width is known once it has expanded, which is all the downstream needs to expand too. Child
  ``i`` downstream then waits only for child ``i`` upstream, so each child pipeline flows on its
  own (depth first) instead of waiting for a whole level.
* ``submitted``: with an executor that chains futures (Dask), a downstream unit can be submitted
  as soon as its upstream units have been, passing their futures; Dask starts it when they are
  done, with no round trip through this loop.
* ``finished``: otherwise, and always when the downstream needs the upstream's *result* here in
  the loop, to learn a mapped width (mapping over an ordinary task's list) or to flatten it.

A mapped task expands into children once the width of each mapped input is known; the width is
the shortest mapped input. When all its children have finished it ends ``Mapped`` with the
children's states in ``map_states`` and their results as a list; a task that consumes it without
mapping receives that list.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tideflow.context import context
from tideflow.engine.task_runner import through_handlers, upstream_verdict
from tideflow.engine.units import Source
from tideflow.flow import Flow
from tideflow.graph import Edge
from tideflow.states import (
    Failed,
    Finished,
    Mapped,
    Paused,
    Pending,
    Resume,
    Retrying,
    Skipped,
    State,
)
from tideflow.task import Task

Unit = tuple[str, int | None]
Event = Literal["expanded", "submitted", "finished"]
EVERY_EVENT: frozenset[Event] = frozenset({"expanded", "submitted", "finished"})


@dataclass
class Expansion:
    """A mapped task's children: states, submissions, and inputs each still waits for."""

    width: int
    states: list[State | None]
    submitted: list[bool]
    waiting: list[int]
    values: dict[Edge, list[Any]]  # mapped inputs that come from ordinary (non-mapped) tasks
    item_states: dict[Edge, list[State | None]]  # flattened children's own states, per item
    unfinished: int
    unsubmitted: int


@dataclass
class Readiness:
    """See the module docstring."""

    flow: Flow
    chained: bool = False
    waiting: dict[str, int] = field(default_factory=dict)
    ready: deque[Unit] = field(default_factory=deque)
    states: dict[str, State] = field(default_factory=dict)
    running: set[Unit] = field(default_factory=set)
    retries: list[tuple[datetime, int, Unit]] = field(default_factory=list)
    expansions: dict[str, Expansion] = field(default_factory=dict)
    mapped: frozenset[str] = frozenset()
    _when: dict[tuple[str, str], Event] = field(default_factory=dict)
    _stripped: dict[str, State] = field(default_factory=dict)
    _down: dict[str, list[str]] = field(default_factory=dict)
    # Passes a mapped parent's own state through its task's state handlers (set by the run loop).
    on_parent: Callable[[str, State], State] | None = None
    given: dict[str, State] = field(default_factory=dict)

    @classmethod
    def start(
        cls, flow: Flow, chained: bool = False, given: dict[str, State] | None = None
    ) -> Readiness:
        """Bookkeeping for a run of ``flow``. ``given`` states (``flow.run(task_states=...)``):
        a finished one stands for its task, which does not run (its downstream tasks get its
        result once its upstream tasks are done, as if it had run); an unfinished one is where
        its task starts from (a ``Retrying`` state carries its attempt count on)."""
        graph = flow.graph
        mapped = frozenset(k for k in graph.nodes if any(e.mapped for e in graph.upstream_edges(k)))
        waiting = {k: len(graph.upstream(k)) for k in graph.toposort()}
        ready = cls(flow, chained, waiting, mapped=mapped, on_parent=_through_handlers(flow))
        for key, state in (given or {}).items():
            if isinstance(state, Finished):
                ready.given[key] = state
            else:
                ready.states[key] = state
        for key in [k for k, count in waiting.items() if count == 0]:
            ready._unblocked(key)  # (a given state may unblock later keys: listed first)
        return ready

    # -- which upstream event unblocks a downstream task ------------------------------------

    def when(self, up: str, down: str) -> Event:
        """The event of ``up`` that makes it available to ``down`` (see the module docstring)."""
        pair = (up, down)
        event = self._when.get(pair)
        if event is None:
            edges = [e for e in self.flow.graph.upstream_edges(down) if e.upstream == up]
            if up in self.mapped and all(e.mapped and not e.flattened for e in edges):
                event = "expanded"
            elif (
                self.chained
                and down not in self.mapped  # a mapped task judges its inputs before expanding
                and not any(e.mapped or e.flattened for e in edges)
            ):
                event = "submitted"
            else:
                event = "finished"
            self._when[pair] = event
        return event

    def _downstream(self, key: str) -> list[str]:
        """``graph.downstream(key)``, computed once per run (it is asked once per mapped child)."""
        keys = self._down.get(key)
        if keys is None:
            keys = self._down[key] = self.flow.graph.downstream(key)
        return keys

    def _unblocked(self, key: str) -> None:
        if self.given and key in self.given:
            self._settle_without_children(key, self.given[key])
        elif key in self.mapped:
            self._expand(key)
        else:
            self.ready.append((key, None))

    def _release(self, up: str, events: frozenset[Event]) -> None:
        for down in self._downstream(up):
            if self.when(up, down) in events:
                self.waiting[down] -= 1
                if self.waiting[down] == 0:
                    self._unblocked(down)

    def _advance_children(self, up: str, index: int) -> None:
        """Child ``index`` of ``up`` had its child event: its downstream children may go."""
        for down in self._downstream(up):
            below = self.expansions.get(down)
            if below is not None and self.when(up, down) == "expanded" and index < below.width:
                below.waiting[index] -= 1
                if below.waiting[index] == 0:
                    # First in line: a child pipeline runs to its end before the next starts
                    # (depth first), so finished results can be released early.
                    self.ready.appendleft((down, index))

    # -- events from the run loop -------------------------------------------------------------

    def submitted(self, unit: Unit) -> None:
        """``unit`` was handed to the executor."""
        self.running.add(unit)
        if not self.chained:
            return
        key, index = unit
        if index is None:
            self._release(key, frozenset({"submitted"}))
            return
        expansion = self.expansions[key]
        if not expansion.submitted[index]:
            expansion.submitted[index] = True
            expansion.unsubmitted -= 1
            self._advance_children(key, index)
            if expansion.unsubmitted == 0:
                self._release(key, frozenset({"submitted"}))

    def record(self, unit: Unit, state: State) -> None:
        """Take the latest state of ``unit`` and update what is ready."""
        key, index = unit
        self.running.discard(unit)
        if index is not None:
            self._record_child(key, index, state)
            return
        self.states[key] = state
        if isinstance(state, Finished):
            self._release(key, frozenset({"finished"}))

    def _record_child(self, key: str, index: int, state: State) -> None:
        expansion = self.expansions[key]
        expansion.states[index] = state
        if not isinstance(state, Finished):
            return
        expansion.unfinished -= 1
        if not self.chained:
            self._advance_children(key, index)
        if expansion.unfinished == 0:
            self._close(key)

    def _close(self, key: str) -> None:
        children: list[State] = [s for s in self.expansions[key].states if s is not None]
        self.states[key] = self._parent_state(
            key,
            Mapped(
                f"mapped over {len(children)} children",
                [s.result for s in children],
                map_states=children,
            ),
        )
        self._release(key, frozenset({"finished"}))

    def _settle_without_children(self, key: str, state: State) -> None:
        """A mapped task that ends before expanding: every waiting downstream is released."""
        self.states[key] = self._parent_state(key, state)
        self._release(key, EVERY_EVENT)

    def _parent_state(self, key: str, state: State) -> State:
        return state if self.on_parent is None else self.on_parent(key, state)

    # -- retries -------------------------------------------------------------------------------

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

    def _expand(self, key: str, resumed: bool = False) -> None:
        task = self.flow.task(key)
        edges = self.flow.graph.upstream_edges(key)
        # Every input but the child-by-child ones has finished (see when()). A skipped one skips
        # the whole map, and one that cannot be mapped over ends it unless the trigger says
        # otherwise; everything else, the trigger included, is judged by each child on its own
        # inputs (as in Prefect 1), so every executor gives the same states.
        settled = {
            e: self.states[e.upstream]
            for e in edges
            if e.upstream in self.states
            and not (self.when(e.upstream, key) == "expanded" and e.upstream in self.expansions)
        }
        verdict = _parent_verdict(task, settled) if settled else None
        if verdict is None and settled:
            # A trigger that waits for approval (manual_only) holds the whole map before it
            # expands; once approved (context resume=True) it passes and the map expands.
            held = upstream_verdict(task, settled)
            verdict = held if isinstance(held, Paused) else None
        if isinstance(verdict, Paused):  # waits for approval, and its downstream tasks with it
            self.states[key] = verdict
            return
        if verdict is not None:
            self._settle_without_children(key, verdict)
            return
        try:
            values, item_states, width = self._mapped_inputs(key, edges)
        except _NotMappable as exc:
            self._settle_without_children(key, Failed(str(exc)))
            return
        waiting = [0] * width
        for up in {e.upstream for e in edges if self.when(e.upstream, key) == "expanded"}:
            above = self.expansions.get(up)
            if above is None:
                continue  # it ended without children, so it is a settled input
            done = (
                above.submitted if self.chained else [isinstance(s, Finished) for s in above.states]
            )
            for i in range(width):
                waiting[i] += not done[i]
        initial: list[State | None] = (
            [Resume("approved") for _ in range(width)] if resumed else [None] * width
        )
        self.expansions[key] = Expansion(
            width, initial, [False] * width, waiting, values, item_states, width, width
        )
        self._release(key, frozenset({"expanded"}))
        if width == 0:
            self._release(key, frozenset({"submitted"}))
            self._close(key)
            return
        self.ready.extend((key, i) for i in range(width) if waiting[i] == 0)

    def _mapped_inputs(
        self, key: str, edges: list[Edge]
    ) -> tuple[dict[Edge, list[Any]], dict[Edge, list[State | None]], int]:
        values: dict[Edge, list[Any]] = {}
        item_states: dict[Edge, list[State | None]] = {}
        widths: list[int] = []
        for e in edges:
            if not e.mapped:
                continue
            if self.when(e.upstream, key) == "expanded" and e.upstream in self.expansions:
                widths.append(self.expansions[e.upstream].width)
                continue
            state = self.states[e.upstream]
            result = state.result
            if not (isinstance(result, Sized) and isinstance(result, Iterable)):
                raise _NotMappable(
                    f"cannot map over the result of {e.upstream!r}: a "
                    f"{type(result).__name__} has no length; map over a list or tuple"
                )
            items = list(result)
            if e.flattened:
                items, item_states[e] = _flattened(state, items)
            values[e] = items
            widths.append(len(items))
        return values, item_states, min(widths)

    # -- where a ready unit's inputs come from ------------------------------------------------

    def sources(self, unit: Unit) -> list[Source]:
        """For each upstream edge of ``unit``: a known state, a known item, or a unit to await.

        A source is ``(edge, "state", State)``, ``(edge, "item", (State, value))`` (one item of a
        mapped input), ``(edge, "unit", unit)`` (a unit still running; chained executors pass
        its future) or ``(edge, "children", [unit or State])`` (a mapped task still running,
        consumed whole: finished children as states, the others as units).
        """
        key, index = unit
        expansion = self.expansions.get(key)
        out: list[Source] = []
        for edge in self.flow.graph.upstream_edges(key):
            up = edge.upstream
            if index is not None and expansion is not None and edge.mapped:
                if edge in expansion.values:
                    item = expansion.values[edge][index]
                    own = expansion.item_states.get(edge)
                    state = own[index] if own is not None else None
                    out.append((edge, "item", (state or self._without_result(up), item)))
                    continue
                if up in self.expansions:
                    child = self.expansions[up].states[index]
                    if isinstance(child, Finished):
                        out.append((edge, "state", child))
                    else:
                        out.append((edge, "unit", (up, index)))
                    continue
            state = self.states.get(up)
            if isinstance(state, Finished):
                out.append((edge, "state", state))
            elif up in self.expansions:
                children = self.expansions[up].states
                out.append(
                    (
                        edge,
                        "children",
                        [c if isinstance(c, Finished) else (up, i) for i, c in enumerate(children)],
                    )
                )
            else:
                out.append((edge, "unit", (up, None)))
        return out

    def _without_result(self, key: str) -> State:
        """``key``'s state without its result, for children that each take one item of it.

        Children need the state for their trigger, not the whole list they map over; shipping
        it with every child would make a map of n items cost n * n to send to a cluster.
        """
        stripped = self._stripped.get(key)
        if stripped is None:
            state = self.states[key]
            stripped = self._stripped[key] = type(state)(state.message, timestamp=state.timestamp)
        return stripped

    def paused_units(self) -> list[Unit]:
        """The units waiting for approval (``Paused``), tasks and mapped children."""
        units: list[Unit] = [(k, None) for k, s in self.states.items() if isinstance(s, Paused)]
        for key, expansion in self.expansions.items():
            units += [(key, i) for i, s in enumerate(expansion.states) if isinstance(s, Paused)]
        return units

    def resume(self, unit: Unit, state: State) -> bool:
        """``unit``, paused, was approved (``state`` is its ``Resume``); whether it is to be run
        again (a mapped task paused before expanding expands now instead)."""
        key, index = unit
        if index is None and key in self.mapped:
            del self.states[key]
            with context(resume=True):  # its trigger passes now, and so do its children's
                self._expand(key, resumed=True)
            return False
        self.record(unit, state)
        return True

    def final_states(self) -> dict[str, State]:
        """Every task's state; tasks that never ran are ``Pending("Task not run.")``."""
        return {
            k: self.states.get(k) or Pending("Task not run.") for k in self.flow.graph.toposort()
        }


class _NotMappable(Exception):
    pass


def _through_handlers(flow: Flow) -> Callable[[str, State], State] | None:
    """A mapped parent's state through its task's handlers (``Pending -> Mapped``, ...)."""

    def through(key: str, state: State) -> State:
        task = flow.task(key)
        if not task.state_handlers and task.on_failure is None:
            return state
        return through_handlers(task, Pending(), state)

    return through


def _parent_verdict(task: Task, settled: dict[Edge, State]) -> State | None:
    """A mapped task's state when it must end without children, else None (see _expand)."""
    if task.skip_on_upstream_skip and any(s.is_skipped() for s in settled.values()):
        return Skipped("an upstream task was skipped")
    if any(e.mapped and not s.is_successful() for e, s in settled.items()):
        return upstream_verdict(task, settled)
    return None


def _nested(value: Any) -> bool:
    """Whether ``flatten`` un-nests ``value``: any iterable but text and bytes."""
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray)


def _flattened(state: State, items: list[Any]) -> tuple[list[Any], list[State | None]]:
    """``items`` un-nested one level, with the state each item comes from.

    An item that is not a collection stays one item, as in Prefect 1. Of a mapped upstream,
    a child that failed or was skipped stays one item too, carrying its own state, so that
    the child mapped over it judges that state (its trigger fails, or it is skipped).
    """
    children = state.map_states if isinstance(state, Mapped) else None
    flat: list[Any] = []
    states: list[State | None] = []
    for i, item in enumerate(items):
        child = children[i] if children is not None and i < len(children) else None
        if child is not None and (child.is_skipped() or not child.is_successful()):
            flat.append(item)
            states.append(child)
        elif _nested(item):
            before = len(flat)
            flat.extend(item)
            states.extend([None] * (len(flat) - before))
        else:
            flat.append(item)
            states.append(None)
    return flat, states
