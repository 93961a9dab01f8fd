"""Deployments: what the service runs, when, and how, as frozen and validated values.

A :class:`Deployment` names an :class:`Entrypoint` (a Tideflow flow, any Python callable, or a
shell command), a ``kind`` (``scheduled``: a fresh process per fire time; ``persistent``: one
long-lived process), an optional :class:`~tideflow.schedules.Schedule` (``None``: the deployment
runs only when triggered or backfilled), the run's parameters, an optional
:class:`ExecutorSpec`, its process environment (working directory, environment variables, Python
interpreter), a timeout and retries, and the two policies the planner applies
(:mod:`tideflow.planner`): ``overlap`` (``skip`` | ``queue`` | ``allow``: what happens to a due
run while another run of the deployment is still going) and ``catchup`` (``none`` | ``latest`` |
``all``: which fire times missed while the service was down are run; a fire time is *missed* when
it is first seen more than ``misfire_grace`` after it, default 60 seconds). ``paused``
deployments create and launch nothing.

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
    interval = "1m"                    # or cron = "0 6 * * *"; neither: trigger/backfill only
    timezone = "Europe/Berlin"         # the schedule's zone (default UTC)
    start = 2026-01-01T00:00:00        # optional anchor: TOML datetime or ISO text, wall-clock
                                       # time in `timezone` when it has no offset
    parameters = { batch-size = 1000 } # JSON values (TOML dates and times are refused)
    executor = { type = "dask", n_workers = 2 }
    timeout = "10m"                    # durations: "90s", "10m", "1h30m", or seconds as a number
    retries = 2
    retry_delay = "30s"
    overlap = "skip"                   # "skip" (default) | "queue" | "allow"
    catchup = "latest"                 # "latest" (default) | "none" | "all"
    misfire_grace = "60s"              # default 60 seconds
    env = { FOO = "bar" }              # strings only
    working_dir = "."
    python = ".venv/bin/python"        # another interpreter, e.g. a virtualenv's
    paused = false

``executor`` is a string (``"local"``, ``"local_dask"``, ``"dask"``) or a table: ``type`` plus,
for ``local_dask``, ``scheduler`` (``"threads"`` | ``"processes"``) and ``num_workers``; for
``dask``, either ``address = "tcp://host:8786"`` (an existing cluster) or an optional
``cluster_class`` (an import path such as ``"dask_jobqueue.SLURMCluster"``, default a local
cluster) with ``cluster_kwargs`` and ``adapt_kwargs`` tables; ``n_workers = 2`` is a shortcut for
``cluster_kwargs = { n_workers = 2 }``.

Relative paths are resolved against the directory of the TOML file, and stored absolute: the
``working_dir``, a ``flow``/``callable`` file (``path/to/file.py:name``) and a ``python`` given as
a path (with a ``/``; a bare ``python3`` is looked up on ``PATH`` when the run starts). Module
references and commands are kept as written. A deployment without ``working_dir`` leaves the
choice to the launcher.

:func:`deployment_from_options` builds a deployment from ``tideflow deploy`` options through the
same checks; its errors leave out the file part.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from tideflow.durations import format_duration, parse_duration
from tideflow.entrypoints import is_file_ref, split_ref
from tideflow.errors import DeploymentError, FlowLoadError, ScheduleError
from tideflow.parameter import parse_assignment
from tideflow.schedules import CronSchedule, IntervalSchedule, Schedule
from tideflow.schedules.codec import seconds_number
from tideflow.schedules.zones import get_zone

__all__ = [
    "CATCHUP_POLICIES",
    "DEFAULT_MISFIRE_GRACE",
    "KINDS",
    "OVERLAP_POLICIES",
    "Catchup",
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

Kind = Literal["scheduled", "persistent"]
Overlap = Literal["skip", "queue", "allow"]
Catchup = Literal["none", "latest", "all"]
EntrypointKind = Literal["flow", "callable", "command"]
ExecutorType = Literal["local", "local_dask", "dask"]
DaskScheduler = Literal["threads", "processes"]

KINDS: tuple[str, ...] = get_args(Kind)
OVERLAP_POLICIES: tuple[str, ...] = get_args(Overlap)
CATCHUP_POLICIES: tuple[str, ...] = get_args(Catchup)
ENTRYPOINT_KINDS: tuple[str, ...] = get_args(EntrypointKind)
EXECUTOR_TYPES: tuple[str, ...] = get_args(ExecutorType)
DASK_SCHEDULERS: tuple[str, ...] = get_args(DaskScheduler)

DEFAULT_MISFIRE_GRACE = timedelta(seconds=60)
"""A fire time first seen later than this after it is *missed* (see ``catchup``)."""

FORMAT_VERSION = 1
"""The ``"version"`` of ``Deployment.to_dict``; :meth:`Deployment.from_dict` refuses newer ones."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SCHEDULE_FIELDS = ("cron", "interval", "timezone", "start")
_TOML_FIELDS = (
    *ENTRYPOINT_KINDS,
    "kind",
    *_SCHEDULE_FIELDS,
    "parameters",
    "executor",
    "timeout",
    "retries",
    "retry_delay",
    "overlap",
    "catchup",
    "misfire_grace",
    "env",
    "working_dir",
    "python",
    "paused",
)
_EXECUTOR_FIELDS = (
    "type",
    "scheduler",
    "num_workers",
    "address",
    "cluster_class",
    "cluster_kwargs",
    "adapt_kwargs",
    "n_workers",
)

_T = TypeVar("_T")


# -- problems: collected, then raised together ---------------------------------------------------


class _Invalid(Exception):
    """One bad value; the text says what is wrong and what is allowed (no location)."""


@dataclass(frozen=True)
class _Problem:
    field: str | None  # None: the deployment as a whole
    text: str


def _line(where: str, name: str, problem: _Problem) -> str:
    head = f"{where}: " if where else ""
    if problem.field is None:
        return f"{head}deployment {name!r}: {problem.text}"
    return f"{head}deployment {name!r}, field {problem.field!r}: {problem.text}"


def _raise(lines: Sequence[str]) -> None:
    if lines:
        raise DeploymentError("\n".join(lines), lines)


def _attempt(
    problems: list[_Problem], name: str | None, check: Callable[[Any], _T], value: object
) -> _T | None:
    """``check(value)``, or ``None`` with its problem recorded under field ``name``."""
    try:
        return check(value)
    except _Invalid as exc:
        problems.append(_Problem(name, str(exc)))
        return None


def _suggest(key: str, known: Sequence[str]) -> str:
    """``did you mean 'x'?`` for a close spelling (``-`` read as ``_``), else the known keys."""
    close = difflib.get_close_matches(key.replace("-", "_"), known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of {', '.join(known)}"


# Fields people reach for that Tideflow spells differently.
_HINTS = {
    "schedule": 'give cron = "0 6 * * *" or interval = "1h" instead',
    "tz": "did you mean 'timezone'?",
    "name": "the name is the table's key: [deployments.NAME]",
}


def _unknown(key: str, known: Sequence[str], hints: Mapping[str, str] | None = None) -> str:
    hint = (hints or {}).get(key)
    return f"unknown field; {hint or _suggest(key, known)}"


# -- value checks: each returns the normalised value or raises _Invalid --------------------------


def _check_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise _Invalid(
            f"the name {value!r} is not valid; use up to 100 letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    return value


def _choice(options: Sequence[str]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in options:
            raise _Invalid(f"{value!r} is not one of {', '.join(options)}")
        return str(value)

    return check


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid(f"expected a whole number, 0 or more, got {value!r}")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {value!r}")
    return value


def _optional_text(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _Invalid(f"expected a non-empty string, got {value!r}")
    return value


def _duration(value: object, *, positive: bool = False) -> timedelta:
    """A timedelta from a timedelta, a number of seconds, or text such as ``"1h30m"``."""
    try:
        if isinstance(value, timedelta):
            delta = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise OverflowError
            delta = timedelta(seconds=value)
        elif isinstance(value, str):
            delta = parse_duration(value)
        else:
            raise _Invalid(f"expected a duration such as '30s', '10m' or '1h30m', got {value!r}")
    except OverflowError:
        raise _Invalid(f"the duration {value!r} is too large") from None
    except ValueError as exc:  # parse_duration's message names the text and shows examples
        raise _Invalid(str(exc)) from None
    if delta < timedelta(0) or (positive and not delta):
        allowed = "positive" if positive else "0 or more"
        raise _Invalid(f"must be {allowed}, got {format_duration(delta)!r}")
    return delta


def _optional_positive_duration(value: object) -> timedelta | None:
    return None if value is None else _duration(value, positive=True)


def _json_problem(value: object, where: str) -> str | None:
    """Why ``value`` (the value of ``where``) is not plain JSON data, or ``None``."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"the value of {where} is {value!r}, not JSON"
    if isinstance(value, list | tuple):
        found = (_json_problem(v, f"{where}[{i}]") for i, v in enumerate(value))
        return next((problem for problem in found if problem), None)
    if isinstance(value, Mapping):
        return _json_mapping_problem(value, where + "[{!r}]")
    return (
        f"the value of {where} is a {type(value).__name__} ({value!r}), not a JSON value; "
        "use a string, number, boolean, list or table"
    )


def _json_mapping_problem(value: Mapping[Any, Any], where: str) -> str | None:
    """:func:`_json_problem` for a mapping; ``where`` formats a key into its location."""
    for key, item in value.items():
        if not isinstance(key, str):
            return f"the key {key!r} is not a string"
        problem = _json_problem(item, where.format(key))
        if problem:
            return problem
    return None


def _json_object(value: object) -> dict[str, Any]:
    """A private copy of a JSON object (so a frozen deployment cannot change under its owner)."""
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected a table of names to JSON values, got {value!r}")
    problem = _json_mapping_problem(value, "{!r}")
    if problem:
        raise _Invalid(problem)
    copied: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return copied


def _env(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected a table of variable names to strings, got {value!r}")
    for key, text in value.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise _Invalid(f"{key!r} is not a valid environment variable name")
        if not isinstance(text, str):
            raise _Invalid(
                f"the value of {key!r} is {text!r}; environment values are strings, "
                f'write {key} = "{text}"'
            )
    return dict(value)


def _instance(kind: type[_T], example: str) -> Callable[[object], _T | None]:
    def check(value: object) -> _T | None:
        if value is not None and not isinstance(value, kind):
            raise _Invalid(f"expected a {kind.__name__} or None, e.g. {example}, got {value!r}")
        return value

    return check


# -- entrypoints ---------------------------------------------------------------------------------


def _check_ref(kind: str, target: object) -> str:
    example = "'path/to/file.py:flow' or 'package.module:flow'"
    if kind == "callable":
        example = "'package.module:main' or 'path/to/script.py:main'"
    if not isinstance(target, str) or not target.strip():
        raise _Invalid(f"expected a reference such as {example}, got {target!r}")
    try:
        where, attr = split_ref(target)
    except FlowLoadError as exc:
        raise _Invalid(str(exc)) from None
    if kind == "callable" and attr is None:
        raise _Invalid(f"{target!r} names no function; use {example}")
    if not is_file_ref(where) and not all(part.isidentifier() for part in where.split(".")):
        raise _Invalid(f"{where!r} is neither a .py file nor a module name; use {example}")
    return target


def _check_command(target: object) -> tuple[str, ...]:
    if isinstance(target, str):
        try:
            target = shlex.split(target)
        except ValueError as exc:
            raise _Invalid(f"cannot split {target!r} into arguments: {exc}") from None
    if not isinstance(target, list | tuple) or not target:
        raise _Invalid(
            f"expected a non-empty list of arguments such as ['dbt', 'run'], got {target!r}"
        )
    if not all(isinstance(arg, str) for arg in target) or not target[0]:
        raise _Invalid(f"every argument must be a string and the program non-empty, got {target!r}")
    return tuple(target)


def _check_entrypoint(kind: object, target: object) -> str | tuple[str, ...]:
    if kind not in ENTRYPOINT_KINDS:
        raise _Invalid(f"entrypoint kind {kind!r} is not one of {', '.join(ENTRYPOINT_KINDS)}")
    return _check_command(target) if kind == "command" else _check_ref(str(kind), target)


@dataclass(frozen=True)
class Entrypoint:
    """What a run executes.

    * ``Entrypoint("flow", "path/to/file.py:flow")`` or ``("flow", "package.module:flow")``: a
      Tideflow flow (without ``:name``, the module's only flow);
    * ``Entrypoint("callable", "package.module:main")`` or ``("callable", "script.py:main")``:
      any Python callable, called without arguments;
    * ``Entrypoint("command", ("dbt", "run"))``: a program and its arguments (no shell).
    """

    kind: EntrypointKind
    target: str | tuple[str, ...]

    def __post_init__(self) -> None:
        try:
            target = _check_entrypoint(self.kind, self.target)
        except _Invalid as exc:
            raise DeploymentError(f"entrypoint: {exc}") from None
        object.__setattr__(self, "target", target)

    def __str__(self) -> str:
        """``flow path/to/file.py:flow``, ``command dbt run``: for tables and logs."""
        target = self.target if isinstance(self.target, str) else shlex.join(self.target)
        return f"{self.kind} {target}"

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., "target": ...}`` (a command's target as a list)."""
        target = self.target if isinstance(self.target, str) else list(self.target)
        return {"kind": self.kind, "target": target}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entrypoint:
        """The entrypoint written by :meth:`to_dict`."""
        return cls(data.get("kind"), data.get("target"))  # type: ignore[arg-type]


# -- executors -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ExecutorSpec:
    """Which executor runs the flow's tasks, as data (the launcher builds the executor).

    * ``type="local"``: one task at a time, in the run's process;
    * ``type="local_dask"``: ``scheduler`` ``"threads"`` (default) or ``"processes"``, and
      ``num_workers`` (default: one per core);
    * ``type="dask"``: ``address`` of an existing cluster, or a cluster created per run from
      ``cluster_class`` (an import path; default ``distributed.LocalCluster``) with
      ``cluster_kwargs`` (e.g. ``{"n_workers": 2}``) and ``adapt_kwargs`` (e.g. ``{"maximum":
      10}``, to scale adaptively).

    ``ExecutorSpec.from_dict({"type": "dask", "n_workers": 2})`` reads the ``n_workers`` shortcut
    into ``cluster_kwargs``.
    """

    type: ExecutorType = "local"
    scheduler: DaskScheduler | None = None
    num_workers: int | None = None
    address: str | None = None
    cluster_class: str | None = None
    cluster_kwargs: dict[str, Any] = field(default_factory=dict)
    adapt_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        checked, problems = _check_executor(values)
        if problems:
            _raise([f"executor.{p.field}: {p.text}" for p in problems])
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """``type`` and the options that differ from their defaults."""
        data: dict[str, Any] = {"type": self.type}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name != "type" and value:
                data[spec.name] = _json_object(value) if isinstance(value, dict) else value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> ExecutorSpec:
        """The spec in ``data``: a type name, or a mapping as in ``tideflow.toml``."""
        spec, problems = _parse_executor(data)
        _raise([f"{p.field}: {p.text}" for p in problems])
        assert spec is not None  # no problems, so parsed
        return spec


def _positive_count(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise _Invalid(f"expected a whole number, 1 or more, got {value!r}")
    return value


def _import_path(value: object) -> str | None:
    if value is None:
        return None
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise _Invalid(
            f"expected an import path such as 'dask_jobqueue.SLURMCluster', got {value!r}"
        )
    return str(value)


_EXECUTOR_CHECKS: dict[str, Callable[[Any], Any]] = {
    "type": _choice(EXECUTOR_TYPES),
    "scheduler": lambda v: None if v is None else _choice(DASK_SCHEDULERS)(v),
    "num_workers": _positive_count,
    "address": _optional_text,
    "cluster_class": _import_path,
    "cluster_kwargs": _json_object,
    "adapt_kwargs": _json_object,
}

# Options that only mean something for one executor type.
_ONLY_FOR = {
    "scheduler": "local_dask",
    "num_workers": "local_dask",
    "address": "dask",
    "cluster_class": "dask",
    "cluster_kwargs": "dask",
    "adapt_kwargs": "dask",
}


def _check_executor(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[_Problem]]:
    """Each option checked, then the combinations; problems name the option."""
    checked: dict[str, Any] = {}
    problems: list[_Problem] = []
    for name, check in _EXECUTOR_CHECKS.items():
        if name in values:
            checked[name] = _attempt(problems, name, check, values[name])
    kind = checked.get("type")
    for name, only in _ONLY_FOR.items():
        if kind in EXECUTOR_TYPES and kind != only and checked.get(name):
            problems.append(_Problem(name, f"applies only to type {only!r}, not {kind!r}"))
    if checked.get("address") and (
        checked.get("cluster_class") or checked.get("cluster_kwargs") or checked.get("adapt_kwargs")
    ):
        problems.append(
            _Problem(
                "address",
                "connects to an existing cluster; cluster_class, cluster_kwargs, n_workers and "
                "adapt_kwargs describe a cluster created per run: give one or the other",
            )
        )
    return checked, problems


def _parse_executor(data: object) -> tuple[ExecutorSpec | None, list[_Problem]]:
    """An ExecutorSpec from TOML/JSON data; problems are named ``executor.OPTION``."""
    if isinstance(data, str):
        data = {"type": data}
    if not isinstance(data, Mapping):
        text = "expected a type name such as 'dask' or a table such as { type = 'dask' }"
        return None, [_Problem("executor", f"{text}, got {data!r}")]
    problems = [
        _Problem(str(key), _unknown(str(key), _EXECUTOR_FIELDS))
        for key in data
        if key not in _EXECUTOR_FIELDS
    ]
    values = {key: value for key, value in data.items() if key in _EXECUTOR_CHECKS}
    if "type" not in data:
        problems.append(_Problem("type", f"missing; give one of {', '.join(EXECUTOR_TYPES)}"))
    if "n_workers" in data and data.get("type", "dask") == "dask":
        _merge_n_workers(values, data["n_workers"], problems)
    elif "n_workers" in data:
        hint = "; for 'local_dask' use num_workers" if data["type"] == "local_dask" else ""
        problems.append(_Problem("n_workers", f"applies only to type 'dask'{hint}"))
    checked, more = _check_executor(values)
    problems += more
    problems = [_Problem(f"executor.{p.field}", p.text) for p in problems]
    return (None if problems else ExecutorSpec(**checked)), problems


def _merge_n_workers(values: dict[str, Any], n_workers: object, problems: list[_Problem]) -> None:
    """Put the ``n_workers`` shortcut into ``cluster_kwargs`` (it is a LocalCluster argument)."""
    count = _attempt(problems, "n_workers", _positive_count, n_workers)
    kwargs = values.get("cluster_kwargs", {})
    if count is None or not isinstance(kwargs, Mapping):
        return
    if kwargs.get("n_workers", count) != count:
        problems.append(_Problem("n_workers", "differs from cluster_kwargs.n_workers; give one"))
        return
    values["cluster_kwargs"] = {**kwargs, "n_workers": count}


# -- the fields of a deployment -----------------------------------------------------------------


def _entrypoint_value(value: object) -> Entrypoint:
    if not isinstance(value, Entrypoint):
        raise _Invalid(
            f"expected an Entrypoint, e.g. Entrypoint('flow', 'path/to/file.py:flow'), "
            f"got {value!r}"
        )
    return value


# The checks Deployment applies to each of its fields, in field order.
_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "entrypoint": _entrypoint_value,
    "kind": _choice(KINDS),
    "schedule": _instance(Schedule, "CronSchedule('0 6 * * *')"),
    "parameters": _json_object,
    "executor": _instance(ExecutorSpec, "ExecutorSpec(type='dask')"),
    "working_dir": _optional_text,
    "env": _env,
    "python": _optional_text,
    "timeout": _optional_positive_duration,
    "retries": _count,
    "retry_delay": _duration,
    "overlap": _choice(OVERLAP_POLICIES),
    "catchup": _choice(CATCHUP_POLICIES),
    "misfire_grace": _duration,
    "paused": _flag,
}


def _check_fields(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[_Problem]]:
    """Check the given fields (in field order): their normalised values and all problems."""
    checked: dict[str, Any] = {}
    problems: list[_Problem] = []
    for name, check in _FIELD_CHECKS.items():
        if name in values:
            checked[name] = _attempt(problems, name, check, values[name])
    return checked, problems


# -- the deployment ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """One deployment: see the module docstring for the meaning of each field.

    Raises:
        DeploymentError: listing every invalid field, one per line.
    """

    name: str
    entrypoint: Entrypoint
    kind: Kind = "scheduled"
    schedule: Schedule | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    executor: ExecutorSpec | None = None
    working_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    python: str | None = None
    timeout: timedelta | None = None
    retries: int = 0
    retry_delay: timedelta = timedelta(0)
    overlap: Overlap = "skip"
    catchup: Catchup = "latest"
    misfire_grace: timedelta = DEFAULT_MISFIRE_GRACE
    paused: bool = False

    def __post_init__(self) -> None:
        problems: list[_Problem] = []
        _attempt(problems, None, _check_name, self.name)
        values, more = _check_fields({f.name: getattr(self, f.name) for f in fields(self)})
        _raise([_line("", str(self.name), p) for p in problems + more])
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data with ``"version": 1``; :meth:`from_dict` reverses it."""
        return {
            "version": FORMAT_VERSION,
            "name": self.name,
            "entrypoint": self.entrypoint.to_dict(),
            "kind": self.kind,
            "schedule": None if self.schedule is None else self.schedule.to_dict(),
            "parameters": _json_object(self.parameters),
            "executor": None if self.executor is None else self.executor.to_dict(),
            "working_dir": self.working_dir,
            "env": dict(self.env),
            "python": self.python,
            "timeout": None if self.timeout is None else seconds_number(self.timeout),
            "retries": self.retries,
            "retry_delay": seconds_number(self.retry_delay),
            "overlap": self.overlap,
            "catchup": self.catchup,
            "misfire_grace": seconds_number(self.misfire_grace),
            "paused": self.paused,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deployment:
        """The deployment written by :meth:`to_dict`; unknown keys are ignored (newer writers).

        Raises:
            DeploymentError: for data from a newer Tideflow, or invalid or missing fields.
        """
        version = data.get("version", FORMAT_VERSION)
        name = data.get("name")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DeploymentError(
                f"deployment {name!r}: stored data has version {version!r}, but this Tideflow "
                f"reads version {FORMAT_VERSION}; upgrade Tideflow to load it"
            )
        values = {key: data[key] for key in _FIELD_CHECKS if key in data}
        values["entrypoint"] = _decode(name, "entrypoint", Entrypoint.from_dict, data)
        values["schedule"] = _decode(name, "schedule", Schedule.from_dict, data)
        values["executor"] = _decode(name, "executor", ExecutorSpec.from_dict, data)
        return cls(name=name, **values)  # type: ignore[arg-type]  # __post_init__ checks it


def _decode(
    name: object, key: str, decode: Callable[[Any], _T], data: Mapping[str, Any]
) -> _T | None:
    """``decode(data[key])`` (``None`` when absent), its error placed in the deployment."""
    value = data.get(key)
    if value is None and key != "entrypoint":
        return None
    try:
        return decode(value if value is not None else {})
    except (DeploymentError, ScheduleError) as exc:
        raise DeploymentError(f"deployment {name!r}, field {key!r}: {exc}") from None


# -- tideflow.toml -------------------------------------------------------------------------------


def load_deployments(path: str | os.PathLike[str]) -> list[Deployment]:
    """The deployments declared in a ``tideflow.toml`` file, in file order.

    Raises:
        DeploymentError: listing every problem of the file, one per line, each starting with the
            file name as given.
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise DeploymentError(f"{where}: cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DeploymentError(f"{where}: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise DeploymentError(f"{where}: {_toml_error_text(exc)}") from None
    base = Path(os.path.abspath(where)).parent
    return _deployments_from_data(data, where, base)


def _toml_error_text(exc: tomllib.TOMLDecodeError) -> str:
    """``line 3, column 9: invalid TOML: Invalid value`` from tomllib's message."""
    text = str(exc)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", text)
    if found:
        return f"line {found[2]}, column {found[3]}: invalid TOML: {found[1]}"
    return "invalid TOML: " + text.replace("(at end of document)", "at the end of the file")


def _deployments_from_data(data: Mapping[str, Any], where: str, base: Path) -> list[Deployment]:
    lines = [
        f"{where}: unknown top-level key {key!r}; {_suggest(key, ['deployments'])}"
        for key in data
        if key != "deployments"
    ]
    tables = data.get("deployments", {})
    if not isinstance(tables, dict):
        lines.append(f"{where}: 'deployments' must hold [deployments.NAME] tables")
        tables = {}
    found: list[Deployment] = []
    for name, table in tables.items():
        deployment, problems = _from_table(name, table, base)
        lines += [_line(where, name, problem) for problem in problems]
        if deployment is not None:
            found.append(deployment)
    _raise(lines)
    return found


# The TOML fields that map one to one onto a Deployment field.
_SIMPLE_FIELDS = [key for key in _FIELD_CHECKS if key in _TOML_FIELDS and key != "executor"]


def _from_table(name: str, table: object, base: Path) -> tuple[Deployment | None, list[_Problem]]:
    """One ``[deployments.NAME]`` table: the deployment, or every problem found in it."""
    if not isinstance(table, dict):
        text = f'expected a table such as [deployments.{name}] with flow = "file.py:flow"'
        return None, [_Problem(None, f"{text}, got {table!r}")]
    problems: list[_Problem] = []
    _attempt(problems, None, _check_name, name)
    problems += [
        _Problem(key, _unknown(key, _TOML_FIELDS, _HINTS))
        for key in table
        if key not in _TOML_FIELDS
    ]
    entrypoint = _entrypoint_from_table(table, base, problems)
    schedule = _schedule_from_table(table, problems)
    executor = None
    if "executor" in table:
        executor, more = _parse_executor(table["executor"])
        problems += [_Problem(p.field, p.text) for p in more]
    simple = {key: table[key] for key in _SIMPLE_FIELDS if key in table}
    values, more = _check_fields(simple)
    problems += more
    if problems or entrypoint is None:
        return None, problems
    for key in ("working_dir", "python"):
        values[key] = _resolve_path(values.get(key), base, always=key == "working_dir")
    deployment = Deployment(
        name=name, entrypoint=entrypoint, schedule=schedule, executor=executor, **values
    )
    return deployment, []


def _entrypoint_from_table(
    table: Mapping[str, Any], base: Path, problems: list[_Problem]
) -> Entrypoint | None:
    given = [kind for kind in ENTRYPOINT_KINDS if kind in table]
    if len(given) != 1:
        found = f"; found {' and '.join(given)}" if given else ""
        text = 'give exactly one of flow, callable or command, e.g. flow = "path/to/file.py:flow"'
        problems.append(_Problem(None, text + found))
        return None
    kind = given[0]
    target = _attempt(problems, kind, lambda value: _check_entrypoint(kind, value), table[kind])
    if target is None:
        return None
    if isinstance(target, str):
        where, attr = split_ref(target)
        if is_file_ref(where):
            where = str(_resolve_path(where, base, always=True))
            target = where if attr is None else f"{where}:{attr}"
    return Entrypoint(kind, target)  # type: ignore[arg-type]  # kind is one of the three


def _resolve_path(text: str | None, base: Path, *, always: bool) -> str | None:
    """``text`` made absolute against ``base`` (``~`` expanded); bare names left alone unless
    ``always`` (a ``python = "python3"`` is found on PATH, a ``working_dir = "data"`` is not)."""
    if text is None or (not always and os.sep not in text and "/" not in text):
        return text
    path = Path(text).expanduser()
    return os.path.normpath(path if path.is_absolute() else base / path)


def _schedule_from_table(table: Mapping[str, Any], problems: list[_Problem]) -> Schedule | None:
    """The schedule from ``cron`` or ``interval`` with ``timezone`` and ``start``, if any."""
    cron, interval = table.get("cron"), table.get("interval")
    if cron is not None and interval is not None:
        problems.append(_Problem(None, "cron and interval are both given; keep one"))
        return None
    count = len(problems)
    zone = None
    if "timezone" in table:
        zone = _attempt(problems, "timezone", _zone, table["timezone"])
    start = _attempt(problems, "start", _start, table.get("start"))
    if cron is None and interval is None:
        for key in ("timezone", "start"):
            if key in table:
                problems.append(_Problem(key, "is given without cron or interval; add one"))
        return None
    if len(problems) > count:
        zone, start = None, None  # still check cron/interval on their own
    build = _cron_schedule if cron is not None else _interval_schedule
    schedule = build(cron if cron is not None else interval, zone, start, problems)
    return schedule if len(problems) == count else None


def _zone(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a time zone name such as 'Europe/Berlin', got {value!r}")
    try:
        get_zone(value)
    except ScheduleError as exc:
        raise _Invalid(str(exc).removeprefix("tz: ")) from None
    return value


def _start(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise _Invalid(f"expected a datetime such as 2026-01-01T06:00:00, got {value!r}")


def _cron_schedule(
    cron: object, zone: str | None, start: datetime | None, problems: list[_Problem]
) -> Schedule | None:
    if not isinstance(cron, str):
        problems.append(
            _Problem("cron", f"expected a cron expression such as '0 6 * * *', got {cron!r}")
        )
        return None
    try:
        return CronSchedule(cron, start_date=start, tz=zone)
    except ScheduleError as exc:
        problems.append(_Problem(_schedule_error_field(exc, "cron"), str(exc)))
        return None


def _interval_schedule(
    interval: object, zone: str | None, start: datetime | None, problems: list[_Problem]
) -> Schedule | None:
    every = _attempt(problems, "interval", _optional_positive_duration, interval)
    if every is None:
        return None
    try:
        return IntervalSchedule(interval=every, start_date=start, tz=zone)
    except ScheduleError as exc:
        problems.append(_Problem(_schedule_error_field(exc, "interval"), str(exc)))
        return None


def _schedule_error_field(exc: ScheduleError, default: str) -> str:
    """The TOML field a schedule's message is about: it starts with the argument's name."""
    text = str(exc)
    return "start" if text.startswith("start_date") else default


# -- tideflow deploy -----------------------------------------------------------------------------


def deployment_from_options(
    target: str | Sequence[str],
    *,
    name: str,
    entrypoint_kind: EntrypointKind = "flow",
    kind: str = "scheduled",
    cron: str | None = None,
    interval: str | None = None,
    timezone: str | None = None,
    start: str | None = None,
    params: Sequence[str] = (),
    env: Sequence[str] = (),
    executor: str | None = None,
    workers: int | None = None,
    timeout: str | None = None,
    retries: int = 0,
    retry_delay: str | None = None,
    overlap: str = "skip",
    catchup: str = "latest",
    misfire_grace: str | None = None,
    working_dir: str | None = None,
    python: str | None = None,
    paused: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
) -> Deployment:
    """A deployment from ``tideflow deploy`` options, checked as a ``tideflow.toml`` table is.

    ``params`` and ``env`` are ``KEY=VALUE`` texts (a parameter value that parses as JSON is that
    JSON value, else the text). ``workers`` sets ``n_workers`` of a ``dask`` executor or
    ``num_workers`` of a ``local_dask`` one (``dask`` when no executor is named). Relative paths
    are resolved against ``base_dir`` (default: the current directory).

    Raises:
        DeploymentError: listing every problem, one per line, without a file name.
    """
    problems: list[_Problem] = []
    table: dict[str, Any] = {entrypoint_kind: target, "kind": kind, "retries": retries}
    optional = {"cron": cron, "interval": interval, "timezone": timezone, "start": start}
    optional |= {"timeout": timeout, "retry_delay": retry_delay, "misfire_grace": misfire_grace}
    optional |= {"working_dir": working_dir, "python": python}
    table |= {key: value for key, value in optional.items() if value is not None}
    table |= {"overlap": overlap, "catchup": catchup, "paused": paused}
    table["parameters"] = _pairs(params, "param", problems, json_values=True)
    table["env"] = _pairs(env, "env", problems, json_values=False)
    if executor is not None or workers is not None:
        table["executor"] = _executor_option(executor or "dask", workers)
    base = Path(os.path.abspath(os.fspath(base_dir) if base_dir is not None else os.curdir))
    deployment, more = _from_table(name, table, base)
    _raise([_line("", name, problem) for problem in problems + more])
    assert deployment is not None  # no problems, so built
    return deployment


def _pairs(
    pairs: Sequence[str], option: str, problems: list[_Problem], *, json_values: bool
) -> dict[str, Any]:
    """``KEY=VALUE`` texts as a dict; a malformed one is a problem naming the option."""
    found: dict[str, Any] = {}
    for pair in pairs:
        try:
            key, value = parse_assignment(pair, json_value=json_values)
        except ValueError as exc:
            problems.append(_Problem(option, str(exc)))
            continue
        found[key] = value
    return found


def _executor_option(executor: str, workers: int | None) -> dict[str, Any]:
    option: dict[str, Any] = {"type": executor}
    if workers is not None:
        option["num_workers" if executor == "local_dask" else "n_workers"] = workers
    return option
