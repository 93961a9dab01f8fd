"""tideflow.utilities.tasks: Prefect 1's task helpers under their old path."""

from __future__ import annotations

from typing import Any

from tideflow import Flow, Task, context, task, unmapped
from tideflow.builtin_tasks import Constant, List
from tideflow.states import Paused, Success
from tideflow.utilities.tasks import as_task, defaults_from_attrs, pause_task


class Scale(Task):
    def __init__(self, factor: int = 2, **kwargs: Any) -> None:
        self.factor = factor
        super().__init__(**kwargs)

    @defaults_from_attrs("factor")
    def run(self, x: int, factor: int | None = None) -> int:
        assert factor is not None
        return x * factor


def test_defaults_from_attrs_fills_arguments_not_given_from_the_task() -> None:
    assert Scale(factor=3).run(2) == 6
    assert Scale(factor=3).run(2, factor=10) == 20
    with Flow("defaults") as flow:
        out = Scale(factor=5)(4)
    assert flow.run().result[out].result == 20


def test_as_task_wraps_constants_functions_and_collections_of_tasks() -> None:
    t = task(lambda: 1, name="one")
    assert as_task(t) is t
    assert as_task(unmapped(t)) is t
    assert isinstance(as_task(5), Constant)
    assert as_task(lambda x: x * 2).run(3) == 6
    with Flow("as-task") as flow:
        collected = as_task([t, 2])
    assert isinstance(collected, List)
    assert collected in flow


def test_pause_task_pauses_until_the_run_is_resumed() -> None:
    @task
    def careful() -> str:
        pause_task("check the numbers first")
        return "done"

    with Flow("pause") as flow:
        out = careful()
    paused = flow.run().result[out]
    assert isinstance(paused, Paused)
    assert paused.message == "check the numbers first"
    resumed = flow.run(context={"resume": True}).result[out]
    assert isinstance(resumed, Success)
    assert context.get("resume") is None


def test_prefect1_helpers_of_utilities_tasks_are_the_tideflow_ones() -> None:
    import tideflow
    from tideflow.utilities import tasks as utilities_tasks

    assert utilities_tasks.tags is tideflow.tags
    assert utilities_tasks.apply_map is tideflow.apply_map
    assert utilities_tasks.mapped is tideflow.mapped
