"""Parameters: named flow inputs, required unless they have a default, read from the context."""

from __future__ import annotations

import re

import pytest

from tideflow import Flow, Parameter, context, task
from tideflow.errors import TaskDefinitionError
from tideflow.parameter import NO_DEFAULT
from tideflow.signals import FAIL
from tideflow.states import Failed


@task
def double(x: int) -> int:
    return 2 * x


def test_a_parameter_without_a_default_is_required() -> None:
    p = Parameter("x")

    assert p.required is True
    assert p.default is NO_DEFAULT


@pytest.mark.parametrize("default", [0, None, "", [], False])
def test_a_parameter_with_any_default_even_a_falsy_one_is_optional(default: object) -> None:
    p = Parameter("x", default=default)

    assert p.required is False
    assert p.default == default


def test_required_true_forces_a_parameter_with_a_default_to_be_given() -> None:
    p = Parameter("x", default=5, required=True)

    assert p.required is True
    assert p.default == 5
    with pytest.raises(FAIL, match=re.escape("parameter 'x' is required but was not given")):
        p.run()
    with context(parameters={"x": 7}):
        assert p.run() == 7


def test_an_optional_parameter_without_a_default_defaults_to_none() -> None:
    p = Parameter("x", required=False)

    assert p.run() is None
    assert p.describe() == "x (default None)"


def test_the_name_is_the_slug_and_the_key_in_a_flow() -> None:
    p = Parameter("batch-size", default=1000)

    with Flow("f") as flow:
        double(p)

    assert p.slug == "batch-size"
    assert flow.key(p) == "batch-size"
    assert flow.graph.nodes["batch-size"].kind == "Parameter"


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_parameter_needs_a_non_empty_string_name(name: object) -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(f"a Parameter needs a non-empty string name, got {name!r}"),
    ):
        Parameter(name)  # type: ignore[arg-type]


def test_tags_are_kept_like_any_task() -> None:
    assert Parameter("x", tags=["input"]).tags == frozenset({"input"})


def test_run_reads_the_value_from_the_context_parameters() -> None:
    p = Parameter("batch-size", default=1000)

    with context(parameters={"batch-size": 50, "other": 1}):
        assert p.run() == 50


def test_run_falls_back_to_the_default_when_the_value_is_not_given() -> None:
    p = Parameter("batch-size", default=1000)

    assert p.run() == 1000
    with context(parameters={"other": 1}):
        assert p.run() == 1000


def test_a_given_value_of_none_wins_over_the_default() -> None:
    with context(parameters={"x": None}):
        assert Parameter("x", default=3).run() is None


def test_a_missing_required_parameter_raises_fail_which_ends_the_task_failed() -> None:
    p = Parameter("x")

    with (
        context(parameters={"y": 1}),
        pytest.raises(FAIL, match=re.escape("parameter 'x' is required but was not given")) as exc,
    ):
        p.run()

    assert isinstance(exc.value.state, Failed)


def test_calling_a_parameter_in_a_flow_adds_the_parameter_itself() -> None:
    p = Parameter("x", default=1)

    with Flow("f") as flow:
        returned = p()
        returned_again = p()

    assert returned is p
    assert returned_again is p
    assert flow.tasks == {p}
    assert flow.parameters() == {p}


def test_calling_a_parameter_with_an_explicit_flow_adds_it_there() -> None:
    flow = Flow("f", tasks=[Parameter("other")])
    p = Parameter("x")

    assert p(flow=flow) is p
    assert p in flow


def test_calling_a_parameter_with_an_explicit_empty_flow_adds_it_there() -> None:
    flow = Flow("f")
    p = Parameter("x")

    assert p(flow=flow) is p
    assert p in flow


def test_calling_a_parameter_outside_a_flow_is_an_error() -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape("task 'x' was called outside a `with Flow(...)` block"),
    ):
        Parameter("x")()


def test_calling_a_parameter_with_upstream_tasks_is_refused() -> None:
    with Flow("f"):
        source = double(1)
        with pytest.raises(ValueError, match="cannot have upstream tasks"):
            Parameter("x")(upstream_tasks=[source])


def test_a_parameter_passed_to_a_task_is_the_upstream_of_that_task() -> None:
    p = Parameter("x", default=1)

    with Flow("f") as flow:
        result = double(p)

    assert flow.upstream_tasks(result) == {p}
    assert {(e.upstream, e.key) for e in flow.edges_to(result)} == {("x", "x")}


def test_copy_gives_a_parameter_under_a_new_name_with_the_same_default() -> None:
    p = Parameter("x", default=3, tags=["a"])

    q = p.copy("y")

    assert isinstance(q, Parameter)
    assert q is not p
    assert (q.name, q.slug, q.default, q.required, q.tags) == ("y", "y", 3, False, frozenset({"a"}))
    assert (p.name, p.slug) == ("x", "x")
    assert p.copy().slug == "x"


def test_describe_shows_the_default_or_that_it_is_required() -> None:
    assert Parameter("batch-size", default=1000).describe() == "batch-size (default 1000)"
    assert Parameter("name", default="world").describe() == "name (default 'world')"
    assert Parameter("name").describe() == "name (required)"
    assert Parameter("n", default=1, required=True).describe() == "n (required)"


def test_repr_names_the_parameter() -> None:
    assert repr(Parameter("batch-size")) == "<Parameter: batch-size>"
    assert repr(NO_DEFAULT) == "<no default>"
