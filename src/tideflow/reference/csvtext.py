"""The incident log's CSV text format, both ways: parse it into a typed frame, and write a frame
back in exactly that format.

The format (as in UCI dataset 498): a header line with the 36 column names, then one line per
event; plain ASCII (read as UTF-8), no quoting; ``?`` for a missing value (and nothing else is
missing: ``NA`` or ``null`` are ordinary text); flags ``true``/``false``; dates day first
without zero padding of day and month, e.g. ``29/2/2016 01:16`` (``%d/%m/%Y %H:%M``).

Parsing is vectorised (pandas' C reader, then whole-column conversions), and every malformed value
is reported with the CSV line it is on (the header is line 1, so data row ``n`` is line ``n + 1``,
counting no blank lines), its column and the value itself.

>>> import io
>>> frame = read_incident_csv(incident_csv_bytes(EXAMPLE), "example.csv")
>>> frame.loc[0, "opened_at"], frame.loc[0, "priority"]
(Timestamp('2016-02-29 01:16:00'), '3 - Moderate')
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import pandas as pd

from tideflow.errors import DataError
from tideflow.reference.schema import (
    BOOL_COLUMNS,
    CATEGORY_COLUMNS,
    COLUMNS,
    COUNT_COLUMNS,
    DATE_COLUMNS,
    DATE_EXAMPLE,
    DATE_FORMAT,
    FALSE,
    ID_COLUMN,
    MISSING,
    TRUE,
    conform,
)

MEMBER: Final = "incident_event_log.csv"
"""The CSV's file name, as a member of UCI's zip."""
HEADER: Final = ",".join(COLUMNS)


def read_incident_csv(data: bytes, where: str) -> pd.DataFrame:
    """Parse the CSV text ``data`` into a conformed frame (see :mod:`tideflow.reference.schema`).

    ``where`` names the data in error messages (a file, or a zip and its member).

    Raises:
        DataError: a column is missing, a row cannot be split into fields, or a date, flag or
            counter cannot be read; the message names ``where``, the line, the column and value.
    """
    raw = _read_raw(data, where)
    _check_header(list(raw.columns), where)
    columns: dict[str, pd.Series] = {}
    for name in COLUMNS:
        columns[name] = _convert(raw[name], name, where)
    return conform(pd.DataFrame(columns))


def _read_raw(data: bytes, where: str) -> pd.DataFrame:
    dtypes = dict.fromkeys(COLUMNS, "str") | dict.fromkeys(CATEGORY_COLUMNS, "category")
    try:
        return pd.read_csv(
            io.BytesIO(data),
            dtype=dtypes,
            na_values=[MISSING],
            keep_default_na=False,
            encoding="utf-8",
            encoding_errors="replace",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{where}: not a readable incident CSV file: {exc}") from exc


def _check_header(found: list[str], where: str) -> None:
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)}; the incident log's header is "
            f"{HEADER}"
        )


def _convert(raw: pd.Series, name: str, where: str) -> pd.Series:
    if name in DATE_COLUMNS:
        return _dates(raw, name, where)
    if name in BOOL_COLUMNS:
        return _flags(raw, name, where)
    if name in COUNT_COLUMNS:
        return _counts(raw, name, where)
    if name == ID_COLUMN:
        return _required(raw, name, where)
    return raw


def _dates(raw: pd.Series, name: str, where: str) -> pd.Series:
    parsed = pd.to_datetime(raw, format=DATE_FORMAT, errors="coerce")
    _fail_at_first(
        parsed.isna() & raw.notna(),
        raw,
        name,
        where,
        f"not a date in the format {DATE_FORMAT} (day/month/year hour:minute, e.g. {DATE_EXAMPLE})",
    )
    return parsed


def _flags(raw: pd.Series, name: str, where: str) -> pd.Series:
    _fail_at_first(~raw.isin([TRUE, FALSE]), raw, name, where, f"expected {TRUE} or {FALSE}")
    return raw == TRUE


def _counts(raw: pd.Series, name: str, where: str) -> pd.Series:
    digits = raw.str.fullmatch(r"[0-9]{1,18}").fillna(False).astype(bool)
    _fail_at_first(~digits, raw, name, where, "expected a whole number >= 0")
    return raw.astype("int64")


def _required(raw: pd.Series, name: str, where: str) -> pd.Series:
    _fail_at_first(raw.isna(), raw, name, where, "a value is required here")
    return raw


def _fail_at_first(bad: pd.Series, raw: pd.Series, name: str, where: str, expected: str) -> None:
    """Raise a DataError for the first row where ``bad`` holds; do nothing when it holds nowhere."""
    positions = np.flatnonzero(bad.to_numpy(dtype=bool))
    if len(positions) == 0:
        return
    row = int(positions[0]) + 1
    value = raw.iloc[row - 1]
    shown = MISSING if pd.isna(value) else str(value)
    more = f" ({len(positions) - 1} more such rows)" if len(positions) > 1 else ""
    raise DataError(
        f"{where}: line {row + 1} (data row {row}), column {name}: cannot read {shown!r}: "
        f"{expected}{more}"
    )


def incident_csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` (conformed) in the log's CSV text format, as UTF-8 bytes."""
    text = frame.loc[:, list(COLUMNS)].copy()
    for name in DATE_COLUMNS:
        text[name] = format_dates(frame[name])
    for name in BOOL_COLUMNS:
        text[name] = np.where(frame[name].to_numpy(dtype=bool), TRUE, FALSE)
    out: str = text.to_csv(index=False, na_rep=MISSING, lineterminator="\n")
    return out.encode("utf-8")


def format_dates(dates: pd.Series) -> pd.Series:
    """Dates as the log writes them (``29/2/2016 01:16``: no padding of day and month); ``?``
    for ``NaT``.

    >>> format_dates(pd.Series(pd.to_datetime(["2016-03-05 09:04", None]))).tolist()
    ['5/3/2016 09:04', '?']
    """
    present = dates.notna()
    shown = dates[present]

    def part(values: pd.Series, width: int = 0) -> pd.Series:
        return values.astype("int64").astype(str).str.zfill(width)

    formatted = (
        part(shown.dt.day)
        + "/"
        + part(shown.dt.month)
        + "/"
        + part(shown.dt.year)
        + " "
        + part(shown.dt.hour, 2)
        + ":"
        + part(shown.dt.minute, 2)
    )
    result = pd.Series(MISSING, index=dates.index, dtype=object)
    result[present] = formatted.to_numpy(dtype=object)
    return result


EXAMPLE: Final = conform(
    pd.DataFrame(
        {
            "number": ["INC0000045"],
            "incident_state": ["New"],
            "active": [True],
            "reassignment_count": [0],
            "reopen_count": [0],
            "sys_mod_count": [0],
            "made_sla": [True],
            "caller_id": ["Caller 2403"],
            "opened_by": ["Opened by  8"],
            "opened_at": pd.to_datetime(["2016-02-29 01:16"]),
            "sys_created_by": ["Created by 6"],
            "sys_created_at": pd.to_datetime(["2016-02-29 01:23"]),
            "sys_updated_by": ["Updated by 21"],
            "sys_updated_at": pd.to_datetime(["2016-02-29 01:23"]),
            "contact_type": ["Phone"],
            "location": ["Location 143"],
            "category": ["Category 55"],
            "subcategory": ["Subcategory 170"],
            "u_symptom": ["Symptom 72"],
            "cmdb_ci": [None],
            "impact": ["2 - Medium"],
            "urgency": ["2 - Medium"],
            "priority": ["3 - Moderate"],
            "assignment_group": ["Group 56"],
            "assigned_to": [None],
            "knowledge": [True],
            "u_priority_confirmation": [False],
            "notify": ["Do Not Notify"],
            "problem_id": [None],
            "rfc": [None],
            "vendor": [None],
            "caused_by": [None],
            "closed_code": ["code 5"],
            "resolved_by": ["Resolved by 149"],
            "resolved_at": pd.to_datetime(["2016-03-01 09:52"]),
            "closed_at": pd.to_datetime(["2016-03-06 10:00"]),
        }
    )
)
"""One event in the log's shape (the first line of the real file, give or take), for examples
and tests."""
