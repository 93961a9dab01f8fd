"""Starting run processes and stopping whole process trees.

Every process the service starts gets its own session (and so its own process group), its
deployment's environment variables and working directory, and the run store's location in
``TIDEFLOW_DATABASE_URL``. Its own session means a Ctrl-C in the service's terminal does not reach
it (the service decides when runs stop) and that stopping it takes its whole tree: a run's Dask
workers, the command it ran, anything they started.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import psutil

from tideflow.deployments import Deployment

__all__ = ["kill_tree", "pid_alive", "spawn"]


def spawn(
    deployment: Deployment, module: str, args: list[str], store_url: str, *, stdin_pipe: bool
) -> subprocess.Popen[str]:
    """Start ``python -m module *args`` for ``deployment`` (see the module docstring)."""
    python = deployment.python or sys.executable
    env = {**os.environ, **deployment.env, "TIDEFLOW_DATABASE_URL": store_url}
    env.pop("TIDEFLOW_STORE", None)  # a run the service started is always recorded
    return subprocess.Popen(
        [python, "-m", module, *args],
        cwd=deployment.working_dir or None,
        env=env,
        stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def kill_tree(pid: int, grace: float = 3.0) -> None:
    """Stop process ``pid`` and everything it started: SIGTERM, then SIGKILL after ``grace``."""
    try:
        root = psutil.Process(pid)
        family = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(family, timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=grace)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and has not exited (zombies count as gone)."""
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True
    return bool(status != psutil.STATUS_ZOMBIE)
