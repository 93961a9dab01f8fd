"""Clocks: the system clock, and a fake clock that moves only when told to or idled on."""

from __future__ import annotations

import queue
import re
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tideflow import clock as clock_module
from tideflow.clock import SYSTEM_CLOCK, FakeClock, SystemClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# -- SystemClock ----------------------------------------------------------------------------


def test_the_system_clock_returns_the_current_time_as_aware_utc() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)

    assert now.tzinfo is UTC
    assert before <= now <= after


def test_the_system_clock_sleeps_with_time_sleep_and_skips_non_positive_durations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(clock_module, "time", SimpleNamespace(sleep=slept.append))

    SystemClock().sleep(0)
    SystemClock().sleep(-3)
    SystemClock().sleep(1.5)

    assert slept == [1.5]


def test_the_system_clock_wait_returns_a_queued_item() -> None:
    q: queue.SimpleQueue[str] = queue.SimpleQueue()
    q.put("done")

    assert SystemClock().wait(q, timeout=5) == "done"


@pytest.mark.parametrize("timeout", [0, -1])
def test_the_system_clock_wait_on_an_empty_queue_gives_none_after_the_timeout(
    timeout: float,
) -> None:
    q: queue.SimpleQueue[str] = queue.SimpleQueue()

    assert SystemClock().wait(q, timeout=timeout) is None


def test_there_is_one_shared_system_clock() -> None:
    assert isinstance(SYSTEM_CLOCK, SystemClock)
    assert repr(SYSTEM_CLOCK) == "SystemClock()"


# -- FakeClock ------------------------------------------------------------------------------


def test_a_fake_clock_starts_where_it_is_told_and_stays_there() -> None:
    fake = FakeClock(START)

    assert fake.now() == START
    assert fake.now() == START


def test_a_fake_clock_starts_on_new_year_2026_by_default() -> None:
    assert FakeClock().now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_fake_clock_converts_an_aware_start_to_utc() -> None:
    paris_noon = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    now = FakeClock(paris_noon).now()

    assert now == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert now.utcoffset() == timedelta(0)


def test_a_fake_clock_refuses_a_naive_start() -> None:
    naive = datetime(2026, 1, 1)

    with pytest.raises(
        ValueError, match=re.escape(f"FakeClock needs a timezone-aware start, got {naive!r}")
    ):
        FakeClock(naive)


def test_advance_moves_the_clock_by_seconds_or_a_timedelta_and_returns_the_new_time() -> None:
    fake = FakeClock(START)

    assert fake.advance(30) == START + timedelta(seconds=30)
    assert fake.advance(timedelta(hours=1)) == START + timedelta(hours=1, seconds=30)
    assert fake.now() == START + timedelta(hours=1, seconds=30)


def test_sleep_advances_the_clock_at_once_and_records_the_duration() -> None:
    fake = FakeClock(START)
    started = time.monotonic()

    fake.sleep(3600)
    fake.sleep(0.5)

    assert fake.now() == START + timedelta(seconds=3600.5)
    assert fake.slept == [3600, 0.5]
    assert time.monotonic() - started < 1


def test_sleeping_for_zero_or_less_does_nothing() -> None:
    fake = FakeClock(START)

    fake.sleep(0)
    fake.sleep(-5)

    assert fake.now() == START
    assert fake.slept == []


def test_wait_returns_a_queued_item_without_moving_the_clock() -> None:
    fake = FakeClock(START)
    q: queue.SimpleQueue[str] = queue.SimpleQueue()
    q.put("first")
    q.put("second")

    assert fake.wait(q, timeout=60) == "first"
    assert fake.wait(q, timeout=None) == "second"
    assert fake.now() == START


def test_an_idle_wait_advances_by_the_timeout_without_sleeping_for_real() -> None:
    fake = FakeClock(START)
    q: queue.SimpleQueue[str] = queue.SimpleQueue()
    started = time.monotonic()

    assert fake.wait(q, timeout=3600) is None

    assert fake.now() == START + timedelta(hours=1)
    assert time.monotonic() - started < 1
    assert fake.slept == []


def test_an_idle_wait_with_a_negative_timeout_does_not_move_the_clock_back() -> None:
    fake = FakeClock(START)

    assert fake.wait(queue.SimpleQueue(), timeout=-10) is None
    assert fake.now() == START


def test_a_wait_without_timeout_blocks_until_an_item_arrives() -> None:
    fake = FakeClock(START)
    q: queue.SimpleQueue[str] = queue.SimpleQueue()
    producer = threading.Thread(target=q.put, args=("from another thread",))
    producer.start()

    assert fake.wait(q, timeout=None) == "from another thread"
    producer.join(timeout=10)
    assert fake.now() == START


def test_a_fake_clock_can_be_advanced_from_several_threads() -> None:
    fake = FakeClock(START)

    def tick() -> None:
        for _ in range(500):
            fake.advance(1)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    assert fake.now() == START + timedelta(seconds=2000)


def test_a_fake_clock_repr_shows_its_time() -> None:
    assert repr(FakeClock(START)) == "FakeClock(2026-03-01T12:00:00+00:00)"
