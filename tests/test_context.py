"""The run context: a read-only mapping layered by ``with context(...)``, private to each thread."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest

from tideflow import context
from tideflow.context import Context, use_context


def test_outside_any_block_the_context_is_empty() -> None:
    assert context.get("flow_name") is None
    assert context.get("flow_name", "unset") == "unset"
    assert "flow_name" not in context
    assert len(context) == 0
    assert context.to_dict() == {}


def test_a_missing_key_raises_key_error_by_item_and_attribute_error_by_attribute() -> None:
    with pytest.raises(KeyError, match="flow_name"):
        context["flow_name"]
    with pytest.raises(AttributeError, match=re.escape("the run context has no 'flow_name'")):
        _ = context.flow_name


def test_a_value_is_readable_by_get_item_and_attribute_inside_the_block() -> None:
    with context(flow_name="etl"):
        assert context.get("flow_name") == "etl"
        assert context["flow_name"] == "etl"
        assert context.flow_name == "etl"
        assert "flow_name" in context


def test_the_with_block_yields_the_context_itself() -> None:
    with context(answer=42) as ctx:
        assert ctx is context
        assert ctx["answer"] == 42


def test_nested_blocks_layer_values_and_restore_them_on_exit() -> None:
    with context(a=1, b=2):
        with context(b=20, c=30):
            assert context.to_dict() == {"a": 1, "b": 20, "c": 30}
        assert context.to_dict() == {"a": 1, "b": 2}
    assert context.to_dict() == {}


def test_values_are_restored_when_the_block_raises() -> None:
    with context(a=1):
        with pytest.raises(RuntimeError, match="inside"), context(a=2):
            raise RuntimeError("inside")
        assert context["a"] == 1
    assert "a" not in context


def test_mappings_are_layered_in_order_and_keywords_win() -> None:
    with context({"a": 1, "b": 1}, {"b": 2, "c": 2}, c=3):
        assert context.to_dict() == {"a": 1, "b": 2, "c": 3}


def test_keys_that_are_not_identifiers_are_allowed_in_mappings() -> None:
    with context({"batch-size": 5}):
        assert context["batch-size"] == 5


def test_to_dict_is_a_copy_that_does_not_change_the_context() -> None:
    with context(a=1):
        snapshot = context.to_dict()
        snapshot["a"] = 99
        snapshot["b"] = 2

        assert context.to_dict() == {"a": 1}


def test_assigning_a_key_sets_it_in_the_current_context_only_until_the_block_ends() -> None:
    with context(a=1):
        context.a = 2
        context["b"] = 3
        assert (context.a, context.b) == (2, 3)
    assert "a" not in context
    assert "b" not in context
    assert not hasattr(type(context), "a")  # not a global attribute of the Context class


def test_assigning_the_name_of_a_context_method_is_refused() -> None:
    with pytest.raises(AttributeError, match="method of the run context"):
        context.get = 1  # type: ignore[method-assign]


def test_a_key_set_in_one_thread_is_not_seen_in_another() -> None:
    import threading

    seen: list[object] = []
    with context(a=1):

        def other() -> None:
            context.a = 99
            seen.append(context.a)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert context.a == 1
    assert seen == [99]


def test_the_context_is_a_mapping_that_iterates_over_its_keys() -> None:
    with context(b=1, a=2):
        assert sorted(context) == ["a", "b"]
        assert len(context) == 2
        assert dict(context.items()) == {"a": 2, "b": 1}
        assert repr(context) == "<Context: ['a', 'b']>"


def test_use_context_replaces_the_whole_context_for_the_block() -> None:
    with context(a=1):
        with use_context({"b": 2}):
            assert context.to_dict() == {"b": 2}
        assert context.to_dict() == {"a": 1}


def test_a_second_context_object_reads_the_same_values() -> None:
    with context(a=1):
        assert Context()["a"] == 1


def test_each_thread_has_its_own_context() -> None:
    barrier = threading.Barrier(2, timeout=10)
    seen: dict[str, Any] = {}

    def worker(name: str) -> None:
        with context(who=name):
            barrier.wait()  # both threads are inside their blocks at the same time
            seen[name] = context["who"]

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("one", "two")]
    with context(who="main"):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert context["who"] == "main"

    assert seen == {"one": "one", "two": "two"}
    assert "who" not in context


def test_a_new_thread_does_not_inherit_the_callers_context() -> None:
    seen: list[Any] = []

    with context(secret=1):
        thread = threading.Thread(target=lambda: seen.append(context.get("secret", "absent")))
        thread.start()
        thread.join(timeout=10)

    assert seen == ["absent"]


def test_each_asyncio_task_has_its_own_context() -> None:
    async def main() -> list[str]:
        barrier = asyncio.Barrier(2)

        async def worker(name: str) -> str:
            with context(who=name):
                await barrier.wait()
                return str(context["who"])

        return list(await asyncio.gather(worker("one"), worker("two")))

    assert asyncio.run(main()) == ["one", "two"]
