"""The per-process cache of closed tickets: loaded once, loaded again when the file changes or
when synthetic data has been kept long enough, and the ISO weeks of the closing dates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tideflow.reference import IncidentData, generate_incidents, tickets, write_incidents_zip
from tideflow.reference.tickets import clear_ticket_cache, iso_weeks, ticket_data


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every location the cache asks the loader for, in order."""
    calls: list[str] = []
    real = tickets.load_incidents

    def counting(location: str) -> IncidentData:
        calls.append(location)
        return real(location)

    monkeypatch.setattr(tickets, "load_incidents", counting)
    clear_ticket_cache()
    yield calls
    clear_ticket_cache()


def test_a_source_is_loaded_once_per_process(incidents: Path, loads: list[str]) -> None:
    first = ticket_data()
    assert ticket_data() is first
    assert ticket_data(incidents) is first
    assert loads == [str(incidents)]
    assert first.source == str(incidents)
    assert not first.synthetic


def test_a_replaced_file_is_loaded_again(tmp_path: Path, loads: list[str]) -> None:
    path = write_incidents_zip(30, tmp_path / "log.zip", seed=1)
    before = ticket_data(path)
    write_incidents_zip(45, path, seed=2)
    os.utime(path, ns=(1, 1))  # a new mtime even on a coarse clock
    after = ticket_data(path)
    assert len(loads) == 2
    assert (len(before.tickets), len(after.tickets)) == (30, 45)
    assert before.checksum != after.checksum


def test_synthetic_data_is_loaded_again_after_a_while(
    monkeypatch: pytest.MonkeyPatch, loads: list[str]
) -> None:
    url = "https://example.invalid/incidents.zip"

    def offline(location: str) -> IncidentData:
        loads.append(location)
        return IncidentData(generate_incidents(10), location, "0" * 64, True, "SYNTHETIC DATA")

    monkeypatch.setattr(tickets, "load_incidents", offline)
    now = [1000.0]
    monkeypatch.setattr(tickets.time, "monotonic", lambda: now[0])
    ticket_data(url)
    now[0] += tickets.SYNTHETIC_RETRY - 1
    assert ticket_data(url).synthetic
    assert len(loads) == 1
    now[0] += 2
    ticket_data(url)
    assert len(loads) == 2


def test_weeks_hold_the_row_positions_of_the_tickets_closed_that_week(incidents: Path) -> None:
    data = ticket_data()
    assert list(data.weeks) == sorted(data.weeks)
    assert sum(len(rows) for rows in data.weeks.values()) == len(data.tickets)
    week, rows = next(iter(data.weeks.items()))
    frame = data.week(week)
    assert len(frame) == len(rows)
    assert set(iso_weeks(frame["closed_at"])) == {week}


def test_an_empty_week_is_an_error_naming_the_weeks_there_are(incidents: Path) -> None:
    with pytest.raises(KeyError, match=r"no closed ticket in week '1999-W01'.*weeks with tickets"):
        ticket_data().week("1999-W01")


def test_iso_weeks_use_iso_years() -> None:
    times = pd.Series(pd.to_datetime(["2016-01-03 23:59", "2016-01-04 00:00", "2017-01-01 12:00"]))
    assert iso_weeks(times).tolist() == ["2015-W53", "2016-W01", "2016-W52"]
