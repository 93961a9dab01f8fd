"""Entrypoints: what a deployment's run executes.

Three kinds, so that scheduled pipelines do not have to be Tideflow flows:

* ``flow``: a Tideflow flow, ``path/to/file.py:flow`` or ``package.module:flow`` (without
  ``:name``, the module's only flow);
* ``callable``: any Python callable, called without arguments (``package.module:main``,
  ``script.py:main``): Prefect 2/3 flows, a script's ``main()``;
* ``command``: a program and its arguments, run without a shell; a string is split as a shell
  would split it::

      >>> Entrypoint("command", "dbt run --select 'my model'").target
      ('dbt', 'run', '--select', 'my model')

The references are checked for their form only; whether the file, module or program exists is
found out when a run starts.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from tideflow.deployments.problems import Invalid
from tideflow.entrypoints import is_file_ref, split_ref
from tideflow.errors import DeploymentError, FlowLoadError

__all__ = ["ENTRYPOINT_KINDS", "Entrypoint", "EntrypointKind", "check_entrypoint"]

EntrypointKind = Literal["flow", "callable", "command"]
ENTRYPOINT_KINDS: tuple[str, ...] = get_args(EntrypointKind)


def _check_ref(kind: str, target: object) -> str:
    example = "'path/to/file.py:flow' or 'package.module:flow'"
    if kind == "callable":
        example = "'package.module:main' or 'path/to/script.py:main'"
    if not isinstance(target, str) or not target.strip():
        raise Invalid(f"expected a reference such as {example}, got {target!r}")
    try:
        where, attr = split_ref(target)
    except FlowLoadError as exc:
        raise Invalid(str(exc)) from None
    if kind == "callable" and attr is None:
        raise Invalid(f"{target!r} names no function; use {example}")
    if not is_file_ref(where) and not all(part.isidentifier() for part in where.split(".")):
        raise Invalid(f"{where!r} is neither a .py file nor a module name; use {example}")
    return target


def _check_command(target: object) -> tuple[str, ...]:
    if isinstance(target, str):
        try:
            target = shlex.split(target)
        except ValueError as exc:
            raise Invalid(f"cannot split {target!r} into arguments: {exc}") from None
    if not isinstance(target, list | tuple) or not target:
        raise Invalid(
            f"expected a non-empty list of arguments such as ['dbt', 'run'], got {target!r}"
        )
    if not all(isinstance(arg, str) for arg in target) or not target[0]:
        raise Invalid(f"every argument must be a string and the program non-empty, got {target!r}")
    return tuple(target)


def check_entrypoint(kind: object, target: object) -> str | tuple[str, ...]:
    """The target of an entrypoint of ``kind``, normalised (a command as an argv tuple)."""
    if kind not in ENTRYPOINT_KINDS:
        raise Invalid(f"entrypoint kind {kind!r} is not one of {', '.join(ENTRYPOINT_KINDS)}")
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
            target = check_entrypoint(self.kind, self.target)
        except Invalid as exc:
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
