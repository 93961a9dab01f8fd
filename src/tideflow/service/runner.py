"""Running one claimed run of a deployment, in whatever process the service put it in.

The service claims a run for a process (``Scheduled -> Claimed``, naming the process) and hands
its id to it: a fresh one per run (:mod:`tideflow.service.child`) or the deployment's long-lived
one (:mod:`tideflow.service.persistent`). That process calls :func:`run_claimed`, which takes the
run over (``Claimed -> Running``; only the process the claim names can) and runs the
deployment's entrypoint:

- a Tideflow flow runs through the engine with the deployment's executor and parameters and is
  recorded like any ``flow.run()`` (task states, logs, metrics), in the claimed run's row;
- a Python callable is called with the parameters as keyword arguments; its log lines (any
  logger) and its outcome are recorded;
- a command runs with its standard output and error recorded line by line as log lines; exit
  status 0 is success.

Callables and commands are held in the store by the same helper as flows
(:class:`~tideflow.engine.run_writer.RunWriter`): their log lines are recorded as they come and
their heartbeat beats, so a service can tell a live run from one whose process died.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from tideflow import lifecycle
from tideflow.deployments import Deployment, ExecutorSpec
from tideflow.engine.api import run_once
from tideflow.engine.logs import ensure_handler
from tideflow.engine.parameters import resolve_parameters
from tideflow.engine.resume import from_failed_requested, resume_states
from tideflow.engine.run_writer import RunNotClaimedError, RunWriter, take_over
from tideflow.entrypoints import load_flow, load_module, split_ref
from tideflow.executors.base import Executor
from tideflow.flow import Flow
from tideflow.secrets import MaskSecrets, mask
from tideflow.service.registry import deployment_of
from tideflow.states import State
from tideflow.store import FlowRunRecord, LogLine, RunStore, configured_location, open_store
from tideflow.store.base import deployment_not_found

__all__ = ["Loaded", "executor_for", "process_main", "run_claimed"]

log = logging.getLogger("tideflow.service")


class Loaded:
    """What a process keeps between runs of one deployment: the flow or callable, loaded once.

    A persistent process holds one for its whole life; a child process makes one per run.
    """

    def __init__(self, deployment: Deployment, executor: Executor | None = None) -> None:
        self.deployment = deployment
        self.executor = executor
        self._target: Flow | Callable[..., Any] | None = None

    def flow(self) -> Flow:
        if self._target is None:
            self._target = load_flow(str(self.deployment.entrypoint.target))
        assert isinstance(self._target, Flow)
        return self._target

    def function(self) -> Callable[..., Any]:
        if self._target is None:
            where, name = split_ref(str(self.deployment.entrypoint.target))
            function = getattr(load_module(where), name or "main")
            if not callable(function):
                raise TypeError(f"{self.deployment.entrypoint.target} is not callable")
            self._target = function
        assert callable(self._target)
        return self._target


def executor_for(spec: ExecutorSpec | None) -> Executor | None:
    """The executor a deployment's spec asks for (None: the flow's own, or the LocalExecutor)."""
    if spec is None:
        return None
    if spec.type == "local":
        from tideflow.executors.local import LocalExecutor

        return LocalExecutor()
    if spec.type == "local_dask":
        from tideflow.executors.local_dask import LocalDaskExecutor

        return LocalDaskExecutor(spec.scheduler or "threads", spec.num_workers)
    from tideflow.executors.dask import DaskExecutor

    return DaskExecutor(
        address=spec.address,
        cluster_class=spec.cluster_class,
        cluster_kwargs=dict(spec.cluster_kwargs) or None,
        adapt_kwargs=dict(spec.adapt_kwargs) or None,
    )


FORMAT = "[%(asctime)s] %(levelname)s - %(name)s | %(message)s"


def process_main(argv: list[str], usage: str, body: Callable[[RunStore, str], int | None]) -> int:
    """What the run processes' ``main`` shares: check for the one argument, log INFO and up to
    standard error, open the store named by ``TIDEFLOW_DATABASE_URL`` (the service sets it),
    and call ``body(store, argument)``; its exit status (2 for a usage or store problem)."""
    if len(argv) != 1:
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskSecrets())  # the deployment's secret_env values, as recorded
    store = open_store(configured_location())
    assert store is not None  # an explicit location is always opened
    with store:
        try:
            return body(store, argv[0]) or 0
        except LookupError as exc:  # the run or deployment is gone: nothing to do
            print(f"{usage.split()[2]}: {exc}", file=sys.stderr)
            return 2


def stored_deployment(store: RunStore, name: str) -> Deployment:
    """Deployment ``name`` as the store keeps it.

    Raises:
        DeploymentNotFoundError: it was deleted.
    """
    found = store.get_deployment(name)
    if found is None:
        raise deployment_not_found(name)
    return deployment_of(found)


def run_claimed(store: RunStore, run_id: str, loaded: Loaded) -> str:
    """Take over the claimed run ``run_id`` and run it; the name of its final state.

    Returns ``"NotClaimed"`` without running anything when the run is no longer Pending.
    """
    ensure_handler()
    run = store.get_flow_run(run_id)
    kind = loaded.deployment.entrypoint.kind
    try:
        if kind == "flow":
            return _run_flow(store, run, loaded)
        return _run_other(store, run, loaded)
    except RunNotClaimedError as exc:
        log.warning("%s", exc)
        return "NotClaimed"


def _run_flow(store: RunStore, run: FlowRunRecord, loaded: Loaded) -> str:
    try:
        flow = loaded.flow()
        parameters = resolve_parameters(flow, run.parameters)
        executor = loaded.executor or executor_for(loaded.deployment.executor)
        task_states = _resumed_states(store, run, flow)
    except Exception as exc:
        # The run cannot start (a missing file, a syntax error, a bad parameter): say why in
        # the run's own state rather than leave the service to find a dead process.
        message = f"{loaded.deployment.entrypoint.target} cannot run: {exc}"
        log.error("Run %s: %s", run.id, message)
        failed = store.finish(
            run.id, "Failed", message, at=datetime.now(UTC), expected={lifecycle.CLAIMED}
        )
        return "Failed" if failed is not None else "NotClaimed"
    state = run_once(
        flow,
        parameters,
        executor=executor,
        flow_run_id=run.id,
        scheduled_start_time=run.scheduled_start_time,
        progress=False,
        store=store,
        deployment=loaded.deployment.name,
        claimed=True,
        task_states=task_states,
    )
    return state.name


def _resumed_states(store: RunStore, run: FlowRunRecord, flow: Flow) -> dict[str, State] | None:
    """The task states to start from when this attempt was asked to resume from the failed
    tasks (``tideflow retry RUN --from-failed``), else None (the whole flow runs)."""
    if run.attempts < 2 or not from_failed_requested(store, run.id, run.attempts):
        return None
    resumed = resume_states(flow, store, run.id)
    log.info(
        "Run %s, attempt %d: resuming from the failed tasks; %d task(s) keep their earlier "
        "result, %d run again: %s",
        run.id,
        run.attempts,
        len(resumed.task_states),
        len(resumed.rerun),
        ", ".join(resumed.rerun) or "none",
    )
    return resumed.task_states


def _run_other(store: RunStore, run: FlowRunRecord, loaded: Loaded) -> str:
    entrypoint = loaded.deployment.entrypoint
    take_over(store, run.id, datetime.now(UTC), None)
    writer = RunWriter(store, run.id, logger=log)
    with _kept_lines(writer) as keep:
        keep("INFO", "tideflow.service", f"Running {entrypoint}.")
        try:
            if entrypoint.kind == "callable":
                loaded.function()(**run.parameters)
                state, message = "Success", "The callable returned."
            else:
                status = _run_command(loaded.deployment, keep)
                state = "Success" if status == 0 else "Failed"
                message = f"The command exited with status {status}."
        except Exception as exc:
            keep("ERROR", "tideflow.service", "".join(traceback.format_exception(exc)).rstrip())
            state, message = "Failed", f"{type(exc).__name__}: {exc}"
    writer.end(state, mask(message), datetime.now(UTC))
    return state


def _run_command(deployment: Deployment, keep: Callable[[str, str, str], None]) -> int:
    argv = list(deployment.entrypoint.target)
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    for line in process.stdout:
        keep("INFO", f"command.{os.path.basename(argv[0])}", line.rstrip("\n"))
    return process.wait()


@contextmanager
def _kept_lines(writer: RunWriter) -> Iterator[Callable[[str, str, str], None]]:
    """Record the log lines of ``writer``'s run (any logger, while the block runs in this
    thread) through the writer, whose thread also beats the heartbeat."""

    def keep(level: str, logger: str, message: str) -> None:
        writer.rows.append(
            LogLine(
                flow_run_id=writer.run_id,
                task_key=None,
                map_index=None,
                timestamp=datetime.now(UTC),
                level=level,
                logger=logger,
                message=mask(message),  # a command may print its secret_env values
            )
        )

    handler = _Keeper(keep, threading.get_ident())
    root = logging.getLogger()
    root.addHandler(handler)
    writer.begin()
    try:
        yield keep
    finally:
        root.removeHandler(handler)


class _Keeper(logging.Handler):
    """Passes the records emitted on one thread (the callable's) to ``keep``."""

    def __init__(self, keep: Callable[[str, str, str], None], thread: int) -> None:
        super().__init__(logging.INFO)
        self.keep = keep
        self.thread = thread

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and not record.name.startswith("tideflow.service"):
            self.keep(record.levelname, record.name, record.getMessage())
