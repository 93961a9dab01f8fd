"""The real log's distributions, as the generator reads them: consistent with each other."""

from __future__ import annotations

from tideflow.reference import distributions as dist
from tideflow.reference.schema import LEVELS, PRIORITIES, STATES


def test_pool_values_lie_in_their_ranges() -> None:
    for name, pool in dist.POOLS.items():
        low, high, tail = pool.tail
        assert all(low <= value <= high for value in pool.top), name
        assert tail >= 0, name
        assert all(count > 0 for count in pool.top.values()), name


def test_state_paths_use_known_states_and_end_closed() -> None:
    assert set(dist.STATE_CODES.values()) == set(STATES)
    items = [item.split(":") for item in dist.STATE_PATHS.split()]
    assert len(items) == 100
    for code, count in items:
        assert set(code) <= set(dist.STATE_CODES)
        assert code.endswith("C")
        assert int(count) > 0
    assert set(dist.REPEAT) == set(STATES)


def test_priorities_come_from_impact_and_urgency() -> None:
    for impact, urgency, priority in dist.IMPACT_URGENCY_PRIORITY:
        assert impact in LEVELS
        assert urgency in LEVELS
        assert priority in PRIORITIES
    assert set(dist.SLA_DAYS) == set(PRIORITIES)


def test_shares_are_shares() -> None:
    assert all(0 <= share <= 1 for share in dist.MISSING_SHARES.values())
    assert abs(sum(dist.MOD_STEPS.values()) - 1) < 1e-9
    assert len(dist.OPENED_BY_WEEKDAY) == 7
    assert len(dist.OPENED_BY_HOUR) == 24
