"""``task.map``: one child run per item, mapped-to-mapped pipelines, reducing, and failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tideflow import Flow, Parameter, context, flatten, signals, task, triggers, unmapped
from tideflow.clock import FakeClock
from tideflow.states import Failed, Mapped, Skipped, Success, TriggerFailed


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def numbers() -> list[int]:
    return [1, 2, 3]


def test_a_mapped_task_runs_once_per_item_and_ends_mapped() -> None:
    with Flow("map") as flow:
        added = add.map([1, 2, 3], unmapped(10))
    state = flow.run()
    parent = state.result[added]
    assert isinstance(parent, Mapped)
    assert parent.is_successful()
    assert parent.result == [11, 12, 13]
    assert [type(s) for s in parent.map_states] == [Success] * 3
    assert [s.result for s in parent.map_states] == [11, 12, 13]


def test_the_width_is_the_shortest_mapped_input() -> None:
    with Flow("zip") as flow:
        added = add.map([1, 2, 3, 4], [10, 20])
    assert flow.run().result[added].result == [11, 22]


def test_mapped_to_mapped_links_child_i_to_child_i_depth_first() -> None:
    order: list[str] = []

    @task
    def first(x: int) -> int:
        order.append(f"first[{context.map_index}]")
        return x * 10

    @task
    def second(x: int) -> int:
        order.append(f"second[{context.map_index}]")
        return x + 1

    with Flow("pipeline") as flow:
        out = second.map(first.map(numbers()))
    state = flow.run()
    assert state.result[out].result == [11, 21, 31]
    assert order == ["first[0]", "second[0]", "first[1]", "second[1]", "first[2]", "second[2]"]


def test_a_consumer_that_does_not_map_receives_the_list() -> None:
    with Flow("reduce") as flow:
        summed = total(inc.map(numbers()))
    assert flow.run().result[summed].result == 2 + 3 + 4


def test_an_empty_input_gives_zero_children_all_the_way_down() -> None:
    with Flow("empty") as flow:
        first = inc.map([])
        second = inc.map(first)
        summed = total(second)
    state = flow.run()
    assert state.result[first].map_states == []
    assert state.result[second].result == []
    assert state.result[summed].result == 0


def test_flatten_maps_over_items_of_nested_lists() -> None:
    with Flow("flatten") as flow:
        out = inc.map(flatten([[1], [2, 3]]))
    assert flow.run().result[out].result == [2, 3, 4]


def test_each_child_has_its_own_retries_state_context_and_log_lines(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    seen: list[tuple[int, int, str]] = []

    @task(max_retries=1, retry_delay=timedelta(seconds=30))
    def fragile(x: int) -> int:
        seen.append((context.map_index, context.task_run_count, context.logger.name))
        context.logger.info("child %s", context.map_index)
        if x == 2 and context.task_run_count == 1:
            raise ConnectionError("flaky child")
        return x

    with Flow("children") as flow:
        out = fragile.map(numbers())
    state = flow.run(clock=fake_clock)
    assert state.result[out].result == [1, 2, 3]
    assert sorted(seen) == [
        (0, 1, "tideflow.task.fragile"),
        (1, 1, "tideflow.task.fragile"),
        (1, 2, "tideflow.task.fragile"),
        (2, 1, "tideflow.task.fragile"),
    ]
    history = state.context["task_history"]
    assert [s.name for s in history["fragile[1]"]] == ["Running", "Retrying", "Running", "Success"]
    assert [s.name for s in history["fragile[0]"]] == ["Running", "Success"]
    children = [r for r in caplog.records if r.getMessage().startswith("child")]
    assert sorted((r.name, r.tideflow_map_index, r.getMessage()) for r in children) == [
        ("tideflow.task.fragile", 0, "child 0"),
        ("tideflow.task.fragile", 1, "child 1"),
        ("tideflow.task.fragile", 1, "child 1"),
        ("tideflow.task.fragile", 2, "child 2"),
    ]


def test_a_failed_child_fails_the_reducer_and_the_flow_but_not_its_siblings() -> None:
    @task
    def picky(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        return x

    @task(trigger=triggers.all_finished)
    def collect(xs: list[Any]) -> list[str]:
        return [type(x).__name__ for x in xs]

    with Flow("child-failure") as flow:
        mapped = picky.map(numbers())
        strict = total(mapped)
        lenient = collect(mapped)
        downstream = inc.map(mapped)
    state = flow.run()
    parent = state.result[mapped]
    assert isinstance(parent, Mapped)
    assert [s.name for s in parent.map_states] == ["Success", "Failed", "Success"]
    assert isinstance(state.result[strict], TriggerFailed)
    assert state.result[lenient].result == ["int", "ValueError", "int"]
    assert [s.name for s in state.result[downstream].map_states] == [
        "Success",
        "TriggerFailed",
        "Success",
    ]
    assert isinstance(state, Failed)


def test_a_skipped_child_skips_only_its_own_pipeline() -> None:
    @task
    def skip_two(x: int) -> int:
        if x == 2:
            raise signals.SKIP("not two")
        return x

    with Flow("child-skip") as flow:
        out = inc.map(skip_two.map(numbers()))
    state = flow.run()
    assert [s.name for s in state.result[out].map_states] == ["Success", "Skipped", "Success"]
    assert isinstance(state.result[out].map_states[1], Skipped)


def test_mapping_over_something_without_a_length_fails_clearly() -> None:
    @task
    def scalar() -> int:
        return 5

    with Flow("not-a-list") as flow:
        out = inc.map(scalar())
    state = flow.run()
    assert isinstance(state.result[out], Failed)
    assert state.result[out].message == (
        "cannot map over the result of 'scalar': a int has no length; map over a list or tuple"
    )


def test_a_mapped_task_whose_upstream_failed_gets_no_children() -> None:
    @task
    def broken() -> list[int]:
        raise RuntimeError("no list today")

    with Flow("upstream-failed") as flow:
        out = inc.map(broken())
    state = flow.run()
    assert isinstance(state.result[out], TriggerFailed)


def test_parameters_can_be_mapped_over_and_passed_unmapped() -> None:
    with Flow("params") as flow:
        xs = Parameter("xs", default=[1, 2])
        step = Parameter("step", default=100)
        out = add.map(xs, unmapped(step))
    assert flow.run().result[out].result == [101, 102]
    assert flow.run(xs=[5]).result[out].result == [105]


def test_a_wide_map_completes() -> None:
    with Flow("wide") as flow:
        out = total(inc.map(list(range(5000))))
    assert flow.run().result[out].result == sum(range(1, 5001))


def test_a_mapped_task_below_a_skipped_mapped_task_is_skipped_not_failed() -> None:
    @task
    def nothing_today() -> list[int]:
        raise signals.SKIP("no data")

    with Flow("skipped-map") as flow:
        first = inc.map(nothing_today())
        second = inc.map(first)
    state = flow.run()
    assert isinstance(state.result[first], Skipped)
    assert isinstance(state.result[second], Skipped)
    assert state.is_successful()
