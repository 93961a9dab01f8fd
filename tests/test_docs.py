"""The examples in ``docs/`` run as written.

Every ```python block of every page under ``docs/`` runs in a fresh namespace, in a temporary
directory. When the block ends with ``print(...)`` followed by ``# `` comment lines, those lines
are the output it must print (compared with runs of whitespace made one space).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for number, match in enumerate(BLOCK.finditer(page.read_text()), start=1):
            found.append((f"{page.name}#{number}", match.group(1)))
    return found


def expected_output(code: str) -> str | None:
    """The ``# `` lines after the last ``print(``, if the block ends with them."""
    lines = code.rstrip().splitlines()
    trailing: list[str] = []
    while lines and lines[-1].startswith("# "):
        trailing.insert(0, lines.pop()[2:])
    if not trailing or not lines or not lines[-1].startswith("print("):
        return None
    return " ".join(" ".join(trailing).split())


def test_the_docs_have_examples() -> None:
    assert blocks(), f"no python examples found in {DOCS}"


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[where for where, _ in blocks()])
def test_an_example_runs_as_written(
    where: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    expected = expected_output(code)
    if expected is not None:
        assert " ".join(out.getvalue().split()) == expected
