"""The layer rules of DESIGN.md, checked on the source: a module imports only from its own layer
or the layers below it. The one sanctioned reach upward is ``Flow.run`` importing the engine
inside the method."""

from __future__ import annotations

import ast
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
    "tideflow.context": 1,
    "tideflow.graph": 1,
    "tideflow.task": 1,
    "tideflow.builtin_tasks": 1,
    "tideflow.edge_annotations": 1,
    "tideflow.parameter": 1,
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
    "tideflow.daemon": 3,
    "tideflow.cli": 4,
    "tideflow.web": 4,
    "tideflow.reference": 4,  # an application on Tideflow: nothing in tideflow imports it
    "tideflow": 4,  # the package root only re-exports
}
SANCTIONED = {("tideflow.flow", "tideflow.engine.api")}


def layer_of(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, imported at module level?) for every tideflow import in ``path``."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            target = next((n for n in reversed(names) if _is_module(n)), node.module)
            found.append((target, id(node) in top_level))
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in top_level) for a in node.names]
    return [(m, top) for m, top in found if m.split(".")[0] == "tideflow"]


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
