"""A launcher without processes, for running the service tick by tick on a fake clock.

:class:`FakeHost` is a process table that outlives any one service (as the machine outlives a
killed service); :class:`FakeLauncher` starts "processes" in it. A test plays the part of a run's
process with :meth:`FakeHost.take_over`, :meth:`FakeHost.finish` and :meth:`FakeHost.die`,
which do to the store what the real process would.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from tideflow.deployments import Deployment
from tideflow.engine.run_writer import HOST
from tideflow.service.launchers import Launcher, LaunchError
from tideflow.store import FlowRunRecord, RunStore


@dataclass
class FakeProcess:
    pid: int
    deployment: str
    run_id: str | None  # None: a persistent process
    launcher: FakeLauncher
    alive: bool = True
    status: int | None = None
    retired: bool = False
    notified: list[str] = field(default_factory=list)


class FakeHost:
    """The processes of one (pretend) machine."""

    def __init__(self) -> None:
        self.processes: dict[int, FakeProcess] = {}
        self._pids = itertools.count(40_000)
        self.stopped: list[int] = []

    def spawn(self, launcher: FakeLauncher, deployment: str, run_id: str | None) -> FakeProcess:
        process = FakeProcess(next(self._pids), deployment, run_id, launcher)
        self.processes[process.pid] = process
        return process

    def exit(self, pid: int, status: int = 0) -> None:
        process = self.processes[pid]
        if process.alive:
            process.alive, process.status = False, status
            if process.launcher.on_exit is not None:
                process.launcher.on_exit()

    def runs_started(self, run_id: str) -> list[FakeProcess]:
        return [p for p in self.processes.values() if p.run_id == run_id]

    # -- what a run's process does --------------------------------------------------------------

    def process_of(self, store: RunStore, run_id: str) -> FakeProcess:
        run = store.get_flow_run(run_id)
        assert run.host == HOST, f"run {run_id} is held on {run.host}"
        return self.processes[run.pid]

    def take_over(self, store: RunStore, run_id: str, at: datetime) -> FlowRunRecord:
        process = self.process_of(store, run_id)
        taken = store.start(run_id, at=at, host=HOST, pid=process.pid, flow_name="flow")
        assert taken is not None, f"run {run_id} could not be taken over"
        return taken

    def finish(
        self, store: RunStore, run_id: str, at: datetime, state: str = "Success", exit: bool = True
    ) -> None:
        """The run's process takes it over (if it has not), ends it in ``state`` and exits."""
        process = self.process_of(store, run_id)
        if store.get_flow_run(run_id).state == "Claimed":
            self.take_over(store, run_id, at)
        store.finish(run_id, state, f"{state} (fake)", at=at, expected={"Running", "Cancelling"})
        if exit and process.run_id is not None:
            self.exit(process.pid, 0 if state == "Success" else 1)

    def die(self, store: RunStore, run_id: str, status: int = -9) -> None:
        self.exit(self.process_of(store, run_id).pid, status)


class FakeLauncher(Launcher):
    """A launcher whose processes live in a :class:`FakeHost`."""

    def __init__(self, host: FakeHost, *, fail_with: str | None = None) -> None:
        self.fake = host
        self.fail_with = fail_with
        self.mine: list[int] = []

    def start_run(self, deployment: Deployment, run_id: str) -> int:
        return self._start(deployment, run_id)

    def start_persistent(self, deployment: Deployment) -> int:
        return self._start(deployment, None)

    def _start(self, deployment: Deployment, run_id: str | None) -> int:
        if self.fail_with is not None:
            raise LaunchError(self.fail_with)
        process = self.fake.spawn(self, deployment.name, run_id)
        self.mine.append(process.pid)
        return process.pid

    def notify(self, pid: int, run_id: str) -> bool:
        process = self.fake.processes.get(pid)
        if process is None or not process.alive:
            return False
        process.notified.append(run_id)
        return True

    def retire(self, pid: int) -> None:
        self.fake.processes[pid].retired = True

    def alive(self, pid: int) -> bool:
        process = self.fake.processes.get(pid)
        return process is not None and process.alive

    def stop(self, pid: int) -> None:
        self.fake.stopped.append(pid)
        if pid in self.fake.processes:
            self.fake.exit(pid, -15)

    def exit_status(self, pid: int) -> int | None:
        process = self.fake.processes.get(pid)
        return None if process is None or process.launcher is not self else process.status

    def started(self) -> list[int]:
        return [pid for pid in self.mine if self.alive(pid)]

    def close(self) -> None:
        for pid in self.started():
            self.stop(pid)
