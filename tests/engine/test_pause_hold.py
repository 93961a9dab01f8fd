"""A run whose remaining tasks wait for approval, held by an observer (the store recorder in
real runs): the loop polls the hold on its clock, then resumes the paused tasks or ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tideflow import Flow, task, triggers
from tideflow.clock import FakeClock
from tideflow.engine.observers import Approval, FlowRunInfo, PauseHold, RunObserver
from tideflow.states import Cancelled, Paused, Pending, Success


class ScriptedHold:
    def __init__(self, answers: list[Approval]) -> None:
        self.interval = 5.0
        self.answers = answers

    def poll(self) -> Approval:
        return self.answers.pop(0)


class Holder(RunObserver):
    def __init__(self, answers: list[Approval]) -> None:
        self.answers = answers
        self.waiting: list[list[str]] = []

    def hold_paused(self, run: FlowRunInfo, waiting: Sequence[str]) -> PauseHold | None:
        self.waiting.append(list(waiting))
        return ScriptedHold(self.answers)


@task
def one() -> int:
    return 1


@task(trigger=triggers.manual_only)
def approve(x: int) -> int:
    return x + 100


@task
def inc(x: int) -> int:
    return x + 1


def approval_flow() -> tuple[Flow, Any, Any]:
    with Flow("approval") as flow:
        gate = approve(one())
        after = inc(gate)
    return flow, gate, after


def test_the_loop_waits_on_its_clock_and_runs_the_approved_tasks(fake_clock: FakeClock) -> None:
    flow, _, after = approval_flow()
    holder = Holder(["waiting", "waiting", "resumed"])
    start = fake_clock.now()
    state = flow.run(clock=fake_clock, observers=[holder])
    assert state.is_successful()
    assert state.result[after].result == 102
    assert holder.waiting == [["approve"]]
    assert (fake_clock.now() - start).total_seconds() == 10.0, "two polls 5 s apart"
    history = [s.name for s in state.context["task_history"]["approve"]]
    assert history == ["Paused", "Resume", "Running", "Success"]


@pytest.mark.parametrize("answer", ["cancelled", "ended"])
def test_a_run_cancelled_while_it_waits_ends_cancelled_with_its_paused_tasks(
    fake_clock: FakeClock, answer: Approval
) -> None:
    flow, gate, after = approval_flow()
    state = flow.run(clock=fake_clock, observers=[Holder(["waiting", answer])])
    assert isinstance(state, Cancelled)
    assert "while waiting for approval" in (state.message or "")
    assert isinstance(state.result[gate], Cancelled)
    assert isinstance(state.result[after], Pending)


def test_without_a_hold_the_run_ends_paused_as_an_unrecorded_run_does() -> None:
    flow, gate, after = approval_flow()
    state = flow.run()
    assert isinstance(state, Paused)
    assert isinstance(state.result[gate], Paused)
    assert not isinstance(state.result[after], Success)


def test_a_mapped_task_waiting_for_approval_expands_once_approved(fake_clock: FakeClock) -> None:
    @task
    def items() -> list[int]:
        return [1, 2, 3]

    @task(trigger=triggers.manual_only)
    def approve_each(x: int) -> int:
        return x * 2

    @task
    def total(xs: list[int]) -> int:
        return sum(xs)

    with Flow("mapped approval") as flow:
        doubled = approve_each.map(items())
        summed = total(doubled)
    holder = Holder(["resumed"])
    state = flow.run(clock=fake_clock, observers=[holder])
    assert holder.waiting == [["approve_each"]]
    assert state.result[doubled].result == [2, 4, 6]
    assert state.result[summed].result == 12
