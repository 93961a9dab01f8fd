"""Results and serializers: where a task's value is written, and read back from."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tideflow.engine.results import LocalResult, PrefectResult, Result, ResultError
from tideflow.engine.serializers import JSONSerializer, PickleSerializer


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's TIDEFLOW_HOME."""
    return _isolated_home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_local_result_writes_at_its_formatted_location_and_reads_the_value_back(
    tmp_path: Path,
) -> None:
    result = LocalResult(dir=tmp_path / "out", location="{flow_name}/{task_name}-{today}.pkl")
    written = result.write({"rows": [1, 2]}, flow_name="etl", task_name="load", today="2026-03-01")
    assert written.location == str(tmp_path / "out" / "etl" / "load-2026-03-01.pkl")
    assert written.value == {"rows": [1, 2]}
    assert result.location == "{flow_name}/{task_name}-{today}.pkl"  # the template is kept
    assert result.exists("etl/load-2026-03-01.pkl")
    assert result.exists("{f}/load-{d}.pkl", f="etl", d="2026-03-01")
    assert not result.exists("etl/other.pkl")
    assert result.read(written.location).value == {"rows": [1, 2]}


def test_local_results_are_private_files_in_private_folders(tmp_path: Path) -> None:
    result = LocalResult(dir=tmp_path / "r", location="deep/er/v.pkl")
    path = Path(result.write(3).location)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(tmp_path / "r") == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["v.pkl"]  # no temporary file left


def test_a_local_result_pickles_functions_by_value(tmp_path: Path) -> None:
    result = LocalResult(dir=tmp_path, location="fn.pkl")
    result.write(lambda x: x * 3)
    assert result.read("fn.pkl").value(2) == 6


def test_the_default_directory_is_under_tideflow_home(home: Path) -> None:
    result = LocalResult(location="a.pkl")
    result.write(1)
    assert (home / "results" / "a.pkl").is_file()


def test_a_location_naming_an_unknown_value_says_which_and_what_is_known(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match=r"names \{day\}.*known names: task_name"):
        LocalResult(dir=tmp_path, location="{task_name}-{day}").write(1, task_name="t")


def test_a_result_file_that_cannot_be_read_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ResultError, match=r"bad\.pkl cannot be read.*delete it"):
        LocalResult(dir=tmp_path).read("bad.pkl")
    with pytest.raises(ResultError, match=r"cannot read the result at .*missing\.pkl"):
        LocalResult(dir=tmp_path).read("missing.pkl")


def test_a_local_result_dir_that_is_a_file_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultError, match="is a file, not a directory"):
        LocalResult(dir=tmp_path / "file")


def test_a_prefect_result_keeps_json_as_its_location() -> None:
    written = PrefectResult().write({"n": 3})
    assert written.location == '{"n": 3}'
    assert PrefectResult().exists(written.location)
    assert PrefectResult().read(written.location).value == {"n": 3}
    with pytest.raises(ResultError, match=r"keeps JSON values only.*LocalResult"):
        PrefectResult().write(object())


def test_a_json_serialized_local_result_is_plain_json_on_disk(tmp_path: Path) -> None:
    result = LocalResult(dir=tmp_path, location="v.json", serializer=JSONSerializer())
    result.write({"a": [1, 2]})
    assert (tmp_path / "v.json").read_text() == '{"a": [1, 2]}'
    assert result.read("v.json").value == {"a": [1, 2]}


def test_serializers_round_trip_and_compare_by_kind() -> None:
    assert PickleSerializer().deserialize(PickleSerializer().serialize({1, 2})) == {1, 2}
    assert PickleSerializer() == PickleSerializer() != JSONSerializer()
    with pytest.raises(TypeError, match="JSONSerializer cannot write a set"):
        JSONSerializer().serialize({1})


def test_a_local_result_without_a_location_says_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="has no location to write to; give location="):
        LocalResult(dir=tmp_path).write(1)


def test_a_result_refuses_a_serializer_that_is_not_one() -> None:
    with pytest.raises(TypeError, match="serializer must be"):
        LocalResult(serializer="pickle")  # type: ignore[arg-type]


def test_a_result_subclass_that_defines_nothing_says_what_is_missing() -> None:
    with pytest.raises(NotImplementedError, match="must define exists"):
        Result().exists("x")


def test_an_absolute_location_is_used_as_it_is(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "v.pkl"
    written = LocalResult(dir=tmp_path / "d").copy()
    written.location = str(target)
    assert written.write(5).location == str(target)
    assert os.path.isfile(target)
