"""The flow-run lifecycle: one table of moves, and what it promises."""

from __future__ import annotations

import pytest

from tideflow import lifecycle
from tideflow.lifecycle import ACTIVE, FAILED, FINAL, STATES, TRANSITIONS, WAITING, allowed


def test_every_state_has_a_row_and_every_target_is_a_state() -> None:
    assert set(TRANSITIONS) == STATES
    assert set().union(*TRANSITIONS.values()) <= STATES


def test_a_waiting_run_must_be_claimed_before_it_runs() -> None:
    for waiting in WAITING:
        assert not allowed(waiting, "Running")
        assert allowed(waiting, "Claimed")


def test_only_a_claimed_or_paused_run_can_start() -> None:
    assert {state for state in STATES if allowed(state, "Running")} == {"Claimed", "Paused"}


@pytest.mark.parametrize("state", sorted(FINAL))
def test_a_final_state_is_final_but_a_failure_may_be_retried(state: str) -> None:
    expected = {"Retrying"} if state in FAILED else set()
    assert TRANSITIONS[state] == expected


def test_a_process_held_run_may_be_asked_to_stop_and_a_waiting_one_is_cancelled_at_once() -> None:
    assert {state for state in ACTIVE if allowed(state, "Cancelling")} == {
        "Claimed",
        "Running",
        "Paused",
    }
    assert all(allowed(state, "Cancelled") for state in WAITING | {"Paused"})
    assert not allowed("Cancelling", "Cancelling")


def test_a_run_being_cancelled_may_still_end_on_its_own() -> None:
    assert TRANSITIONS["Cancelling"] == FINAL


def test_a_released_claim_waits_again_and_nothing_else_goes_back_to_scheduled() -> None:
    assert {state for state in STATES if allowed(state, "Scheduled")} == {"Claimed"}
    assert {state for state in STATES if allowed(state, "Retrying")} == FAILED | {"Claimed"}


def test_only_the_schedule_s_waiting_slot_can_be_skipped() -> None:
    assert {state for state in STATES if allowed(state, "Skipped")} == {
        "Scheduled",
        "Running",
        "Paused",
        "Cancelling",
    }


def test_a_paused_run_is_held_by_its_process_until_it_is_resumed() -> None:
    assert "Paused" in ACTIVE
    assert {state for state in STATES if allowed(state, "Paused")} == {"Running"}
    assert allowed("Paused", "Running")
    assert not allowed("Paused", "Claimed")  # its own process resumes it: nobody claims it
    assert {"Crashed", "TimedOut", "Cancelled"} <= TRANSITIONS["Paused"]


def test_a_refusal_says_what_the_run_is_and_what_it_may_become() -> None:
    assert lifecycle.describe_refusal("r1", "Success", "Running") == (
        "flow run r1 is Success, which cannot become Running; from Success it may become "
        "nothing (it is final)"
    )
    assert lifecycle.describe_refusal("r1", "Scheduled", "Running") == (
        "flow run r1 is Scheduled, which cannot become Running; from Scheduled it may become "
        "Cancelled, Claimed, Skipped"
    )
