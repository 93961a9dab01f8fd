"""What ``make demo`` runs: ``tideflow serve --file tideflow.toml --now ticket-model-evaluation``
from the repository root, on a generated data set, with its first evaluation at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.executors.support import wait_until
from tests.service.support import stop_run_processes
from typer.testing import CliRunner

from tideflow.cli import app
from tideflow.deployments import load_deployments
from tideflow.reference.data import closed_tickets
from tideflow.reference.synthetic import generate_incidents, write_incidents_zip
from tideflow.store import sqlite_store

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "tideflow.toml"


def test_the_root_tideflow_toml_declares_the_reference_deployments() -> None:
    evaluation, backtest = sorted(load_deployments(CONFIG), key=lambda d: d.name, reverse=True)
    assert (evaluation.name, evaluation.kind) == ("ticket-model-evaluation", "persistent")
    assert evaluation.schedule is not None
    assert evaluation.schedule.describe() == "every minute"
    assert evaluation.parameters == {"batch-size": 1000}
    assert (backtest.name, backtest.kind) == ("ticket-model-backtest", "scheduled")
    assert backtest.schedule is not None
    assert backtest.schedule.describe() == "at 06:00 every day"
    assert backtest.executor is not None
    assert backtest.executor.type == "dask"
    assert backtest.executor.cluster_kwargs["n_workers"] == 2


def test_the_demo_runs_a_first_evaluation_at_once_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_incidents_zip(400, tmp_path / "incidents.zip")
    database = tmp_path / "tideflow.db"
    env = {
        **os.environ,
        "TIDEFLOW_HOME": str(tmp_path / "home"),
        "TIDEFLOW_DATABASE_URL": f"sqlite:///{database}",
        "TIDEFLOW_INCIDENTS": str(data),
    }
    env.pop("TIDEFLOW_STORE", None)
    code = "import sys; from tideflow.cli import main; sys.argv[0] = 'tideflow'; main()"
    command = ["serve", "--file", str(CONFIG), "--grace", "10", "--now", "ticket-model-evaluation"]
    service = subprocess.Popen(
        [sys.executable, "-c", code, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = sqlite_store(database) if _wait_for(database) else None
    try:
        assert store is not None
        wait_until(
            lambda: any(r.state == "Success" for r in store.list_flow_runs(limit=None)),
            90,
            "the first evaluation",
        )
        service.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = service.communicate(timeout=60)
        assert service.returncode == 0, err
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
        if store is not None:
            stop_run_processes(store)
    assert "Triggered run" in out
    assert "tideflow metrics FLOW" in out
    assert "Tideflow service stopped" in err
    (first, *_) = store.list_flow_runs(deployment="ticket-model-evaluation", states={"Success"})
    assert first.flow_name == "ticket-model-evaluation"
    (summary,) = [r for r in store.results(first.id) if r.kind == "result"]
    # 400 incidents have fewer closed tickets than batch-size 1000: the trial takes them all.
    assert summary.value["num_obs"] == len(closed_tickets(generate_incidents(400)))
    store.close()
    monkeypatch.setenv("TIDEFLOW_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("TIDEFLOW_STORE")
    shown = CliRunner().invoke(app, ["metrics", "ticket-model-evaluation"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for metric in ("mae", "medae", "mse", "r2", "num_obs"):
        assert metric in shown.output


def _wait_for(path: Path) -> bool:
    wait_until(path.exists, 60, f"the run store {path}")
    return True
