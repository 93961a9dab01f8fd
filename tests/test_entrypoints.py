"""Loading a flow from ``path/to/file.py:flow`` or ``package.module:flow`` references."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tideflow import Flow
from tideflow.entrypoints import load_flow, load_module, split_ref
from tideflow.errors import FlowLoadError

TWO_FLOWS = """\
from tideflow import Flow, task

@task
def hello() -> str:
    return "hello"

with Flow("first") as first:
    hello()

with Flow("second") as second:
    hello()

answer = 42
"""

ONE_FLOW = """\
from tideflow import Flow, task

@task
def hello() -> str:
    return "hello"

with Flow("only") as pipeline:
    hello()
"""


@pytest.fixture(autouse=True)
def _forget_loaded_modules() -> Iterator[None]:
    """Forget the user files, packages and siblings a test imported, and restore sys.path.

    Every module these tests create is named ``tideflow_*`` (files load as ``tideflow_user_*``).
    """
    modules, path = set(sys.modules), list(sys.path)
    yield
    for name in set(sys.modules) - modules:
        if name.startswith("tideflow_"):
            del sys.modules[name]
    sys.path[:] = path


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


# -- splitting references -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("flows/etl.py:flow", ("flows/etl.py", "flow")),
        ("etl.py", ("etl.py", None)),
        ("package.module:pipeline", ("package.module", "pipeline")),
        ("package.module", ("package.module", None)),
        ("C:\\flows\\etl.py", ("C:\\flows\\etl.py", None)),
        ("C:\\flows\\etl.py:flow", ("C:\\flows\\etl.py", "flow")),
    ],
)
def test_split_ref_separates_the_location_from_the_flow_name(
    ref: str, expected: tuple[str, str | None]
) -> None:
    assert split_ref(ref) == expected


def test_split_ref_refuses_a_flow_name_that_is_not_a_python_name() -> None:
    with pytest.raises(
        FlowLoadError,
        match=re.escape(
            "'etl.py:my-flow': 'my-flow' is not a Python name; use path/to/file.py:flow"
        ),
    ):
        split_ref("etl.py:my-flow")


# -- files ----------------------------------------------------------------------------------


def test_a_file_reference_with_a_name_loads_that_flow(tmp_path: Path) -> None:
    path = write(tmp_path / "etl.py", TWO_FLOWS)

    flow = load_flow(f"{path}:second")

    assert isinstance(flow, Flow)
    assert flow.name == "second"
    assert [t.name for t in flow] == ["hello"]


def test_a_file_with_exactly_one_flow_needs_no_name(tmp_path: Path) -> None:
    path = write(tmp_path / "etl.py", ONE_FLOW)

    assert load_flow(str(path)).name == "only"


def test_a_relative_file_path_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "flows" / "etl.py", ONE_FLOW)
    monkeypatch.chdir(tmp_path)

    assert load_flow("flows/etl.py:pipeline").name == "only"
    assert load_flow("flows/etl.py").name == "only"


def test_a_file_with_two_flows_and_no_name_is_an_error_listing_both(tmp_path: Path) -> None:
    path = write(tmp_path / "etl.py", TWO_FLOWS)

    with pytest.raises(
        FlowLoadError,
        match=re.escape(f"{str(path)!r} holds 2 flows (first, second); name one, e.g. {path}:flow"),
    ):
        load_flow(str(path))


def test_a_file_with_no_flow_and_no_name_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.py", "x = 1\n")

    with pytest.raises(FlowLoadError, match=re.escape(f"{str(path)!r} holds 0 flows (none)")):
        load_flow(str(path))


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.py"

    with pytest.raises(FlowLoadError, match=re.escape(f"no such file: {str(path)!r}")):
        load_flow(f"{path}:flow")


def test_a_missing_flow_name_is_an_error_listing_the_flows_found(tmp_path: Path) -> None:
    path = write(tmp_path / "etl.py", TWO_FLOWS)

    with pytest.raises(
        FlowLoadError,
        match=re.escape(f"{str(path)!r} has no flow named 'third'; flows in it: first, second"),
    ):
        load_flow(f"{path}:third")


def test_a_name_that_is_not_a_flow_is_an_error_naming_its_type(tmp_path: Path) -> None:
    path = write(tmp_path / "etl.py", TWO_FLOWS)

    with pytest.raises(
        FlowLoadError, match=re.escape(f"{path}:answer is a int, not a tideflow Flow")
    ):
        load_flow(f"{path}:answer")


def test_a_file_that_raises_on_import_is_an_error_with_the_line_number(tmp_path: Path) -> None:
    path = write(
        tmp_path / "broken.py",
        """\
        from tideflow import Flow

        raise RuntimeError("no database configured")
        """,
    )

    with pytest.raises(
        FlowLoadError,
        match=re.escape(
            f"loading {str(path)!r} failed at line 3: RuntimeError: no database configured"
        ),
    ) as exc:
        load_flow(f"{path}:flow")

    assert isinstance(exc.value.__cause__, RuntimeError)


def test_the_line_number_is_that_of_the_failing_line_inside_a_function(tmp_path: Path) -> None:
    path = write(
        tmp_path / "broken.py",
        """\
        def setup():
            return 1 / 0

        setup()
        """,
    )

    with pytest.raises(
        FlowLoadError,
        match=re.escape("failed at line 2: ZeroDivisionError: division by zero"),
    ):
        load_flow(str(path))


def test_a_file_with_a_syntax_error_is_an_error_with_the_line_number(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.py", "x = 1\ny = (\n")

    with pytest.raises(
        FlowLoadError, match=re.escape(f"loading {str(path)!r} failed at line 2: SyntaxError:")
    ):
        load_flow(str(path))


def test_a_failed_load_leaves_no_half_imported_module_behind(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.py", "raise RuntimeError('x')\n")
    before = set(sys.modules)

    with pytest.raises(FlowLoadError):
        load_flow(str(path))

    assert set(sys.modules) == before
    assert str(tmp_path) not in sys.path


def test_a_file_can_import_a_sibling_module(tmp_path: Path) -> None:
    write(
        tmp_path / "tideflow_test_sibling_helpers.py",
        """\
        def flow_name() -> str:
            return "from-sibling"
        """,
    )
    path = write(
        tmp_path / "etl.py",
        """\
        from tideflow import Flow
        from tideflow_test_sibling_helpers import flow_name

        flow = Flow(flow_name())
        """,
    )

    assert load_flow(f"{path}:flow").name == "from-sibling"
    assert str(tmp_path) not in sys.path


def test_two_files_with_the_same_name_in_different_folders_load_separately(
    tmp_path: Path,
) -> None:
    a = write(tmp_path / "a" / "etl.py", "from tideflow import Flow\nflow = Flow('a')\n")
    b = write(tmp_path / "b" / "etl.py", "from tideflow import Flow\nflow = Flow('b')\n")

    assert load_flow(f"{a}:flow").name == "a"
    assert load_flow(f"{b}:flow").name == "b"


def test_load_module_imports_a_file_as_a_module(tmp_path: Path) -> None:
    path = write(tmp_path / "etl.py", TWO_FLOWS)

    module = load_module(str(path))

    assert module.answer == 42
    assert module.__file__ == str(path.resolve())


# -- modules --------------------------------------------------------------------------------


def test_a_module_reference_loads_the_flow_from_an_importable_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "tideflow_test_pkg" / "__init__.py", "")
    write(tmp_path / "tideflow_test_pkg" / "pipelines.py", TWO_FLOWS)
    monkeypatch.syspath_prepend(str(tmp_path))

    assert load_flow("tideflow_test_pkg.pipelines:first").name == "first"


def test_a_module_reference_without_a_name_needs_exactly_one_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "tideflow_test_pkg" / "__init__.py", "")
    write(tmp_path / "tideflow_test_pkg" / "single.py", ONE_FLOW)
    write(tmp_path / "tideflow_test_pkg" / "double.py", TWO_FLOWS)
    monkeypatch.syspath_prepend(str(tmp_path))

    assert load_flow("tideflow_test_pkg.single").name == "only"
    with pytest.raises(
        FlowLoadError,
        match=re.escape("'tideflow_test_pkg.double' holds 2 flows (first, second); name one"),
    ):
        load_flow("tideflow_test_pkg.double")


def test_a_module_that_cannot_be_found_is_an_error_with_the_fix() -> None:
    with pytest.raises(
        FlowLoadError,
        match=re.escape(
            "cannot import module 'tideflow_no_such_module': No module named "
            "'tideflow_no_such_module'; give a file path (path/to/file.py:flow) or a module on "
            "the Python path"
        ),
    ):
        load_flow("tideflow_no_such_module:flow")


def test_a_module_that_raises_on_import_is_a_flow_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "tideflow_test_broken_mod.py", "x = 1\nraise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(FlowLoadError, match=re.escape("RuntimeError: boom")):
        load_flow("tideflow_test_broken_mod:flow")
