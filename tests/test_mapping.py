"""``apply_map`` and ``mapped()``: how a mapped sub-graph and a mapped argument are wired."""

from __future__ import annotations

from typing import Any

import pytest

from tideflow import Flow, apply_map, case, flatten, mapped, task, unmapped
from tideflow.errors import FlowDefinitionError
from tideflow.states import Mapped


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def value(x: Any) -> Any:
    return x


@task
def constant_ten() -> int:
    return 10


def test_mapped_marks_one_argument_of_an_ordinary_call() -> None:
    with Flow("mapped") as flow:
        total = add(mapped([1, 2, 3]), 10)
        same = add.map([1, 2, 3], unmapped(10))
    state = flow.run()
    assert state.result[total].result == state.result[same].result == [11, 12, 13]
    assert {e.key: e.mapped for e in flow.edges_to(total)} == {"x": True}
    assert flow.constants[total] == {"y": 10}


def test_apply_map_maps_every_task_of_the_sub_graph_and_links_them_child_to_child() -> None:
    def pipeline(x: Any, y: Any) -> Any:
        return add(add(x, y), constant_ten())

    with Flow("apply_map") as flow:
        outside = value(100)
        result = apply_map(pipeline, [1, 2, 3], unmapped(outside))
    state = flow.run()
    assert isinstance(state.result[result], Mapped)
    assert state.result[result].result == [111, 112, 113]
    inner = next(t for t in flow.upstream_tasks(result) if t.name == "add")
    assert {(e.key, e.mapped) for e in flow.edges_to(inner)} == {("x", True), ("y", False)}
    ten = next(t for t in flow.upstream_tasks(result) if t.name == "constant_ten")
    assert [e.mapped for e in flow.edges_to(ten)] == [True], "runs once per item too"
    assert state.result[ten].result == [10, 10, 10]


def test_apply_map_flattens_and_allows_a_case_per_item() -> None:
    @task
    def is_small(x: int) -> bool:
        return x < 3

    def only_small(x: Any) -> Any:
        with case(is_small(x), True):
            return add(x, 1000)

    with Flow("flattened") as flow:
        result = apply_map(only_small, flatten(value([[1, 2], [3]])))
    state = flow.run()
    assert [s.name for s in state.result[result].map_states] == ["Success", "Success", "Skipped"]
    assert state.result[result].result[:2] == [1001, 1002]


def test_apply_map_inside_a_case_is_gated_by_it() -> None:
    with Flow("outer case") as flow, case(value("off"), "on"):
        result = apply_map(lambda x: add(x, 1), [1, 2])
    assert flow.run().result[result].name == "Skipped"


def test_apply_map_needs_a_flow_and_a_mapped_argument() -> None:
    with pytest.raises(FlowDefinitionError, match="outside a `with Flow"):
        apply_map(lambda x: add(x, 1), [1])
    with Flow("no map"), pytest.raises(FlowDefinitionError, match="has no mapped argument"):
        apply_map(lambda x: add(x, 1), unmapped([1]))
