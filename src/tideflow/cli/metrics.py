"""``tideflow metrics FLOW [--name N] [--limit N] [--json]``: the metrics a flow's runs recorded.

Thin over :meth:`~tideflow.store.RunStore.metrics`: one row per metric name with how many values
were recorded, the last one, the smallest and largest, and a :func:`sparkline` of the latest
:data:`SPARKLINE_POINTS` values, oldest to newest (runs ordered by their scheduled time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.table import Table

from tideflow.cli.history import history_store, iso, plain, print_json
from tideflow.cli.output import console
from tideflow.store import MetricPoint

__all__ = ["BLOCKS", "SPARKLINE_POINTS", "metrics_command", "sparkline"]

BLOCKS = "▁▂▃▄▅▆▇█"
"""The eight bar heights of a sparkline, lowest first."""

SPARKLINE_POINTS = 40
"""How many of the latest values a sparkline shows at most."""


def sparkline(values: Iterable[float], width: int = SPARKLINE_POINTS) -> str:
    """The last ``width`` of ``values`` as bars: the range from their minimum to their maximum
    is cut into eight equal bands, one per bar height. A constant series is all middle bars.

    >>> sparkline([1, 2, 3, 4, 5, 6, 7, 8])
    '▁▂▃▄▅▆▇█'
    >>> sparkline([0.5, 0.0, 1.0])
    '▅▁█'
    >>> sparkline([3, 3, 3])
    '▄▄▄'
    >>> sparkline([])
    ''
    >>> len(sparkline(range(100)))
    40
    """
    shown = list(values)[-width:] if width > 0 else []
    if not shown:
        return ""
    low, high = min(shown), max(shown)
    if high == low:
        return BLOCKS[(len(BLOCKS) - 1) // 2] * len(shown)
    top = len(BLOCKS) - 1
    scale = len(BLOCKS) / (high - low)
    return "".join(BLOCKS[min(top, int((value - low) * scale))] for value in shown)


def metrics_command(
    flow: Annotated[str, typer.Argument(help="The flow's name.")],
    name: Annotated[str | None, typer.Option("--name", help="Only this metric.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=1,
            help="Only the latest N values (of all metrics together unless --name is given).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the metrics and their values as JSON.")
    ] = False,
) -> None:
    """Summarise the metrics recorded by a flow's runs: count, last, min, max and a sparkline."""
    with history_store() as store:
        points = store.metrics(flow, name, limit)
    series = _by_name(points)
    if as_json:
        print_json({"flow": flow, "metrics": [_json(key, ps) for key, ps in series.items()]})
    elif series:
        console.print(_table(flow, series))
    else:
        which = f"No metric {name!r}" if name else "No metrics"
        console.print(
            f"{which} recorded for flow {flow!r}. Record one with "
            "`tideflow.log_metric(name, value)` inside a task.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _by_name(points: list[MetricPoint]) -> dict[str, list[MetricPoint]]:
    """The points of each metric, names sorted, each list oldest first."""
    series: dict[str, list[MetricPoint]] = {}
    for point in points:
        series.setdefault(point.name, []).append(point)
    return dict(sorted(series.items()))


def _number(value: float) -> str:
    return f"{value:.6g}"


def _table(flow: str, series: dict[str, list[MetricPoint]]) -> Table:
    table = Table(title=f"Metrics of flow {plain(flow)!r}", title_justify="left")
    table.add_column("Metric")
    table.add_column("Count", justify="right")
    table.add_column("Last", justify="right")
    table.add_column("Min", justify="right")
    table.add_column("Max", justify="right")
    table.add_column(f"Trend (last {SPARKLINE_POINTS})", no_wrap=True)
    for key, points in series.items():
        values = [point.number for point in points]
        table.add_row(
            plain(key),
            str(len(values)),
            _number(values[-1]),
            _number(min(values)),
            _number(max(values)),
            sparkline(values),
        )
    return table


def _json(key: str, points: list[MetricPoint]) -> dict[str, Any]:
    values = [point.number for point in points]
    return {
        "name": key,
        "count": len(values),
        "last": values[-1],
        "min": min(values),
        "max": max(values),
        "points": [
            {
                "flow_run_id": point.flow_run_id,
                "value": point.number,
                "timestamp": iso(point.timestamp),
                "scheduled_start_time": iso(point.scheduled_start_time),
            }
            for point in points
        ],
    }
