"""The example notebook runs top to bottom, as a data scientist would run it, on generated data.

It is executed with nbclient in a fresh ``python3`` kernel of this interpreter, with an
environment of its own: ``TIDEFLOW_HOME`` in a temporary directory (the run store and the
Parquet cache go there), ``TIDEFLOW_INCIDENTS`` pointing to a generated zip (so the kernel never
downloads anything) and recording on, as it is for a user.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tideflow.store import sqlite_store

NOTEBOOK = Path(__file__).parents[2] / "examples" / "ticket_model_evaluation.ipynb"


def kernel_env(home: Path, incidents: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIDEFLOW_")}
    env |= {
        "TIDEFLOW_HOME": str(home),
        "TIDEFLOW_INCIDENTS": str(incidents),
        "TIDEFLOW_PROGRESS": "0",
        "JUPYTER_PLATFORM_DIRS": "1",  # jupyter_core's own paths, without its deprecation warning
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # no debugger warning on the kernel's stderr
    }
    return env


def test_the_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_runs_top_to_bottom_on_generated_data(
    tmp_path: Path, incidents_zip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    home = tmp_path / "home"
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute(env=kernel_env(home, incidents_zip))

    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    text = "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert str(incidents_zip) in text  # the data it was told to use
    assert "All reference tasks succeeded." in text

    with sqlite_store(home / "tideflow.db") as store:
        runs = store.list_flow_runs()
        assert {run.flow_name for run in runs} == {
            "ticket-model-evaluation",
            "ticket-model-backtest",
        }
        assert all(run.state == "Success" for run in runs)
        evaluations = [run for run in runs if run.flow_name == "ticket-model-evaluation"]
        assert len(evaluations) == 2  # here, then on the Dask cluster
        assert len(store.metrics("ticket-model-evaluation", "mae")) == 2
