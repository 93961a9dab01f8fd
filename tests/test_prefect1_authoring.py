"""Authoring behaviour that used to differ from Prefect 1 (no execution involved), and the
Prefect 1 module paths."""

from __future__ import annotations

import importlib

import pytest

from tideflow import Flow, Parameter, TideflowError, task
from tideflow.errors import ParameterError, TaskDefinitionError


@task
def inc(x: int) -> int:
    return x + 1


@task(nout=2)
def pair(x: int) -> tuple[int, int]:
    return x, -x


def test_set_upstream_and_set_downstream_take_the_flow_second_as_in_prefect_1() -> None:
    flow = Flow("positional")
    a, b, c = inc.copy(), inc.copy(), inc.copy()
    b.set_upstream(a, flow)
    b.set_downstream(c, flow, "x")
    assert flow.upstream_tasks(b) == {a}
    assert {e.key for e in flow.edges_to(c)} == {"x"}
    assert all(isinstance(e.key, str | None) for e in flow.edges)


def test_a_string_where_the_flow_goes_is_a_clear_error() -> None:
    with Flow("wrong"), pytest.raises(TaskDefinitionError, match=r"pass the argument name as key"):
        inc.copy().set_upstream(inc.copy(), "x")  # type: ignore[arg-type]


def test_set_dependencies_takes_the_flow_first_as_in_prefect_1() -> None:
    flow = Flow("deps")
    a, b = inc.copy(), inc.copy()
    b.set_dependencies(flow, upstream_tasks=[a])
    assert flow.upstream_tasks(b) == {a}


def test_tags_given_as_task_args_add_to_the_task_s_own() -> None:
    tagged = inc.copy(tags=["base"])
    with Flow("tags"):
        called = tagged(1, task_args={"tags": ["extra"]})
    assert called.tags == {"base", "extra"}
    assert tagged.copy(tags={"more"}).tags == {"base", "more"}
    assert tagged.tags == {"base"}


def test_unpacking_a_mapped_task_is_refused_with_what_to_do() -> None:
    with Flow("unpack"):
        first, second = pair(1)  # an ordinary call unpacks into nout tasks
        assert first.name == "pair[0]"
        assert second.name == "pair[1]"
        with pytest.raises(TypeError, match=r"is mapped.*GetItem\(\)\.map"):
            iter(pair.map([1, 2]))


def test_prefect_1_run_options_are_named_as_such_not_as_unknown_parameters() -> None:
    with Flow("options") as flow:
        inc(1)
    for option in ("runner_cls", "task_contexts", "task_runner_state_handlers"):
        with pytest.raises(TideflowError, match=rf"flow.run\({option}=...\) is a Prefect 1 run"):
            flow.run(**{option: None})
    with pytest.raises(ParameterError, match="unknown parameter 'colour'"):
        flow.run(colour=1)


def test_a_parameter_named_like_a_run_option_is_still_a_parameter() -> None:
    with Flow("param-state") as flow:
        out = inc(Parameter("state"))
    assert flow.run(state=1).result[out].result == 2


def test_return_tasks_limits_the_result_to_those_tasks() -> None:
    with Flow("return-tasks") as flow:
        first = inc(1)
        second = inc(first)
    state = flow.run(return_tasks=[second])
    assert list(state.result) == [second]
    assert state.result[second].result == 3


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("tideflow.engine.signals", ["FAIL", "SKIP", "SUCCESS", "RETRY", "PAUSE", "TRIGGERFAIL"]),
        ("tideflow.engine.state", ["Success", "Failed", "Mapped", "Skipped", "TriggerFailed"]),
        ("tideflow.core", ["Flow", "Task", "Parameter", "Edge"]),
        (
            "tideflow.utilities.tasks",
            ["as_task", "defaults_from_attrs", "pause_task", "task", "unmapped", "flatten"],
        ),
        ("tideflow.tasks.core.operators", ["Add", "GetItem", "GetAttr", "Equal"]),
    ],
)
def test_prefect_1_module_paths_resolve(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name), f"{module} has no {name}"


def test_the_engine_paths_are_the_same_objects_as_tideflow_s() -> None:
    from tideflow import signals, states
    from tideflow.engine import signals as engine_signals
    from tideflow.engine.state import Success

    assert engine_signals.SKIP is signals.SKIP
    assert Success is states.Success
