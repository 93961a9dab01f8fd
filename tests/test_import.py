"""``import tideflow`` stays light: heavy dependencies load only where they are used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ["dask", "distributed", "pandas", "sqlalchemy", "fastapi", "bokeh", "rich", "typer"]


def loaded_after(statement: str, **env: str) -> set[str]:
    code = (
        f"import sys, json\n{statement}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    return set(json.loads(out))


def test_importing_tideflow_loads_no_heavy_dependency() -> None:
    assert loaded_after("import tideflow") & set(HEAVY) == set()


def test_importing_tideflow_does_not_load_the_engine() -> None:
    code = "import sys, tideflow; print(any(m.startswith('tideflow.engine') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


FIRST_RUN = (
    "from tideflow import Flow, task\n"
    "t = task(lambda: 1, name='one')\n"
    "with Flow('f') as f:\n    t()\n"
    "assert f.run(progress=False).is_successful()"
)


def test_a_first_local_run_without_recording_needs_no_heavy_dependency() -> None:
    assert loaded_after(FIRST_RUN, TIDEFLOW_STORE="off") & set(HEAVY) == set()


def test_a_first_recorded_run_loads_only_the_store_s_sqlalchemy(tmp_path: Path) -> None:
    loaded = loaded_after(FIRST_RUN, TIDEFLOW_STORE="on", TIDEFLOW_HOME=str(tmp_path))
    assert loaded & set(HEAVY) == {"sqlalchemy"}
    assert (tmp_path / "tideflow.db").is_file()
