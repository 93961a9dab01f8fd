"""Tasks: declaring them, validating their options, and binding copies of them into flows.

This module has ``from __future__ import annotations`` in effect (as every test module does), so
the return annotations below are strings; ``nout`` inference must still resolve them.
"""

from __future__ import annotations

import re
import typing
from datetime import timedelta
from typing import Any

import pytest

from tideflow import Flow, FunctionTask, Task, task
from tideflow.builtin_tasks import GetItem
from tideflow.errors import TaskDefinitionError
from tideflow.graph import Edge
from tideflow.states import State


@task
def add(x: int, y: int = 1) -> int:
    return x + y


@task
def split(x: int) -> tuple[int, str]:
    return x, str(x)


class Multiply(Task):
    """A Task subclass with its own constructor argument."""

    def __init__(self, factor: int, **kwargs: Any) -> None:
        self.factor = factor
        super().__init__(**kwargs)

    def run(self, x: int) -> int:
        return x * self.factor


def edges_of(flow: Flow) -> set[Edge]:
    return set(flow.graph.edges)


# -- declaring tasks ------------------------------------------------------------------------


def test_bare_task_decorator_makes_a_function_task_named_after_the_function() -> None:
    def greet(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    greet_task = task(greet)

    assert isinstance(greet_task, FunctionTask)
    assert greet_task.name == "greet"
    assert greet_task.fn is greet
    assert greet_task.__wrapped__ is greet
    assert greet_task.__doc__ == "Say hello."
    assert greet_task.max_retries == 0
    assert greet_task.retry_delay == 0.0
    assert greet_task.timeout is None
    assert greet_task.tags == frozenset()
    assert greet_task.skip_on_upstream_skip is True
    assert greet_task.trigger is None


def test_task_decorator_with_options_sets_them_on_the_task() -> None:
    def handler(t: Task, old: State, new: State) -> None:
        return None

    @task(
        name="loader",
        tags=["io", "db"],
        max_retries=3,
        retry_delay=timedelta(seconds=10),
        retry_on=ConnectionError,
        timeout=timedelta(minutes=2),
        skip_on_upstream_skip=False,
        state_handlers=[handler],
        log_stdout=True,
    )
    def load() -> int:
        return 1

    assert load.name == "loader"
    assert load.tags == frozenset({"io", "db"})
    assert load.max_retries == 3
    assert load.retry_delay == 10.0
    assert load.retry_on == (ConnectionError,)
    assert load.timeout == 120.0
    assert load.skip_on_upstream_skip is False
    assert load.state_handlers == [handler]
    assert load.log_stdout is True


def test_task_decorator_with_empty_parentheses_works_like_the_bare_decorator() -> None:
    @task()
    def noop() -> None:
        return None

    assert isinstance(noop, FunctionTask)
    assert noop.name == "noop"


def test_task_decorator_refuses_something_that_is_not_callable() -> None:
    with pytest.raises(TaskDefinitionError, match=re.escape("@task needs a function, got 42")):
        FunctionTask(42)  # type: ignore[arg-type]


def test_run_calls_the_function_directly() -> None:
    assert add.run(1, 2) == 3
    assert add.run(x=5) == 6
    assert split.run(7) == (7, "7")


def test_a_task_subclass_runs_its_run_method_and_is_named_after_its_class() -> None:
    double = Multiply(2)

    assert double.name == "Multiply"
    assert double.run(21) == 42
    assert Multiply(3, name="triple").name == "triple"


def test_a_task_subclass_without_run_says_so_when_run() -> None:
    with pytest.raises(
        NotImplementedError, match=re.escape("task 'Task': subclasses of Task must define run()")
    ):
        Task().run()


def test_the_task_signature_is_that_of_the_function_or_run_method() -> None:
    assert list(add.signature.parameters) == ["x", "y"]
    assert list(Multiply(2).signature.parameters) == ["x"]


def test_task_definition_errors_are_value_errors_for_prefect_compatibility() -> None:
    with pytest.raises(ValueError, match="give max_retries and retry_delay together"):
        task(max_retries=1)(lambda: None)


# -- option validation ----------------------------------------------------------------------

RETRIES_TOGETHER = (
    "task 'f': give max_retries and retry_delay together, e.g. max_retries=3, "
    "retry_delay=timedelta(seconds=10) (retry_delay=0 retries at once)"
)


def f() -> None:
    return None


def test_max_retries_without_retry_delay_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match=re.escape(RETRIES_TOGETHER)):
        task(f, max_retries=3)


def test_retry_delay_without_max_retries_is_refused() -> None:
    with pytest.raises(TaskDefinitionError, match=re.escape(RETRIES_TOGETHER)):
        task(f, retry_delay=5)


def test_retry_delay_of_zero_means_retry_at_once() -> None:
    t = task(f, max_retries=2, retry_delay=0)

    assert t.max_retries == 2
    assert t.retry_delay == 0.0


def test_a_negative_max_retries_is_refused() -> None:
    with pytest.raises(
        TaskDefinitionError, match=re.escape("task 'f': max_retries must be an int >= 0, got -1")
    ):
        task(f, max_retries=-1, retry_delay=1)


def test_a_negative_retry_delay_is_refused() -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            "task 'f': retry_delay must be a positive number of seconds or a timedelta, got -1"
        ),
    ):
        task(f, max_retries=1, retry_delay=-1)


def test_retry_on_without_max_retries_is_refused() -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape("task 'f': retry_on needs max_retries and retry_delay as well"),
    ):
        task(f, retry_on=ValueError)


def test_retry_on_accepts_one_exception_type_or_several() -> None:
    one = task(f, max_retries=1, retry_delay=1, retry_on=KeyError)
    several = task(f, max_retries=1, retry_delay=1, retry_on=[KeyError, OSError])
    default = task(f, max_retries=1, retry_delay=1)

    assert one.retry_on == (KeyError,)
    assert several.retry_on == (KeyError, OSError)
    assert default.retry_on == (Exception,)


def test_tags_given_as_a_bare_string_are_refused_with_the_fix() -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            "task 'f': tags must be a collection of strings such as tags=['etl'], "
            "not the single string 'etl'"
        ),
    ):
        task(f, tags="etl")


@pytest.mark.parametrize("timeout", [0, -5, timedelta(0), timedelta(seconds=-1)])
def test_a_timeout_that_is_not_positive_is_refused(timeout: float | timedelta) -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            "task 'f': timeout must be a positive number of seconds or a timedelta, "
            f"got {timeout!r}"
        ),
    ):
        task(f, timeout=timeout)


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(30, 30.0), (2.5, 2.5), (timedelta(minutes=1, seconds=30), 90.0)],
)
def test_a_timeout_is_stored_in_seconds(given: float | timedelta, seconds: float) -> None:
    assert task(f, timeout=given).timeout == seconds


@pytest.mark.parametrize("nout", [0, -1])
def test_nout_below_one_is_refused(nout: int) -> None:
    with pytest.raises(
        TaskDefinitionError, match=re.escape(f"task 'f': nout must be an int >= 1, got {nout}")
    ):
        task(f, nout=nout)


def test_a_function_with_star_args_is_refused() -> None:
    def gather(*items: int) -> int:
        return sum(items)

    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            "task 'gather': run() cannot take *items; tasks bind arguments by name, "
            "so give each argument a name"
        ),
    ):
        task(gather)


def test_a_function_with_positional_only_arguments_is_refused() -> None:
    def first(x: int, /, y: int) -> int:
        return x

    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            "task 'first': run() cannot take the positional-only argument 'x'; "
            "remove the '/' from its signature"
        ),
    ):
        task(first)


@pytest.mark.parametrize("reserved", ["upstream_tasks", "mapped", "task_args", "flow"])
def test_a_function_with_a_reserved_argument_name_is_refused(reserved: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def uses_reserved({reserved}):\n    return None", namespace)

    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            f"task 'uses_reserved': run() cannot take an argument named {reserved!r}; that name "
            "is reserved for binding (flow, mapped, task_args, upstream_tasks)"
        ),
    ):
        task(namespace["uses_reserved"])


def test_a_task_subclass_whose_run_takes_star_args_is_refused() -> None:
    class Gather(Task):
        def run(self, *items: int) -> int:
            return sum(items)

    with pytest.raises(
        TaskDefinitionError, match=re.escape("task 'Gather': run() cannot take *items")
    ):
        Gather()


def test_a_function_with_star_star_kwargs_is_accepted() -> None:
    def collect(**values: int) -> dict[str, int]:
        return values

    assert task(collect).run(a=1) == {"a": 1}


# -- calling a task -------------------------------------------------------------------------


def test_calling_a_task_outside_a_flow_says_to_use_run() -> None:
    with pytest.raises(
        TaskDefinitionError,
        match=re.escape(
            "task 'add' was called outside a `with Flow(...)` block. Inside a flow, calling a "
            "task adds it to the flow; to bind it elsewhere pass flow=..., and to run the "
            "function itself call add.run(...) instead."
        ),
    ):
        add(1)


def test_calling_a_task_inside_a_flow_returns_a_copy_bound_into_the_flow() -> None:
    with Flow("f") as flow:
        bound = add(1, y=2)

    assert bound is not add
    assert isinstance(bound, FunctionTask)
    assert bound.fn is add.fn
    assert bound.name == "add"
    assert bound in flow
    assert add not in flow
    assert flow.constants[bound] == {"x": 1, "y": 2}


def test_calling_the_same_task_twice_gives_two_tasks_with_keys_name_and_name_2() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = add(first)

    assert first is not second
    assert flow.key(first) == "add"
    assert flow.key(second) == "add-2"
    assert [t.name for t in flow.sorted_tasks()] == ["add", "add"]
    assert edges_of(flow) == {Edge("add", "add-2", "x")}


def test_a_task_argument_becomes_an_edge_keyed_by_the_argument_name() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = add(2, y=first)

    assert edges_of(flow) == {Edge("add", "add-2", "y")}
    assert flow.constants[second] == {"x": 2}


def test_defaults_that_were_not_given_are_not_bound() -> None:
    with Flow("f") as flow:
        bound = add(1)

    assert flow.constants[bound] == {"x": 1}


def test_calling_a_task_with_a_missing_argument_names_the_task_and_the_argument() -> None:
    with (
        Flow("f") as flow,
        pytest.raises(
            TaskDefinitionError,
            match=re.escape("task 'add' was called with arguments that do not fit run(")
            + ".*"
            + re.escape("missing a required argument: 'x'"),
        ),
    ):
        add()

    assert len(flow) == 0


def test_calling_a_task_with_an_unknown_keyword_names_the_task_and_the_argument() -> None:
    with (
        Flow("f"),
        pytest.raises(
            TaskDefinitionError,
            match=re.escape("task 'add' was called with arguments that do not fit run(")
            + ".*"
            + re.escape("got an unexpected keyword argument 'z'"),
        ),
    ):
        add(1, z=3)


def test_calling_a_task_with_too_many_arguments_names_the_task() -> None:
    with (
        Flow("f"),
        pytest.raises(
            TaskDefinitionError,
            match=re.escape("task 'add' was called with arguments that do not fit run(")
            + ".*"
            + re.escape("too many positional arguments"),
        ),
    ):
        add(1, 2, 3)


def test_extra_keywords_go_to_a_task_that_takes_star_star_kwargs() -> None:
    @task
    def collect(first: int, **rest: int) -> int:
        return first

    with Flow("f") as flow:
        source = add(1)
        bound = collect(1, a=2, b=source)

    assert flow.constants[bound] == {"first": 1, "a": 2}
    assert edges_of(flow) == {Edge("add", "collect", "b")}


def test_a_task_subclass_called_in_a_flow_binds_a_copy_that_keeps_its_attributes() -> None:
    double = Multiply(2)

    with Flow("f") as flow:
        bound = double(x=add(1))

    assert bound is not double
    assert isinstance(bound, Multiply)
    assert bound.factor == 2
    assert flow.key(bound) == "Multiply"
    assert edges_of(flow) == {Edge("add", "Multiply", "x")}


def flow_with_one_task() -> Flow:
    """A flow that already holds a task."""
    return Flow("f", tasks=[task(f, name="already-there")])


def test_bind_puts_the_task_itself_into_the_flow() -> None:
    own = task(add.fn)
    flow = flow_with_one_task()

    result = own.bind(1, flow=flow)

    assert result is own
    assert own in flow
    assert flow.constants[own] == {"x": 1}


def test_calling_with_flow_given_binds_outside_a_with_block() -> None:
    flow = flow_with_one_task()

    bound = add(1, flow=flow)

    assert bound in flow
    assert flow.constants[bound] == {"x": 1}


def test_calling_with_an_empty_flow_given_binds_into_that_flow() -> None:
    flow = Flow("f")

    bound = add(1, flow=flow)

    assert bound in flow


def test_task_args_on_call_override_attributes_of_the_copy_only() -> None:
    with Flow("f") as flow:
        bound = add(1, task_args={"name": "plus", "tags": ["fast"], "max_retries": 2})

    assert bound.name == "plus"
    assert bound.tags == frozenset({"fast"})
    assert bound.max_retries == 2
    assert flow.key(bound) == "plus"
    assert add.name == "add"
    assert add.tags == frozenset()
    assert add.max_retries == 0


def test_task_args_can_give_the_copy_a_slug_that_becomes_its_key() -> None:
    with Flow("f") as flow:
        bound = add(1, task_args={"slug": "first-add"})

    assert flow.key(bound) == "first-add"


# -- copy -----------------------------------------------------------------------------------


def test_copy_makes_a_new_task_with_overridden_attributes() -> None:
    def handler(t: Task, old: State, new: State) -> None:
        return None

    original = task(f, name="orig", state_handlers=[handler])

    new = original.copy(name="renamed", tags={"a", "b"})

    assert new is not original
    assert new.name == "renamed"
    assert new.tags == frozenset({"a", "b"})
    assert original.name == "orig"
    assert original.tags == frozenset()
    new.state_handlers.append(handler)
    assert original.state_handlers == [handler]


def test_copy_refuses_an_option_the_task_does_not_have() -> None:
    with pytest.raises(
        TaskDefinitionError, match=re.escape("task 'add' has no option 'colour' to override")
    ):
        add.copy(colour="red")


def test_copy_forgets_the_slug_so_copies_do_not_collide_in_a_flow() -> None:
    original = task(f, slug="only-one")

    assert original.copy().slug is None
    assert original.copy(slug="other").slug == "other"


def test_copy_converts_a_timedelta_timeout_to_seconds_like_the_constructor() -> None:
    assert add.copy(timeout=timedelta(seconds=5)).timeout == 5.0


def test_copy_refuses_tags_given_as_a_bare_string() -> None:
    with pytest.raises(TaskDefinitionError, match=re.escape("not the single string 'etl'")):
        add.copy(tags="etl")


# -- several results: nout, t[key], tuple unpacking -----------------------------------------


def test_nout_is_inferred_from_a_fixed_length_tuple_return_annotation() -> None:
    assert split.nout == 2


def test_nout_is_inferred_from_a_typing_tuple_annotation() -> None:
    def three() -> typing.Tuple[int, int, int]:  # noqa: UP006
        return 1, 2, 3

    assert task(three).nout == 3


@pytest.mark.parametrize(
    "source",
    [
        "def fn() -> tuple[int, ...]:\n    return ()",
        "def fn() -> list[int]:\n    return []",
        "def fn():\n    return 1, 2",
        "def fn() -> tuple[NotDefinedAnywhere, int]:\n    return None",
    ],
    ids=["variadic-tuple", "list", "no-annotation", "unresolvable"],
)
def test_nout_is_not_inferred_without_a_fixed_length_tuple_annotation(source: str) -> None:
    namespace: dict[str, Any] = {}
    exec("from __future__ import annotations\n" + source, namespace)

    assert task(namespace["fn"]).nout is None


def test_an_explicit_nout_wins_over_the_annotation() -> None:
    assert task(split.fn, nout=5).nout == 5


def test_nout_is_inferred_from_the_run_annotation_of_a_task_subclass() -> None:
    class Pair(Task):
        def run(self, x: int) -> tuple[int, int]:
            return x, x

    assert Pair().nout == 2


def test_tuple_unpacking_a_bound_task_creates_get_item_tasks() -> None:
    with Flow("f") as flow:
        number, text = split(3)

    assert isinstance(number, GetItem)
    assert isinstance(text, GetItem)
    assert number.name == "split[0]"
    assert text.name == "split[1]"
    assert flow.constants[number] == {"key": 0}
    assert flow.constants[text] == {"key": 1}
    assert edges_of(flow) == {
        Edge("split", "split[0]", "task_result"),
        Edge("split", "split[1]", "task_result"),
    }


def test_unpacking_into_the_wrong_number_of_names_fails_like_a_tuple() -> None:
    with Flow("f"), pytest.raises(ValueError, match="not enough values to unpack"):
        _a, _b, _c = split(3)


def test_explicit_nout_enables_unpacking() -> None:
    pair = task(lambda x: (x, x), name="pair", nout=2)

    with Flow("f") as flow:
        first, second = pair(1)

    assert {flow.key(first), flow.key(second)} == {"pair[0]", "pair[1]"}


def test_indexing_a_bound_task_creates_a_get_item_task() -> None:
    @task
    def load() -> dict[str, int]:
        return {"rows": 3}

    with Flow("f") as flow:
        data = load()
        rows = data["rows"]

    assert isinstance(rows, GetItem)
    assert rows.name == "load['rows']"
    assert flow.upstream_tasks(rows) == {data}
    assert flow.constants[rows] == {"key": "rows"}
    assert GetItem().run({"rows": 3}, "rows") == 3


def test_iterating_a_task_without_nout_raises_a_type_error_with_a_hint() -> None:
    message = re.escape(
        "task 'add' cannot be unpacked: set nout=N in its options or annotate its return type "
        "as tuple[...] with a fixed number of items"
    )

    with Flow("f"), pytest.raises(TypeError, match=message):
        _a, _b = add(1)
    with pytest.raises(TypeError, match=message):
        iter(add)


# -- dependencies ---------------------------------------------------------------------------


def test_set_upstream_adds_an_edge_without_data() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = add(2)
        returned = second.set_upstream(first)

    assert returned is second
    assert edges_of(flow) == {Edge("add", "add-2")}


def test_set_upstream_with_a_key_passes_the_result_as_that_argument() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = Multiply(2)
        second.set_upstream(first, key="x")

    assert edges_of(flow) == {Edge("add", "Multiply", "x")}


def test_set_downstream_adds_an_edge_the_other_way() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = add(2)
        returned = first.set_downstream(second, key="y", mapped=True)

    assert returned is first
    assert edges_of(flow) == {Edge("add", "add-2", "y", mapped=True)}


def test_set_upstream_outside_a_flow_needs_the_flow_argument() -> None:
    one, two = task(f, name="one"), task(f, name="two")

    with pytest.raises(
        TaskDefinitionError,
        match=re.escape("to set dependencies of it elsewhere pass flow=..."),
    ):
        two.set_upstream(one)

    flow = flow_with_one_task()
    two.set_upstream(one, flow=flow)
    one.set_downstream(task(f, name="three"), flow=flow)
    assert edges_of(flow) == {Edge("one", "two"), Edge("one", "three")}


def test_task_set_dependencies_wires_every_kind_of_dependency() -> None:
    one, two, three = (task(f, name=n) for n in ("one", "two", "three"))
    middle = Multiply(2)
    flow = flow_with_one_task()

    middle.set_dependencies(
        upstream_tasks=[one], downstream_tasks=[three], keyword_tasks={"x": two}, flow=flow
    )

    assert edges_of(flow) == {
        Edge("one", "Multiply"),
        Edge("Multiply", "three"),
        Edge("two", "Multiply", "x"),
    }


def test_a_task_repr_names_it() -> None:
    assert repr(add) == "<Task: add>"
    assert repr(Multiply(2)) == "<Task: Multiply>"
