"""``get_logger`` and the configured extra loggers: their lines are part of the run's log.

Their lines on every executor are in ``tests/executors/test_prefect1_extras.py``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tideflow import Flow, configuration, task
from tideflow.configuration import reload_config
from tideflow.engine import logs
from tideflow.secrets import register_secret
from tideflow.store import MemoryStore
from tideflow.utilities.logging import configure_extra_loggers, get_logger


@contextlib.contextmanager
def fresh_logging() -> Iterator[None]:
    """Logging as in a fresh script: no handler anywhere (not even pytest's, which it adds for
    the test's body), so the run installs its own."""
    root, own = logging.getLogger(), logging.getLogger("tideflow")
    saved = (root.handlers[:], own.handlers[:], own.level, logs._default_handler)
    root.handlers.clear()
    own.handlers.clear()
    logs._default_handler = None
    try:
        yield
    finally:
        _restore(root, own, saved)


def _restore(root: logging.Logger, own: logging.Logger, saved: tuple[Any, ...]) -> None:
    for name in ("vendor.sdk", "vendor.other"):
        extra = logging.getLogger(name)
        extra.handlers.clear()
        extra.setLevel(logging.NOTSET)
    root.handlers[:], own.handlers[:] = saved[0], saved[1]
    own.setLevel(saved[2])
    logs._default_handler = saved[3]


@pytest.fixture
def extra_loggers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TIDEFLOW__LOGGING__EXTRA_LOGGERS", '["vendor.sdk"]')
    reload_config()
    yield
    monkeypatch.undo()
    reload_config()


@task
def chatty() -> None:
    get_logger().info("root line")
    get_logger("etl").info("child line")
    logging.getLogger("vendor.sdk").info("vendor info line")
    logging.getLogger("vendor.other").info("unconfigured info line")


def test_get_logger_is_tideflow_s_logger_or_a_child_of_it() -> None:
    assert get_logger() is logging.getLogger("tideflow")
    assert get_logger("etl") is logging.getLogger("tideflow.etl")


@pytest.mark.usefixtures("extra_loggers")
def test_extra_loggers_print_and_are_recorded_with_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Flow("extra") as flow:
        chatty()
    store = MemoryStore()
    with fresh_logging():
        state = flow.run(store=store)
    lines = {(ln.logger, ln.message) for ln in store.logs(state.context["flow_run_id"])}
    assert {
        ("tideflow", "root line"),
        ("tideflow.etl", "child line"),
        ("vendor.sdk", "vendor info line"),
    } <= lines
    assert ("vendor.other", "unconfigured info line") not in lines, "below its WARNING level"
    printed = capsys.readouterr().err
    assert "INFO - vendor.sdk | vendor info line" in printed
    assert "INFO - tideflow.etl | child line" in printed
    assert "unconfigured info line" not in printed


@pytest.mark.usefixtures("extra_loggers")
def test_configure_extra_loggers_names_them_and_keeps_a_level_set_by_the_application() -> None:
    logging.getLogger("vendor.sdk").setLevel(logging.ERROR)
    try:
        assert configure_extra_loggers() == ["vendor.sdk"]
        assert logging.getLogger("vendor.sdk").level == logging.ERROR
    finally:
        logging.getLogger("vendor.sdk").setLevel(logging.NOTSET)


def test_a_bad_extra_loggers_setting_is_warned_about_and_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TIDEFLOW__LOGGING__EXTRA_LOGGERS", "[1, 2]")
    reload_config()
    try:
        assert logs.extra_logger_names() == []
    finally:
        monkeypatch.undo()
        reload_config()
    assert "logging.extra_loggers must be a list of logger names" in caplog.text


def test_the_default_handler_masks_secret_values(capsys: pytest.CaptureFixture[str]) -> None:
    register_secret("console-secret-77")

    @task
    def leaky() -> None:
        get_logger().info("token console-secret-77 in use")

    with Flow("masked-console") as flow:
        leaky()
    with fresh_logging():
        flow.run()
    printed = capsys.readouterr().err
    assert "token **** in use" in printed
    assert "console-secret-77" not in printed


def test_a_bad_config_file_is_warned_about_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TIDEFLOW_CONFIG_PATH", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("[logging\n")
    monkeypatch.setattr(configuration, "_config", None)  # as in a fresh process
    with Flow("goes-on") as flow:
        chatty()
    assert flow.run().is_successful()
    assert "The configuration is not used:" in caplog.text
    assert "config.toml is not valid TOML" in caplog.text
