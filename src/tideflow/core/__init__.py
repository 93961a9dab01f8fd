"""Prefect 1's ``prefect.core`` path: ``Flow``, ``Task``, ``Parameter`` and ``Edge``.

``Edge`` is Tideflow's plain-data edge: its ``upstream`` and ``downstream`` are the tasks' keys in
their flow (``flow.task(edge.upstream)`` gives the task), where Prefect 1's held the tasks.
"""

from __future__ import annotations

from tideflow.flow import Flow
from tideflow.graph import Edge
from tideflow.parameter import Parameter
from tideflow.task import Task

__all__ = ["Edge", "Flow", "Parameter", "Task"]
