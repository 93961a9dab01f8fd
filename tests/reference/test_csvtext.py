"""The incident log's CSV text format: what it reads, what it refuses and what it writes."""

from __future__ import annotations

import pandas as pd
import pytest

from tideflow.errors import DataError
from tideflow.reference.csvtext import (
    EXAMPLE,
    HEADER,
    format_dates,
    incident_csv_bytes,
    read_incident_csv,
)

# The first line of the real log, verbatim.
FIRST_LINE = (
    "INC0000045,New,true,0,0,0,true,Caller 2403,Opened by  8,29/2/2016 01:16,Created by 6,"
    "29/2/2016 01:23,Updated by 21,29/2/2016 01:23,Phone,Location 143,Category 55,"
    "Subcategory 170,Symptom 72,?,2 - Medium,2 - Medium,3 - Moderate,Group 56,?,true,false,"
    "Do Not Notify,?,?,?,?,code 5,Resolved by 149,29/2/2016 11:29,5/3/2016 12:00"
)


def parse(*lines: str) -> pd.DataFrame:
    return read_incident_csv("\n".join([HEADER, *lines, ""]).encode(), "log.csv")


def replace(line: str, column: int, value: str) -> str:
    fields = line.split(",")
    fields[column] = value
    return ",".join(fields)


def test_the_real_first_line_parses_to_typed_values() -> None:
    row = parse(FIRST_LINE).iloc[0]
    assert row["number"] == "INC0000045"
    assert bool(row["active"]) is True
    assert row["sys_mod_count"] == 0
    assert row["opened_by"] == "Opened by  8"
    assert row["opened_at"] == pd.Timestamp("2016-02-29 01:16")
    assert row["resolved_at"] == pd.Timestamp("2016-02-29 11:29")
    assert row["closed_at"] == pd.Timestamp("2016-03-05 12:00")
    assert pd.isna(row["cmdb_ci"])
    assert pd.isna(row["assigned_to"])


def test_dates_need_no_zero_padding_of_day_month_or_hour() -> None:
    frame = parse(replace(FIRST_LINE, 9, "1/2/2016 9:05"))
    assert frame.loc[0, "opened_at"] == pd.Timestamp("2016-02-01 09:05")


def test_only_a_question_mark_is_missing() -> None:
    frame = parse(replace(replace(FIRST_LINE, 19, "NA"), 24, "null"))
    assert frame.loc[0, "cmdb_ci"] == "NA"
    assert frame.loc[0, "assigned_to"] == "null"


def test_writing_gives_back_the_real_text() -> None:
    frame = parse(FIRST_LINE)
    assert incident_csv_bytes(frame).decode() == f"{HEADER}\n{FIRST_LINE}\n"


def test_the_example_round_trips() -> None:
    pd.testing.assert_frame_equal(read_incident_csv(incident_csv_bytes(EXAMPLE), "x"), EXAMPLE)


def test_dates_are_written_without_padding_of_day_and_month() -> None:
    dates = pd.Series(pd.to_datetime(["2016-03-05 09:04", "2016-12-31 23:59", None]))
    assert format_dates(dates).tolist() == ["5/3/2016 09:04", "31/12/2016 23:59", "?"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (2, "yes", "column active: cannot read 'yes': expected true or false"),
        (6, "?", "column made_sla: cannot read '?': expected true or false"),
        (5, "3.5", "column sys_mod_count: cannot read '3.5': expected a whole number >= 0"),
        (0, "?", "column number: cannot read '?': a value is required here"),
        (
            35,
            "2016-03-05 12:00",
            "column closed_at: cannot read '2016-03-05 12:00': not a date in the format "
            "%d/%m/%Y %H:%M (day/month/year hour:minute, e.g. 29/2/2016 01:16)",
        ),
    ],
)
def test_a_bad_value_is_reported_with_its_line_column_and_value(
    column: int, value: str, message: str
) -> None:
    with pytest.raises(DataError) as caught:
        parse(FIRST_LINE, FIRST_LINE, replace(FIRST_LINE, column, value))
    assert str(caught.value) == f"log.csv: line 4 (data row 3), {message}"


def test_further_bad_rows_are_counted() -> None:
    bad = replace(FIRST_LINE, 2, "TRUE")
    with pytest.raises(DataError, match=r"line 2 \(data row 1\), .* \(2 more such rows\)$"):
        parse(bad, FIRST_LINE, bad, bad)


def test_a_row_with_too_many_fields_is_reported_with_its_line() -> None:
    with pytest.raises(DataError) as caught:
        parse(FIRST_LINE, FIRST_LINE + ",extra")
    assert str(caught.value) == (
        "log.csv: not a readable incident CSV file: Error tokenizing data. "
        "C error: Expected 36 fields in line 3, saw 37\n"
    )


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(DataError, match=r"^log\.csv: not a readable incident CSV file: "):
        read_incident_csv(b"", "log.csv")
