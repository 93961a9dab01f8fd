"""``tideflow events [--after ID] [--run RUN] [--deployment D] [--kind K] [--follow] [--json]``.

Thin over :meth:`~tideflow.store.RunStore.events`: the store's event log, oldest first. Without
``--after`` it prints the last ``--limit`` events; ``--follow`` then keeps printing new ones (ids
only ever increase, and an event is visible only once every earlier one is, so nothing is
skipped) every :data:`FOLLOW_POLL_SECONDS` until Ctrl-C (status 130). ``--json`` prints one JSON
object per event (JSON lines), with the field names the JSON API uses.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.text import Text

from tideflow.cli.history import history_store, iso, print_json, task_label
from tideflow.cli.output import console, fail, styled_state
from tideflow.store import Event, RunStore
from tideflow.store.records import EVENT_KINDS

__all__ = ["FOLLOW_POLL_SECONDS", "event_json", "events_command"]

FOLLOW_POLL_SECONDS = 0.5
SHOWN_CHANGES = 3
"""How many task state changes of a batch the table spells out."""


def events_command(
    after: Annotated[
        int | None, typer.Option("--after", help="Only events with an id above this one.")
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only this run's events (any unique id prefix).")
    ] = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="Only this deployment's events.")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", "-k", help=f"Only these kinds: {', '.join(EVENT_KINDS)}."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Without --after: the last N events.")
    ] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events until Ctrl-C.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per event (JSON lines).")
    ] = False,
) -> None:
    """Print the event log: every run and task state change, deployment change and action."""
    kinds = None
    if kind:
        unknown = sorted(set(kind) - set(EVENT_KINDS))
        if unknown:
            fail(f"--kind: unknown kind {unknown[0]!r}; kinds: {', '.join(EVENT_KINDS)}")
        kinds = kind
    with history_store() as store:
        run_id = None if run is None else store.get_flow_run(run).id
        filters: dict[str, Any] = {"kinds": kinds, "flow_run_id": run_id, "deployment": deployment}
        if after is None:
            start = max(0, store.last_event_id() - limit * _spread(filters))
            found = store.events(after_id=start, **filters)[-limit:]
        else:
            found = store.events(after_id=after, **filters)
        _print(found, as_json=as_json)
        if not follow:
            if not found and not as_json:
                console.print("No events.", markup=False, highlight=False)
            return
        last = found[-1].id if found else (after if after is not None else store.last_event_id())
        try:
            _follow(store, last or 0, filters, as_json=as_json)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def _spread(filters: dict[str, Any]) -> int:
    """How far back to look for the last events: all of them match without filters; with
    filters, look further (and keep the last ``limit`` that match)."""
    return 1 if not any(filters.values()) else 1_000


def _follow(store: RunStore, last: int, filters: dict[str, Any], *, as_json: bool) -> None:
    while True:
        found = store.events(after_id=last, **filters)
        _print(found, as_json=as_json)
        if found and found[-1].id is not None:
            last = found[-1].id
        time.sleep(FOLLOW_POLL_SECONDS)


def event_json(event: Event) -> dict[str, Any]:
    """An event as JSON-ready data (the JSON API's field names)."""
    return {
        "id": event.id,
        "at": iso(event.at),
        "kind": event.kind,
        "name": event.name,
        "flow_run_id": event.flow_run_id,
        "deployment": event.deployment,
        "message": event.message,
        "data": event.data,
    }


def _print(events: list[Event], *, as_json: bool) -> None:
    for event in events:
        if as_json:
            print_json(event_json(event), indent=None)
        else:
            console.print(_text(event), soft_wrap=True, highlight=False)


def _text(event: Event) -> Text:
    """``41  2026-03-01 12:00:01  flow_run  Success  etl  3f2a9c1e  All tasks succeeded``."""
    text = Text.assemble(
        (f"{event.id:>6}", "dim"), "  ", (f"{event.at:%Y-%m-%d %H:%M:%S}", "dim"), "  "
    )
    text.append(f"{event.kind:<10}", style="cyan")
    text.append(" ")
    if event.kind in ("flow_run",):
        text.append_text(Text.from_markup(styled_state(event.name)))
    else:
        text.append(event.name)
    for part in (event.deployment, (event.flow_run_id or "")[:8]):
        if part:
            text.append(f"  {part}")
    detail = event.message or _changes(event)
    if detail:
        text.append(f"  {detail}", style="dim")
    return text


def _changes(event: Event) -> str:
    changes = event.data.get("changes") if event.kind == "task_runs" else None
    if not changes:
        return ""
    shown = ", ".join(
        f"{task_label(key, index)} {state}" for key, _, index, state, *_ in changes[:SHOWN_CHANGES]
    )
    more = f" (+{len(changes) - SHOWN_CHANGES} more)" if len(changes) > SHOWN_CHANGES else ""
    return shown + more
