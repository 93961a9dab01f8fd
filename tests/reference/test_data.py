"""Loading the incident log: the real file when it is present, generated zips otherwise, the
Parquet cache, every malformed input with its message, and the offline fallback."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import socket
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from tests.reference.support import REAL_ZIP, SKIP_REASON, needs_real_data

from tideflow.errors import DataError, TideflowError
from tideflow.reference import data
from tideflow.reference.csvtext import EXAMPLE, HEADER, incident_csv_bytes
from tideflow.reference.data import (
    DEFAULT_SOURCE,
    IncidentData,
    cache_path,
    closed_tickets,
    load_incidents,
)
from tideflow.reference.schema import PRIORITIES, conform, dtype_names
from tideflow.reference.synthetic import generate_incidents, write_incidents_zip
from tideflow.store import default_home

# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-cache")


@pytest.fixture(scope="session")
def real(real_cache: Path) -> IncidentData:
    """The real log, parsed once per test session into a cache of its own."""
    if not REAL_ZIP.is_file():
        pytest.skip(SKIP_REASON)
    return load_incidents(REAL_ZIP, cache_dir=real_cache)


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    return generate_incidents(150, seed=7)


@pytest.fixture
def zip_path(tmp_path: Path, generated: pd.DataFrame) -> Path:
    return write_incidents_zip(generated, tmp_path / "incidents.zip")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def csv_text(frame: pd.DataFrame) -> str:
    return incident_csv_bytes(frame).decode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(*args: object) -> pd.DataFrame:
        raise AssertionError("the source was parsed again")

    monkeypatch.setattr(data, "parse_source", parse)


# -- the real data ----------------------------------------------------------------------------


def test_the_real_log_is_found_through_tideflow_test_incidents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEFLOW_TEST_INCIDENTS", str(tmp_path / "uci-498.zip"))
    path = Path(__file__).with_name("support.py")
    spec = importlib.util.spec_from_file_location("support_elsewhere", path)
    assert spec is not None
    assert spec.loader is not None
    support = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(support)  # read afresh, as a session started with the variable
    found = (support.REAL_ZIP, support.PROFILE, support.SKIP_REASON)
    assert found == (
        tmp_path / "uci-498.zip",
        tmp_path / "profile.json",
        f"the real incident log is not at {tmp_path / 'uci-498.zip'}: download the zip of UCI "
        "dataset 498 from https://archive.ics.uci.edu/dataset/498/"
        "incident+management+process+enriched+event+log and set TIDEFLOW_TEST_INCIDENTS to its "
        "path",
    )


@needs_real_data
def test_the_real_log_has_its_documented_shape(real: IncidentData) -> None:
    frame = real.frame
    assert frame.shape == (141_712, 36)
    assert frame["number"].nunique() == 24_918
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == dtype_names()
    assert set(frame["priority"].dropna()) == set(PRIORITIES)
    assert real.checksum == hashlib.sha256(REAL_ZIP.read_bytes()).hexdigest()
    assert not real.synthetic
    assert real.source == str(REAL_ZIP)


@needs_real_data
def test_the_real_log_parses_day_first_unpadded_dates_and_question_marks(
    real: IncidentData,
) -> None:
    first = real.frame.iloc[0]
    assert first["number"] == "INC0000045"
    assert first["opened_at"] == pd.Timestamp("2016-02-29 01:16")
    assert first["incident_state"] == "New"
    assert bool(first["active"]) is True
    assert pd.isna(first["cmdb_ci"])  # "?" in the file
    assert real.frame["opened_at"].min() == pd.Timestamp("2016-02-29 01:16")
    assert real.frame["opened_at"].max() == pd.Timestamp("2017-02-16 14:17")
    assert real.frame["sys_created_at"].isna().sum() == 53_076


@needs_real_data
def test_every_real_incident_is_a_closed_ticket(real: IncidentData) -> None:
    tickets = closed_tickets(real.frame)
    assert len(tickets) == 24_918
    assert tickets["number"].is_unique
    assert (tickets["incident_state"] == "Closed").all()


@needs_real_data
def test_the_real_log_loads_again_from_the_cache(
    real: IncidentData, real_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_parsing(monkeypatch)
    again = load_incidents(REAL_ZIP, cache_dir=real_cache)
    # DataFrame.equals compares values and dtypes; assert_frame_equal takes seconds here
    assert again.frame.equals(real.frame)
    assert again.frame.dtypes.equals(real.frame.dtypes)
    assert "read from the cache" in again.note


# -- generated zips: round trip and cache --------------------------------------------------


def test_a_generated_zip_loads_back_to_the_generated_frame(
    zip_path: Path, cache_dir: Path, generated: pd.DataFrame
) -> None:
    loaded = load_incidents(zip_path, cache_dir=cache_dir)
    pd.testing.assert_frame_equal(loaded.frame, generated)
    assert loaded.checksum == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert not loaded.synthetic
    assert loaded.source == str(zip_path)


def test_a_plain_csv_file_is_accepted(
    tmp_path: Path, cache_dir: Path, generated: pd.DataFrame
) -> None:
    path = tmp_path / "incident_event_log.csv"
    path.write_text(csv_text(generated))
    pd.testing.assert_frame_equal(load_incidents(path, cache_dir=cache_dir).frame, generated)


def test_the_csv_is_found_in_a_zip_inside_the_zip_beside_macos_junk(
    tmp_path: Path, cache_dir: Path, generated: pd.DataFrame
) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("__MACOSX/._incident_event_log.csv", b"\x00\x05\x16\x07")
        archive.writestr("incident_event_log.csv", incident_csv_bytes(generated))
    outer = write_zip(
        tmp_path / "download.zip", {"readme.txt": b"UCI 498", "data/inner.zip": inner.getvalue()}
    )
    pd.testing.assert_frame_equal(load_incidents(outer, cache_dir=cache_dir).frame, generated)


def test_a_second_load_reads_the_parquet_cache_without_parsing(
    zip_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_incidents(zip_path, cache_dir=cache_dir)
    cached = cache_path(cache_dir, first.checksum)
    assert cached.is_file()
    assert cached.name == f"incidents-{first.checksum[:16]}-v1.parquet"
    refuse_parsing(monkeypatch)
    second = load_incidents(zip_path, cache_dir=cache_dir)
    pd.testing.assert_frame_equal(second.frame, first.frame)
    assert second.note.endswith(f"read from the cache {cached}")


def test_the_cache_is_keyed_by_the_source_content(tmp_path: Path, cache_dir: Path) -> None:
    one = load_incidents(write_incidents_zip(5, tmp_path / "a.zip", seed=1), cache_dir=cache_dir)
    two = load_incidents(write_incidents_zip(5, tmp_path / "b.zip", seed=2), cache_dir=cache_dir)
    assert one.checksum != two.checksum
    assert len(list(cache_dir.glob("incidents-*.parquet"))) == 2


def test_a_corrupt_cache_file_is_discarded_with_a_warning_and_rebuilt(
    zip_path: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = load_incidents(zip_path, cache_dir=cache_dir)
    cached = cache_path(cache_dir, first.checksum)
    cached.write_bytes(cached.read_bytes()[:200])  # cut short, as by a full disk
    with caplog.at_level(logging.WARNING, logger="tideflow.reference"):
        again = load_incidents(zip_path, cache_dir=cache_dir)
    pd.testing.assert_frame_equal(again.frame, first.frame)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"discarding the unreadable incident cache {cached} (")
    assert warning.endswith("); rebuilding it")
    pd.testing.assert_frame_equal(conform(pd.read_parquet(cached)), first.frame)


def test_a_cache_write_interrupted_midway_leaves_no_file_behind(
    zip_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"PAR1 half a table")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_written)
    with pytest.raises(KeyboardInterrupt):
        load_incidents(zip_path, cache_dir=cache_dir)
    assert list(cache_dir.iterdir()) == []


def test_the_source_and_cache_dir_default_to_the_environment(
    zip_path: Path, generated: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDEFLOW_INCIDENTS", str(zip_path))
    loaded = load_incidents()
    pd.testing.assert_frame_equal(loaded.frame, generated)
    home = default_home()
    assert cache_path(home / "cache" / "incidents", loaded.checksum).is_file()


def test_without_configuration_the_source_is_uci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIDEFLOW_INCIDENTS", raising=False)
    assert data.resolve_source() == DEFAULT_SOURCE
    assert DEFAULT_SOURCE == (
        "https://archive.ics.uci.edu/static/public/498/"
        "incident+management+process+enriched+event+log.zip"
    )


# -- malformed input --------------------------------------------------------------------------


def test_a_missing_column_is_named_with_the_expected_header(
    tmp_path: Path, cache_dir: Path, generated: pd.DataFrame
) -> None:
    frame = generated.drop(columns=["rfc", "closed_at"])
    path = write_zip(tmp_path / "x.zip", {"incident_event_log.csv": frame.to_csv(index=False)})
    with pytest.raises(DataError) as caught:
        load_incidents(path, cache_dir=cache_dir)
    assert str(caught.value) == (
        f"{path} (member incident_event_log.csv): missing column(s) rfc, closed_at; "
        f"the incident log's header is {HEADER}"
    )


def test_an_unparseable_date_is_reported_with_line_column_value_and_format(
    tmp_path: Path, cache_dir: Path, generated: pd.DataFrame
) -> None:
    lines = csv_text(generated).splitlines(keepends=True)
    fields = lines[3].split(",")  # data row 3
    fields[9] = "31/2/2016 01:00"  # opened_at: there is no 31 February
    lines[3] = ",".join(fields)
    path = tmp_path / "incident_event_log.csv"
    path.write_text("".join(lines))
    with pytest.raises(DataError) as caught:
        load_incidents(path, cache_dir=cache_dir)
    assert str(caught.value) == (
        f"{path}: line 4 (data row 3), column opened_at: cannot read '31/2/2016 01:00': "
        "not a date in the format %d/%m/%Y %H:%M (day/month/year hour:minute, "
        "e.g. 29/2/2016 01:16)"
    )


def test_a_truncated_zip_says_to_download_it_again(zip_path: Path, cache_dir: Path) -> None:
    zip_path.write_bytes(zip_path.read_bytes()[:300])
    with pytest.raises(DataError) as caught:
        load_incidents(zip_path, cache_dir=cache_dir)
    assert str(caught.value) == (
        f"{zip_path}: a truncated or corrupt zip file (File is not a zip file); re-download it "
        f"(from {DEFAULT_SOURCE}) or point TIDEFLOW_INCIDENTS at a good copy"
    )


def test_a_zip_without_the_csv_lists_its_members(tmp_path: Path, cache_dir: Path) -> None:
    path = write_zip(tmp_path / "x.zip", {"readme.txt": b"hi", "data/other.csv": b"a,b\n"})
    with pytest.raises(DataError) as caught:
        load_incidents(path, cache_dir=cache_dir)
    assert str(caught.value) == (
        f"{path}: no incident_event_log.csv in this zip; its members are: "
        "readme.txt, data/other.csv"
    )


def test_a_missing_file_is_an_error_even_with_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.zip"
    with pytest.raises(DataError) as caught:
        load_incidents(path, cache_dir=tmp_path, fallback=True)
    assert str(caught.value) == (
        f"{path}: no such file; pass source= or set TIDEFLOW_INCIDENTS to the incident log "
        f"(its .zip or .csv) or to a URL such as {DEFAULT_SOURCE}"
    )


def test_data_errors_are_tideflow_errors_and_value_errors() -> None:
    assert issubclass(DataError, TideflowError)
    assert issubclass(DataError, ValueError)


# -- URLs and the offline fallback ----------------------------------------------------------


class FakeResponse(io.BytesIO):
    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str], bytes]) -> list[str]:
    """Make urlopen answer with ``answer(url)`` (which may raise); return the URLs asked for."""
    asked: list[str] = []

    def urlopen(url: str, timeout: float) -> FakeResponse:
        asked.append(url)
        assert timeout == 20.0
        return FakeResponse(answer(url))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return asked


URL = "https://example.org/498/incident+management+process+enriched+event+log.zip"


def test_a_url_is_downloaded_once_into_the_cache_dir(
    zip_path: Path, cache_dir: Path, generated: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = serve(monkeypatch, lambda url: zip_path.read_bytes())
    first = load_incidents(URL, cache_dir=cache_dir)
    second = load_incidents(URL, cache_dir=cache_dir)
    assert asked == [URL]
    pd.testing.assert_frame_equal(second.frame, generated)
    assert first.source == URL
    [download] = (cache_dir / "downloads").iterdir()
    assert download.name.endswith("-incident_management_process_enriched_event_log.zip")


def test_a_truncated_download_says_to_delete_it_from_the_cache_dir(
    zip_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, lambda url: zip_path.read_bytes()[:300])
    with pytest.raises(DataError) as caught:
        load_incidents(URL, cache_dir=cache_dir)
    [download] = (cache_dir / "downloads").iterdir()
    assert str(caught.value) == (
        f"{download}: a truncated or corrupt zip file (File is not a zip file); "
        f"re-download it or delete it from the cache dir {cache_dir}"
    )


def test_an_unreachable_url_without_fallback_is_an_error(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(url: str) -> bytes:
        raise urllib.error.URLError("no route to host")

    serve(monkeypatch, unreachable)
    with pytest.raises(DataError) as caught:
        load_incidents(URL, cache_dir=cache_dir, fallback=False)
    assert str(caught.value) == (
        f"cannot download {URL}: no route to host; check the network and the URL, set "
        "TIDEFLOW_INCIDENTS to a local copy of the zip, or pass fallback=True to use "
        "synthetic data"
    )


def test_an_http_error_names_the_status(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(url: str) -> bytes:
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)

    serve(monkeypatch, not_found)
    with pytest.raises(DataError, match=r"^cannot download \S+: HTTP 404 Not Found; check"):
        load_incidents(URL, cache_dir=cache_dir, fallback=False)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_offline_the_loader_falls_back_to_synthetic_data_and_says_so(
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)  # ask 127.0.0.1 itself
    url = f"http://127.0.0.1:{closed_port()}/incidents.zip"
    with caplog.at_level(logging.WARNING, logger="tideflow.reference"):
        loaded = load_incidents(url, cache_dir=cache_dir, synthetic_rows=569, seed=3)
    assert loaded.synthetic
    assert loaded.source == url
    assert loaded.frame["number"].nunique() == 100  # 569 events / 5.69 per incident
    assert loaded.note.startswith(f"SYNTHETIC DATA: cannot download {url}: ")
    assert "refused" in loaded.note.lower()
    assert "not real tickets" in loaded.note
    warnings = [r for r in caplog.records if r.name == "tideflow.reference"]
    assert [(r.levelno, r.getMessage()) for r in warnings] == [(logging.WARNING, loaded.note)]
    assert capsys.readouterr() == ("", "")
    pd.testing.assert_frame_equal(loaded.frame, generate_incidents(100, seed=3))


def test_a_download_that_cannot_be_saved_is_a_download_failure(
    zip_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, lambda url: zip_path.read_bytes())
    regular_file = tmp_path / "home"
    regular_file.write_text("not a directory")
    cache_dir = regular_file / "cache" / "incidents"  # cannot be made: its parent is a file
    downloads = cache_dir / "downloads"
    with pytest.raises(DataError) as caught:
        load_incidents(URL, cache_dir=cache_dir, fallback=False)
    message = str(caught.value)
    assert message.startswith(f"cannot save the download of {URL} in {downloads}: ")
    assert "; set TIDEFLOW_HOME to a writable directory; check the network" in message
    assert isinstance(caught.value.__cause__.__cause__, OSError)  # via download()'s DataError

    loaded = load_incidents(URL, cache_dir=cache_dir, synthetic_rows=569, seed=3)
    assert loaded.synthetic
    assert loaded.note.startswith(f"SYNTHETIC DATA: cannot save the download of {URL} in ")
    assert loaded.frame["number"].nunique() == 100


def test_the_fallback_is_reproducible_and_keyed_by_its_recipe(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str) -> bytes:
        raise TimeoutError("timed out")

    serve(monkeypatch, offline)
    one = load_incidents(URL, cache_dir=cache_dir, synthetic_rows=300, seed=1)
    two = load_incidents(URL, cache_dir=cache_dir, synthetic_rows=300, seed=1)
    other = load_incidents(URL, cache_dir=cache_dir, synthetic_rows=300, seed=2)
    assert one.checksum == two.checksum != other.checksum
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert not cache_dir.exists()  # nothing downloaded, nothing cached


# -- closed tickets ---------------------------------------------------------------------------


def events(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """A log of EXAMPLE-like events given as (number, state, closed_at)."""
    frame = pd.concat([EXAMPLE] * len(rows), ignore_index=True)
    frame["number"] = [number for number, _, _ in rows]
    frame["incident_state"] = pd.Series([state for _, state, _ in rows], dtype="string")
    frame["closed_at"] = pd.to_datetime([closed for _, _, closed in rows])
    return conform(frame)


def test_closed_tickets_keeps_the_last_event_of_each_closed_incident() -> None:
    frame = events(
        [
            ("INC1", "New", "2016-03-06 10:00"),
            ("INC1", "Closed", "2016-03-06 10:00"),
            ("INC2", "Closed", "2016-03-07 10:00"),
            ("INC2", "Active", "2016-03-07 10:00"),  # reopened: not closed
            ("INC3", "Resolved", None),
            ("INC3", "Closed", None),  # no close time
            ("INC4", "Closed", "2016-03-08 10:00"),
        ]
    )
    tickets = closed_tickets(frame)
    assert tickets["number"].tolist() == ["INC1", "INC4"]
    assert tickets.index.tolist() == [0, 1]
    assert list(tickets.columns) == list(frame.columns)
