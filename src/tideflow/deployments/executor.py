"""Executor specs: which executor runs a deployment's tasks, as data.

An :class:`ExecutorSpec` is what ``executor = ...`` in ``tideflow.toml`` says; the launcher
builds the executor from it when a run starts. :func:`parse_executor` reads the TOML/JSON form (a
type name, or a table with ``type`` and the type's options) and reports each problem on the option
it is about (``executor.OPTION``). Options that only one type understands are refused for the
others, and ``address`` (an existing cluster) excludes the options of a cluster created per run::

    >>> ExecutorSpec.from_dict({"type": "dask", "n_workers": 2})
    ExecutorSpec(type='dask', ..., cluster_kwargs={'n_workers': 2}, adapt_kwargs={})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from tideflow.deployments.checks import choice, json_object, optional_positive_count, optional_text
from tideflow.deployments.problems import (
    Invalid,
    Problem,
    attempt,
    raise_problems,
    unknown_field,
)

__all__ = [
    "DASK_SCHEDULERS",
    "EXECUTOR_TYPES",
    "DaskScheduler",
    "ExecutorSpec",
    "ExecutorType",
    "parse_executor",
]

ExecutorType = Literal["local", "local_dask", "dask"]
DaskScheduler = Literal["threads", "processes"]
EXECUTOR_TYPES: tuple[str, ...] = get_args(ExecutorType)
DASK_SCHEDULERS: tuple[str, ...] = get_args(DaskScheduler)

# The keys of an executor table: the spec's fields and the n_workers shortcut.
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
            raise_problems([f"executor.{p.field}: {p.text}" for p in problems])
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """``type`` and the options that differ from their defaults."""
        data: dict[str, Any] = {"type": self.type}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name != "type" and value:
                data[spec.name] = json_object(value) if isinstance(value, dict) else value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> ExecutorSpec:
        """The spec in ``data``: a type name, or a mapping as in ``tideflow.toml``."""
        spec, problems = parse_executor(data)
        raise_problems([f"{p.field}: {p.text}" for p in problems])
        assert spec is not None  # no problems, so parsed
        return spec


def _import_path(value: object) -> str | None:
    if value is None:
        return None
    parts = value.split(".") if isinstance(value, str) else []
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise Invalid(
            f"expected an import path such as 'dask_jobqueue.SLURMCluster', got {value!r}"
        )
    return str(value)


_EXECUTOR_CHECKS: dict[str, Callable[[Any], Any]] = {
    "type": choice(EXECUTOR_TYPES),
    "scheduler": lambda v: None if v is None else choice(DASK_SCHEDULERS)(v),
    "num_workers": optional_positive_count,
    "address": optional_text,
    "cluster_class": _import_path,
    "cluster_kwargs": json_object,
    "adapt_kwargs": json_object,
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


def _check_executor(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Each option checked, then the combinations; problems name the option."""
    checked: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, check in _EXECUTOR_CHECKS.items():
        if name in values:
            checked[name] = attempt(problems, name, check, values[name])
    kind = checked.get("type")
    for name, only in _ONLY_FOR.items():
        if kind in EXECUTOR_TYPES and kind != only and checked.get(name):
            problems.append(Problem(name, f"applies only to type {only!r}, not {kind!r}"))
    if checked.get("address") and (
        checked.get("cluster_class") or checked.get("cluster_kwargs") or checked.get("adapt_kwargs")
    ):
        problems.append(
            Problem(
                "address",
                "connects to an existing cluster; cluster_class, cluster_kwargs, n_workers and "
                "adapt_kwargs describe a cluster created per run: give one or the other",
            )
        )
    return checked, problems


def parse_executor(data: object) -> tuple[ExecutorSpec | None, list[Problem]]:
    """An ExecutorSpec from TOML/JSON data; problems are named ``executor.OPTION``."""
    if isinstance(data, str):
        data = {"type": data}
    if not isinstance(data, Mapping):
        text = "expected a type name such as 'dask' or a table such as { type = 'dask' }"
        return None, [Problem("executor", f"{text}, got {data!r}")]
    problems = [
        Problem(str(key), unknown_field(str(key), _EXECUTOR_FIELDS))
        for key in data
        if key not in _EXECUTOR_FIELDS
    ]
    values = {key: value for key, value in data.items() if key in _EXECUTOR_CHECKS}
    if "type" not in data:
        problems.append(Problem("type", f"missing; give one of {', '.join(EXECUTOR_TYPES)}"))
    if "n_workers" in data and data.get("type", "dask") == "dask":
        _merge_n_workers(values, data["n_workers"], problems)
    elif "n_workers" in data:
        hint = "; for 'local_dask' use num_workers" if data["type"] == "local_dask" else ""
        problems.append(Problem("n_workers", f"applies only to type 'dask'{hint}"))
    checked, more = _check_executor(values)
    problems += more
    problems = [Problem(f"executor.{p.field}", p.text) for p in problems]
    return (None if problems else ExecutorSpec(**checked)), problems


def _merge_n_workers(values: dict[str, Any], n_workers: object, problems: list[Problem]) -> None:
    """Put the ``n_workers`` shortcut into ``cluster_kwargs`` (it is a LocalCluster argument)."""
    workers = attempt(problems, "n_workers", optional_positive_count, n_workers)
    kwargs = values.get("cluster_kwargs", {})
    if workers is None or not isinstance(kwargs, Mapping):
        return
    if kwargs.get("n_workers", workers) != workers:
        problems.append(Problem("n_workers", "differs from cluster_kwargs.n_workers; give one"))
        return
    values["cluster_kwargs"] = {**kwargs, "n_workers": workers}
