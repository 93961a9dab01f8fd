"""Operators on tasks build operator tasks in the active flow (Prefect 1's semantics)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from tideflow import Flow, Parameter, task
from tideflow.errors import TaskDefinitionError
from tideflow.tasks.core import operators
from tideflow.tasks.core.operators import Add, GetAttr, GetItem, Pow


@task
def value(x: Any) -> Any:
    return x


def run_values(flow: Flow, *tasks: Any) -> list[Any]:
    state = flow.run()
    return [state.result[t].result for t in tasks]


def test_arithmetic_operators_build_tasks_that_compute_when_the_flow_runs() -> None:
    with Flow("arithmetic") as flow:
        seven, two = value(7), value(2)
        results = [
            seven + two,
            seven - two,
            seven * two,
            seven / two,
            seven // two,
            seven % two,
            seven**two,
            10 + seven,
            10 - seven,
            3 * seven,
            14 / seven,
            15 // seven,
            15 % seven,
            2**two,
        ]
    assert run_values(flow, *results) == [9, 5, 14, 3.5, 3, 1, 49, 17, 3, 21, 2.0, 2, 1, 4]
    assert type(results[0]) is Add
    assert type(results[-1]) is Pow
    assert flow.upstream_tasks(results[0]) == {seven, two}


def test_comparisons_and_logic_build_value_tasks() -> None:
    with Flow("compare") as flow:
        three, four = value(3), value(4)
        results = [
            three < four,
            three <= 3,
            three > four,
            four >= 4,
            three.is_equal(3),
            three.not_equal(3),
            three.is_not_equal(4),
            value(0).not_(),
            value(1) & value(0),
            0 & three,
            value(1).and_(value(5)),
            value(0).or_(value(7)),
        ]
    assert run_values(flow, *results) == [
        True,
        True,
        False,
        True,
        True,
        False,
        True,
        True,
        0,
        0,
        5,
        7,
    ]


def test_equality_and_hashing_stay_identity_so_tasks_remain_dictionary_keys() -> None:
    with Flow("identity") as flow:
        a, b = value(1), value(1)
        before = len(flow)
        assert a == a
        assert a != b
        assert (a == b) is False
        assert {a: 1, b: 2}[b] == 2
    assert len(flow) == before  # comparing with == built no task


def test_item_and_attribute_access() -> None:
    class Point:
        x = 3

    with Flow("access") as flow:
        d = value({"a": 1})
        first = d["a"]
        missing = GetItem(default="none")(d, "b")
        attr = GetAttr()(value(Point()), "x")
        nested = GetAttr()(value(Point()), "x.real")
        fallback = GetAttr(default=0)(value(Point()), "y")
    assert run_values(flow, first, missing, attr, nested, fallback) == [1, "none", 3, 3, 0]
    assert first.name == "value['a']"


def test_attribute_access_on_a_task_is_its_own_attributes_not_a_new_task() -> None:
    with Flow("attrs"):
        t = value(1)
        with pytest.raises(AttributeError):
            t.no_such_attribute  # noqa: B018
    clone = pickle.loads(pickle.dumps(Add(name="add")))
    assert clone.name == "add"
    assert copy.copy(t).name == "value"


def test_a_pipe_b_makes_b_wait_for_a_without_data_and_returns_b() -> None:
    with Flow("pipe") as flow:
        a, b, c = value(1), value(2), value(3)
        returned = a | b | c
    assert returned is c
    assert flow.upstream_tasks(b) == {a}
    assert flow.upstream_tasks(c) == {b}
    assert all(e.key is None for e in flow.edges_to(b) | flow.edges_to(c))


def test_a_constant_on_the_left_of_pipe_becomes_an_upstream_task() -> None:
    with Flow("rpipe") as flow:
        b = value(2)
        assert (5 | b) is b
    (up,) = flow.upstream_tasks(b)
    assert up.run() == 5


def test_pipe_method_calls_a_task_with_this_task_as_first_argument() -> None:
    @task
    def scale(x: int, by: int) -> int:
        return x * by

    with Flow("pipe-method") as flow:
        out = value(4).pipe(scale, by=3)
    assert run_values(flow, out) == [12]


def test_operators_work_on_parameters() -> None:
    with Flow("params") as flow:
        x = Parameter("x", default=2)
        doubled = x * 2
    assert flow.run(x=5).result[doubled].result == 10


def test_an_operator_outside_a_flow_is_a_clear_error() -> None:
    t = value.copy()
    with pytest.raises(TaskDefinitionError, match=r"builds a Add task, which needs a `with Flow"):
        t + 1
    with pytest.raises(TaskDefinitionError, match="outside a `with Flow"):
        t | value.copy()


def test_the_right_side_of_pipe_must_be_a_task() -> None:
    with Flow("bad-pipe"), pytest.raises(TaskDefinitionError, match=r"right side of \| must be"):
        value(1) | 5


def test_every_operator_task_is_in_the_prefect_1_module() -> None:
    names = {
        "Add", "Sub", "Mul", "Div", "FloorDiv", "Mod", "Pow", "And", "Or", "Not", "Equal",
        "NotEqual", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual",
        "GetItem", "GetAttr",
    }  # fmt: skip
    assert names <= set(operators.__all__)
    assert operators.Not().run(x=0) is True
    assert operators.Equal().run(x=1, y=1) is True
