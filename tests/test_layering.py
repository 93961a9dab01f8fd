"""The layer rules of DESIGN.md, checked on the source: a module imports only from its own layer
or the layers below it, and the modules' imports form no cycle. The one sanctioned reach upward
is ``Flow.run`` importing the engine inside the method.

Only imports that run when a module is imported count for cycles ("module-level": not inside a
function, not under ``if TYPE_CHECKING:``). Importing ``a.b.c`` also runs the ``__init__`` of
packages ``a`` and ``a.b``, so those count too, except the packages the importing module is
itself part of (they are being imported already, which is how packages re-export).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tideflow"

# Lowest first. A module's layer is that of its longest matching prefix.
LAYERS: dict[str, int] = {
    "tideflow.errors": 0,
    "tideflow.states": 0,
    "tideflow.clock": 0,
    "tideflow.signals": 0,
    "tideflow.durations": 0,
    "tideflow.lifecycle": 0,
    "tideflow.context": 1,
    "tideflow.graph": 1,
    "tideflow.task": 1,
    "tideflow.builtin_tasks": 1,
    "tideflow.edge_annotations": 1,
    "tideflow.parameter": 1,
    "tideflow.core": 1,  # Prefect 1 module paths, re-exports of layer-1 names
    "tideflow.flow": 1,
    "tideflow.triggers": 1,
    "tideflow.schedules": 1,
    "tideflow.entrypoints": 1,
    "tideflow.engine": 2,
    "tideflow.executors": 2,
    "tideflow.store": 2,
    "tideflow.results": 2,
    "tideflow.service": 3,
    "tideflow.deployments": 3,
    "tideflow.planner": 3,
    "tideflow.actions": 3,
    "tideflow.limits": 3,
    "tideflow.subflows": 3,
    "tideflow.tasks": 1,  # the package; what each module of it builds on is listed below
    "tideflow.tasks.prefect": 3,
    "tideflow.tasks.tideflow": 3,
    "tideflow.cli": 4,
    "tideflow.reference": 4,  # an application on Tideflow: nothing in tideflow imports it
    "tideflow": 4,  # the package root only re-exports
}
# (A web package, the dashboard, goes in layer 4 when it is added.)
SANCTIONED = {("tideflow.flow", "tideflow.engine.api")}


def layer_of(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, imported at module level?) for every tideflow import in ``path``.

    ``from package import a, b`` imports modules ``package.a`` and ``package.b`` when they are
    modules, and ``package`` itself for any name that is not.
    """
    tree = ast.parse(path.read_text())
    at_import = {id(node) for node in _run_at_import(tree.body)}
    found = []
    for node in ast.walk(tree):
        top = id(node) in at_import
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            modules = [n for n in names if _is_module(n)]
            if len(modules) < len(names):
                modules.insert(0, node.module)
            found += [(m, top) for m in modules]
        elif isinstance(node, ast.Import):
            found += [(a.name, top) for a in node.names]
    return [(m, top) for m, top in found if m.split(".")[0] == "tideflow"]


def _run_at_import(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of ``body`` that run when the module is imported: not those inside
    functions, nor those under ``if TYPE_CHECKING:`` (which only type checkers read)."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _run_at_import(node.orelse)
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _run_at_import([child])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel).is_dir()


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_modules_import_only_from_their_layer_or_below(path: Path) -> None:
    me = module_name(path)
    upward = [
        target
        for target, _ in imports(path)
        if layer_of(target) > layer_of(me) and (me, target) not in SANCTIONED
    ]
    assert upward == [], f"{me} (layer {layer_of(me)}) imports from higher layers: {upward}"


def test_the_sanctioned_reach_from_flow_to_the_engine_is_inside_a_function() -> None:
    found = [(t, top) for t, top in imports(PACKAGE / "flow.py") if t.startswith("tideflow.engine")]
    assert found == [("tideflow.engine.api", False)]


# -- no cycles -------------------------------------------------------------------------------------


@functools.cache
def import_graph() -> dict[str, list[str]]:
    """Each module of the package, and the modules importing it runs (see the docstring)."""
    graph: dict[str, set[str]] = {module_name(path): set() for path in SOURCES}
    for path in SOURCES:
        me = module_name(path)
        for target, at_import in imports(path):
            if not at_import:
                continue
            parts = target.split(".")
            for depth in range(1, len(parts) + 1):
                runs = ".".join(parts[:depth])  # a.b.c runs a, a.b and a.b.c
                inside = me == runs or me.startswith(runs + ".")
                if runs in graph and runs != me and (runs == target or not inside):
                    graph[me].add(runs)
    return {module: sorted(targets) for module, targets in graph.items()}


def find_cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle, as a path from a module back to it, per group of modules that import each
    other (each strongly connected component of ``graph`` with a cycle in it)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, []):
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(_cycle_through(min(group), group, graph) for group in groups)


def _cycle_through(start: str, group: set[str], graph: Mapping[str, list[str]]) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``group``."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in graph.get(node, []):
                if nxt == start:
                    return [*paths[node], start]
                if nxt in group and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - group has one


def test_the_package_s_modules_import_each_other_in_no_cycle() -> None:
    cycles = [" -> ".join(cycle) for cycle in find_cycles(import_graph())]
    assert cycles == [], "import cycles (break each, e.g. by moving what both need lower):\n" + (
        "\n".join(cycles)
    )


def test_a_cycle_is_reported_with_its_path() -> None:
    graph = {
        "a": ["b"],
        "b": ["c"],
        "c": ["a", "d"],
        "d": [],
        "e": ["e"],
        "f": ["a"],
    }
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]


def test_importing_a_submodule_runs_the_packages_above_it() -> None:
    graph = import_graph()
    # engine/flow_runner.py imports tideflow.executors.base, which runs executors/__init__.py.
    assert "tideflow.executors" in graph["tideflow.engine.flow_runner"]
    # executors/dask.py is part of the executors package, whose __init__ is running already.
    assert "tideflow.executors" not in graph["tideflow.executors.dask"]
    # Imports for type checkers only and imports inside functions run nothing at import time.
    assert "tideflow.engine.api" not in graph["tideflow.flow"]


# -- the tables above name what exists --------------------------------------------------------


@pytest.mark.parametrize(
    "name", sorted(set(LAYERS) | {m for pair in SANCTIONED for m in pair}), ids=str
)
def test_every_module_the_rules_name_exists(name: str) -> None:
    assert _is_module(name), f"{name} is in LAYERS or SANCTIONED but there is no such module"
