"""Parent and child flows for the flows-of-flows tests, run on every executor.

Registered with cloudpickle by value (see ``conftest.py``): the child Flow object travels to
worker processes inside the parent's task arguments.
"""

from __future__ import annotations

from tideflow import Flow, Parameter, task
from tideflow.tasks.prefect import create_flow_run, get_task_run_result, wait_for_flow_run


@task(checkpoint=True)
def double(x: int) -> int:
    return 2 * x


@task
def explode(x: int) -> int:
    raise RuntimeError(f"child failed on {x}")


def child_flow(fail: bool = False) -> Flow:
    with Flow("child") as flow:
        x = Parameter("x", default=1)
        (explode if fail else double)(x)
    return flow


def parent_flow(child: Flow, *, raise_final_state: bool = True) -> Flow:
    with Flow("parent") as flow:
        run_id = create_flow_run(flow_name=child, parameters={"x": 21})
        finished = wait_for_flow_run(run_id, raise_final_state=raise_final_state)
        get_task_run_result(run_id, "double", upstream_tasks=[finished])
    return flow
