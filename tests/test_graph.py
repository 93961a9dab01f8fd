"""The flow graph as plain data: nodes, edges, order, cycles, comparison and serialisation."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence

import pytest

from tideflow.errors import CycleError, FlowDefinitionError
from tideflow.graph import GRAPH_FORMAT_VERSION, Edge, Graph, Node


def make_graph(keys: str, edges: Sequence[tuple[str, str]] = (), name: str = "demo") -> Graph:
    graph = Graph(name)
    for key in keys:
        graph.add_node(Node(key, key))
    for up, down in edges:
        graph.add_edge(Edge(up, down))
    return graph


# -- nodes and edges ------------------------------------------------------------------------


def test_nodes_are_kept_by_key_in_insertion_order() -> None:
    graph = make_graph("cab")

    assert list(graph.nodes) == ["c", "a", "b"]
    assert graph.nodes["a"] == Node("a", "a", "Task", ())


def test_adding_the_same_node_twice_is_a_no_op() -> None:
    graph = make_graph("a")

    graph.add_node(Node("a", "a"))

    assert list(graph.nodes) == ["a"]


def test_a_different_node_with_a_taken_key_is_refused() -> None:
    graph = make_graph("a")

    with pytest.raises(
        FlowDefinitionError,
        match=re.escape(
            "flow 'demo' already has a task with key 'a'; give the new task another name or slug"
        ),
    ):
        graph.add_node(Node("a", "other-name"))


def test_an_edge_is_recorded_in_both_directions() -> None:
    graph = make_graph("ab", [("a", "b")])

    assert graph.edges == [Edge("a", "b")]
    assert graph.upstream_edges("b") == [Edge("a", "b")]
    assert graph.downstream_edges("a") == [Edge("a", "b")]
    assert graph.upstream("b") == ["a"]
    assert graph.downstream("a") == ["b"]
    assert graph.upstream("a") == []
    assert graph.downstream("b") == []


def test_an_edge_to_an_unknown_node_is_refused_and_names_the_missing_task() -> None:
    graph = make_graph("a")

    with pytest.raises(
        FlowDefinitionError,
        match=re.escape("flow 'demo' has no task 'zzz' (edge a -> zzz); add the task first"),
    ):
        graph.add_edge(Edge("a", "zzz"))
    assert graph.edges == []


def test_an_edge_from_an_unknown_node_is_refused() -> None:
    graph = make_graph("a")

    with pytest.raises(FlowDefinitionError, match=re.escape("has no task 'ghost'")):
        graph.add_edge(Edge("ghost", "a"))


def test_a_duplicate_edge_is_ignored() -> None:
    graph = make_graph("ab", [("a", "b")])

    graph.add_edge(Edge("a", "b"))

    assert graph.edges == [Edge("a", "b")]
    assert graph.upstream_edges("b") == [Edge("a", "b")]


def test_two_edges_between_the_same_tasks_with_different_keys_are_both_kept() -> None:
    graph = make_graph("ab")
    graph.add_edge(Edge("a", "b", "x"))
    graph.add_edge(Edge("a", "b", "y"))

    assert graph.upstream_edges("b") == [Edge("a", "b", "x"), Edge("a", "b", "y")]
    assert graph.upstream("b") == ["a"]
    assert graph.downstream("a") == ["b"]


def test_upstream_lists_each_task_once_in_the_order_the_edges_were_added() -> None:
    graph = make_graph("cabd", [("c", "d"), ("a", "d"), ("b", "d")])
    graph.add_edge(Edge("a", "d", "again"))

    assert graph.upstream("d") == ["c", "a", "b"]


def test_roots_and_terminals_follow_insertion_order() -> None:
    graph = make_graph("abcde", [("a", "c"), ("b", "c"), ("c", "d")])

    assert graph.roots() == ["a", "b", "e"]
    assert graph.terminals() == ["d", "e"]


def test_an_edge_prints_with_its_argument_key_and_mapped_flag() -> None:
    assert str(Edge("a", "b")) == "a -> b"
    assert str(Edge("a", "b", "x")) == "a -> b (x)"
    assert str(Edge("a", "b", "x", mapped=True)) == "a -> b (x, mapped)"


# -- order and paths ------------------------------------------------------------------------


def test_toposort_puts_every_task_after_its_upstream_tasks() -> None:
    graph = make_graph("dcba", [("a", "b"), ("b", "c"), ("c", "d")])

    assert graph.toposort() == ["a", "b", "c", "d"]


def test_toposort_breaks_ties_by_insertion_order() -> None:
    graph = make_graph("xyz", [("z", "x")])

    # y and z are ready first (y was added earlier); x becomes ready only after z.
    assert graph.toposort() == ["y", "z", "x"]


def test_toposort_of_independent_tasks_is_insertion_order() -> None:
    assert make_graph("qwerty").toposort() == list("qwerty")


def test_toposort_is_the_same_every_time_for_the_same_graph() -> None:
    edges = [("a", "d"), ("b", "d"), ("c", "e"), ("d", "f"), ("e", "f")]

    orders = {tuple(make_graph("fedcba", edges).toposort()) for _ in range(5)}

    assert orders == {("c", "e", "b", "a", "d", "f")}


def test_toposort_follows_nodes_and_edges_added_after_an_earlier_sort() -> None:
    graph = make_graph("ab")
    assert graph.toposort() == ["a", "b"]

    graph.add_node(Node("c", "c"))
    graph.add_edge(Edge("c", "a"))

    assert graph.toposort() == ["b", "c", "a"]


def test_toposort_returns_a_copy_that_callers_may_change() -> None:
    graph = make_graph("ab", [("a", "b")])

    graph.toposort().clear()

    assert graph.toposort() == ["a", "b"]


def test_path_follows_edges_downstream() -> None:
    graph = make_graph("abcd", [("a", "b"), ("b", "c"), ("c", "d")])

    assert graph.path("a", "d") == ["a", "b", "c", "d"]
    assert graph.path("b", "c") == ["b", "c"]


def test_path_from_a_node_to_itself_is_that_node() -> None:
    assert make_graph("a").path("a", "a") == ["a"]


def test_path_against_the_direction_of_the_edges_is_none() -> None:
    graph = make_graph("abc", [("a", "b"), ("b", "c")])

    assert graph.path("c", "a") is None
    assert make_graph("ab").path("a", "b") is None


def test_path_through_a_diamond_is_a_chain_of_real_edges() -> None:
    graph = make_graph("abcd", [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])

    path = graph.path("a", "d")

    assert path is not None
    assert path[0] == "a"
    assert path[-1] == "d"
    assert len(path) == 3
    for up, down in itertools.pairwise(path):
        assert down in graph.downstream(up)


# -- cycles ---------------------------------------------------------------------------------


def test_an_edge_that_closes_a_cycle_names_the_cycle_path() -> None:
    graph = make_graph("abc", [("a", "b"), ("b", "c")])

    with pytest.raises(
        CycleError,
        match=re.escape(
            "flow 'demo': the edge c -> a would close the cycle a -> b -> c -> a. "
            "A flow must be acyclic: remove one of these dependencies."
        ),
    ) as exc:
        graph.add_edge(Edge("c", "a"))

    assert exc.value.path == ["a", "b", "c", "a"]


def test_a_refused_cycle_edge_leaves_the_graph_unchanged() -> None:
    graph = make_graph("abc", [("a", "b"), ("b", "c")])

    with pytest.raises(CycleError):
        graph.add_edge(Edge("c", "a", "x"))

    assert graph.edges == [Edge("a", "b"), Edge("b", "c")]
    assert graph.upstream("a") == []
    assert graph.downstream("c") == []
    assert graph.toposort() == ["a", "b", "c"]


def test_a_two_task_cycle_is_reported_with_both_tasks() -> None:
    graph = make_graph("ab", [("a", "b")])

    with pytest.raises(CycleError, match=re.escape("would close the cycle a -> b -> a.")) as exc:
        graph.add_edge(Edge("b", "a"))

    assert exc.value.path == ["a", "b", "a"]


def test_a_cycle_error_is_a_flow_definition_error_and_a_value_error() -> None:
    graph = make_graph("ab", [("a", "b")])

    with pytest.raises(CycleError) as exc:
        graph.add_edge(Edge("b", "a"))

    assert isinstance(exc.value, FlowDefinitionError)
    assert isinstance(exc.value, ValueError)


def test_a_self_loop_is_refused_as_a_cycle_of_one() -> None:
    with pytest.raises(
        CycleError,
        match=re.escape("task 'a' cannot depend on itself (the edge a -> a is a cycle of one)"),
    ) as exc:
        Edge("a", "a", "x")

    assert exc.value.path == ["a", "a"]


def test_a_self_loop_in_serialised_data_is_refused() -> None:
    data = {
        "name": "g",
        "nodes": [{"key": "a", "name": "a"}],
        "edges": [{"upstream": "a", "downstream": "a"}],
    }

    with pytest.raises(CycleError, match=re.escape("cannot depend on itself")):
        Graph.from_dict(data)


def test_a_cycle_in_serialised_data_is_refused() -> None:
    data = make_graph("ab", [("a", "b")]).to_dict()
    data["edges"].append({"upstream": "b", "downstream": "a"})

    with pytest.raises(CycleError) as exc:
        Graph.from_dict(data)

    assert exc.value.path == ["a", "b", "a"]


# -- plain data -----------------------------------------------------------------------------


def test_to_dict_describes_version_name_nodes_and_edges() -> None:
    graph = Graph("etl")
    graph.add_node(Node("load", "load", "FunctionTask", ("io", "slow")))
    graph.add_node(Node("n", "n", "Parameter"))
    graph.add_edge(Edge("n", "load", "rows", mapped=True))

    assert graph.to_dict() == {
        "version": GRAPH_FORMAT_VERSION,
        "name": "etl",
        "nodes": [
            {"key": "load", "name": "load", "kind": "FunctionTask", "tags": ["io", "slow"]},
            {"key": "n", "name": "n", "kind": "Parameter", "tags": []},
        ],
        "edges": [
            {
                "upstream": "n",
                "downstream": "load",
                "key": "rows",
                "mapped": True,
                "flattened": False,
            }
        ],
    }


def test_to_dict_then_from_dict_gives_an_equal_graph() -> None:
    graph = Graph("round-trip")
    graph.add_node(Node("a", "a", "Parameter", ("t1",)))
    graph.add_node(Node("b", "b"))
    graph.add_node(Node("c", "c", "List"))
    graph.add_edge(Edge("a", "b", "x"))
    graph.add_edge(Edge("b", "c", "arg_0", mapped=True, flattened=True))
    graph.add_edge(Edge("a", "c"))

    copy = Graph.from_dict(json.loads(json.dumps(graph.to_dict())))

    assert copy == graph
    assert copy is not graph
    assert copy.edges == graph.edges
    assert copy.toposort() == graph.toposort()
    assert copy.nodes["a"].tags == ("t1",)


def test_from_dict_fills_in_defaults_for_omitted_fields() -> None:
    graph = Graph.from_dict(
        {
            "nodes": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}],
            "edges": [{"upstream": "a", "downstream": "b"}],
        }
    )

    assert graph.name == "graph"
    assert graph.nodes["a"] == Node("a", "A", "Task", ())
    assert graph.edges == [Edge("a", "b", None, False, False)]


def test_a_graph_built_from_nodes_and_edges_is_validated_like_one_built_step_by_step() -> None:
    nodes = {k: Node(k, k) for k in "abc"}

    graph = Graph("g", nodes, [Edge("a", "b"), Edge("b", "c")])

    assert graph == make_graph("abc", [("a", "b"), ("b", "c")], name="g")
    assert graph.upstream("c") == ["b"]
    with pytest.raises(FlowDefinitionError, match=re.escape("has no task 'x'")):
        Graph("g", dict(nodes), [Edge("a", "x")])


def test_graphs_with_the_same_nodes_and_edges_compare_equal_whatever_the_edge_order() -> None:
    one = make_graph("abc", [("a", "b"), ("a", "c")])
    two = make_graph("abc", [("a", "c"), ("a", "b")])

    assert one == two


@pytest.mark.parametrize(
    ("description", "other"),
    [
        ("another name", make_graph("abc", [("a", "b")], name="other")),
        ("a missing node", make_graph("ab", [("a", "b")])),
        ("a missing edge", make_graph("abc")),
        ("an extra edge", make_graph("abc", [("a", "b"), ("b", "c")])),
        ("a reversed edge", make_graph("abc", [("b", "a")])),
    ],
)
def test_graphs_that_differ_compare_unequal(description: str, other: Graph) -> None:
    assert make_graph("abc", [("a", "b")]) != other, description


def test_graphs_whose_edges_differ_only_in_key_or_mapped_flag_compare_unequal() -> None:
    base = make_graph("ab")
    keyed = make_graph("ab")
    mapped = make_graph("ab")
    base.add_edge(Edge("a", "b", "x"))
    keyed.add_edge(Edge("a", "b", "y"))
    mapped.add_edge(Edge("a", "b", "x", mapped=True))

    assert base != keyed
    assert base != mapped


def test_graphs_whose_nodes_differ_in_kind_or_tags_compare_unequal() -> None:
    plain = Graph("g", {"a": Node("a", "a")})

    assert plain != Graph("g", {"a": Node("a", "a", "Parameter")})
    assert plain != Graph("g", {"a": Node("a", "a", tags=("x",))})


def test_a_graph_is_not_equal_to_other_kinds_of_object() -> None:
    graph = make_graph("a")

    assert graph != graph.to_dict()
    assert graph != "demo"


def test_a_graph_prints_as_a_readable_list_of_tasks_and_their_inputs() -> None:
    graph = Graph("etl")
    for key in ("extract", "transform", "load"):
        graph.add_node(Node(key, key))
    graph.add_edge(Edge("extract", "transform", "data"))
    graph.add_edge(Edge("transform", "load", "rows"))
    graph.add_edge(Edge("extract", "load"))

    assert str(graph) == (
        "Graph 'etl': 3 tasks, 3 edges\n"
        "  extract\n"
        "  transform  <- extract (data)\n"
        "  load  <- transform (rows), extract"
    )
