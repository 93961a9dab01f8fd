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

from tideflow import signals, states, triggers
from tideflow.context import context
from tideflow.edge_annotations import flatten, unmapped
from tideflow.errors import TideflowError
from tideflow.flow import Flow
from tideflow.parameter import DateTimeParameter, Parameter
from tideflow.results import log_artifact, log_metric
from tideflow.task import FunctionTask, Task, task

__version__ = "0.1.0.dev0"

__all__ = [
    "DateTimeParameter",
    "Flow",
    "FunctionTask",
    "Parameter",
    "Task",
    "TideflowError",
    "__version__",
    "context",
    "flatten",
    "log_artifact",
    "log_metric",
    "signals",
    "states",
    "task",
    "triggers",
    "unmapped",
]
