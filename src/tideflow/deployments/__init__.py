"""Deployments: what the service runs, when, and how, as frozen and validated values.

A :class:`Deployment` names an :class:`Entrypoint` (a Tideflow flow, any Python callable, or a
shell command), a ``kind`` (``scheduled``: a fresh process per fire time; ``persistent``: one
long-lived process), an optional :class:`~tideflow.schedules.Schedule` (``None``: the deployment
runs only when triggered or backfilled), the run's parameters, an optional
:class:`ExecutorSpec`, its process environment (working directory, environment variables, Python
interpreter), a timeout and retries, and the policies the planner applies
(:mod:`tideflow.planner`): ``overlap`` (``skip`` | ``queue`` | ``allow``: what happens to a due
run while another run of the deployment is still going), ``max_active`` (how many runs may be
active, claimed or running, at once: by default 1 for ``skip`` and ``queue`` and no limit for
``allow``; :attr:`Deployment.capacity` gives the effective limit) and ``catchup`` (``none`` |
``latest`` | ``all``: which fire times missed while the service was down are run; a fire time is
*missed* when it is first seen more than ``misfire_grace`` after it, default 60 seconds).
``paused`` deployments create and launch nothing.

Every value is checked when it is built, and every problem found is reported at once as a
:class:`~tideflow.errors.DeploymentError`, one line per problem, each naming the deployment, the
field, the bad value and what is allowed (here from a file)::

    tideflow.toml: deployment 'etl', field 'overlap': 'sometimes' is not one of skip, queue, allow

``to_dict()`` / :meth:`Deployment.from_dict` turn a deployment into JSON-compatible data and back
(the schedule through ``Schedule.to_dict``, durations as seconds): that is how the store keeps it.

``tideflow.toml``
-----------------
:func:`load_deployments` reads a TOML file with one ``[deployments.NAME]`` table per deployment.
``NAME`` uses letters, digits, ``-``, ``_`` and ``.``. The fields::

    [deployments.ticket-eval]
    flow = "examples/ticket.py:flow"   # exactly one of:
                                       #   flow = "path/to/file.py:flow" | "package.module:flow"
                                       #   callable = "package.module:main" | "script.py:main"
                                       #   command = ["dbt", "run"]  (argv; a string is split
                                       #             like a shell would, but no shell runs it)
    kind = "persistent"                # "scheduled" (default) or "persistent"
    interval = "1m"                    # or cron = "0 6 * * *", or an RFC 5545 rule:
                                       # rrule = "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0"
                                       # (anchored at `start`); none: trigger/backfill only;
                                       # an interval is at least 1s (the service's tick)
    timezone = "Europe/Berlin"         # the schedule's zone (default UTC)
    start = 2026-01-01T00:00:00        # optional anchor: TOML datetime or ISO text, wall-clock
                                       # time in `timezone` when it has no offset
    parameters = { batch-size = 1000 } # JSON values (TOML dates and times are refused)
    executor = { type = "dask", n_workers = 2 }
    timeout = "10m"                    # durations: "90s", "10m", "1h30m", or seconds as a number
    retries = 2
    retry_delay = "30s"
    overlap = "skip"                   # "skip" (default) | "queue" | "allow"
    max_active = 1                     # runs active at once, 1 or more; default 1, and no limit
                                       # with overlap = "allow" (which refuses max_active)
    catchup = "latest"                 # "latest" (default) | "none" | "all"
    misfire_grace = "60s"              # default 60 seconds
    env = { FOO = "bar" }              # strings only
    secret_env = { DB_PASSWORD = "PROD_DB_PASSWORD" }  # variable = the name of a secret
    working_dir = "."
    python = ".venv/bin/python"        # another interpreter, e.g. a virtualenv's
    paused = false

``executor`` is a string (``"local"``, ``"local_dask"``, ``"dask"``) or a table: ``type`` plus,
for ``local_dask``, ``scheduler`` (``"threads"`` | ``"processes"``) and ``num_workers``; for
``dask``, either ``address = "tcp://host:8786"`` (an existing cluster) or an optional
``cluster_class`` (an import path such as ``"dask_jobqueue.SLURMCluster"``, default a local
cluster) with ``cluster_kwargs`` and ``adapt_kwargs`` tables; ``n_workers = 2`` is a shortcut for
``cluster_kwargs = { n_workers = 2 }``.

``secret_env`` gives a run's process environment variables whose values are secrets, by the
name of a secret (see :class:`tideflow.client.Secret`): the service reads each value from its own
environment (``TIDEFLOW__CONTEXT__SECRETS__NAME``) or its owner-only ``secrets.toml`` when it
starts the run's process, and the run's process masks the values (``****``) in everything it
records. The value is never written to ``tideflow.toml``, the store, events or any output; only
the secret's name is. A secret that cannot be found fails the run at launch, saying where it was
looked for.

Relative paths are resolved against the directory of the TOML file, and stored absolute: the
``working_dir``, a ``flow``/``callable`` file (``path/to/file.py:name``) and a ``python`` given as
a path (with a ``/``; a bare ``python3`` is looked up on ``PATH`` when the run starts). Module
references and commands are kept as written. A deployment without ``working_dir`` leaves the
choice to the launcher.

:func:`deployment_from_options` builds a deployment from ``tideflow deploy`` options through the
same checks; its errors leave out the file part.

The modules
-----------
* :mod:`~tideflow.deployments.fields`: the one table of the fields (default, check, TOML keys,
  JSON form, doc) that the others derive from;
* :mod:`~tideflow.deployments.spec`: :class:`Deployment` and its JSON round trip;
* :mod:`~tideflow.deployments.entrypoint` and :mod:`~tideflow.deployments.executor`: the
  :class:`Entrypoint` and :class:`ExecutorSpec` values;
* :mod:`~tideflow.deployments.checks`: the value checks (durations, choices, JSON, env, ...);
* :mod:`~tideflow.deployments.problems`: problems collected, then raised together;
* :mod:`~tideflow.deployments.toml`: :func:`load_deployments`;
* :mod:`~tideflow.deployments.options`: :func:`deployment_from_options`.
"""

from __future__ import annotations

from tideflow.deployments.entrypoint import ENTRYPOINT_KINDS, Entrypoint, EntrypointKind
from tideflow.deployments.executor import (
    DASK_SCHEDULERS,
    EXECUTOR_TYPES,
    DaskScheduler,
    ExecutorSpec,
    ExecutorType,
)
from tideflow.deployments.fields import (
    CATCHUP_POLICIES,
    DEFAULT_MISFIRE_GRACE,
    KINDS,
    OVERLAP_POLICIES,
    Catchup,
    Kind,
    Overlap,
)
from tideflow.deployments.options import deployment_from_options
from tideflow.deployments.spec import FORMAT_VERSION, Deployment
from tideflow.deployments.toml import load_deployments

__all__ = [
    "CATCHUP_POLICIES",
    "DASK_SCHEDULERS",
    "DEFAULT_MISFIRE_GRACE",
    "ENTRYPOINT_KINDS",
    "EXECUTOR_TYPES",
    "FORMAT_VERSION",
    "KINDS",
    "OVERLAP_POLICIES",
    "Catchup",
    "DaskScheduler",
    "Deployment",
    "Entrypoint",
    "EntrypointKind",
    "ExecutorSpec",
    "ExecutorType",
    "Kind",
    "Overlap",
    "deployment_from_options",
    "load_deployments",
]
