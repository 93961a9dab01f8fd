"""Starting run processes, and stopping them with everything they started.

Every process the service starts gets its own session (and so its own process group, both with
the process's pid as their id), its deployment's environment variables and working directory, and
the run store's location in ``TIDEFLOW_DATABASE_URL``, and its secret variables (``secret_env``)
with their values read from the service's secrets as it starts. Its own session means a Ctrl-C in
the service's terminal does not reach it (the service decides when runs stop), and it is what lets a
run be stopped whole: its Dask workers, the command it ran, and what *they* started, even a
``sh -c "sleep 1000 &"`` whose child was re-parented to init and is nobody's child any more. A
descendant stays in the session unless it starts one of its own (a daemon that calls ``setsid``),
which is the one way out, and the one a stop cannot follow.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil

from tideflow.deployments import Deployment
from tideflow.secrets import MASKED_ENV, get_secret

__all__ = [
    "pid_alive",
    "secret_environment",
    "session_members",
    "signal_session",
    "spawn",
    "stop_session",
]


def spawn(
    deployment: Deployment, module: str, args: list[str], store_url: str, *, stdin_pipe: bool
) -> subprocess.Popen[str]:
    """Start ``python -m module *args`` for ``deployment`` (see the module docstring)."""
    python = deployment.python or sys.executable
    env = {**os.environ, **deployment.env, "TIDEFLOW_DATABASE_URL": store_url}
    if deployment.secret_env:
        env.update(secret_environment(deployment))
    env.pop("TIDEFLOW_STORE", None)  # a run the service started is always recorded
    return subprocess.Popen(
        [python, "-m", module, *args],
        cwd=deployment.working_dir or None,
        env=env,
        stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def secret_environment(deployment: Deployment) -> dict[str, str]:
    """The deployment's secret variables with their values, read now from this process's
    secrets, and :data:`~tideflow.secrets.MASKED_ENV` naming them, so the run masks them.

    Raises:
        SecretNotFoundError | SecretsFileError: a secret cannot be read, saying where it was
            looked for.
    """
    found = {var: str(get_secret(name)) for var, name in deployment.secret_env.items()}
    return {**found, MASKED_ENV: ",".join(sorted(found))}


def session_members(sid: int) -> list[int]:
    """The pids of live processes in session ``sid`` (zombies left out)."""
    members = []
    for process in psutil.process_iter(["status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if os.getsid(process.pid) == sid:
                members.append(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def signal_session(sid: int, signum: int) -> bool:
    """Send ``signum`` to every process of session ``sid`` (its leader's process group first);
    whether any process was left to signal."""
    found = False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signum)
        found = True
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)
            found = True
    return found


def stop_session(sid: int, grace: float = 3.0) -> None:
    """Stop session ``sid`` whole: SIGTERM to all of it, SIGKILL to what is left after
    ``grace`` seconds; returns once nothing of it is left (or after another ``grace``)."""
    if not signal_session(sid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while session_members(sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if session_members(sid):
        signal_session(sid, signal.SIGKILL)
        deadline = time.monotonic() + grace
        while session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and has not exited (zombies count as gone)."""
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True
    return bool(status != psutil.STATUS_ZOMBIE)
