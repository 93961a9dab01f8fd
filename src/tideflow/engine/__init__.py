"""The runtime that runs flows: the run loop, the task runner, triggers applied, retries.

Import ``tideflow.engine.executors`` for the executors under their Prefect 1 path.
"""

from __future__ import annotations
