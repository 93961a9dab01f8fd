"""Launchers: how the service starts and stops the processes that run its runs.

The service decides *what* runs and *when*; a :class:`Launcher` is *how*: it starts a run's
process (one per run of a ``scheduled`` deployment, one long-lived process per ``persistent``
deployment), tells whether a process is alive, and stops one with its whole process tree. The
service claims a run for the process the launcher started (the claim names it by host and pid),
so a run is held by its own process from the start: the service that launched it may die and be
replaced without the run being taken for crashed.

:class:`LocalLauncher` starts processes on this machine (see :mod:`~tideflow.service.processes`).
Tests give the service a launcher of their own, so its logic runs tick by tick with no process.

A launcher calls ``on_exit`` (from any thread) when a process it started ends, so the service
can wake at once: a queue of runs drains one process start after another, not one tick after
another.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import subprocess
import threading
from collections.abc import Callable

from tideflow.deployments import Deployment
from tideflow.engine.run_writer import HOST
from tideflow.errors import TideflowError
from tideflow.service.processes import pid_alive, spawn, stop_session

__all__ = ["LaunchError", "Launcher", "LocalLauncher"]

log = logging.getLogger("tideflow.service")

STOP_GRACE = 3.0
"""Seconds a stopped process tree gets after SIGTERM before SIGKILL."""
EXITED_KEPT = 10_000
"""How many ended processes' exit statuses a launcher remembers."""


class LaunchError(Exception):
    """A process could not be started (a missing interpreter or working directory, ...)."""


class Launcher(abc.ABC):
    """Starts, watches and stops the processes of runs; see the module docstring."""

    host: str = HOST
    """The host whose processes this launcher can see (runs it holds name it)."""

    on_exit: Callable[[], None] | None = None
    """Called, from any thread, when a process this launcher started ends."""

    @abc.abstractmethod
    def start_run(self, deployment: Deployment, run_id: str) -> int:
        """Start the process that will run run ``run_id`` of ``deployment``; its pid. The
        process waits until the run is claimed for it (see
        :func:`tideflow.engine.run_writer.wait_for_claim`).

        Raises:
            LaunchError: it could not be started.
        """

    @abc.abstractmethod
    def start_persistent(self, deployment: Deployment) -> int:
        """Start ``deployment``'s long-lived process; its pid.

        Raises:
            LaunchError: it could not be started.
        """

    @abc.abstractmethod
    def notify(self, pid: int, run_id: str) -> bool:
        """Tell persistent process ``pid`` that run ``run_id`` was claimed for it; False when
        it cannot be told (it is gone)."""

    @abc.abstractmethod
    def retire(self, pid: int) -> None:
        """Tell persistent process ``pid`` to finish its current run and exit."""

    @abc.abstractmethod
    def alive(self, pid: int) -> bool:
        """Whether process ``pid`` (on :attr:`host`) is running."""

    @abc.abstractmethod
    def stop(self, pid: int) -> None:
        """Stop process ``pid`` and everything it started (its session), without waiting."""

    def exit_status(self, pid: int) -> int | None:
        """The exit status of process ``pid``, when this launcher started it and it ended."""
        return None

    @abc.abstractmethod
    def started(self) -> list[int]:
        """The pids of the processes this launcher started that are still running."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop every process this launcher started that is still running, and wait for them."""


class LocalLauncher(Launcher):
    """Processes on this machine, each in a session of its own.

    Args:
        store_url: the run store the processes record into (its full URL).
    """

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self._processes: dict[int, subprocess.Popen[str]] = {}
        self._exited: dict[int, int] = {}  # pid -> exit status, the latest EXITED_KEPT
        self._lock = threading.Lock()
        self._stoppers: list[threading.Thread] = []

    def start_run(self, deployment: Deployment, run_id: str) -> int:
        return self._start(deployment, "tideflow.service.child", run_id, stdin=False)

    def start_persistent(self, deployment: Deployment) -> int:
        return self._start(deployment, "tideflow.service.persistent", deployment.name, stdin=True)

    def _start(self, deployment: Deployment, module: str, argument: str, *, stdin: bool) -> int:
        try:
            process = spawn(deployment, module, [argument], self.store_url, stdin_pipe=stdin)
        except (OSError, TideflowError) as exc:  # TideflowError: a secret it needs is missing
            raise LaunchError(str(exc)) from exc
        with self._lock:
            self._processes[process.pid] = process
        watcher = threading.Thread(
            target=self._watch, args=(process,), name=f"tideflow-watch-{process.pid}", daemon=True
        )
        watcher.start()
        return process.pid

    def _watch(self, process: subprocess.Popen[str]) -> None:
        status = process.wait()  # reaps it: no zombie is left behind
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with self._lock:
            self._exited[process.pid] = status
            if len(self._exited) > EXITED_KEPT:
                del self._exited[next(iter(self._exited))]
            self._processes.pop(process.pid, None)
        if self.on_exit is not None:
            self.on_exit()

    def notify(self, pid: int, run_id: str) -> bool:
        with self._lock:
            process = self._processes.get(pid)
        if process is None or process.stdin is None or process.poll() is not None:
            return False
        try:
            process.stdin.write(run_id + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def retire(self, pid: int) -> None:
        with self._lock:
            process = self._processes.get(pid)
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # end of input: it finishes its run and exits

    def alive(self, pid: int) -> bool:
        with self._lock:
            process = self._processes.get(pid)
            if process is None and pid in self._exited:
                return False  # ours, ended (its pid may belong to another process by now)
        if process is not None:
            return process.poll() is None
        return pid_alive(pid)

    def stop(self, pid: int) -> None:
        stopper = threading.Thread(
            target=stop_session, args=(pid, STOP_GRACE), name=f"tideflow-stop-{pid}", daemon=True
        )
        stopper.start()
        with self._lock:
            self._stoppers = [t for t in self._stoppers if t.is_alive()] + [stopper]

    def exit_status(self, pid: int) -> int | None:
        with self._lock:
            return self._exited.get(pid)

    def started(self) -> list[int]:
        with self._lock:
            processes = list(self._processes.values())
        return [p.pid for p in processes if p.poll() is None]

    def close(self) -> None:
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            self.retire(process.pid)
            if process.poll() is None:
                stop_session(process.pid, STOP_GRACE)
        with self._lock:
            stoppers, self._stoppers = self._stoppers, []
        for stopper in stoppers:
            stopper.join()
        for process in processes:
            process.wait()
