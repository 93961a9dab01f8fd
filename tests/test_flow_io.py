"""flow.serialize, serialized_hash, save/load, and Prefect 1's server methods."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from tideflow import Flow, Parameter, TideflowError, task, unmapped
from tideflow.errors import FlowLoadError
from tideflow.schedules import IntervalSchedule


@task(tags=["math"], max_retries=2, retry_delay=1)
def add(x: int, y: int) -> int:
    return x + y


def build(name: str = "Serial Flow") -> Flow:
    with Flow(name, schedule=IntervalSchedule(interval=timedelta(minutes=5))) as flow:
        n = Parameter("n", default=3)
        total = add(n, 4)
        add.map([1, 2], unmapped(total))
    return flow


def test_serialize_gives_a_json_compatible_description_of_the_flow() -> None:
    data = build().serialize()
    assert json.loads(json.dumps(data)) == data
    assert data["name"] == "Serial Flow"
    assert data["slug"] == "serial-flow"
    assert "5 minutes" in data["schedule"]
    assert data["parameters"] == [{"name": "n", "slug": "n", "default": 3, "required": False}]
    by_slug = {t["slug"]: t for t in data["tasks"]}
    assert by_slug["add"]["type"] == "tideflow.task.FunctionTask"
    assert by_slug["add"]["tags"] == ["math"]
    assert by_slug["add"]["max_retries"] == 2
    assert by_slug["add"]["constants"] == {"y": 4}
    assert by_slug["add-2"]["mapped"] is True
    assert {"upstream": "n", "downstream": "add", "key": "x", "mapped": False,
            "flattened": False} in data["edges"]  # fmt: skip


def test_the_serialized_hash_changes_with_the_flow_s_shape_only() -> None:
    assert build().serialized_hash() == build().serialized_hash()
    other = build()
    with other:
        add(1, 2)
    assert other.serialized_hash() != build().serialized_hash()


def test_save_and_load_round_trip_a_flow_that_still_runs(tmp_path: Path) -> None:
    flow = build()
    path = flow.save(tmp_path / "saved.flow")
    loaded = Flow.load(path)
    assert loaded.serialize() == flow.serialize()
    assert loaded.run(run_on_schedule=False).is_successful()


def test_save_defaults_to_the_tideflow_home_and_load_takes_the_name() -> None:
    path = build().save()
    assert path == Path(os.environ["TIDEFLOW_HOME"]) / "flows" / "serial-flow"
    assert Flow.load("Serial Flow").name == "Serial Flow"


def test_loading_something_that_is_not_a_saved_flow_is_one_clear_error(tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    with pytest.raises(FlowLoadError, match=r"is not a flow saved by flow\.save\(\)"):
        Flow.load(stray)
    with pytest.raises(FlowLoadError, match="cannot load a flow from"):
        Flow.load(tmp_path / "missing")


def test_register_and_run_agent_say_what_replaces_them() -> None:
    flow = build()
    with pytest.raises(TideflowError, match=r"tideflow deploy FILE.py:flow --name serial-flow"):
        flow.register(project_name="x")
    with pytest.raises(TideflowError, match="tideflow serve"):
        flow.run_agent()
