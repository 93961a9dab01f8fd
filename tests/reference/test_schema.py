"""The incident table's columns and the canonical dtypes every frame of it gets."""

from __future__ import annotations

import pandas as pd

from tideflow.reference.schema import COLUMNS, as_category, conform, dtype_names

# The real log's header line, verbatim.
REAL_HEADER = (
    "number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,"
    "caller_id,opened_by,opened_at,sys_created_by,sys_created_at,sys_updated_by,sys_updated_at,"
    "contact_type,location,category,subcategory,u_symptom,cmdb_ci,impact,urgency,priority,"
    "assignment_group,assigned_to,knowledge,u_priority_confirmation,notify,problem_id,rfc,"
    "vendor,caused_by,closed_code,resolved_by,resolved_at,closed_at"
)


def test_the_columns_are_the_real_header() -> None:
    assert ",".join(COLUMNS) == REAL_HEADER


def test_each_column_has_one_dtype_of_five_kinds() -> None:
    kinds = pd.Series(dtype_names()).value_counts().to_dict()
    assert kinds == {"category": 23, "datetime64[ns]": 5, "bool": 4, "int64": 3, "string": 1}


def plain_frame() -> pd.DataFrame:
    """One row of plain Python values for every column."""
    values: dict[str, object] = {}
    for name, kind in dtype_names().items():
        values[name] = {
            "category": "b",
            "string": "INC0000001",
            "bool": True,
            "int64": 3,
            "datetime64[ns]": pd.Timestamp("2016-03-01 10:00"),
        }[kind]
    return pd.DataFrame([values, values | {"category": None}])


def test_conform_gives_every_column_its_dtype_in_order() -> None:
    frame = conform(plain_frame()[list(reversed(COLUMNS))])
    assert tuple(frame.columns) == COLUMNS
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == dtype_names()


def test_conform_is_idempotent() -> None:
    once = conform(plain_frame())
    pd.testing.assert_frame_equal(conform(once), once)


def test_categories_are_sorted_strings_whatever_their_origin() -> None:
    unsorted = pd.Series(pd.Categorical(["b", "a", None, "b"], categories=["b", "a"]), name="x")
    result = as_category(unsorted)
    assert result.cat.categories.tolist() == ["a", "b"]
    assert str(result.cat.categories.dtype) == "string"
    assert result.tolist()[:2] == ["b", "a"]
    assert pd.isna(result.iloc[2])
    pd.testing.assert_series_equal(as_category(pd.Series(["b", "a", None, "b"], name="x")), result)
