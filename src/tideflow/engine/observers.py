"""Run observers: how a flow run reports what happens, to whoever listens.

The run loop calls an observer when a flow run starts, each time a task's state changes, and when
the run ends. Recording runs in a store, the terminal progress display and tests' probes are all
observers; the loop itself knows none of them.

Task states are told as they happen, so :meth:`RunObserver.task_state_changed` may be called
from several threads at once: see its docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from tideflow.flow import Flow
    from tideflow.states import State
    from tideflow.task import Task


Approval = Literal["waiting", "resumed", "cancelled", "ended"]
"""What a :class:`PauseHold` says of a paused run: still waiting, approved, cancelled, or ended
by someone else (a service found it past its deadline)."""


class PauseHold(Protocol):
    """A paused run held waiting for approval; the run loop polls it every ``interval`` s."""

    interval: float

    def poll(self) -> Approval: ...


@dataclass
class FlowRunInfo:
    """What is known about a flow run when it starts."""

    flow: Flow
    flow_run_id: str
    parameters: dict[str, Any]
    scheduled_start_time: datetime
    started_at: datetime
    context: dict[str, Any] = field(default_factory=dict)


class RunObserver:
    """Base class with no-op hooks; override the ones you need."""

    def flow_run_started(self, run: FlowRunInfo) -> None:
        """The run is about to submit its first task."""

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        """Task ``key`` (child ``map_index`` of a mapped task) entered ``state``.

        Called once for every state of every unit (one attempt of a task or of a mapped child),
        in order for each unit, when it happens. A unit's last state (``Success``, ``Failed``,
        ``Retrying`` ...) is told from the run loop's thread. The states before it
        (``Running``) are told when the unit enters them: by executors that run tasks in this
        process, **from the thread that runs the task** (a thread pool's worker, while other
        units run on other threads); by executors that run them elsewhere, from the run loop's
        thread, once the unit has been running for a couple of seconds (a short unit's states
        all come at its end). So implementations must be thread-safe, and quick: a ``Running``
        state is told before the task's code starts. An exception raised on a ``Running`` state
        is logged, and does not change the task's outcome.
        """

    def hold_paused(self, run: FlowRunInfo, waiting: Sequence[str]) -> PauseHold | None:
        """Nothing is left to run but tasks waiting for approval (``waiting``, as ``key`` or
        ``key[i]``). An observer that can keep the run waiting for an approval given from
        elsewhere (the store recorder: ``tideflow resume-run``) returns a hold, which the loop
        polls; the default, None, lets the run end ``Paused``."""
        return None

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        """The run ended in ``state``; called before ``flow.run()`` returns."""
