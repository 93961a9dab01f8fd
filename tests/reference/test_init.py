"""The reference pipeline is an application on Tideflow: it imports Tideflow, never the reverse."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tideflow.reference

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tideflow"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_nothing_else_in_tideflow_imports_the_reference_pipeline() -> None:
    outside = [p for p in PACKAGE.rglob("*.py") if "reference" not in p.relative_to(PACKAGE).parts]
    importers = [
        str(path.relative_to(PACKAGE))
        for path in outside
        if any(m.startswith("tideflow.reference") for m in imported_modules(path))
    ]
    assert importers == []


def test_importing_tideflow_does_not_load_the_reference_pipeline() -> None:
    code = (
        "import sys, tideflow; print(any(m.startswith('tideflow.reference') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_package_exports_its_entry_points() -> None:
    assert sorted(tideflow.reference.__all__) == [
        "DEFAULT_SOURCE",
        "DataError",
        "IncidentData",
        "closed_tickets",
        "generate_incidents",
        "load_incidents",
        "write_incidents_zip",
    ]
