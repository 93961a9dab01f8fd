"""Flows of flows under a real ``tideflow serve``: a parent deployment's task starts a child
deployment's run, which the service launches in a process of its own; the parent waits for it
and reads its result, and the store links the two runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tests.executors.support import wait_until
from tests.service.support import start_service, stop_service

from tideflow.store.sql import SQLStore

SLOW = 120

FAMILY = """
from tideflow import Flow, Parameter, task
from tideflow.tasks.prefect import create_flow_run, get_task_run_result, wait_for_flow_run

@task(checkpoint=True)
def shout(word):
    return word.upper()

with Flow("child") as child:
    shout(Parameter("word", default="quiet"))

@task(checkpoint=True)
def report(result):
    return f"child said {result}"

with Flow("parent") as parent:
    started = create_flow_run(deployment_name="child", parameters={"word": "hello"})
    done = wait_for_flow_run(started, raise_final_state=True)
    report(get_task_run_result(started, "shout", upstream_tasks=[done]))
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "family.py").write_text(textwrap.dedent(FAMILY))
    (tmp_path / "tideflow.toml").write_text(
        textwrap.dedent(
            """
            [deployments.parent]
            flow = "family.py:parent"

            [deployments.child]
            flow = "family.py:child"
            """
        )
    )
    return tmp_path


def test_a_parent_deployment_starts_a_linked_child_run_that_the_service_runs(
    workspace: Path, store: SQLStore
) -> None:
    env = {"TIDEFLOW_DATABASE_URL": f"sqlite:///{workspace / 'tideflow.db'}"}
    service = start_service(workspace / "tideflow.toml", env, "--now", "parent")
    try:

        def parent_done() -> bool:
            found = store.list_flow_runs(deployment="parent")
            return bool(found) and found[0].is_finished

        wait_until(parent_done, SLOW, "the parent run to finish")
    finally:
        stop_service(service, timeout=30)
    (parent,) = store.list_flow_runs(deployment="parent")
    (child,) = store.list_flow_runs(deployment="child")
    assert (parent.state, child.state) == ("Success", "Success"), parent.state_message
    assert parent.pid != child.pid, "the child ran in a process of its own"
    assert (child.parent_run_id, child.parent_task, child.origin) == (
        parent.id,
        "create_flow_run",
        "trigger",
    )
    assert child.parameters == {"word": "hello"}
    report = [row.value for row in store.results(parent.id) if row.task_key == "report"]
    assert report == ["child said HELLO"]
