"""``tideflow run FLOW_REF [--param key=value ...]``: run a flow once and show its tasks."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tideflow.cli.output import console, fail, styled_state, task_table
from tideflow.errors import FlowLoadError, ParameterError
from tideflow.parameter import parse_assignment


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["a=1", "name=x"]`` → ``{"a": 1, "name": "x"}`` (values are JSON when they parse)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        try:
            key, value = parse_assignment(pair)
        except ValueError:
            fail(f"bad --param {pair!r}: expected KEY=VALUE, e.g. --param batch-size=500")
        params[key] = value
    return params


def run_command(
    flow_ref: Annotated[str, typer.Argument(help="The flow: path/to/file.py:flow or module:flow")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as KEY=VALUE (JSON values parse)."),
    ] = None,
) -> None:
    """Run a flow once, now, and print a table of its tasks' states and durations."""
    from tideflow.engine.report import task_rows
    from tideflow.entrypoints import load_flow

    try:
        flow = load_flow(flow_ref)
        state = flow.run(parameters=parse_params(param or []), run_on_schedule=False)
    except (FlowLoadError, ParameterError) as exc:
        fail(str(exc))
    console.print(task_table(task_rows(state), title=f"Flow {flow.name!r}"))
    run_id = state.context.get("flow_run_id", "?")
    console.print(
        f"Flow run {run_id}: {styled_state(state.name)} - {state.message}", soft_wrap=True
    )
    if not state.is_successful():
        raise typer.Exit(1)
