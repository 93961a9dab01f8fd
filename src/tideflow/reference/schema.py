"""The incident event log as a table: its 36 columns, what kind each is, and the dtypes every frame
of it has.

The log (UCI dataset 498) has one row per event of an IT-support incident. Its columns fall into
five kinds, and every frame the reference pipeline handles, whether parsed from the real CSV, read
back from the Parquet cache or made by the synthetic generator, goes through :func:`conform`, so
all three are indistinguishable downstream:

- ``number`` (``INC0000045``): the incident id, pandas ``string``;
- five dates, minute resolution, ``datetime64[ns]`` (missing: ``NaT``);
- four flags, ``bool`` (never missing);
- three counters, ``int64`` (never missing);
- the other 23 text columns (state, ids such as ``Caller 2403``, impact/urgency/priority, codes)
  are ``category`` with their distinct values, sorted, as categories of dtype ``string``;
  missing values (the CSV's ``?``) are ``NaN``.

>>> len(COLUMNS), len(CATEGORY_COLUMNS)
(36, 23)
>>> dtype_names()["opened_at"], dtype_names()["priority"], dtype_names()["number"]
('datetime64[ns]', 'category', 'string')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import pandas as pd

COLUMNS: Final[tuple[str, ...]] = (
    "number",
    "incident_state",
    "active",
    "reassignment_count",
    "reopen_count",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_by",
    "opened_at",
    "sys_created_by",
    "sys_created_at",
    "sys_updated_by",
    "sys_updated_at",
    "contact_type",
    "location",
    "category",
    "subcategory",
    "u_symptom",
    "cmdb_ci",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "assigned_to",
    "knowledge",
    "u_priority_confirmation",
    "notify",
    "problem_id",
    "rfc",
    "vendor",
    "caused_by",
    "closed_code",
    "resolved_by",
    "resolved_at",
    "closed_at",
)
ID_COLUMN: Final = "number"
DATE_COLUMNS: Final = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")
BOOL_COLUMNS: Final = ("active", "made_sla", "knowledge", "u_priority_confirmation")
COUNT_COLUMNS: Final = ("reassignment_count", "reopen_count", "sys_mod_count")
CATEGORY_COLUMNS: Final[tuple[str, ...]] = tuple(
    c for c in COLUMNS if c != ID_COLUMN and c not in DATE_COLUMNS + BOOL_COLUMNS + COUNT_COLUMNS
)

# The CSV's text conventions.
DATE_FORMAT: Final = "%d/%m/%Y %H:%M"  # day and month are written without zero padding
DATE_EXAMPLE: Final = "29/2/2016 01:16"
MISSING: Final = "?"
TRUE: Final = "true"
FALSE: Final = "false"

STATES: Final = (
    "New",
    "Active",
    "Awaiting User Info",
    "Awaiting Problem",
    "Awaiting Vendor",
    "Awaiting Evidence",
    "Resolved",
    "Closed",
    "-100",  # a stray value of 5 events in the real log
)
LEVELS: Final = ("1 - High", "2 - Medium", "3 - Low")  # impact and urgency
PRIORITIES: Final = ("1 - Critical", "2 - High", "3 - Moderate", "4 - Low")

DATETIME_DTYPE: Final = "datetime64[ns]"
STRING_DTYPE: Final = "string"


def _dtype_of(column: str) -> str:
    if column == ID_COLUMN:
        return STRING_DTYPE
    if column in DATE_COLUMNS:
        return DATETIME_DTYPE
    if column in BOOL_COLUMNS:
        return "bool"
    if column in COUNT_COLUMNS:
        return "int64"
    return "category"


_DTYPES: Final[Mapping[str, str]] = MappingProxyType({c: _dtype_of(c) for c in COLUMNS})


def dtype_names() -> dict[str, str]:
    """The dtype of every column, by name, in column order (a new dict, the caller's to keep)."""
    return dict(_DTYPES)


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s 36 columns, in order, with the canonical dtypes and a fresh ``RangeIndex``.

    The values must already be of the right kind (dates parsed, flags boolean); this only settles
    representation details that differ between sources and pandas versions: the datetime unit,
    the string dtype, and categories (sorted, dtype ``string``).
    """
    columns = {name: _conform_column(frame[name], kind) for name, kind in _DTYPES.items()}
    return pd.DataFrame(columns).reset_index(drop=True)


def _conform_column(series: pd.Series, kind: str) -> pd.Series:
    if kind == "category":
        return as_category(series)
    return series.astype(kind)


def as_category(series: pd.Series) -> pd.Series:
    """``series`` as a categorical whose categories are its sorted values, of dtype ``string``.

    A categorical input keeps its codes (no values are copied); only its categories are rebuilt.
    """
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(STRING_DTYPE).astype("category")
    categories = series.cat.categories.astype(STRING_DTYPE)
    rebuilt = pd.Categorical.from_codes(series.cat.codes, dtype=pd.CategoricalDtype(categories))
    result = pd.Series(rebuilt, index=series.index, name=series.name)
    if not categories.is_monotonic_increasing:
        result = result.cat.reorder_categories(categories.sort_values())
    return result
