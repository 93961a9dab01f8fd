"""``import tideflow`` stays light: heavy dependencies load only where they are used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["dask", "distributed", "pandas", "sqlalchemy", "fastapi", "bokeh", "rich", "typer"]


def loaded_after(statement: str) -> set[str]:
    code = (
        f"import sys, json\n{statement}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_importing_tideflow_loads_no_heavy_dependency() -> None:
    assert loaded_after("import tideflow") & set(HEAVY) == set()


def test_importing_tideflow_does_not_load_the_engine() -> None:
    code = "import sys, tideflow; print(any(m.startswith('tideflow.engine') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_first_local_run_needs_no_heavy_dependency() -> None:
    statement = (
        "from tideflow import Flow, task\n"
        "t = task(lambda: 1, name='one')\n"
        "with Flow('f') as f:\n    t()\n"
        "assert f.run(progress=False).is_successful()"
    )
    assert loaded_after(statement) & set(HEAVY) == set()
