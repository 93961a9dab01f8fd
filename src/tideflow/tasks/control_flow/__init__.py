"""Control flow: branches that run or skip, branches merged again, and filtered lists.

All of it is built from ordinary tasks and edges, so a flow with branches is still plain data:

- ``with case(task, value):`` runs the tasks created in the block only when ``task``'s result
  equals ``value``; otherwise they end ``Skipped`` (:mod:`~tideflow.tasks.control_flow.case`);
- ``ifelse(condition, true_task, false_task)`` and ``switch(condition, {value: task})`` run one
  of several tasks (:mod:`~tideflow.tasks.control_flow.conditional`);
- ``merge(a, b, ...)`` gives the result of whichever branch ran;
- ``FilterTask`` drops ``None`` and errors from a reduced list
  (:mod:`~tideflow.tasks.control_flow.filter`).
"""

from __future__ import annotations

from tideflow.tasks.control_flow.case import case
from tideflow.tasks.control_flow.conditional import CompareValue, Merge, ifelse, merge, switch
from tideflow.tasks.control_flow.filter import FilterTask

__all__ = ["CompareValue", "FilterTask", "Merge", "case", "ifelse", "merge", "switch"]
