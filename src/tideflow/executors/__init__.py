"""Executors: where and how a flow's tasks run.

``LocalExecutor`` (the default) runs tasks one at a time in the calling thread.
"""

from __future__ import annotations

from tideflow.executors.base import Executor
from tideflow.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
