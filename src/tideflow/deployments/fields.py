"""The fields of a deployment: one table that the spec, the readers and the writers derive from.

:data:`FIELDS` lists every field of a :class:`~tideflow.deployments.Deployment` but its name
(the deployment's key: the name of its ``[deployments.NAME]`` table, checked by
:func:`~tideflow.deployments.checks.check_name`), in the order of the ``tideflow.toml`` reference.
A :class:`Field` says, for one field:

* its ``default`` (or ``factory`` for a fresh one; neither: the field is required);
* its ``check`` (:mod:`tideflow.deployments.checks`): the one place a value is validated, for
  a deployment built in code, read from ``tideflow.toml``, from ``tideflow deploy`` options or
  from the store;
* how it appears in ``tideflow.toml``: ``toml_keys=None`` for a key of the field's name that
  holds the value as is; else the keys a reader in :mod:`tideflow.deployments.toml` builds the
  value from (``flow``/``callable``/``command`` make the entrypoint);
* how ``to_dict`` writes it (``encode``, given a value that is not ``None``; ``omit_none``
  leaves a ``None`` out, ``omit_empty`` an empty value, so specs stored before the field existed
  look unchanged) and how
  ``from_dict`` reads it back (``decode``; without one, the stored value goes to the check);
* a one-line ``doc``.

Rules that span fields (:data:`RULES`) run after the checks: ``max_active`` means nothing with
``overlap = "allow"``. Adding a field is one :class:`Field` here, a typed attribute on the
``Deployment``, a line of the reference in the package docstring and a keyword of
:func:`~tideflow.deployments.deployment_from_options`; the tests check that they agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, get_args

from tideflow.deployments.checks import (
    check_schedule,
    choice,
    count,
    duration,
    env,
    flag,
    instance,
    json_object,
    optional_positive_count,
    optional_positive_duration,
    optional_text,
    secret_env,
)
from tideflow.deployments.entrypoint import ENTRYPOINT_KINDS, Entrypoint
from tideflow.deployments.executor import ExecutorSpec
from tideflow.deployments.problems import Invalid, Problem, attempt
from tideflow.errors import DeploymentError, ScheduleError
from tideflow.schedules import Schedule
from tideflow.schedules.codec import seconds_number

__all__ = [
    "ATTRIBUTES",
    "CATCHUP_POLICIES",
    "DEFAULT_MISFIRE_GRACE",
    "FIELDS",
    "FIELD_BY_NAME",
    "KINDS",
    "OVERLAP_POLICIES",
    "REQUIRED",
    "RULES",
    "SCHEDULE_KEYS",
    "TOML_KEYS",
    "Catchup",
    "Field",
    "Kind",
    "Overlap",
    "check_fields",
    "decode_fields",
    "encode_fields",
]

Kind = Literal["scheduled", "persistent"]
Overlap = Literal["skip", "queue", "allow"]
Catchup = Literal["none", "latest", "all"]

KINDS: tuple[str, ...] = get_args(Kind)
OVERLAP_POLICIES: tuple[str, ...] = get_args(Overlap)
CATCHUP_POLICIES: tuple[str, ...] = get_args(Catchup)

DEFAULT_MISFIRE_GRACE = timedelta(seconds=60)
"""A fire time first seen later than this after it is *missed* (see ``catchup``)."""

SCHEDULE_KEYS = ("cron", "interval", "rrule", "timezone", "start")
"""The ``tideflow.toml`` keys that make a deployment's schedule."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The ``default`` of a field that has none."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Field:
    """One field of a deployment; see the module docstring."""

    name: str
    doc: str
    check: Callable[[Any], Any]
    default: Any = REQUIRED
    factory: Callable[[], Any] | None = None
    toml_keys: tuple[str, ...] | None = None
    encode: Callable[[Any], Any] | None = None
    decode: Callable[[Any], Any] | None = None
    omit_none: bool = False
    omit_empty: bool = False

    @property
    def required(self) -> bool:
        """Whether a deployment must be given this field."""
        return self.default is REQUIRED and self.factory is None

    @property
    def keys(self) -> tuple[str, ...]:
        """The ``tideflow.toml`` keys read into this field."""
        return (self.name,) if self.toml_keys is None else self.toml_keys

    def fresh_default(self) -> Any:
        """The default value (a new one for a mutable default)."""
        return self.factory() if self.factory is not None else self.default


def _entrypoint(value: object) -> Entrypoint:
    if not isinstance(value, Entrypoint):
        raise Invalid(
            f"expected an Entrypoint, e.g. Entrypoint('flow', 'path/to/file.py:flow'), "
            f"got {value!r}"
        )
    return value


def _to_dict(value: Any) -> Any:
    return value.to_dict()


FIELDS: tuple[Field, ...] = (
    Field(
        name="entrypoint",
        doc="What a run executes: a Tideflow flow, a Python callable or a command.",
        check=_entrypoint,
        toml_keys=ENTRYPOINT_KINDS,
        encode=_to_dict,
        decode=Entrypoint.from_dict,
    ),
    Field(
        name="kind",
        doc="scheduled: a fresh process per fire time; persistent: one long-lived process.",
        check=choice(KINDS),
        default="scheduled",
    ),
    Field(
        name="schedule",
        doc="When runs are due; None: only when triggered or backfilled.",
        check=check_schedule,
        default=None,
        toml_keys=SCHEDULE_KEYS,
        encode=_to_dict,
        decode=Schedule.from_dict,
    ),
    Field(
        name="parameters",
        doc="The run's parameters, as JSON values.",
        check=json_object,
        factory=dict,
        encode=json_object,
    ),
    Field(
        name="executor",
        doc="Which executor runs the flow's tasks; None: the flow's own.",
        check=instance(ExecutorSpec, "ExecutorSpec(type='dask')"),
        default=None,
        toml_keys=("executor",),
        encode=_to_dict,
        decode=ExecutorSpec.from_dict,
    ),
    Field(
        name="timeout",
        doc="How long a run may take; None: no limit.",
        check=optional_positive_duration,
        default=None,
        encode=seconds_number,
    ),
    Field(name="retries", doc="How often a failed run is retried.", check=count, default=0),
    Field(
        name="retry_delay",
        doc="How long to wait before a retry.",
        check=duration,
        default=timedelta(0),
        encode=seconds_number,
    ),
    Field(
        name="overlap",
        doc="A due run while another runs: skip it, queue it, or allow both.",
        check=choice(OVERLAP_POLICIES),
        default="skip",
    ),
    Field(
        name="max_active",
        doc='How many runs may be active at once; None: 1, or no limit with overlap "allow".',
        check=optional_positive_count,
        default=None,
        omit_none=True,
    ),
    Field(
        name="catchup",
        doc="Which fire times missed while the service was down are run.",
        check=choice(CATCHUP_POLICIES),
        default="latest",
    ),
    Field(
        name="misfire_grace",
        doc="A fire time first seen later than this after it is missed.",
        check=duration,
        default=DEFAULT_MISFIRE_GRACE,
        encode=seconds_number,
    ),
    Field(
        name="env",
        doc="Environment variables of the run's process.",
        check=env,
        factory=dict,
        encode=dict,
    ),
    Field(
        name="secret_env",
        doc="Environment variables whose values are secrets: variable name to secret name.",
        check=secret_env,
        factory=dict,
        encode=dict,
        omit_empty=True,
    ),
    Field(
        name="working_dir",
        doc="The run's working directory; None: the launcher's choice.",
        check=optional_text,
        default=None,
    ),
    Field(
        name="python",
        doc="The Python interpreter of the run (e.g. a virtualenv's); None: the service's.",
        check=optional_text,
        default=None,
    ),
    Field(
        name="paused",
        doc="A paused deployment creates and launches no runs.",
        check=flag,
        default=False,
    ),
)

FIELD_BY_NAME: Mapping[str, Field] = {spec.name: spec for spec in FIELDS}

TOML_KEYS: tuple[str, ...] = tuple(key for spec in FIELDS for key in spec.keys)
"""Every key a ``[deployments.NAME]`` table may have, in the order of the reference."""


def _attribute(spec: Field) -> Any:
    """The ``dataclasses.field`` of ``spec``: its default (or factory), its doc as metadata."""
    metadata = {"doc": spec.doc}
    if spec.factory is not None:
        return dataclasses.field(default_factory=spec.factory, metadata=metadata)
    return dataclasses.field(default=spec.default, metadata=metadata)


ATTRIBUTES: Mapping[str, Any] = {
    spec.name: _attribute(spec) for spec in FIELDS if not spec.required
}
"""For each field with a default, the ``dataclasses.field(...)`` that ``Deployment`` assigns to
its attribute, so the dataclass takes its defaults from the table."""


def _max_active_with_overlap(values: Mapping[str, Any]) -> Problem | None:
    if values.get("overlap") == "allow" and values.get("max_active") is not None:
        return Problem(
            "max_active",
            'overlap "allow" means no limit; use overlap = "queue" with max_active = N to run '
            "up to N at once",
        )
    return None


def _secret_env_apart_from_env(values: Mapping[str, Any]) -> Problem | None:
    both = sorted(set(values.get("env") or {}) & set(values.get("secret_env") or {}))
    if both:
        return Problem(
            "secret_env",
            f"{', '.join(both)} is in both env and secret_env; keep a secret in secret_env only",
        )
    return None


RULES: tuple[Callable[[Mapping[str, Any]], Problem | None], ...] = (
    _max_active_with_overlap,
    _secret_env_apart_from_env,
)
"""Checks of the fields together, run on the checked values (defaults for those not given)."""


def check_fields(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Check the given fields (in table order), then the rules: the normalised values of the
    given fields and every problem."""
    checked: dict[str, Any] = {}
    problems: list[Problem] = []
    for spec in FIELDS:
        if spec.name in values:
            checked[spec.name] = attempt(problems, spec.name, spec.check, values[spec.name])
    whole = {spec.name: spec.fresh_default() for spec in FIELDS if not spec.required} | checked
    problems += [problem for rule in RULES if (problem := rule(whole)) is not None]
    return checked, problems


def encode_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-compatible data of checked field values, as ``Deployment.to_dict`` writes it."""
    data: dict[str, Any] = {}
    for spec in FIELDS:
        value = values[spec.name]
        if (value is None and spec.omit_none) or (spec.omit_empty and not value):
            continue
        data[spec.name] = value if value is None or spec.encode is None else spec.encode(value)
    return data


def decode_fields(name: object, data: Mapping[str, Any]) -> dict[str, Any]:
    """The field values in stored ``data`` (unchecked but decoded), for ``Deployment(...)``.

    Raises:
        DeploymentError: for a value that cannot be decoded, naming the deployment and field.
    """
    values: dict[str, Any] = {}
    for spec in FIELDS:
        if spec.decode is None:
            if spec.name in data:
                values[spec.name] = data[spec.name]
            continue
        value = data.get(spec.name)
        if value is None and not spec.required:
            values[spec.name] = spec.fresh_default()
            continue
        try:
            values[spec.name] = spec.decode(value if value is not None else {})
        except (DeploymentError, ScheduleError) as exc:
            raise DeploymentError(f"deployment {name!r}, field {spec.name!r}: {exc}") from None
    return values
