"""The deployment: a frozen value, checked when it is built, that round-trips through JSON.

:class:`Deployment` declares its fields as typed attributes (for readers and for mypy); their
defaults, checks and JSON form all come from the one table in :mod:`tideflow.deployments.fields`
(a test checks that the two agree). Every problem is reported at once, one line per field::

    >>> Deployment(name="etl", entrypoint=Entrypoint("flow", "etl.py:flow"), retries=-1)
    Traceback (most recent call last):
    ...
    tideflow.errors.DeploymentError: deployment 'etl', field 'retries': expected a whole number, ...

``to_dict()`` writes JSON-compatible data with a ``"version"`` (the store keeps that);
:meth:`Deployment.from_dict` reads it back, ignoring keys it does not know (from a newer
Tideflow of the same version) and giving missing fields their defaults (from an older one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tideflow.deployments.checks import check_name
from tideflow.deployments.entrypoint import Entrypoint
from tideflow.deployments.executor import ExecutorSpec
from tideflow.deployments.fields import (
    ATTRIBUTES,
    FIELDS,
    Catchup,
    Kind,
    Overlap,
    check_fields,
    decode_fields,
    encode_fields,
)
from tideflow.deployments.problems import Problem, attempt, line, raise_problems
from tideflow.errors import DeploymentError
from tideflow.schedules import Schedule

__all__ = ["FORMAT_VERSION", "Deployment"]

FORMAT_VERSION = 1
"""The ``"version"`` of ``Deployment.to_dict``; :meth:`Deployment.from_dict` refuses newer ones."""


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """One deployment: see the package docstring for the meaning of each field.

    Raises:
        DeploymentError: listing every invalid field, one per line.
    """

    name: str
    entrypoint: Entrypoint
    kind: Kind = ATTRIBUTES["kind"]
    schedule: Schedule | None = ATTRIBUTES["schedule"]
    parameters: dict[str, Any] = ATTRIBUTES["parameters"]
    executor: ExecutorSpec | None = ATTRIBUTES["executor"]
    timeout: timedelta | None = ATTRIBUTES["timeout"]
    retries: int = ATTRIBUTES["retries"]
    retry_delay: timedelta = ATTRIBUTES["retry_delay"]
    overlap: Overlap = ATTRIBUTES["overlap"]
    max_active: int | None = ATTRIBUTES["max_active"]
    catchup: Catchup = ATTRIBUTES["catchup"]
    misfire_grace: timedelta = ATTRIBUTES["misfire_grace"]
    env: dict[str, str] = ATTRIBUTES["env"]
    secret_env: dict[str, str] = ATTRIBUTES["secret_env"]
    working_dir: str | None = ATTRIBUTES["working_dir"]
    python: str | None = ATTRIBUTES["python"]
    paused: bool = ATTRIBUTES["paused"]

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        attempt(problems, None, check_name, self.name)
        values, more = check_fields({spec.name: getattr(self, spec.name) for spec in FIELDS})
        raise_problems([line("", str(self.name), p) for p in problems + more])
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def capacity(self) -> int | None:
        """How many runs may be active (claimed or running) at once; ``None``: no limit.

        ``max_active`` when given, else 1 for ``overlap`` ``"skip"`` and ``"queue"`` and no
        limit for ``"allow"``.
        """
        if self.max_active is not None:
            return self.max_active
        return None if self.overlap == "allow" else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data with ``"version": 1``; :meth:`from_dict` reverses it."""
        values = {spec.name: getattr(self, spec.name) for spec in FIELDS}
        return {"version": FORMAT_VERSION, "name": self.name, **encode_fields(values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deployment:
        """The deployment written by :meth:`to_dict`; unknown keys are ignored (newer writers),
        missing optional fields take their defaults (older writers).

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
        return cls(name=name, **decode_fields(name, data))  # type: ignore[arg-type]
