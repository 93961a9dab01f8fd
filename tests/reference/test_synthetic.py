"""The synthetic incident log: the loader's shape, the real log's rules within an incident, its
text format, and its distributions against the real profile."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.reference.support import PROFILE

from tideflow.reference.csvtext import HEADER, read_incident_csv
from tideflow.reference.distributions import IMPACT_URGENCY_PRIORITY
from tideflow.reference.schema import COLUMNS, PRIORITIES, dtype_names
from tideflow.reference.synthetic import DEFAULT_START, generate_incidents, write_incidents_zip

LARGE = 25_000


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate_incidents(400, seed=11)


@pytest.fixture(scope="module")
def large() -> tuple[pd.DataFrame, float]:
    """25,000 incidents, and the seconds it took to generate them."""
    started = time.perf_counter()
    frame = generate_incidents(LARGE, seed=0)
    return frame, time.perf_counter() - started


SUMMARY = Path(__file__).parent / "fixtures" / "profile_summary.json"


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    """The real log's profile when it lies beside the real zip, else the committed extract
    of the figures these tests compare (aggregates only, see its "about")."""
    loaded: dict[str, Any] = json.loads((PROFILE if PROFILE.is_file() else SUMMARY).read_text())
    return loaded


def by_incident(frame: pd.DataFrame) -> Any:
    return frame.groupby("number", sort=False, observed=True)


# -- shape and determinism --------------------------------------------------------------------


def test_the_frame_has_the_loaders_columns_and_dtypes(small: pd.DataFrame) -> None:
    assert tuple(small.columns) == COLUMNS
    assert {name: str(dtype) for name, dtype in small.dtypes.items()} == dtype_names()
    assert small["number"].nunique() == 400
    assert small.index.equals(pd.RangeIndex(len(small)))


def test_the_same_seed_gives_the_same_frame_and_another_seed_another() -> None:
    pd.testing.assert_frame_equal(generate_incidents(50, seed=5), generate_incidents(50, seed=5))
    assert not generate_incidents(50, seed=5).equals(generate_incidents(50, seed=6))


def test_at_least_one_incident_is_required() -> None:
    with pytest.raises(ValueError, match="n_incidents must be at least 1, got 0"):
        generate_incidents(0)


def test_incidents_open_from_the_start_on(small: pd.DataFrame) -> None:
    later = generate_incidents(50, seed=1, start=DEFAULT_START.replace(year=2020))
    assert later["opened_at"].min() >= pd.Timestamp("2020-02-29")
    assert small["opened_at"].min() >= pd.Timestamp(DEFAULT_START)


def test_generating_25000_incidents_takes_seconds(large: tuple[pd.DataFrame, float]) -> None:
    frame, seconds = large
    assert frame["number"].nunique() == LARGE
    assert seconds < 10


# -- the real log's rules within an incident ------------------------------------------------


def test_ids_have_the_real_prefixes(small: pd.DataFrame) -> None:
    patterns = {
        "number": r"INC\d{7}",
        "caller_id": r"Caller \d+",
        "opened_by": r"Opened by  \d+",  # two spaces, as in the real log
        "assignment_group": r"Group \d+",
        "assigned_to": r"Resolver \d+",
        "closed_code": r"code \d+",
    }
    for column, pattern in patterns.items():
        values = small[column].dropna().astype(str)
        assert values.str.fullmatch(pattern).all(), column


def test_numbers_increase_with_opening_time(small: pd.DataFrame) -> None:
    first = small.drop_duplicates("number")
    assert first["number"].is_monotonic_increasing
    assert first["opened_at"].is_monotonic_increasing


def test_priority_follows_impact_and_urgency(small: pd.DataFrame) -> None:
    allowed = set(IMPACT_URGENCY_PRIORITY)
    triples = set(zip(small["impact"], small["urgency"], small["priority"], strict=True))
    assert triples <= allowed
    assert set(small["priority"]) <= set(PRIORITIES)


def test_every_incident_ends_closed_and_only_closed_events_are_inactive(
    small: pd.DataFrame,
) -> None:
    assert (by_incident(small)["incident_state"].last() == "Closed").all()
    assert (small["active"] == (small["incident_state"] != "Closed")).all()


def test_times_and_counters_never_go_backwards(small: pd.DataFrame) -> None:
    groups = by_incident(small)
    for column in ("sys_updated_at", "sys_mod_count", "reassignment_count", "reopen_count"):
        assert groups[column].apply(lambda s: s.is_monotonic_increasing).all(), column
    assert (groups["sys_mod_count"].first() == 0).all()
    last = small.drop_duplicates("number", keep="last")
    assert (last["sys_updated_at"] == last["closed_at"]).all()
    resolved = last["resolved_at"].notna()
    assert (last.loc[resolved, "resolved_at"] <= last.loc[resolved, "closed_at"]).all()
    assert (small["opened_at"] <= small["sys_updated_at"]).all()


def test_incident_fields_are_the_same_on_every_event(small: pd.DataFrame) -> None:
    constant = ["opened_at", "caller_id", "priority", "resolved_at", "closed_at", "closed_code"]
    distinct = by_incident(small)[constant].nunique(dropna=False)
    assert (distinct == 1).all().all()


def test_created_by_and_created_at_are_missing_together(small: pd.DataFrame) -> None:
    assert (small["sys_created_by"].isna() == small["sys_created_at"].isna()).all()


# -- the text format --------------------------------------------------------------------------


def test_the_zip_holds_the_csv_in_the_real_text_format(tmp_path: Path) -> None:
    path = write_incidents_zip(30, tmp_path / "log.zip", seed=2)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["incident_event_log.csv"]
        text = archive.read("incident_event_log.csv").decode("ascii")
    header, *rows = text.splitlines()
    assert header == HEADER
    fields = [row.split(",") for row in rows]
    assert all(len(f) == 36 for f in fields)
    column = {name: [f[i] for f in fields] for i, name in enumerate(COLUMNS)}
    date = re.compile(r"([1-9]|[12]\d|3[01])/([1-9]|1[0-2])/20\d\d ([01]\d|2[0-3]):[0-5]\d")
    assert all(date.fullmatch(v) for v in column["opened_at"])
    assert all(v == "?" or date.fullmatch(v) for v in column["sys_created_at"])
    assert set(column["active"]) == {"true", "false"}
    assert "?" in column["cmdb_ci"]
    assert set(column["priority"]) <= set(PRIORITIES)
    assert "" not in {v for f in fields for v in f}


def test_a_written_frame_reads_back_identical(small: pd.DataFrame, tmp_path: Path) -> None:
    path = write_incidents_zip(small, tmp_path / "log.zip")
    with zipfile.ZipFile(path) as archive:
        text = archive.read("incident_event_log.csv")
    pd.testing.assert_frame_equal(read_incident_csv(text, str(path)), small)


# -- distributions against the real profile -------------------------------------------------


def shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {key: count / total for key, count in counts.items()}


def test_state_shares_match_the_real_log_within_2_points(
    large: tuple[pd.DataFrame, float], profile: dict[str, Any]
) -> None:
    real = shares(profile["per_column"]["incident_state"]["counts_event_level"])
    made = large[0]["incident_state"].value_counts(normalize=True).to_dict()
    for state in real.keys() | made.keys():
        assert made.get(state, 0) == pytest.approx(real.get(state, 0), abs=0.02), state


def test_priority_shares_match_the_real_log_within_1_point(
    large: tuple[pd.DataFrame, float], profile: dict[str, Any]
) -> None:
    real = shares(profile["per_column"]["priority"]["counts_event_level"])
    made = large[0]["priority"].value_counts(normalize=True).to_dict()
    assert made.keys() == real.keys()
    for priority, share in real.items():
        assert made[priority] == pytest.approx(share, abs=0.01), priority


def test_question_mark_shares_match_the_real_log_within_2_points(
    large: tuple[pd.DataFrame, float], profile: dict[str, Any]
) -> None:
    frame = large[0]
    for column, stats in profile["per_column"].items():
        real = stats["missing_q_share_events"]
        assert frame[column].isna().mean() == pytest.approx(real, abs=0.02), column


def test_the_median_time_to_close_matches_the_real_log_within_20_percent(
    large: tuple[pd.DataFrame, float], profile: dict[str, Any]
) -> None:
    last = large[0].drop_duplicates("number", keep="last")
    days = (last["closed_at"] - last["opened_at"]).dt.total_seconds() / 86_400
    real = histogram_median(profile["days_opened_to_closed_hist"])
    assert float(days.median()) == pytest.approx(real, rel=0.2)


def histogram_median(histogram: dict[str, int]) -> float:
    """The median of a histogram keyed ``"<upper"`` (and a last ``">=lower"``), interpolated
    linearly within its bin."""
    uppers = [float(key[1:]) for key in histogram if key.startswith("<")]
    counts = np.array(list(histogram.values()), dtype=float)
    cumulative = np.cumsum(counts)
    i = int(np.searchsorted(cumulative, cumulative[-1] / 2))
    lower = 0.0 if i == 0 else uppers[i - 1]
    before = 0.0 if i == 0 else cumulative[i - 1]
    return lower + (cumulative[-1] / 2 - before) / counts[i] * (uppers[i] - lower)


def test_the_histogram_median_of_the_real_log_is_about_six_days(profile: dict[str, Any]) -> None:
    assert histogram_median(profile["days_opened_to_closed_hist"]) == pytest.approx(6.2, abs=0.1)
