"""Task libraries shipped with Tideflow, under the module paths Prefect 1 used.

- :mod:`tideflow.tasks.core.operators`: the tasks that operators on tasks build (``a + b``,
  ``t[key]``, ``t.is_equal(x)``...).
- :mod:`tideflow.tasks.prefect` (also :mod:`tideflow.tasks.tideflow`): flows of flows,
  ``create_flow_run``, ``wait_for_flow_run``, ``get_task_run_result`` and ``StartFlowRun``.
- :mod:`tideflow.tasks.secrets`: ``PrefectSecret`` and ``EnvVarSecret``.
- :mod:`tideflow.tasks.control_flow`: ``case``, ``ifelse``, ``switch``, ``merge`` and
  ``FilterTask``.
"""
