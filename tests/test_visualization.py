"""flow.visualize(): Graphviz source and files, Mermaid text without Graphviz."""

from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tideflow import Flow, TideflowError, task, unmapped, visualization


@task
def numbers() -> list[int]:
    return [1, 2]


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def boom(x: list[int]) -> None:
    raise ValueError("boom")


def build() -> tuple[Flow, Any, Any]:
    with Flow("Draw me") as flow:
        nums = numbers()
        mapped = add.map(nums, unmapped(10))
        failing = boom(mapped)
    return flow, mapped, failing


def test_the_graphviz_source_draws_tasks_edges_and_mapping_without_the_dot_program() -> None:
    flow, _, _ = build()
    source = visualization.digraph(flow).source
    assert "numbers -> add [label=x style=dashed]" in source
    assert "add -> boom [label=x]" in source
    assert "add [label=add shape=box]" in source
    assert "numbers [label=numbers shape=ellipse]" in source
    assert "rankdir=TB" in source
    assert "rankdir=LR" in visualization.digraph(flow, horizontal=True).source


def test_given_a_flow_state_nodes_are_coloured_by_their_task_s_state() -> None:
    flow, _, _ = build()
    state = flow.run()
    source = visualization.digraph(flow, state).source
    assert 'boom [label="boom\\nFailed" fillcolor="#eb0000" shape=ellipse style=filled]' in source
    assert 'add [label="add\\n2 Success"' in source


def test_mermaid_text_needs_nothing_installed() -> None:
    flow, _, _ = build()
    text = flow.to_mermaid()
    assert text.splitlines()[0] == "flowchart TB"
    assert '    t0(["numbers"])' in text
    assert '    t1["add"]' in text  # a mapped task is a box
    assert "    t0 -.->|x| t1" in text
    assert "    t1 -->|x| t2" in text
    coloured = flow.to_mermaid(flow.run(), horizontal=True)
    assert coloured.startswith("flowchart LR")
    assert "style t2 fill:#eb0000" in coloured


def test_without_graphviz_visualize_falls_back_to_mermaid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = builtins.__import__

    def no_graphviz(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "graphviz":
            raise ImportError("no graphviz here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    flow, _, _ = build()
    shown = flow.visualize()
    assert shown == flow.to_mermaid()
    assert capsys.readouterr().out.startswith("flowchart TB")
    assert shown._repr_markdown_().startswith("```mermaid\nflowchart TB")
    flow.visualize(filename=tmp_path / "graph")
    assert (tmp_path / "graph.mmd").read_text().startswith("flowchart TB")
    assert flow._repr_svg_() is None


def test_visualize_renders_to_a_file_with_the_dot_program(tmp_path: Path) -> None:
    assert shutil.which("dot"), "Graphviz's dot is missing: run bash scripts/ensure-graphviz.sh"
    flow, _, _ = build()
    flow.visualize(flow.run(), filename=tmp_path / "graph", format="svg")
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg
    assert "boom" in svg
    assert "<svg" in (flow._repr_svg_() or "")


def test_visualize_without_a_filename_writes_under_the_tideflow_home(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flow, _, _ = build()
    rendered: list[tuple[str, str]] = []

    def render(self: Any, filename: str, format: str, cleanup: bool) -> str:
        rendered.append((filename, format))
        return f"{filename}.{format}"

    monkeypatch.setattr("graphviz.Digraph.render", render)
    flow.visualize()
    home = Path(os.environ["TIDEFLOW_HOME"])
    assert rendered == [(str(home / "graphs" / "draw-me"), "pdf")]
    assert "written to" in capsys.readouterr().out


def test_a_missing_dot_program_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphviz

    def render(self: Any, *args: Any, **kwargs: Any) -> str:
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr("graphviz.Digraph.render", render)
    flow, _, _ = build()
    with pytest.raises(TideflowError, match="apt-get install graphviz"):
        flow.visualize(filename="x")
