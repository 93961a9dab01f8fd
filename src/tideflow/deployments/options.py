"""``tideflow deploy``: a deployment from command-line options, checked as a file's table is.

:func:`deployment_from_options` turns its keyword arguments into a ``[deployments.NAME]`` table
and reads it with :func:`tideflow.deployments.toml.from_table`, so an option is checked exactly as
the TOML key of the same name. Only the ``KEY=VALUE`` lists (``--param``, ``--env``) and the
executor shortcut (``--executor``, ``--workers``) are shaped here. Problems name the option's
field but no file::

    deployment 'etl', field 'overlap': 'never' is not one of skip, queue, allow
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tideflow.deployments.entrypoint import EntrypointKind
from tideflow.deployments.problems import Problem, line, raise_problems
from tideflow.deployments.spec import Deployment
from tideflow.deployments.toml import from_table
from tideflow.parameter import parse_assignment

__all__ = ["deployment_from_options"]


def deployment_from_options(
    target: str | Sequence[str],
    *,
    name: str,
    entrypoint_kind: EntrypointKind = "flow",
    kind: str = "scheduled",
    cron: str | None = None,
    interval: str | None = None,
    rrule: str | None = None,
    timezone: str | None = None,
    start: str | None = None,
    params: Sequence[str] = (),
    env: Sequence[str] = (),
    secret_env: Sequence[str] = (),
    executor: str | None = None,
    workers: int | None = None,
    timeout: str | None = None,
    retries: int = 0,
    retry_delay: str | None = None,
    overlap: str = "skip",
    max_active: int | None = None,
    catchup: str = "latest",
    misfire_grace: str | None = None,
    working_dir: str | None = None,
    python: str | None = None,
    paused: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
) -> Deployment:
    """A deployment from ``tideflow deploy`` options, checked as a ``tideflow.toml`` table is.

    ``secret_env`` items are ``VAR=SECRET_NAME`` (or ``VAR``, for the secret of the same name).
    ``params`` and ``env`` are ``KEY=VALUE`` texts (a parameter value that parses as JSON is that
    JSON value, else the text). ``workers`` sets ``n_workers`` of a ``dask`` executor or
    ``num_workers`` of a ``local_dask`` one (``dask`` when no executor is named). Relative paths
    are resolved against ``base_dir`` (default: the current directory).

    Raises:
        DeploymentError: listing every problem, one per line, without a file name.
    """
    problems: list[Problem] = []
    table: dict[str, Any] = {entrypoint_kind: target, "kind": kind, "retries": retries}
    optional: dict[str, object] = {
        "cron": cron,
        "interval": interval,
        "rrule": rrule,
        "timezone": timezone,
        "start": start,
    }
    optional |= {"timeout": timeout, "retry_delay": retry_delay, "misfire_grace": misfire_grace}
    optional |= {"working_dir": working_dir, "python": python, "max_active": max_active}
    table |= {key: value for key, value in optional.items() if value is not None}
    table |= {"overlap": overlap, "catchup": catchup, "paused": paused}
    table["parameters"] = _pairs(params, "param", problems, json_values=True)
    table["env"] = _pairs(env, "env", problems, json_values=False)
    table["secret_env"] = _secret_pairs(secret_env)
    if executor is not None or workers is not None:
        table["executor"] = _executor_option(executor or "dask", workers)
    base = Path(os.path.abspath(os.fspath(base_dir) if base_dir is not None else os.curdir))
    deployment, more = from_table(name, table, base)
    raise_problems([line("", name, problem) for problem in problems + more])
    assert deployment is not None  # no problems, so built
    return deployment


def _pairs(
    pairs: Sequence[str], option: str, problems: list[Problem], *, json_values: bool
) -> dict[str, Any]:
    """``KEY=VALUE`` texts as a dict; a malformed one is a problem naming the option."""
    found: dict[str, Any] = {}
    for pair in pairs:
        try:
            key, value = parse_assignment(pair, json_value=json_values)
        except ValueError as exc:
            problems.append(Problem(option, str(exc)))
            continue
        found[key] = value
    return found


def _secret_pairs(items: Sequence[str]) -> dict[str, str]:
    """``VAR=SECRET`` (or ``VAR``: the secret ``VAR``) texts as a dict of names."""
    found: dict[str, str] = {}
    for item in items:
        var, _, secret = item.partition("=")
        found[var.strip()] = secret.strip() or var.strip()
    return found


def _executor_option(executor: str, workers: int | None) -> dict[str, Any]:
    option: dict[str, Any] = {"type": executor}
    if workers is not None:
        option["num_workers" if executor == "local_dask" else "n_workers"] = workers
    return option
