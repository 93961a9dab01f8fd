"""The flow graph as plain data: nodes keyed by string, and edges between keys.

A :class:`Graph` is what a flow *is* once the decorators and ``with Flow(...)`` sugar are peeled
away. Each :class:`Node` names a task (its unique ``key`` within the flow, its display ``name``, its
kind and tags); each :class:`Edge` says that ``downstream`` waits for ``upstream`` and, when ``key``
is set, receives its result as the keyword argument ``key`` (``mapped`` and ``flattened`` mark
mapped inputs). A graph prints, compares equal, and round-trips through ``to_dict``/``from_dict``.

Acyclicity is kept as an invariant: :meth:`Graph.add_edge` refuses an edge that would close a
cycle and names the cycle, e.g. ``a -> b -> c -> a``. Because edges are normally added towards a
task that has just been created (and so has no descendants), the check is usually one lookup.

>>> g = Graph("demo")
>>> for k in "abc":
...     g.add_node(Node(k, k))
>>> g.add_edge(Edge("a", "b"))
>>> g.add_edge(Edge("b", "c"))
>>> g.add_edge(Edge("c", "a"))
Traceback (most recent call last):
...
tideflow.errors.CycleError: flow 'demo': the edge c -> a would close the cycle a -> b -> c -> a. ...
>>> g.toposort()
['a', 'b', 'c']
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from tideflow.errors import CycleError, FlowDefinitionError

GRAPH_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Node:
    """One task in a graph."""

    key: str
    name: str
    kind: str = "Task"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class Edge:
    """``downstream`` depends on ``upstream``; with ``key`` it gets the result as that argument."""

    upstream: str
    downstream: str
    key: str | None = None
    mapped: bool = False
    flattened: bool = False

    def __post_init__(self) -> None:
        if self.upstream == self.downstream:
            raise CycleError(
                f"task {self.upstream!r} cannot depend on itself "
                f"(the edge {self.upstream} -> {self.downstream} is a cycle of one)",
                [self.upstream, self.upstream],
            )

    def __str__(self) -> str:
        label = f" ({self.key}{', mapped' if self.mapped else ''})" if self.key else ""
        return f"{self.upstream} -> {self.downstream}{label}"


@dataclass(eq=False)
class Graph:
    """Nodes and edges, kept acyclic, with cached topological order."""

    name: str = "graph"
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._up: dict[str, list[Edge]] = {k: [] for k in self.nodes}
        self._down: dict[str, list[Edge]] = {k: [] for k in self.nodes}
        self._edge_set: set[Edge] = set()
        self._order: list[str] | None = None
        self._index: dict[str, int] = {k: i for i, k in enumerate(self.nodes)}
        edges, self.edges = self.edges, []
        for edge in edges:
            self.add_edge(edge)

    # -- building ----------------------------------------------------------------------------

    def add_node(self, node: Node) -> None:
        """Add ``node``; the same node again is a no-op, another node with its key an error."""
        existing = self.nodes.get(node.key)
        if existing is not None:
            if existing != node:
                raise FlowDefinitionError(
                    f"flow {self.name!r} already has a task with key {node.key!r}; "
                    "give the new task another name or slug"
                )
            return
        self.nodes[node.key] = node
        self._up[node.key] = []
        self._down[node.key] = []
        self._index[node.key] = len(self._index)
        self._order = None

    def add_edge(self, edge: Edge) -> None:
        """Add ``edge``; raise :class:`CycleError` naming the cycle if it would close one."""
        for key in (edge.upstream, edge.downstream):
            if key not in self.nodes:
                raise FlowDefinitionError(
                    f"flow {self.name!r} has no task {key!r} (edge {edge}); add the task first"
                )
        if edge in self._edge_set:
            return
        back = self.path(edge.downstream, edge.upstream)
        if back is not None:
            cycle = [*back, edge.downstream]
            raise CycleError(
                f"flow {self.name!r}: the edge {edge.upstream} -> {edge.downstream} would close "
                f"the cycle {' -> '.join(cycle)}. A flow must be acyclic: remove one of these "
                "dependencies.",
                cycle,
            )
        self.edges.append(edge)
        self._edge_set.add(edge)
        self._up[edge.downstream].append(edge)
        self._down[edge.upstream].append(edge)
        self._order = None

    # -- questions -----------------------------------------------------------------------

    def upstream_edges(self, key: str) -> list[Edge]:
        return self._up[key]

    def downstream_edges(self, key: str) -> list[Edge]:
        return self._down[key]

    def upstream(self, key: str) -> list[str]:
        """Keys ``key`` depends on, without repeats, in the order the edges were added."""
        return list(dict.fromkeys(e.upstream for e in self._up[key]))

    def downstream(self, key: str) -> list[str]:
        return list(dict.fromkeys(e.downstream for e in self._down[key]))

    def roots(self) -> list[str]:
        return [k for k in self.nodes if not self._up[k]]

    def terminals(self) -> list[str]:
        return [k for k in self.nodes if not self._down[k]]

    def path(self, start: str, goal: str) -> list[str] | None:
        """A path of keys from ``start`` to ``goal`` following edges downstream, or ``None``."""
        if start == goal:
            return [start]
        parent: dict[str, str] = {start: start}
        stack = [start]
        while stack:
            key = stack.pop()
            for edge in self._down[key]:
                nxt = edge.downstream
                if nxt in parent:
                    continue
                parent[nxt] = key
                if nxt == goal:
                    out = [goal]
                    while out[-1] != start:
                        out.append(parent[out[-1]])
                    return out[::-1]
                stack.append(nxt)
        return None

    def toposort(self) -> list[str]:
        """Keys in an order where every task comes after its upstream tasks.

        Ties are broken by insertion order, so the order is deterministic.
        """
        if self._order is None:
            index = self._index
            remaining = {k: len(self.upstream(k)) for k in self.nodes}
            heap = [index[k] for k, n in remaining.items() if n == 0]
            heapq.heapify(heap)
            keys = list(self.nodes)
            order: list[str] = []
            while heap:
                key = keys[heapq.heappop(heap)]
                order.append(key)
                for nxt in self.downstream(key):
                    remaining[nxt] -= 1
                    if remaining[nxt] == 0:
                        heapq.heappush(heap, index[nxt])
            self._order = order
        return list(self._order)

    # -- plain data ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible description (``version``, ``name``, ``nodes``, ``edges``)."""
        return {
            "version": GRAPH_FORMAT_VERSION,
            "name": self.name,
            # Spelled out rather than dataclasses.asdict, which is ten times slower; every
            # recorded run of a 10,000-task flow pays for this.
            "nodes": [
                {"key": n.key, "name": n.name, "kind": n.kind, "tags": list(n.tags)}
                for n in self.nodes.values()
            ],
            "edges": [
                {
                    "upstream": e.upstream,
                    "downstream": e.downstream,
                    "key": e.key,
                    "mapped": e.mapped,
                    "flattened": e.flattened,
                }
                for e in self.edges
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        nodes = {
            n["key"]: Node(n["key"], n["name"], n.get("kind", "Task"), tuple(n.get("tags", ())))
            for n in data["nodes"]
        }
        edges = [
            Edge(
                e["upstream"],
                e["downstream"],
                e.get("key"),
                bool(e.get("mapped", False)),
                bool(e.get("flattened", False)),
            )
            for e in data["edges"]
        ]
        return cls(data.get("name", "graph"), nodes, edges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (
            self.name == other.name
            and self.nodes == other.nodes
            and self._edge_set == other._edge_set
        )

    def __str__(self) -> str:
        lines = [f"Graph {self.name!r}: {len(self.nodes)} tasks, {len(self.edges)} edges"]
        for key in self.toposort():
            ups = [e.upstream + (f" ({e.key})" if e.key else "") for e in self._up[key]]
            lines.append(f"  {key}" + (f"  <- {', '.join(ups)}" if ups else ""))
        return "\n".join(lines)
