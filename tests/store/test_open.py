"""Opening the configured store with a bad configuration: one clear error, and runs go on.

A ``TIDEFLOW_DATABASE_URL`` that is not a URL, or a ``TIDEFLOW_HOME`` that is a file, is a
:class:`StoreError` naming the variable and its value; ``flow.run()`` warns with it and runs
unrecorded; ``tideflow run`` prints the warning and the run's table, no traceback (the history
commands' one ``Error:`` line is tested in ``tests/cli/test_cli_history.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from tideflow import Flow, task
from tideflow.store import StoreError, open_store


@task
def one() -> int:
    return 1


def run_flow(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Run a one-task flow recording into the default store; the WARNING lines it logged."""
    with Flow("configured") as flow:
        one()
    caplog.clear()
    assert flow.run().is_successful()
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Recording on, the store chosen by the environment the test sets."""
    monkeypatch.delenv("TIDEFLOW_STORE", raising=False)
    monkeypatch.delenv("TIDEFLOW_DATABASE_URL", raising=False)
    return monkeypatch


# -- TIDEFLOW_DATABASE_URL ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["not a url", "tideflow.db", "/var/lib/tideflow.db"])
def test_a_database_url_without_a_scheme_is_refused_naming_it_and_two_examples(
    value: str, configured: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configured.chdir(tmp_path)
    configured.setenv("TIDEFLOW_DATABASE_URL", value)
    with pytest.raises(StoreError) as caught:
        open_store()
    message = str(caught.value)
    assert message.startswith(f"TIDEFLOW_DATABASE_URL={value!r} is not a database URL")
    assert "sqlite:////" in message
    assert "postgresql+psycopg://" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []  # no SQLite file of that name


def test_the_refusal_hides_a_password_in_the_value(configured: pytest.MonkeyPatch) -> None:
    configured.setenv("TIDEFLOW_DATABASE_URL", "me:s3cret@db.example/tideflow")
    with pytest.raises(StoreError) as caught:
        open_store()
    assert "s3cret" not in str(caught.value)
    assert "'me:***@db.example/tideflow'" in str(caught.value)


def test_flow_run_with_a_database_url_that_is_not_a_url_warns_and_runs_unrecorded(
    configured: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    configured.chdir(tmp_path)
    configured.setenv("TIDEFLOW_DATABASE_URL", "not a url")
    warnings = run_flow(caplog)
    assert len(warnings) == 1
    assert warnings[0].startswith("This run is not recorded: TIDEFLOW_DATABASE_URL='not a url'")
    assert list(tmp_path.iterdir()) == []


# -- TIDEFLOW_HOME --------------------------------------------------------------------------------


@pytest.fixture
def home_is_a_file(configured: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.write_text("a file where the home directory should be\n")
    configured.setenv("TIDEFLOW_HOME", str(path))
    return path


def test_a_home_that_is_a_file_is_one_error_naming_it(home_is_a_file: Path) -> None:
    with pytest.raises(StoreError) as caught:
        open_store()
    assert str(caught.value) == (
        f"TIDEFLOW_HOME={home_is_a_file} is a file, not a directory; point it at a directory"
    )


def test_flow_run_with_a_home_that_is_a_file_warns_and_runs_unrecorded(
    home_is_a_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert run_flow(caplog) == [
        f"This run is not recorded: TIDEFLOW_HOME={home_is_a_file} is a file, not a directory; "
        "point it at a directory"
    ]


TIDEFLOW = [sys.executable, "-c", "from tideflow.cli import main; main()"]
"""The ``tideflow`` command, in a process of its own (so its log reaches its real stderr)."""

FLOW_FILE = dedent(
    """
    from tideflow import Flow, task

    @task
    def one() -> int:
        return 1

    with Flow("configured") as flow:
        one()
    """
)


def test_tideflow_run_with_a_home_that_is_a_file_warns_and_runs(
    home_is_a_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "flows.py").write_text(FLOW_FILE)
    done = subprocess.run(
        [*TIDEFLOW, "run", f"{tmp_path / 'flows.py'}:flow"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].endswith(
        f"This run is not recorded: TIDEFLOW_HOME={home_is_a_file} is a file, not a directory; "
        "point it at a directory"
    )
    assert "Success" in done.stdout
