"""flow.update, flow.replace, Flow(validate=True), get_tasks(slug=), flow.slug."""

from __future__ import annotations

from typing import Any

import pytest

from tideflow import Flow, Parameter, task
from tideflow.errors import CycleError, FlowDefinitionError


@task
def inc(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return x * 2


@task
def add(x: int, y: int) -> int:
    return x + y


def test_update_adds_the_other_flow_s_tasks_edges_and_constants() -> None:
    with Flow("one") as one:
        a = inc(1)
    with Flow("two") as two:
        b = double(inc(10))
    one.update(two)
    assert {a, b} <= one.tasks
    assert len(one) == 3
    state = one.run()
    assert state.result[a].result == 2
    assert state.result[b].result == 22


def test_update_refuses_a_second_parameter_of_the_same_name_unless_merged() -> None:
    with Flow("one") as one:
        x = Parameter("x", default=1)
        first = inc(x)
    with Flow("two") as two:
        second = double(Parameter("x", default=5))
    with pytest.raises(FlowDefinitionError, match="merge_parameters=True"):
        one.copy().update(two)
    one.update(two, merge_parameters=True)
    assert len(one.parameters()) == 1
    assert one.upstream_tasks(second) == {x}
    state = one.run(x=3)
    assert (state.result[first].result, state.result[second].result) == (4, 6)


def test_replace_puts_the_new_task_in_the_old_one_s_place() -> None:
    with Flow("replace") as flow:
        start = inc(1)
        middle = inc(start)
        end = add(middle, y=100)
    flow.set_reference_tasks([middle])
    new = double.copy()
    flow.replace(middle, new)
    assert middle not in flow
    assert flow.upstream_tasks(new) == {start}
    assert flow.downstream_tasks(new) == {end}
    assert flow.reference_tasks() == {new}
    assert flow.run().result[end].result == 104  # (1 + 1) * 2 + 100


def test_replace_moves_bound_constants_and_accepts_a_constant() -> None:
    with Flow("replace-const") as flow:
        seed = inc(1)
        out = add(seed, y=5)
    flow.replace(seed, 40)
    assert flow.run().result[out].result == 45
    with pytest.raises(FlowDefinitionError, match="already in the flow"):
        flow.replace(out, next(iter(flow.upstream_tasks(out))))


def test_validate_true_checks_each_edge_s_key_when_it_is_added() -> None:
    flow = Flow("eager", validate=True)
    a, b = inc.copy(), inc.copy()
    with pytest.raises(FlowDefinitionError, match="has no argument 'y'"):
        flow.add_edge(a, b, key="y")
    flow.add_edge(a, b, key="x")
    with pytest.raises(FlowDefinitionError, match="already gets argument 'x'"):
        flow.add_edge(inc.copy(), b, key="x")
    with pytest.raises(CycleError):
        flow.add_edge(b, a, key="x")


def test_without_validate_keys_are_checked_when_the_task_runs_but_cycles_at_once() -> None:
    flow = Flow("lazy")
    a, b = inc.copy(), inc.copy()
    flow.add_edge(a, b, key="y")  # accepted here; run() would report it
    with pytest.raises(CycleError):
        flow.add_edge(b, a)


def test_an_edge_key_must_be_a_string() -> None:
    flow = Flow("keys")
    with pytest.raises(FlowDefinitionError, match="must be the name of one of its arguments"):
        flow.add_edge(inc.copy(), inc.copy(), key=flow)  # type: ignore[arg-type]


def test_get_tasks_by_slug_name_tags_and_type() -> None:
    with Flow("get") as flow:
        first = inc(1)
        second = inc(2, task_args={"tags": ["io"]})
        p = Parameter("p", default=1)
        d = double(p)
    assert flow.get_tasks(slug="inc-2") == [second]
    assert flow.get_tasks(key="inc") == [first]
    assert flow.get_tasks(name="inc", tags=["io"]) == [second]
    assert flow.get_tasks(task_type=Parameter) == [p]
    assert flow.slugs[d] == "double"


def test_a_flow_slug_is_its_name_as_a_word() -> None:
    assert Flow("Ticket model: evaluation!").slug == "ticket-model-evaluation"


def test_copy_keeps_eager_validation() -> None:
    flow = Flow("copy", validate=True)
    copied: Any = flow.copy()
    with pytest.raises(FlowDefinitionError, match="has no argument"):
        copied.add_edge(inc.copy(), inc.copy(), key="nope")
