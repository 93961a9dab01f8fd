"""Tideflow: scheduled data pipelines.

Tasks chained into flows, run locally or on Dask, on cron or interval schedules, with the
authoring API of Prefect 1::

    from tideflow import Flow, Parameter, task

    @task
    def say_hello(name: str) -> str:
        return f"Hello, {name}!"

    with Flow("hello") as flow:
        greeting = say_hello(Parameter("name", default="world"))

    state = flow.run()
    state.result[greeting].result   # 'Hello, world!'

Importing ``tideflow`` loads only the model (tasks, flows, states); the engine, executors, dask
and the CLI load when used.
"""

from __future__ import annotations

from typing import Any

from tideflow import signals, states, triggers
from tideflow.context import context
from tideflow.edge_annotations import flatten, mapped, unmapped
from tideflow.errors import TideflowError
from tideflow.flow import Flow
from tideflow.mapping import apply_map
from tideflow.parameter import DateTimeParameter, Parameter
from tideflow.resources import resource_manager
from tideflow.results import log_artifact, log_metric
from tideflow.tag_context import tags
from tideflow.task import FunctionTask, Task, task
from tideflow.tasks.control_flow import case

__version__ = "0.1.0.dev0"

__all__ = [
    "DateTimeParameter",
    "Flow",
    "FunctionTask",
    "Parameter",
    "Task",
    "TideflowError",
    "__version__",
    "apply_map",
    "case",
    "config",
    "context",
    "flatten",
    "log_artifact",
    "log_metric",
    "mapped",
    "resource_manager",
    "signals",
    "states",
    "tags",
    "task",
    "triggers",
    "unmapped",
]


def __getattr__(name: str) -> Any:
    # ``tideflow.config`` is read on first use (see tideflow.configuration), not on import.
    if name == "config":
        from tideflow.configuration import get_config

        return get_config()
    raise AttributeError(f"module 'tideflow' has no attribute {name!r}")
