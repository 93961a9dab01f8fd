"""Signals: exceptions a task raises to choose its own final state."""

from __future__ import annotations

import pytest

from tideflow import signals
from tideflow.signals import (
    ENDRUN,
    FAIL,
    LOOP,
    PAUSE,
    RETRY,
    SKIP,
    SUCCESS,
    TRIGGERFAIL,
    Signal,
)
from tideflow.states import (
    Failed,
    Looped,
    Paused,
    Retrying,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)

SIGNAL_STATES: list[tuple[type[Signal], type[State]]] = [
    (FAIL, Failed),
    (TRIGGERFAIL, TriggerFailed),
    (SUCCESS, Success),
    (SKIP, Skipped),
    (PAUSE, Paused),
    (RETRY, Retrying),
    (LOOP, Looped),
]


@pytest.mark.parametrize(("signal", "state_class"), SIGNAL_STATES, ids=lambda c: c.__name__)
def test_each_signal_carries_a_state_of_its_class_with_its_message(
    signal: type[Signal], state_class: type[State]
) -> None:
    raised = signal("why")

    assert type(raised.state) is state_class
    assert raised.state.message == "why"
    assert raised.message == "why"
    assert str(raised) == "why"


@pytest.mark.parametrize(("signal", "state_class"), SIGNAL_STATES, ids=lambda c: c.__name__)
def test_the_signal_is_the_result_of_its_state_by_default(
    signal: type[Signal], state_class: type[State]
) -> None:
    raised = signal("why")

    assert raised.state.result is raised


def test_a_result_given_to_the_signal_becomes_the_state_result() -> None:
    assert SUCCESS("done early", result=42).state.result == 42
    assert FAIL("bad", result={"rows": 0}).state.result == {"rows": 0}


def test_an_explicit_result_of_none_is_kept() -> None:
    assert SKIP("nothing to do", result=None).state.result is None


def test_a_signal_without_a_message_has_none() -> None:
    raised = SKIP()

    assert raised.message is None
    assert raised.state.message is None
    assert raised.state.result is raised


def test_every_raise_builds_its_own_state() -> None:
    first, second = FAIL("x"), FAIL("x")

    assert first.state is not second.state
    assert first.state.result is first


def test_signal_hierarchy_lets_callers_catch_the_general_case() -> None:
    assert issubclass(TRIGGERFAIL, FAIL)
    assert issubclass(SKIP, SUCCESS)
    for signal, _ in SIGNAL_STATES:
        assert issubclass(signal, Signal)
        assert issubclass(signal, Exception)

    with pytest.raises(FAIL, match="trigger said no") as exc:
        raise TRIGGERFAIL("trigger said no")
    assert isinstance(exc.value.state, TriggerFailed)


def test_endrun_carries_exactly_the_state_it_was_given() -> None:
    state = TimedOut("took too long", result=TimeoutError())

    with pytest.raises(ENDRUN, match="took too long") as exc:
        raise ENDRUN(state)

    assert exc.value.state is state


def test_endrun_is_not_a_state_signal() -> None:
    assert not issubclass(ENDRUN, Signal)
    assert issubclass(ENDRUN, Exception)
    assert "ENDRUN" not in {c.__name__ for c in Signal.__subclasses__()}
    assert signals.ENDRUN is ENDRUN
