"""Flows of flows under Tideflow's own name: the same tasks as :mod:`tideflow.tasks.prefect`."""

from __future__ import annotations

from tideflow.tasks.prefect import (
    FlowRunView,
    StartFlowRun,
    create_flow_run,
    get_task_run_result,
    wait_for_flow_run,
)

__all__ = [
    "FlowRunView",
    "StartFlowRun",
    "create_flow_run",
    "get_task_run_result",
    "wait_for_flow_run",
]
