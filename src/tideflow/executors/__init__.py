"""Executors: where and how a flow's tasks run.

* ``LocalExecutor`` (the default): one task at a time, in the calling thread.
* ``LocalDaskExecutor(scheduler="threads" | "processes" | "synchronous", num_workers=None)``:
  in parallel on this machine.
* ``DaskExecutor(address=None, cluster_class=None, cluster_kwargs=None, adapt_kwargs=None,
  client_kwargs=None, debug=False, performance_report_path=None)``: on a Dask cluster.

The Dask executors import dask only when a run starts, so importing them is cheap.
"""

from __future__ import annotations

from tideflow.executors.base import Executor
from tideflow.executors.dask import DaskExecutor
from tideflow.executors.local import LocalExecutor
from tideflow.executors.local_dask import LocalDaskExecutor

__all__ = ["DaskExecutor", "Executor", "LocalDaskExecutor", "LocalExecutor"]
