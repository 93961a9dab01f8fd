"""Task loggers: one per task, however wide its map, with each record saying which child logged
it, on the console and in the records handlers and the run store see."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from tideflow import Flow, context, task
from tideflow.engine.logs import FORMAT, ChildFormatter

WIDTH = 2_000


@task
def square_logged(x: int) -> int:
    context.logger.info("squaring %s", x)
    return x * x


def child_loggers(name: str) -> list[str]:
    return [n for n in logging.Logger.manager.loggerDict if n.startswith(f"tideflow.task.{name}[")]


def test_a_wide_map_registers_one_logger_and_its_records_name_the_child(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with Flow("wide-logs") as flow:
        square_logged.map(list(range(WIDTH)))
    assert flow.run().is_successful()
    assert child_loggers("square_logged") == []
    assert "tideflow.task.square_logged" in logging.Logger.manager.loggerDict
    records = [r for r in caplog.records if r.getMessage().startswith("squaring")]
    assert {(r.name, r.tideflow_map_index, r.getMessage()) for r in records} == {
        ("tideflow.task.square_logged", i, f"squaring {i}") for i in range(WIDTH)
    }


def test_the_logger_in_the_context_is_a_logger_with_everything_a_logger_has() -> None:
    seen: list[logging.Logger] = []

    @task
    def look(x: int) -> None:
        seen.append(context.get("logger"))

    with Flow("logger-methods") as flow:
        look.map([1, 2])
    flow.run()
    first, second = seen
    assert first is second, "the children of a task share its logger"
    assert isinstance(first, logging.Logger)
    assert first.name == "tideflow.task.look"
    for method in ("debug", "info", "warning", "error", "exception", "critical", "log"):
        assert callable(getattr(first, method))


def test_records_outside_mapped_children_carry_no_index(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    @task
    def single() -> None:
        context.logger.info("just one")

    with Flow("unmapped-logs") as flow:
        single()
    flow.run()
    (record,) = [r for r in caplog.records if r.getMessage() == "just one"]
    assert (record.name, record.tideflow_map_index) == ("tideflow.task.single", None)


def test_the_default_format_names_the_child_after_its_task_logger() -> None:
    formatter = ChildFormatter(FORMAT)
    record = logging.LogRecord("tideflow.task.square", logging.INFO, "f.py", 1, "hi", None, None)
    assert formatter.format(record).endswith("INFO - tideflow.task.square | hi")
    record.tideflow_map_index = 3
    assert formatter.format(record).endswith("INFO - tideflow.task.square[3] | hi")
    assert record.name == "tideflow.task.square", "the record itself is left as it was"


WIDE_MAP_SCRIPT = textwrap.dedent(
    f"""
    import logging

    from tideflow import Flow, context, task

    @task
    def square(x: int) -> int:
        context.logger.info("squaring %s", x)
        return x * x

    with Flow("wide") as flow:
        square.map(list(range({WIDTH})))
    assert flow.run().is_successful()
    print([n for n in logging.Logger.manager.loggerDict if n.startswith("tideflow.task.square")])
    """
)


def test_on_the_console_each_child_s_lines_show_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plain script, as a user runs it: the default handler writes to standard error."""
    monkeypatch.delenv("TIDEFLOW_LOG_LEVEL", raising=False)
    done = subprocess.run(
        [sys.executable, "-c", WIDE_MAP_SCRIPT], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "['tideflow.task.square']"
    lines = [line for line in done.stderr.splitlines() if "squaring" in line]
    assert len(lines) == WIDTH
    assert any(line.endswith("INFO - tideflow.task.square[0] | squaring 0") for line in lines)
    assert any(
        line.endswith(f"tideflow.task.square[{WIDTH - 1}] | squaring {WIDTH - 1}") for line in lines
    )
