"""Checking and completing a run's parameters against the flow's declared parameters."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from tideflow.errors import ParameterError, TideflowError
from tideflow.flow import Flow
from tideflow.parameter import Parameter

# Keyword arguments of Prefect 1's flow.run() that Tideflow does not take, and what to do instead.
PREFECT1_RUN_OPTIONS = {
    "runner_cls": "Tideflow has one flow runner; drop runner_cls (state_handlers= on the flow "
    "and its tasks, and observers=, do what custom runners were written for)",
    "task_contexts": "pass values for the whole run with context={...}, or set them inside the "
    "task with `with tideflow.context(...)`",
    "task_runner_state_handlers": "give the tasks state_handlers=[...] instead",
}


def resolve_parameters(flow: Flow, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value for a run: ``given`` plus defaults.

    Raises:
        ParameterError: naming every unknown parameter (with a close match when there is one),
            every required parameter that was not given and every value its parameter refuses
            (``Parameter.check_value``), before anything runs.
    """
    declared = {p.name: p for p in flow.parameters()}
    for name in given.keys() & PREFECT1_RUN_OPTIONS.keys() - declared.keys():
        raise TideflowError(
            f"flow.run({name}=...) is a Prefect 1 run option that Tideflow does not take: "
            f"{PREFECT1_RUN_OPTIONS[name]}"
        )
    unknown = sorted(set(given) - set(declared))
    missing = sorted(n for n, p in declared.items() if p.required and n not in given)
    checked = (_invalid(p, given[n]) for n, p in sorted(declared.items()) if n in given)
    invalid = [problem for problem in checked if problem is not None]
    if unknown or missing or invalid:
        problems = [_unknown(n, declared) for n in unknown]
        problems += [f"missing required parameter {n!r}" for n in missing]
        problems += invalid
        accepted = ", ".join(p.describe() for _, p in sorted(declared.items())) or "none"
        raise ParameterError(
            f"flow {flow.name!r}: {'; '.join(problems)}. The flow's parameters are: {accepted}."
        )
    return {n: given.get(n, p.default) for n, p in declared.items()}


def _invalid(parameter: Parameter, value: Any) -> str | None:
    try:
        parameter.check_value(value)
    except ValueError as error:
        return f"parameter {parameter.name!r}: {error}"
    return None


def _unknown(name: str, declared: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown parameter {name!r}{hint}"
