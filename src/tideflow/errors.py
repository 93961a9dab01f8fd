"""Tideflow's errors: one base class and a few subclasses.

Every message says what was wrong, where (the flow, task, parameter, field or file and the offending
value) and how to fix it. Subclasses also derive from the built-in type a caller would expect
(``ValueError`` for bad input), so code written for the Prefect 1 API that catches ``ValueError``
keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence


class TideflowError(Exception):
    """Base class of every error Tideflow raises on purpose."""


class TaskDefinitionError(TideflowError, ValueError):
    """A task was declared or called in a way that cannot work (bad option, call outside a flow)."""


class FlowDefinitionError(TideflowError, ValueError):
    """A flow was assembled in a way that cannot work (duplicate parameter, unknown task, ...)."""


class CycleError(FlowDefinitionError):
    """An edge would close a cycle; ``path`` holds the cycle's keys, the first repeated last."""

    def __init__(self, message: str, path: Sequence[str]) -> None:
        super().__init__(message)
        self.path = list(path)


class ParameterError(TideflowError, ValueError):
    """Parameters given to a flow run do not match the flow's declared parameters."""


class ScheduleError(TideflowError, ValueError):
    """A schedule cannot be built: a bad cron field, interval, date range or time zone."""


class InvalidTransition(TideflowError):
    """A state change that the state machine does not allow (an engine bug, never user input)."""


class FlowLoadError(TideflowError):
    """A flow reference such as ``path/to/file.py:flow`` could not be loaded."""


class DeploymentError(TideflowError, ValueError):
    """A deployment spec (a ``tideflow.toml`` file, ``tideflow deploy`` options or stored data) is
    invalid. The message has one line per problem; ``problems`` holds the same lines as a list."""

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems is not None else message.splitlines()


class PlannerError(TideflowError, ValueError):
    """The planner was given input it cannot plan with: a naive datetime, a deployment without
    history, or a backfill window that is reversed, too large or for an unscheduled deployment."""


class DataError(TideflowError, ValueError):
    """Input data cannot be used: a missing or malformed file, column or value, or a source that
    cannot be reached. The message names the file and, where it applies, the line and column."""
