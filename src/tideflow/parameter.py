"""Parameters: named inputs of a flow, given per run.

``Parameter("batch-size", default=1000)`` is a root task whose value is taken from the run's
parameters (``flow.run(parameters={"batch-size": 50})``), falling back to its default. A
parameter without a default is required; the engine checks before anything runs that every
required parameter was given and that no unknown one was. Names may hold characters that are not
valid in Python identifiers, such as ``batch-size``; such parameters are given through
``parameters={...}`` rather than as ``flow.run(batch_size=...)`` keywords.

``DateTimeParameter("as_of")`` takes a datetime, or ISO 8601 text (from the command line, a
deployment's ``parameters`` table, a clock's ``parameter_defaults``), and gives its tasks an
aware datetime: a ``pendulum.DateTime`` when pendulum is installed (as in Prefect 1, so
``as_of.add(days=-1)`` works), else a ``datetime.datetime``; text without an offset, and naive
datetimes, are UTC. Text that does not parse stops the run before any task runs, with an error
naming the parameter (:meth:`Parameter.check_value` is the hook the engine calls).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from tideflow.context import context
from tideflow.errors import TaskDefinitionError
from tideflow.signals import FAIL
from tideflow.task import Task

if TYPE_CHECKING:
    from tideflow.flow import Flow


class _NoDefault:
    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Final[Any] = _NoDefault()


class Parameter(Task):
    """A named flow input.

    Args:
        name: the parameter's name, unique within a flow (also its key).
        default: the value used when a run does not give one; without it the parameter is
            required.
        required: force a parameter with a default to be given anyway (default: required iff no
            default).
        tags: tags, as for any task.
    """

    def __init__(
        self,
        name: str,
        default: Any = NO_DEFAULT,
        required: bool | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TaskDefinitionError(f"a Parameter needs a non-empty string name, got {name!r}")
        super().__init__(name=name, slug=name, tags=tags)
        if required is None:
            required = default is NO_DEFAULT
        if default is NO_DEFAULT and not required:
            default = None  # an optional parameter without a default is None, as in Prefect 1
        self.default = default
        self.required = required

    def run(self) -> Any:
        parameters = context.get("parameters") or {}
        if self.name in parameters:
            return parameters[self.name]
        if self.default is NO_DEFAULT or self.required:
            raise FAIL(f"parameter {self.name!r} is required but was not given")
        return self.default

    def __call__(  # type: ignore[override]
        self, flow: Flow | None = None, upstream_tasks: Iterable[Any] | None = None
    ) -> Parameter:
        """Add the parameter itself (never a copy) to the active flow."""
        if upstream_tasks:
            raise TaskDefinitionError(
                f"parameter {self.name!r} cannot have upstream tasks; parameters are the "
                "flow's inputs"
            )
        target = flow if flow is not None else self._require_flow("add")
        target.add_task(self)
        return self

    def copy(self, name: str | None = None, **task_args: Any) -> Parameter:
        """A copy of the parameter, usually under a new ``name``."""
        new = super().copy(**task_args)
        assert isinstance(new, Parameter)
        if name is not None:
            new.name = name
        new.slug = new.name
        return new

    def check_value(self, value: Any) -> None:
        """Raise ``ValueError`` (saying what is wrong and what is expected) when ``value`` cannot
        be this parameter's value. Called for every run before anything runs; any value does
        for a plain ``Parameter``."""

    def describe(self) -> str:
        """``name`` plus its default, e.g. ``batch-size (default 1000)`` or ``name (required)``."""
        if self.required:
            return f"{self.name} (required)"
        return f"{self.name} (default {self.default!r})"

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"


class DateTimeParameter(Parameter):
    """A flow input that is a point in time, given as a datetime or ISO 8601 text.

    Args:
        name: the parameter's name, unique within a flow.
        default: a datetime, ISO 8601 text or ``None``; without it the parameter is required.
        required: as for :class:`Parameter`.
        tags: tags, as for any task.

    Raises:
        TaskDefinitionError: for a default that is not a datetime, ``None`` or ISO 8601 text.
    """

    def __init__(
        self,
        name: str,
        default: Any = NO_DEFAULT,
        required: bool | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        super().__init__(name, default=default, required=required, tags=tags)
        if default is not NO_DEFAULT:
            try:
                self.check_value(default)
            except ValueError as error:
                raise TaskDefinitionError(f"DateTimeParameter {name!r}: default {error}") from None

    def run(self) -> Any:
        return to_datetime(super().run())

    def check_value(self, value: Any) -> None:
        to_datetime(value)


def to_datetime(value: Any) -> datetime | None:
    """``value`` as an aware datetime (see :class:`DateTimeParameter`); ``None`` stays ``None``.

    Raises:
        ValueError: for text that is not ISO 8601 or a value that is not a datetime or text.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(
            f"{value!r} ({type(value).__name__}) is not a datetime; give a datetime or ISO 8601 "
            "text such as '2026-03-01T09:00:00+01:00'"
        )
    try:
        return _parse_datetime(value)
    except (ValueError, OverflowError) as error:
        raise ValueError(
            f"cannot read {value!r} as a datetime ({error}); give ISO 8601 text such as "
            "'2026-03-01' or '2026-03-01T09:00:00+01:00'"
        ) from None


def _parse_datetime(text: str) -> datetime:
    try:
        import pendulum
    except ImportError:
        pass
    else:
        try:
            parsed: object = pendulum.parse(text)
        except pendulum.parsing.exceptions.ParserError as error:
            raise ValueError(str(error)) from None
        if not isinstance(parsed, datetime):
            raise ValueError(f"it is a {type(parsed).__name__.lower()}, not a date and time")
        return parsed
    from dateutil.parser import isoparse

    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        found = isoparse(text)
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def parse_assignment(text: str, *, json_value: bool = True) -> tuple[str, Any]:
    """``"KEY=VALUE"`` as ``(key, value)``, the value read as JSON when it parses (so ``n=3`` is
    a number and ``name=x`` a string), or kept as text with ``json_value=False``.

    >>> parse_assignment("batch-size=500"), parse_assignment("name=x")
    (('batch-size', 500), ('name', 'x'))

    Raises:
        ValueError: ``text`` has no ``=`` or no key.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    if not json_value:
        return key, raw
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw
