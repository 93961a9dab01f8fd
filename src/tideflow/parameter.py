"""Parameters: named inputs of a flow, given per run.

``Parameter("batch-size", default=1000)`` is a root task whose value is taken from the run's
parameters (``flow.run(parameters={"batch-size": 50})``), falling back to its default. A
parameter without a default is required; the engine checks before anything runs that every
required parameter was given and that no unknown one was. Names may hold characters that are not
valid in Python identifiers, such as ``batch-size``; such parameters are given through
``parameters={...}`` rather than as ``flow.run(batch_size=...)`` keywords.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
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

    def describe(self) -> str:
        """``name`` plus its default, e.g. ``batch-size (default 1000)`` or ``name (required)``."""
        if self.required:
            return f"{self.name} (required)"
        return f"{self.name} (default {self.default!r})"

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"


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
