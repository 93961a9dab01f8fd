"""Flows: building the graph functionally and imperatively, and asking it questions."""

from __future__ import annotations

import re
from collections import namedtuple
from typing import Any

import pytest

from tideflow import Flow, Parameter, Task, flatten, task, unmapped
from tideflow.builtin_tasks import Constant, Dict, GetItem, List, Set, Tuple
from tideflow.errors import CycleError, FlowDefinitionError
from tideflow.graph import Edge, Graph
from tideflow.task import active_flow


@task
def one() -> int:
    return 1


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def total(items: Any) -> Any:
    return items


def edges(flow: Flow) -> set[tuple[str, str, str | None]]:
    """The flow's edges as (upstream key, downstream key, argument) triples."""
    return {(e.upstream, e.downstream, e.key) for e in flow.graph.edges}


# -- the functional API ---------------------------------------------------------------------


def test_constant_arguments_are_bound_to_the_task_not_added_as_nodes() -> None:
    with Flow("f") as flow:
        result = add(1, y=[2, 3])

    assert len(flow) == 1
    assert list(flow.graph.nodes) == ["add"]
    assert flow.constants[result] == {"x": 1, "y": [2, 3]}
    assert flow.graph.edges == []
    assert not any(isinstance(t, Constant) for t in flow.tasks)


def test_task_arguments_become_keyed_edges() -> None:
    with Flow("f") as flow:
        a = one()
        b = inc(a)
        c = add(a, b)

    assert flow.tasks == {a, b, c}
    assert edges(flow) == {("one", "inc", "x"), ("one", "add", "x"), ("inc", "add", "y")}
    assert c not in flow.constants


def test_a_list_holding_tasks_becomes_a_list_task_with_one_edge_per_item() -> None:
    with Flow("f") as flow:
        a = one()
        b = inc(a)
        result = total([a, 5, b])

    collector = flow.task("List")
    assert isinstance(collector, List)
    assert edges(flow) == {
        ("one", "inc", "x"),
        ("one", "List", "arg_0"),
        ("inc", "List", "arg_2"),
        ("List", "total", "items"),
    }
    assert flow.constants[collector] == {"arg_1": 5}
    assert flow.upstream_tasks(result) == {collector}


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda a, b: (a, b), Tuple),
        (lambda a, b: {a, b}, Set),
        (lambda a, b: frozenset({a, b}), Set),
        (lambda a, b: [a, b], List),
    ],
    ids=["tuple", "set", "frozenset", "list"],
)
def test_each_kind_of_collection_holding_tasks_gets_its_collector_task(
    make: Any, kind: type[Task]
) -> None:
    with Flow("f") as flow:
        a = one()
        b = inc(2)
        total(make(a, b))

    (collector,) = flow.get_tasks(task_type=kind)
    assert flow.upstream_tasks(collector) == {a, b}
    assert {e.key for e in flow.edges_to(collector)} == {"arg_0", "arg_1"}
    assert {e.key for e in flow.edges_from(collector)} == {"items"}


def test_a_dict_holding_tasks_becomes_a_dict_task_with_constant_keys() -> None:
    with Flow("f") as flow:
        a = one()
        total({"first": a, "second": 2})

    collector = flow.task("Dict")
    assert isinstance(collector, Dict)
    assert edges(flow) == {("one", "Dict", "arg_0"), ("Dict", "total", "items")}
    assert flow.constants[collector] == {"keys": ["first", "second"], "arg_1": 2}


def test_nested_collections_become_nested_collector_tasks() -> None:
    with Flow("f") as flow:
        a = one()
        b = inc(a)
        total([[a, 1], {"b": b}])

    assert edges(flow) == {
        ("one", "inc", "x"),
        ("one", "List-2", "arg_0"),
        ("List-2", "List", "arg_0"),
        ("inc", "Dict", "arg_0"),
        ("Dict", "List", "arg_1"),
        ("List", "total", "items"),
    }
    assert flow.constants[flow.task("List-2")] == {"arg_1": 1}
    assert flow.constants[flow.task("Dict")] == {"keys": ["b"]}


def test_a_list_holding_the_same_task_twice_gets_two_edges() -> None:
    with Flow("f") as flow:
        a = one()
        total([a, a])

    assert edges(flow) == {
        ("one", "List", "arg_0"),
        ("one", "List", "arg_1"),
        ("List", "total", "items"),
    }


def test_collections_of_constants_stay_constants() -> None:
    with Flow("f") as flow:
        result = total({"a": [1, 2], "b": (3,)})

    assert len(flow) == 1
    assert flow.constants[result] == {"items": {"a": [1, 2], "b": (3,)}}


def test_a_namedtuple_holding_tasks_becomes_a_tuple_task() -> None:
    Pair = namedtuple("Pair", "left right")

    with Flow("f") as flow:
        a = one()
        total(Pair(a, a))

    assert flow.get_tasks(task_type=Tuple)


def test_upstream_tasks_add_edges_that_carry_no_data() -> None:
    with Flow("f") as flow:
        a = one()
        b = inc(1, upstream_tasks=[a])

    assert edges(flow) == {("one", "inc", None)}
    assert flow.constants[b] == {"x": 1}
    assert flow.upstream_tasks(b) == {a}


def test_tasks_created_in_a_block_belong_to_that_flow_only() -> None:
    with Flow("outer") as outer:
        a = one()
        with Flow("inner") as inner:
            b = one()
        c = one()

    assert outer.tasks == {a, c}
    assert inner.tasks == {b}


def test_the_with_block_restores_the_previously_active_flow_even_after_an_error() -> None:
    outer, inner = Flow("outer"), Flow("inner")
    seen: list[Flow | None] = []

    def build_and_fail() -> None:
        with inner:
            seen.append(active_flow.get())
            raise RuntimeError("inside")

    with outer:
        with pytest.raises(RuntimeError, match="inside"):
            build_and_fail()
        seen.append(active_flow.get())

    assert seen == [inner, outer]
    assert active_flow.get() is None


def test_map_makes_mapped_edges_and_unmapped_arguments_stay_whole() -> None:
    with Flow("f") as flow:
        a = one()
        result = add.map(x=a, y=unmapped(10))

    assert flow.graph.edges == [Edge("one", "add", "x", mapped=True)]
    assert flow.constants[result] == {"y": 10}


def test_mapping_over_a_constant_wraps_it_in_a_constant_task() -> None:
    with Flow("f") as flow:
        result = inc.map([1, 2, 3])

    (constant,) = flow.get_tasks(task_type=Constant)
    assert constant.value == [1, 2, 3]
    assert constant.run() == [1, 2, 3]
    assert flow.edges_to(result) == {Edge("Constant", "inc", "x", mapped=True)}


def test_flatten_marks_the_edge_as_flattened() -> None:
    with Flow("f") as flow:
        a = one()
        inc.map(flatten(a))

    assert flow.graph.edges == [Edge("one", "inc", "x", mapped=True, flattened=True)]


# -- the generated collector tasks ----------------------------------------------------------


def test_collector_tasks_order_items_by_their_number_not_as_strings() -> None:
    items = {f"arg_{i}": i for i in (10, 2, 0, 1)}

    assert List().run(**items) == [0, 1, 2, 10]
    assert Tuple().run(**items) == (0, 1, 2, 10)
    assert Set().run(**items) == {0, 1, 2, 10}


def test_the_dict_task_pairs_its_keys_with_its_values_in_order() -> None:
    assert Dict().run(keys=["a", "b"], arg_1=2, arg_0=1) == {"a": 1, "b": 2}


def test_get_item_indexes_its_input() -> None:
    assert GetItem().run([5, 6], 1) == 6


# -- the imperative API ---------------------------------------------------------------------


def test_add_task_adds_a_node_and_returns_the_task() -> None:
    flow = Flow("f")
    t = task(inc.fn)

    assert flow.add_task(t) is t
    assert flow.add_task(t) is t
    assert len(flow) == 1
    assert flow.key(t) == "inc"
    assert flow.graph.nodes["inc"].kind == "FunctionTask"


def test_add_task_refuses_something_that_is_not_a_task() -> None:
    def plain() -> None:
        return None

    with pytest.raises(
        FlowDefinitionError,
        match=re.escape(f"flow 'f': only tasks can be added, got {plain!r}; wrap a function with")
        + " @task first",
    ):
        Flow("f").add_task(plain)  # type: ignore[arg-type]


def test_add_task_refuses_an_unhashable_value_with_a_flow_definition_error() -> None:
    with pytest.raises(FlowDefinitionError, match=re.escape("only tasks can be added")):
        Flow("f").add_task([inc])  # type: ignore[arg-type]


def test_tasks_with_the_same_name_get_numbered_keys() -> None:
    flow = Flow("f")
    tasks = [task(inc.fn) for _ in range(3)]
    for t in tasks:
        flow.add_task(t)

    assert [flow.key(t) for t in tasks] == ["inc", "inc-2", "inc-3"]


def test_an_explicit_slug_is_the_key_and_generated_keys_avoid_it() -> None:
    flow = Flow("f")
    slugged = task(inc.fn, slug="inc-2")
    first, second = task(inc.fn), task(inc.fn)
    for t in (slugged, first, second):
        flow.add_task(t)

    assert flow.key(slugged) == "inc-2"
    assert flow.key(first) == "inc"
    assert flow.key(second) == "inc-3"


def test_a_duplicate_explicit_slug_is_refused() -> None:
    flow = Flow("f", tasks=[task(inc.fn, slug="s")])

    with pytest.raises(
        FlowDefinitionError,
        match=re.escape(
            "flow 'f' already has a task with the key 's'; names of parameters and explicit "
            "slugs must be unique within a flow"
        ),
    ):
        flow.add_task(task(one.fn, slug="s"))


def test_add_edge_adds_both_tasks_and_returns_the_edge() -> None:
    flow = Flow("f")
    a, b = task(one.fn), task(inc.fn)

    edge = flow.add_edge(a, b, key="x")

    assert edge == Edge("one", "inc", "x")
    assert flow.tasks == {a, b}
    assert flow.edges == {edge}
    assert flow.edges_to(b) == {edge}
    assert flow.edges_from(a) == {edge}


def test_add_edge_with_a_plain_value_upstream_wraps_it_in_a_constant_task() -> None:
    flow = Flow("f")
    b = task(inc.fn)

    flow.add_edge(41, b, key="x")

    (constant,) = flow.get_tasks(task_type=Constant)
    assert constant.value == 41
    assert edges(flow) == {("Constant", "inc", "x")}


def test_set_dependencies_wires_upstream_downstream_and_keyword_tasks() -> None:
    flow = Flow("f")
    a, b, c, d = (task(one.fn, name=n) for n in "abcd")
    middle = task(add.fn)

    flow.set_dependencies(
        middle, upstream_tasks=[a], downstream_tasks=[d], keyword_tasks={"x": b, "y": 7}
    )
    flow.set_dependencies(c)

    assert edges(flow) == {("a", "add", None), ("add", "d", None), ("b", "add", "x")}
    assert flow.constants[middle] == {"y": 7}
    assert c in flow


def test_chain_makes_each_task_wait_for_the_previous_one() -> None:
    flow = Flow("f")
    a, b, c = (task(one.fn, name=n) for n in "abc")

    added = flow.chain(a, b, c)

    assert added == [Edge("a", "b"), Edge("b", "c")]
    assert flow.sorted_tasks() == (a, b, c)


def test_chain_of_one_task_adds_no_edge() -> None:
    assert Flow("f").chain(task(one.fn)) == []


def test_a_flow_can_be_built_from_tasks_and_edges_in_its_constructor() -> None:
    a, b, c = (task(one.fn, name=n) for n in "abc")

    flow = Flow("f", tasks=[c], edges=[(a, b, "x"), (b, c)])

    assert list(flow.graph.nodes) == ["c", "a", "b"]
    assert flow.edges == {Edge("a", "b", "x"), Edge("b", "c")}
    assert flow.sorted_tasks() == (a, b, c)


# -- cycles and other definition errors -----------------------------------------------------


def test_a_cycle_built_with_the_functional_api_raises_at_once_naming_the_cycle() -> None:
    with Flow("loop") as flow:
        a = inc(1)
        b = inc(a)
        c = inc(b)
        with pytest.raises(
            CycleError,
            match=re.escape(
                "flow 'loop': the edge inc-3 -> inc would close the cycle inc -> inc-2 -> inc-3 "
                "-> inc. A flow must be acyclic: remove one of these dependencies."
            ),
        ) as exc:
            a.set_upstream(c)

    assert exc.value.path == ["inc", "inc-2", "inc-3", "inc"]
    assert flow.upstream_tasks(a) == set()


def test_a_cycle_built_with_the_imperative_api_raises_at_once() -> None:
    a, b = task(one.fn, name="a"), task(one.fn, name="b")
    flow = Flow("loop", edges=[(a, b)])

    with pytest.raises(
        CycleError, match=re.escape("the edge b -> a would close the cycle a -> b -> a.")
    ):
        flow.add_edge(b, a, key="x")

    assert flow.edges == {Edge("a", "b")}


def test_a_task_depending_on_itself_is_refused() -> None:
    a = task(one.fn, name="a")
    flow = Flow("f", tasks=[a])

    with pytest.raises(CycleError, match=re.escape("task 'a' cannot depend on itself")):
        flow.add_edge(a, a)


def test_a_parameter_cannot_have_upstream_tasks() -> None:
    with Flow("f") as flow:
        a = one()
        p = Parameter("x")()
        with pytest.raises(
            FlowDefinitionError,
            match=re.escape(
                "flow 'f': parameter 'x' cannot have upstream tasks; parameters are the flow's "
                "inputs"
            ),
        ):
            p.set_upstream(a)

    assert flow.upstream_tasks(p) == set()


def test_duplicate_parameter_names_are_refused() -> None:
    with Flow("f") as flow:
        Parameter("batch-size", default=10)()
        with pytest.raises(
            FlowDefinitionError,
            match=re.escape(
                "flow 'f' already has a parameter 'batch-size'; names of parameters and explicit "
                "slugs must be unique within a flow"
            ),
        ):
            Parameter("batch-size", default=20)()

    assert len(flow.parameters()) == 1


def test_using_the_same_parameter_twice_is_fine() -> None:
    p = Parameter("n", default=1)
    with Flow("f") as flow:
        inc(p)
        inc(p)

    assert flow.parameters() == {p}


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_flow_name_is_refused(name: str) -> None:
    with pytest.raises(
        FlowDefinitionError, match=re.escape(f"a Flow needs a non-empty name, got {name!r}")
    ):
        Flow(name)


def test_running_a_flow_inside_its_own_with_block_is_refused() -> None:
    with Flow("f") as flow:
        one()
        with pytest.raises(
            FlowDefinitionError,
            match=re.escape(
                "flow 'f': flow.run() was called inside its own `with Flow(...)` block; call it "
                "after the block ends"
            ),
        ):
            flow.run()


# -- introspection --------------------------------------------------------------------------


@pytest.fixture
def diamond() -> tuple[Flow, dict[str, Task]]:
    """n -> (left, right) -> join, plus a lonely task."""
    with Flow("diamond") as flow:
        n = Parameter("n", default=1)
        left = inc(n, task_args={"name": "left"})
        right = inc(n, task_args={"name": "right"})
        join = add(left, right, task_args={"name": "join", "tags": ["out"]})
        lonely = one(task_args={"name": "lonely"})
    return flow, {"n": n, "left": left, "right": right, "join": join, "lonely": lonely}


def test_root_and_terminal_tasks(diamond: tuple[Flow, dict[str, Task]]) -> None:
    flow, t = diamond

    assert flow.root_tasks() == {t["n"], t["lonely"]}
    assert flow.terminal_tasks() == {t["join"], t["lonely"]}


def test_parameters_lists_the_parameter_tasks(diamond: tuple[Flow, dict[str, Task]]) -> None:
    flow, t = diamond

    assert flow.parameters() == {t["n"]}


def test_upstream_and_downstream_tasks(diamond: tuple[Flow, dict[str, Task]]) -> None:
    flow, t = diamond

    assert flow.upstream_tasks(t["join"]) == {t["left"], t["right"]}
    assert flow.downstream_tasks(t["n"]) == {t["left"], t["right"]}
    assert flow.upstream_tasks(t["n"]) == set()
    assert flow.downstream_tasks(t["join"]) == set()


def test_sorted_tasks_and_iteration_follow_topological_order(
    diamond: tuple[Flow, dict[str, Task]],
) -> None:
    flow, t = diamond
    expected = (t["n"], t["left"], t["right"], t["join"], t["lonely"])

    assert flow.sorted_tasks() == expected
    assert tuple(flow) == expected


def test_reference_tasks_default_to_the_terminal_tasks(
    diamond: tuple[Flow, dict[str, Task]],
) -> None:
    flow, t = diamond

    assert flow.reference_tasks() == {t["join"], t["lonely"]}


def test_set_reference_tasks_chooses_the_tasks_that_decide_the_state(
    diamond: tuple[Flow, dict[str, Task]],
) -> None:
    flow, t = diamond

    flow.set_reference_tasks([t["left"]])

    assert flow.reference_tasks() == {t["left"]}


def test_reference_tasks_must_belong_to_the_flow(diamond: tuple[Flow, dict[str, Task]]) -> None:
    flow, _ = diamond

    with pytest.raises(
        FlowDefinitionError, match=re.escape("task <Task: inc> is not part of flow 'diamond'")
    ):
        flow.set_reference_tasks([inc])


def test_reference_tasks_can_be_given_to_the_constructor() -> None:
    a, b = task(one.fn, name="a"), task(one.fn, name="b")

    flow = Flow("f", edges=[(a, b)], reference_tasks=[a])

    assert flow.reference_tasks() == {a}


def test_get_tasks_filters_by_name_key_tags_and_type(
    diamond: tuple[Flow, dict[str, Task]],
) -> None:
    flow, t = diamond

    assert flow.get_tasks(name="left") == [t["left"]]
    assert flow.get_tasks(key="join") == [t["join"]]
    assert flow.get_tasks(tags=["out"]) == [t["join"]]
    assert flow.get_tasks(task_type=Parameter) == [t["n"]]
    assert flow.get_tasks(name="left", tags=["out"]) == []
    assert flow.get_tasks() == list(flow.sorted_tasks())


def test_a_task_is_found_by_its_key_and_an_unknown_key_lists_the_keys(
    diamond: tuple[Flow, dict[str, Task]],
) -> None:
    flow, t = diamond

    assert flow.task("left") is t["left"]
    with pytest.raises(
        FlowDefinitionError,
        match=re.escape(
            "flow 'diamond' has no task 'middle'; its tasks are "
            "['join', 'left', 'lonely', 'n', 'right']"
        ),
    ):
        flow.task("middle")


def test_asking_about_a_task_outside_the_flow_is_an_error() -> None:
    flow = Flow("f", tasks=[task(one.fn)])

    with pytest.raises(FlowDefinitionError, match=re.escape("task <Task: inc> is not part of")):
        flow.upstream_tasks(inc)
    assert inc not in flow


def test_validate_accepts_a_well_formed_flow(diamond: tuple[Flow, dict[str, Task]]) -> None:
    flow, t = diamond
    flow.set_reference_tasks([t["join"]])

    flow.validate()

    assert flow.reference_tasks() == {t["join"]}


def test_a_flow_repr_counts_tasks_and_edges(diamond: tuple[Flow, dict[str, Task]]) -> None:
    flow, _ = diamond

    assert repr(flow) == "<Flow 'diamond': 5 tasks, 4 edges>"
    assert len(flow) == 5


# -- the graph as plain data, and copies ----------------------------------------------------


def build_pipeline() -> Flow:
    with Flow("pipeline") as flow:
        n = Parameter("batch-size", default=3)
        data = inc(n)
        total([data, add(data, 1)])
    return flow


def test_the_flow_graph_is_plain_data_equal_between_two_identical_builds() -> None:
    first, second = build_pipeline(), build_pipeline()

    assert isinstance(first.graph, Graph)
    assert first.graph == second.graph
    assert first.graph.to_dict() == second.graph.to_dict()
    assert first.tasks.isdisjoint(second.tasks)


def test_the_flow_graph_names_tasks_by_key_with_their_kind_and_tags() -> None:
    graph = build_pipeline().graph

    assert graph.name == "pipeline"
    assert graph.toposort() == ["batch-size", "inc", "add", "List", "total"]
    assert graph.nodes["batch-size"].kind == "Parameter"
    assert graph.nodes["List"].kind == "List"
    assert graph.nodes["total"].kind == "FunctionTask"


def test_differently_built_flows_have_unequal_graphs() -> None:
    other = build_pipeline()
    other.add_task(task(one.fn))

    assert build_pipeline().graph != other.graph


def test_copy_makes_an_independent_flow_with_the_same_graph_and_constants() -> None:
    flow = build_pipeline()
    flow.set_reference_tasks([flow.task("add")])

    copy = flow.copy()

    assert copy is not flow
    assert copy.name == flow.name
    assert copy.graph == flow.graph
    assert copy.graph is not flow.graph
    assert copy.tasks == flow.tasks
    assert copy.constants == flow.constants
    assert copy.reference_tasks() == {flow.task("add")}

    extra = task(one.fn)
    copy.add_edge(copy.task("total"), extra)
    copy.constants[copy.task("add")]["y"] = 99

    assert extra not in flow
    assert len(flow) == 5
    assert flow.constants[flow.task("add")] == {"y": 1}
    assert flow.downstream_tasks(flow.task("total")) == set()
