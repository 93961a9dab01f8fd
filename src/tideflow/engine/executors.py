"""The executors under their older Prefect 1 path, ``tideflow.engine.executors``.

Flows written for the reference API import ``DaskExecutor`` from here; it is the same class as
``tideflow.executors.DaskExecutor``.
"""

from __future__ import annotations

from tideflow.executors import DaskExecutor, Executor, LocalDaskExecutor, LocalExecutor

__all__ = ["DaskExecutor", "Executor", "LocalDaskExecutor", "LocalExecutor"]
