"""``DateTimeParameter``: a flow input that is a point in time, as in Prefect 1 (strings parsed
with pendulum), and the Prefect 1 module paths of the parameter classes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pendulum
import pytest

import tideflow
from tideflow import DateTimeParameter, Flow, Parameter, task
from tideflow.errors import ParameterError, TaskDefinitionError
from tideflow.parameter import to_datetime

ran: list[Any] = []


@task
def seen(value: Any) -> Any:
    ran.append(value)
    return value


def flow_of(parameter: Parameter) -> tuple[Flow, Any]:
    with Flow("as-of") as flow:
        result = seen(parameter)
    return flow, result


def value_in_task(parameter: Parameter, **given: Any) -> Any:
    flow, result = flow_of(parameter)
    state = flow.run(parameters=given)
    assert state.is_successful(), state
    return state.result[result].result


def test_iso_text_becomes_a_pendulum_datetime_with_its_offset() -> None:
    value = value_in_task(DateTimeParameter("as_of"), as_of="2026-03-01T09:30:00+01:00")
    assert isinstance(value, pendulum.DateTime)
    assert value == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert value.add(days=-1).isoformat() == "2026-02-28T09:30:00+01:00"


def test_text_without_an_offset_and_a_bare_date_are_utc() -> None:
    assert value_in_task(DateTimeParameter("d"), d="2026-03-01 09:30") == datetime(
        2026, 3, 1, 9, 30, tzinfo=UTC
    )
    assert value_in_task(DateTimeParameter("d"), d="2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_datetime_is_kept_and_a_naive_one_is_read_as_utc() -> None:
    aware = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=5)))
    assert value_in_task(DateTimeParameter("d"), d=aware) is aware
    naive = value_in_task(DateTimeParameter("d"), d=datetime(2026, 3, 1, 9))
    assert naive == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert naive.tzinfo is not None


def test_a_text_default_is_parsed_and_a_none_default_stays_none() -> None:
    assert value_in_task(DateTimeParameter("d", default="2026-01-02")) == datetime(
        2026, 1, 2, tzinfo=UTC
    )
    assert value_in_task(DateTimeParameter("d", default=None)) is None


def test_without_a_default_it_is_required() -> None:
    flow, _ = flow_of(DateTimeParameter("as_of"))
    with pytest.raises(ParameterError, match="missing required parameter 'as_of'"):
        flow.run()


def test_bad_text_fails_the_run_before_any_task_naming_the_parameter() -> None:
    ran.clear()
    flow, _ = flow_of(DateTimeParameter("as_of"))
    with pytest.raises(
        ParameterError,
        match=r"^flow 'as-of': parameter 'as_of': cannot read '2026-13-01' as a datetime .*; "
        r"give ISO 8601 text such as '2026-03-01'",
    ):
        flow.run(as_of="2026-13-01")
    with pytest.raises(ParameterError, match=r"parameter 'as_of': 42 \(int\) is not a datetime"):
        flow.run(as_of=42)
    assert ran == []


def test_a_bad_default_is_refused_where_the_parameter_is_defined() -> None:
    with pytest.raises(
        TaskDefinitionError, match=r"^DateTimeParameter 'as_of': default cannot read 'soon'"
    ):
        DateTimeParameter("as_of", default="soon")


def test_without_pendulum_text_becomes_an_aware_standard_datetime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pendulum", None)  # `import pendulum` now fails
    value = to_datetime("2026-03-01T09:30:00+01:00")
    assert type(value) is datetime
    assert value == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert to_datetime("2026-03-01T09:30") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert to_datetime("20260301T093000Z") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^cannot read 'soon' as a datetime"):
        to_datetime("soon")


def test_the_parameter_classes_resolve_at_prefect_1s_module_paths() -> None:
    from tideflow.core import parameter

    assert parameter.DateTimeParameter is tideflow.DateTimeParameter is DateTimeParameter
    assert parameter.Parameter is tideflow.Parameter
    assert issubclass(DateTimeParameter, Parameter)
