"""Recording a flow run into a run store, as a run observer.

:class:`StoreRecorder` writes the flow (name, graph hash, graph) and the flow run when the run
starts, then every task state change as it happens, and the run's final state when it ends. Task
state changes go through a queue to a writer thread that inserts them in batches, so recording
stays off the tasks' path; :meth:`StoreRecorder.flow_run_finished` drains that queue and writes
the final state before ``flow.run()`` returns. A run whose process dies keeps what was written
and stays unfinished in the store (``RunStore.unfinished_runs``).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import socket
import threading
from typing import TYPE_CHECKING, Any

from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.store.base import RunStore
from tideflow.store.records import FlowRecord, FlowRunRecord, TaskStateChange

if TYPE_CHECKING:
    from tideflow.states import State
    from tideflow.task import Task

BATCH = 500
_STOP = object()


def graph_hash(graph: dict[str, Any]) -> str:
    """A stable hash of a graph's plain-data form (changes when tasks or edges change)."""
    return hashlib.sha256(json.dumps(graph, sort_keys=True).encode()).hexdigest()


def json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with anything JSON cannot hold replaced by its repr."""
    return json.loads(json.dumps(value, default=repr))  # type: ignore[no-any-return]


class StoreRecorder(RunObserver):
    """Records one flow run into ``store``; see the module docstring."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    def flow_run_started(self, run: FlowRunInfo) -> None:
        graph = run.flow.graph.to_dict()
        self.store.upsert_flow(
            FlowRecord(name=run.flow.name, graph_hash=graph_hash(graph), graph=graph)
        )
        self.store.create_flow_run(
            FlowRunRecord(
                id=run.flow_run_id,
                flow_name=run.flow.name,
                deployment=None,
                parameters=json_safe(run.parameters),
                scheduled_start_time=run.scheduled_start_time,
                start_time=run.started_at,
                end_time=None,
                state="Running",
                state_message=None,
                lateness=(run.started_at - run.scheduled_start_time).total_seconds(),
                host=socket.gethostname(),
                pid=os.getpid(),
                heartbeat=run.started_at,
            )
        )
        self._writer = threading.Thread(target=self._write, name="tideflow-recorder", daemon=True)
        self._writer.start()

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        self._queue.put(
            TaskStateChange(
                flow_run_id=run.flow_run_id,
                task_key=key,
                task_name=task.name,
                map_index=map_index,
                state=state.name,
                message=state.message,
                timestamp=state.timestamp,
            )
        )

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join()
        self.store.set_flow_run_state(
            run.flow_run_id, state.name, state.message, state.timestamp, end_time=state.timestamp
        )

    def _write(self) -> None:
        done = False
        while not done:
            batch: list[TaskStateChange] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    done = True
                    break
                batch.append(item)
                if len(batch) >= BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self.store.record_task_states(batch)
