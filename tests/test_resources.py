"""``resource_manager``: the tasks a ``with Resource(...)`` block adds and how they are wired.

Running them on every executor is in ``tests/executors/test_prefect1_extras.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tideflow import Flow, Parameter, TideflowError, resource_manager, task
from tideflow.resources import ResourceCleanupTask, ResourceManager
from tideflow.states import Failed, Success

events: list[str] = []


@resource_manager
class Connection:
    def __init__(self, url: str) -> None:
        self.url = url

    def setup(self) -> str:
        events.append(f"open {self.url}")
        return f"conn:{self.url}"

    def cleanup(self, resource: str) -> None:
        events.append(f"close {resource}")


@task
def query(conn: str, sql: str) -> str:
    events.append(f"query {sql}")
    return f"{conn}/{sql}"


@task
def combine(a: str, b: str) -> str:
    return a + "+" + b


@task
def standalone() -> str:
    events.append("standalone")
    return "alone"


def test_block_roots_wait_for_setup_and_cleanup_waits_for_block_leaves() -> None:
    with Flow("wired") as flow:
        url = Parameter("url", default="db")
        with Connection(url) as conn:
            a = query(conn, "a")
            b = query(conn, "b")
            both = combine(a, b)
            alone = standalone()
    cleanup = next(t for t in flow.tasks if isinstance(t, ResourceCleanupTask))
    setup = next(t for t in flow.tasks if t.name == "Connection.setup")
    assert flow.upstream_tasks(alone) == {setup}
    assert flow.upstream_tasks(cleanup) - {setup} == {both, alone} | {
        next(t for t in flow.tasks if t.name == "Connection")
    }
    assert flow.reference_tasks() == {both, alone, setup}
    assert url not in flow.upstream_tasks(cleanup)


def test_the_resource_is_opened_used_and_closed_in_order() -> None:
    events.clear()
    with Flow("ordered") as flow, Connection("db") as conn:
        query(conn, "select")
    state = flow.run()
    assert isinstance(state, Success)
    assert events == ["open db", "query select", "close conn:db"]


def test_nested_resources_close_inner_first_and_a_failure_inside_fails_the_run() -> None:
    events.clear()

    @task
    def broken(conn: str) -> None:
        raise RuntimeError("query failed")

    with Flow("nested") as flow, Connection("outer") as outer:
        with Connection("inner") as inner:
            bad = broken(inner)
        query(outer, "after-inner", upstream_tasks=[bad])
    state = flow.run()
    assert isinstance(state, Failed)
    assert events.index("close conn:inner") < events.index("close conn:outer")
    assert "query after-inner" not in events


def test_options_name_the_tasks_and_pass_task_options() -> None:
    @resource_manager(name="Scratch", cleanup_task_kwargs={"tags": ["cleanup"]})
    class Scratch:
        def setup(self) -> int:
            return 1

        def cleanup(self, resource: Any) -> None:
            pass

    with Flow("named") as flow, Scratch():
        pass
    assert sorted(t.name for t in flow.tasks) == ["Scratch", "Scratch.cleanup", "Scratch.setup"]
    assert flow.get_tasks(tags=["cleanup"])[0].name == "Scratch.cleanup"
    assert isinstance(flow.run(), Success)


def test_a_class_without_setup_or_cleanup_is_refused() -> None:
    class NoCleanup:
        def setup(self) -> None:
            pass

    with pytest.raises(TideflowError, match=r"needs a cleanup\(\) method"):
        ResourceManager(NoCleanup)


def test_a_resource_outside_a_flow_says_where_to_use_it() -> None:
    with pytest.raises(TideflowError, match="outside a `with Flow"):
        Connection("db")
