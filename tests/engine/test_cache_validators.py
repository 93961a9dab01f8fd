"""Cache validators: which cached results may stand in for a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tideflow.engine.cache_validators import (
    all_inputs,
    all_parameters,
    clock,
    duration_only,
    never_use,
    partial_inputs_only,
    partial_parameters_only,
)
from tideflow.states import Cached, Success

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def cached(expires_in: float = 60, **kw: object) -> Cached:
    return Cached(
        "c",
        1,
        cached_result_expiration=NOW + timedelta(seconds=expires_in),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _frozen_time():  # type: ignore[no-untyped-def]
    with clock(lambda: NOW):
        yield


def test_never_use_never_accepts() -> None:
    assert not never_use(cached(), {}, {})


def test_duration_only_accepts_until_the_expiry_whatever_the_inputs() -> None:
    assert duration_only(cached(60), {"x": 1}, {"p": 2})
    assert not duration_only(cached(-1), {}, {})
    assert duration_only(Cached("no expiry"), {}, {})
    assert not duration_only(Success("not a cached state"), {}, {})


def test_all_inputs_needs_the_same_inputs_and_no_expiry() -> None:
    state = cached(cached_inputs={"x": 1, "y": [1, 2]})
    assert all_inputs(state, {"x": 1, "y": [1, 2]}, {})
    assert not all_inputs(state, {"x": 2, "y": [1, 2]}, {})
    assert not all_inputs(state, {"x": 1}, {})
    assert not all_inputs(cached(-1, cached_inputs={"x": 1}), {"x": 1}, {})
    assert not all_inputs(cached(), {"x": 1}, {})  # inputs were not kept


def test_inputs_without_a_plain_equality_are_compared_by_their_bytes() -> None:
    array = np.array([1, 2])
    state = cached(cached_inputs={"a": array})
    assert all_inputs(state, {"a": array.copy()}, {})
    assert not all_inputs(state, {"a": np.array([1, 3])}, {})


def test_all_parameters_needs_the_same_parameters() -> None:
    state = cached(cached_parameters={"day": "mon", "n": 3})
    assert all_parameters(state, {"x": 99}, {"day": "mon", "n": 3})
    assert not all_parameters(state, {}, {"day": "tue", "n": 3})


def test_partial_validators_compare_only_the_names_given() -> None:
    state = cached(cached_inputs={"x": 1, "seed": 5}, cached_parameters={"day": "mon", "n": 3})
    on_x = partial_inputs_only(validate_on=["x"])
    assert on_x(state, {"x": 1, "seed": 6}, {})
    assert not on_x(state, {"x": 2, "seed": 5}, {})
    on_day = partial_parameters_only(validate_on=["day"])
    assert on_day(state, {}, {"day": "mon", "n": 4})
    assert not on_day(state, {}, {"day": "tue", "n": 3})
    assert partial_parameters_only()(state, {}, {"day": "mon", "n": 3})
    assert not partial_inputs_only()(state, {"x": 1}, {})


def test_validate_on_must_be_a_list_of_names() -> None:
    with pytest.raises(TypeError, match=r"validate_on=\['x'\]"):
        partial_inputs_only(validate_on="x")
