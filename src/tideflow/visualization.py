"""Drawing a flow: Graphviz (``flow.visualize()``) or Mermaid text (``flow.to_mermaid()``).

The drawing follows Prefect 1's: one node per task, labelled with its name; an edge per
dependency, labelled with the argument it feeds; a mapped task is a box and a mapped edge is
dashed. Given a flow run's final state, each node is filled with the colour of the task's state
(``State.color``) and a mapped task says how its children ended.

Graphviz is optional (``pip install 'tideflow[viz]'``, plus Graphviz's ``dot`` program to render
files). The source of a drawing (:func:`digraph`, :func:`mermaid`) needs neither; without the
Python package, :func:`visualize` falls back to the Mermaid text, which notebooks (JupyterLab 4,
VS Code) and GitHub render as a diagram.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tideflow.errors import TideflowError
from tideflow.states import Mapped, State

if TYPE_CHECKING:
    from tideflow.flow import Flow
    from tideflow.task import Task


class MermaidDiagram(str):
    """Mermaid text that notebooks show as a diagram (and a terminal as text)."""

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self}\n```"


def _mapped_tasks(flow: Flow) -> set[str]:
    return {e.downstream for e in flow.graph.edges if e.mapped}


def _states(flow_state: State | None) -> dict[Task, State]:
    result = flow_state.result if flow_state is not None else None
    return result if isinstance(result, dict) else {}


def _label(task: Task, state: State | None) -> str:
    if state is None:
        return task.name
    if isinstance(state, Mapped) and state.map_states:
        counts = Counter(s.name for s in state.map_states)
        return f"{task.name}\n{', '.join(f'{n} {name}' for name, n in sorted(counts.items()))}"
    return f"{task.name}\n{state.name}"


def digraph(flow: Flow, flow_state: State | None = None, horizontal: bool = False) -> Any:
    """The flow as a ``graphviz.Digraph`` (needs the ``graphviz`` package, not ``dot``)."""
    graphviz = _graphviz()
    graph = graphviz.Digraph(name=flow.name, comment=f"flow {flow.name}")
    graph.attr(rankdir="LR" if horizontal else "TB")
    mapped = _mapped_tasks(flow)
    states = _states(flow_state)
    for key in flow.graph.toposort():
        task = flow.task(key)
        state = states.get(task)
        attrs = {"shape": "box" if key in mapped else "ellipse"}
        if state is not None:
            attrs.update(style="filled", fillcolor=state.color)
        graph.node(key, _label(task, state).replace("\n", "\\n"), **attrs)
    for e in flow.graph.edges:
        edge_attrs = {"style": "dashed"} if e.mapped else {}
        graph.edge(e.upstream, e.downstream, label=e.key or "", **edge_attrs)
    return graph


def mermaid(flow: Flow, flow_state: State | None = None, horizontal: bool = False) -> str:
    """The flow as Mermaid ``flowchart`` text (needs nothing installed)."""
    ids = {key: f"t{i}" for i, key in enumerate(flow.graph.toposort())}
    mapped = _mapped_tasks(flow)
    states = _states(flow_state)
    lines = [f"flowchart {'LR' if horizontal else 'TB'}"]
    for key, node in ids.items():
        task = flow.task(key)
        state = states.get(task)
        text = _label(task, state).replace('"', "#quot;").replace("\n", "<br/>")
        left, right = ("[", "]") if key in mapped else ("([", "])")
        lines.append(f'    {node}{left}"{text}"{right}')
        if state is not None:
            lines.append(f"    style {node} fill:{state.color}")
    for e in flow.graph.edges:
        arrow = "-.->" if e.mapped else "-->"
        label = f"|{e.key}|" if e.key else ""
        lines.append(f"    {ids[e.upstream]} {arrow}{label} {ids[e.downstream]}")
    return "\n".join(lines)


def visualize(
    flow: Flow,
    flow_state: State | None = None,
    filename: str | os.PathLike[str] | None = None,
    format: str | None = None,
    horizontal: bool = False,
) -> Any:
    """Draw ``flow``; see :meth:`tideflow.Flow.visualize`."""
    try:
        graph = digraph(flow, flow_state, horizontal)
    except _NoGraphviz:
        text = MermaidDiagram(mermaid(flow, flow_state, horizontal))
        if filename is not None:
            path = Path(filename)
            path = path if path.suffix else path.with_suffix(".mmd")
            path.write_text(text + "\n")
        elif not _in_notebook():
            print(text)
        return text
    if filename is None and _in_notebook():
        return graph  # the notebook shows it inline
    if filename is None:
        folder = Path(os.environ.get("TIDEFLOW_HOME") or "~/.tideflow").expanduser() / "graphs"
        folder.mkdir(parents=True, exist_ok=True)
        filename = folder / flow.slug
    try:
        written = graph.render(os.fspath(filename), format=format or "pdf", cleanup=True)
    except _executable_not_found() as exc:
        raise TideflowError(
            f"flow {flow.name!r}: drawing to a file needs Graphviz's dot program ({exc}); "
            "install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
        ) from None
    print(f"Flow graph of {flow.name!r} written to {written}")
    return graph


def svg(flow: Flow) -> str | None:
    """The drawing as SVG for a notebook, or ``None`` when Graphviz is not there."""
    try:
        source: str = digraph(flow).pipe(format="svg", encoding="utf-8")
    except _NoGraphviz:
        return None
    except _executable_not_found():
        return None
    return source


class _NoGraphviz(Exception):
    pass


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise _NoGraphviz from None
    return graphviz


def _executable_not_found() -> type[Exception]:
    import graphviz

    return graphviz.ExecutableNotFound  # type: ignore[no-any-return]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
