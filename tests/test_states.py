"""States: the class hierarchy behind the predicates, and the explicit transition table."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tideflow import states
from tideflow.errors import InvalidTransition
from tideflow.states import (
    TRANSITIONS,
    Cached,
    Cancelled,
    Cancelling,
    Claimed,
    Crashed,
    Failed,
    Finished,
    Looped,
    Mapped,
    Paused,
    Pending,
    Queued,
    Resume,
    Retrying,
    Running,
    Scheduled,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    check_transition,
    state_from_name,
)


def all_state_classes() -> list[type[State]]:
    found: list[type[State]] = []
    todo = [State]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


# Which predicates are true for each concrete state class; every other predicate is false.
TRUE_PREDICATES: dict[type[State], set[str]] = {
    Pending: {"is_pending"},
    Scheduled: {"is_pending", "is_scheduled"},
    Retrying: {"is_pending", "is_scheduled", "is_retrying"},
    Paused: {"is_pending", "is_scheduled", "is_paused"},
    Resume: {"is_pending", "is_scheduled", "is_resume"},
    Claimed: {"is_pending"},
    Queued: {"is_pending", "is_queued"},
    Running: {"is_running"},
    Cancelling: {"is_running"},
    Success: {"is_finished", "is_successful"},
    Cached: {"is_finished", "is_successful", "is_cached"},
    Mapped: {"is_finished", "is_successful", "is_mapped"},
    Skipped: {"is_finished", "is_successful", "is_skipped"},
    Failed: {"is_finished", "is_failed"},
    TimedOut: {"is_finished", "is_failed", "is_timed_out"},
    TriggerFailed: {"is_finished", "is_failed"},
    Crashed: {"is_finished", "is_failed", "is_crashed"},
    Looped: {"is_finished", "is_looped"},
    Cancelled: {"is_finished", "is_cancelled"},
}
PREDICATES = sorted(name for name in vars(State) if name.startswith("is_"))
CONCRETE = list(TRUE_PREDICATES)


# -- predicates -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
def test_predicates_are_true_exactly_for_the_classes_they_describe(cls: type[State]) -> None:
    state = cls()

    truth = {name for name in PREDICATES if getattr(state, name)()}

    assert truth == TRUE_PREDICATES[cls]


def test_the_predicate_table_covers_every_state_class_and_every_predicate() -> None:
    classes = {c for c in all_state_classes() if c not in (State, Finished)}

    assert set(CONCRETE) == classes
    assert set().union(*TRUE_PREDICATES.values()) == set(PREDICATES)


def test_success_variants_are_successful_and_failure_variants_are_failed() -> None:
    assert all(cls().is_successful() for cls in (Success, Cached, Mapped, Skipped))
    assert all(cls().is_failed() for cls in (Failed, TimedOut, TriggerFailed, Crashed))
    assert all(cls().is_pending() for cls in (Pending, Scheduled, Retrying, Paused))
    assert not Cancelled().is_failed()
    assert not Cancelled().is_successful()


def test_the_base_classes_answer_no_to_every_outcome() -> None:
    assert not any(getattr(State(), name)() for name in PREDICATES)
    assert {name for name in PREDICATES if getattr(Finished(), name)()} == {"is_finished"}


# -- transitions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Pending, Running),
        (Pending, Scheduled),
        (Pending, Paused),
        (Pending, Skipped),
        (Pending, TriggerFailed),
        (Pending, Cached),
        (Pending, Cancelled),
        (Pending, Queued),  # ready, waiting for a concurrency slot
        (Retrying, Queued),
        (Queued, Running),
        (Queued, Cancelled),
        (Scheduled, Running),
        (Scheduled, Pending),
        (Retrying, Running),
        (Retrying, Cancelled),
        (Paused, Running),
        (Paused, Cancelled),
        (Running, Success),
        (Running, Cached),
        (Running, Mapped),
        (Running, Skipped),
        (Running, Failed),
        (Running, TimedOut),
        (Running, TriggerFailed),
        (Running, Retrying),
        (Running, Paused),
        (Running, Cancelled),
        (Running, Crashed),
    ],
    ids=lambda c: c.__name__,
)
def test_allowed_moves_pass_check_transition(old: type[State], new: type[State]) -> None:
    check_transition(old(), new())

    assert new in TRANSITIONS[old]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Success, Running),
        (Success, Failed),
        (Failed, Running),
        (Failed, Retrying),
        (Cancelled, Running),
        (Crashed, Running),
        (Skipped, Success),
        (Running, Running),
        (Running, Pending),
        (Running, Scheduled),
        (Pending, Retrying),
        (Pending, TimedOut),
        (Retrying, Success),
    ],
    ids=lambda c: c.__name__,
)
def test_forbidden_moves_raise_invalid_transition(old: type[State], new: type[State]) -> None:
    with pytest.raises(
        InvalidTransition,
        match=re.escape(f"a run cannot move from {old.__name__} to {new.__name__}; "),
    ):
        check_transition(old(), new())


def test_an_invalid_transition_names_both_states_and_what_is_allowed() -> None:
    with pytest.raises(
        InvalidTransition,
        match=re.escape("a run cannot move from Success to Running; allowed from Success: []"),
    ):
        check_transition(Success(), Running())

    with pytest.raises(
        InvalidTransition,
        match=re.escape(
            "a run cannot move from Retrying to Success; allowed from Retrying: "
            "['Cancelled', 'Queued', 'Running', 'Skipped', 'TriggerFailed']"
        ),
    ):
        check_transition(Retrying(), Success())


@pytest.mark.parametrize(
    "cls",
    [Success, Cached, Mapped, Skipped, Failed, TimedOut, TriggerFailed, Crashed, Cancelled],
    ids=lambda c: c.__name__,
)
def test_finished_states_are_final(cls: type[State]) -> None:
    assert TRANSITIONS[cls] == frozenset()


FLOW_RUN_ONLY = {Claimed, Cancelling}
"""States only flow runs are in; tideflow.lifecycle has their moves."""


def test_every_task_state_class_appears_in_the_transition_table() -> None:
    concrete = {c for c in all_state_classes() if c not in (State, Finished)} - FLOW_RUN_ONLY

    assert set(TRANSITIONS) == concrete
    assert set().union(*TRANSITIONS.values()) <= set(TRANSITIONS)


def test_the_abstract_base_states_cannot_be_moved_from() -> None:
    with pytest.raises(InvalidTransition, match=re.escape("allowed from Finished: []")):
        check_transition(Finished(), Running())
    with pytest.raises(InvalidTransition, match=re.escape("allowed from State: []")):
        check_transition(State(), Running())


def test_the_module_exports_every_state_class() -> None:
    assert {c.__name__ for c in all_state_classes()} <= set(states.__all__)


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
def test_state_from_name_returns_the_class_of_that_name(cls: type[State]) -> None:
    assert state_from_name(cls.__name__) is cls
    assert cls().name == cls.__name__


def test_state_from_name_refuses_an_unknown_name_and_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=re.escape("unknown state name 'Succes'; known: ['Cached', 'Cancelled',")
    ):
        state_from_name("Succes")


# -- values ---------------------------------------------------------------------------------


def test_states_are_equal_when_type_and_result_are_equal() -> None:
    assert Success("one message", result=[1, 2]) == Success("another message", result=[1, 2])
    assert Success(result=1) != Success(result=2)
    assert Success(result=1) != Cached(result=1)
    assert Failed(result=None) != Success(result=None)
    assert Success(result=1) != 1
    assert Pending() == Pending()


def test_states_with_results_that_cannot_be_compared_are_unequal_unless_identical() -> None:
    class Incomparable:
        def __eq__(self, other: object) -> bool:
            raise TypeError("ambiguous")

        __hash__ = object.__hash__

    value = Incomparable()

    assert Success(result=value) == Success(result=value)
    assert Success(result=value) != Success(result=Incomparable())


def test_states_are_not_hashable() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(Success())


def test_repr_shows_the_class_and_the_message() -> None:
    assert repr(Success("all good")) == "<Success: 'all good'>"
    assert repr(Pending()) == "<Pending>"
    assert repr(TriggerFailed("upstream failed")) == "<TriggerFailed: 'upstream failed'>"


def test_a_state_records_message_result_context_and_an_aware_utc_timestamp() -> None:
    before = datetime.now(UTC)
    state = Failed("boom", ValueError("x"), context={"attempt": 2})
    after = datetime.now(UTC)

    assert state.message == "boom"
    assert isinstance(state.result, ValueError)
    assert state.context == {"attempt": 2}
    assert state.timestamp.utcoffset() is not None
    assert before <= state.timestamp <= after


def test_each_state_gets_its_own_context_dict() -> None:
    first, second = Running(), Running()
    first.context["x"] = 1

    assert second.context == {}


def test_an_explicit_timestamp_is_kept() -> None:
    when = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)

    assert Success(timestamp=when).timestamp == when


def test_scheduled_and_retrying_states_carry_their_start_time_and_run_count() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)

    assert Scheduled(start_time=when).start_time == when
    assert Scheduled().start_time is None
    retrying = Retrying("again", start_time=when, run_count=3)
    assert (retrying.start_time, retrying.run_count, retrying.message) == (when, 3, "again")
    assert Retrying().run_count == 1
    assert Paused().start_time is None


def test_a_mapped_state_holds_its_children_states() -> None:
    children: list[State] = [Success(result=1), Failed()]

    assert Mapped(map_states=children).map_states == children
    assert Mapped().map_states == []


def test_every_state_class_has_a_colour() -> None:
    for cls in CONCRETE:
        assert re.fullmatch(r"#[0-9a-f]{6}", cls.color), cls
