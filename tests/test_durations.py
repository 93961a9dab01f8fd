"""Durations as text: parsing what people type and writing the canonical form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tideflow.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("30d", timedelta(days=30)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("  2H ", timedelta(hours=2)),
        ("1.5h", timedelta(minutes=90)),
        ("0.25s", timedelta(milliseconds=250)),
        ("90", timedelta(seconds=90)),
        ("2.5", timedelta(seconds=2.5)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


EXAMPLES = "use '90s', '15m', '2h', '30d', '1w', '1h30m' or a plain number of seconds such as '90'"


@pytest.mark.parametrize("text", ["", "   ", "abc", "5x", "-5m", "1e5", "h", "1h30", "m30"])
def test_invalid_text_names_the_text_and_shows_examples(text: str) -> None:
    with pytest.raises(
        ValueError, match=rf"^invalid duration {re.escape(repr(text))}: {re.escape(EXAMPLES)}$"
    ):
        parse_duration(text)


@pytest.mark.parametrize("text", ["30m1h", "1h1h", "1s1m"])
def test_units_go_from_largest_to_smallest_once_each(text: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"^invalid duration '{text}': give each unit at most once, from weeks to seconds",
    ):
        parse_duration(text)


def test_a_number_too_large_for_a_timedelta() -> None:
    with pytest.raises(
        ValueError, match=r"^invalid duration '9999999999w': the number is too large"
    ):
        parse_duration("9999999999w")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=8, seconds=5), "1w1d5s"),
        (timedelta(days=30), "4w2d"),
        (timedelta(milliseconds=1500), "1.5s"),
        (timedelta(microseconds=1), "0.000001s"),
        (timedelta(0), "0s"),
        (timedelta(minutes=-5), "-5m"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@settings(max_examples=100, deadline=None)
@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100_000)))
def test_formatted_durations_parse_back_to_the_same_timedelta(delta: timedelta) -> None:
    assert parse_duration(format_duration(delta)) == delta
