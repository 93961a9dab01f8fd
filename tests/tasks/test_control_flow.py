"""``case``, ``switch``, ``ifelse``, ``merge`` and ``FilterTask``: how they wire the graph and
what a run of it does (LocalExecutor; every executor in ``tests/executors/test_control_flow``)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest

from tideflow import Flow, Parameter, case, signals, task
from tideflow.errors import FlowDefinitionError
from tideflow.states import Skipped, Success, TriggerFailed
from tideflow.tasks.control_flow import CompareValue, FilterTask, ifelse, merge, switch


@task
def value(x: Any) -> Any:
    return x


@task
def shout(x: str) -> str:
    return x.upper()


@task
def fail() -> None:
    raise ValueError("boom")


@task
def skip() -> None:
    raise signals.SKIP("not today")


def test_the_prefect_1_module_paths_resolve() -> None:
    for path in (
        "tideflow.tasks.control_flow",
        "tideflow.tasks.control_flow.conditional",
        "tideflow.tasks.control_flow.filter",
        "tideflow.tasks.control_flow.case",
        "tideflow.utilities.edges",
    ):
        importlib.import_module(path)
    from tideflow.tasks.control_flow import case as case_from_package
    from tideflow.tasks.control_flow.conditional import ifelse, merge, switch  # noqa: F401
    from tideflow.tasks.control_flow.filter import FilterTask  # noqa: F401
    from tideflow.utilities.edges import flatten, mapped, unmapped  # noqa: F401

    assert case_from_package is case


# -- case -------------------------------------------------------------------------------------


def test_case_runs_the_block_whose_value_matches_and_skips_the_other() -> None:
    with Flow("case") as flow:
        kind = value("b")
        with case(kind, "a"):
            a = shout("a")
            after_a = shout(a)
        with case(kind, "b"):
            b = shout("b")
        merged = merge(after_a, b)
    state = flow.run()
    assert isinstance(state.result[a], Skipped)
    assert isinstance(state.result[after_a], Skipped)
    assert state.result[b].result == "B"
    assert state.result[merged].result == "B"
    assert state.is_successful()


def test_case_gates_only_the_roots_of_its_block_with_one_comparison() -> None:
    with Flow("wiring") as flow:
        kind = value(True)
        with case(kind, True):
            first = shout("x")
            second = shout(first)
    (gate,) = flow.get_tasks(task_type=CompareValue)
    assert gate.name == "case(True)"
    assert flow.upstream_tasks(gate) == {kind}
    assert flow.upstream_tasks(first) == {gate}
    assert flow.upstream_tasks(second) == {first}


def test_nested_cases_skip_the_inner_block_when_the_outer_does_not_match() -> None:
    with Flow("nested") as flow:
        outer_value = value(1)
        inner_value = value("x")
        with case(outer_value, 2):
            with case(inner_value, "x"):
                inner = shout("inner")
            picked = merge(inner)
        with case(outer_value, 1), case(inner_value, "x"):
            reached = shout("reached")
    state = flow.run()
    assert isinstance(state.result[inner], Skipped)
    assert isinstance(state.result[picked], Skipped), "a merge of skipped branches skips"
    assert state.result[reached].result == "REACHED"
    assert state.is_successful()


def test_a_task_cannot_be_the_value_of_a_case() -> None:
    with Flow("bad"), pytest.raises(FlowDefinitionError, match="must be a constant, not a task"):
        case(value(1), value(2))


def test_a_parameter_used_inside_a_case_is_not_gated() -> None:
    with Flow("parameters") as flow:
        kind = value("no")
        with case(kind, "yes"):
            out = shout(Parameter("word", default="hi"))
    state = flow.run()
    assert isinstance(state.result[out], Skipped)
    assert state.result[flow.get_tasks(name="word")[0]].result == "hi"


# -- switch / ifelse / merge --------------------------------------------------------------------


def test_switch_runs_the_matching_branch_and_its_downstream_only() -> None:
    with Flow("switch") as flow:
        pick = value(2)
        one, two, three = shout("one"), shout("two"), shout("three")
        after_one = shout(one)
        switch(pick, {1: one, 2: two, 3: three})
    state = flow.run()
    assert state.result[two].result == "TWO"
    assert isinstance(state.result[one], Skipped)
    assert isinstance(state.result[three], Skipped)
    assert isinstance(state.result[after_one], Skipped)


def test_switch_refuses_what_is_not_a_dict_of_tasks() -> None:
    with Flow("bad"):
        pick = value(1)
        with pytest.raises(FlowDefinitionError, match="dict of"):
            switch(pick, {})
        with pytest.raises(FlowDefinitionError, match="the branch for 1 must be a task"):
            switch(pick, {1: "one"})  # type: ignore[dict-item]
        with pytest.raises(FlowDefinitionError, match="must be a constant"):
            CompareValue(pick)


@pytest.mark.parametrize(("condition", "taken"), [([1], "yes"), ("", "no")])
def test_ifelse_takes_the_branch_of_the_condition_s_truth(condition: Any, taken: str) -> None:
    with Flow("ifelse") as flow:
        yes, no = shout("yes"), shout("no")
        ifelse(value(condition), yes, no)
        merged = merge(yes, no)
    state = flow.run()
    assert state.result[merged].result == taken.upper()
    skipped = no if taken == "yes" else yes
    assert isinstance(state.result[skipped], Skipped)


def test_ifelse_and_merge_work_child_by_child_when_mapped() -> None:
    @task
    def is_big(x: int) -> bool:
        return x > 2

    @task
    def big(x: int) -> str:
        return f"big {x}"

    @task
    def small(x: int) -> str:
        return f"small {x}"

    with Flow("mapped ifelse") as flow:
        items = value([1, 3])
        yes, no = big.map(items), small.map(items)
        ifelse(is_big.map(items), yes, no, mapped=True)
        merged = merge(yes, no, mapped=True)
    assert flow.run().result[merged].result == ["small 1", "big 3"]


def test_merge_takes_the_first_input_with_a_value_and_needs_one() -> None:
    with Flow("merge") as flow:
        merged = merge(value(None), skip(), value(0), value(5))
        failed = merge(fail(), value(1))
    state = flow.run()
    assert state.result[merged].result == 0
    assert isinstance(state.result[failed], TriggerFailed)
    with Flow("none"), pytest.raises(FlowDefinitionError, match="at least one task"):
        merge()


# -- FilterTask ---------------------------------------------------------------------------------


def test_filter_task_drops_none_and_errors_by_default() -> None:
    keep = FilterTask()
    assert keep.run([1, None, ValueError("x"), signals.SKIP("s"), 0, ""]) == [1, 0, ""]
    assert keep.trigger is not None
    assert keep.skip_on_upstream_skip is False


def test_filter_task_takes_a_filter_and_logs_what_its_log_func_says(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @task
    def maybe(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        if x == 3:
            raise signals.SKIP("three")
        return x

    evens = FilterTask(
        filter_func=lambda r: isinstance(r, int) and r % 2 == 0,
        log_func=lambda kept: f"kept {len(kept)}",
        name="evens",
    )
    with Flow("filter") as flow:
        results = maybe.map([1, 2, 3, 4, 6])
        kept = FilterTask()(results)
        even = evens(results)
    with caplog.at_level(logging.INFO):
        state = flow.run()
    assert state.result[kept].result == [1, 4, 6]
    assert state.result[even].result == [4, 6]
    assert isinstance(state.result[even], Success)
    assert "kept 2" in caplog.messages
