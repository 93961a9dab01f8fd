"""Triggers: deciding from upstream states whether a task runs, fails its trigger or pauses."""

from __future__ import annotations

import re

import pytest

from tideflow import context, triggers
from tideflow.graph import Edge
from tideflow.signals import PAUSE, SKIP, TRIGGERFAIL
from tideflow.states import (
    Cached,
    Cancelled,
    Failed,
    Mapped,
    Paused,
    Pending,
    Retrying,
    Running,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)
from tideflow.triggers import (
    all_failed,
    all_finished,
    all_successful,
    always_run,
    any_failed,
    any_successful,
    manual_only,
    not_all_skipped,
    some_failed,
    some_successful,
)


def ups(*states: State) -> dict[str, State]:
    """Upstream states keyed by made-up task keys."""
    return {f"task-{i}": s for i, s in enumerate(states)}


# -- all_successful -------------------------------------------------------------------------


def test_all_successful_passes_when_every_upstream_succeeded_in_any_way() -> None:
    assert all_successful(ups(Success(), Cached(), Mapped(), Skipped())) is True


def test_all_successful_passes_with_no_upstream_tasks() -> None:
    assert all_successful({}) is True


@pytest.mark.parametrize(
    "bad", [Failed(), TimedOut(), TriggerFailed(), Cancelled(), Pending(), Running()]
)
def test_all_successful_fails_the_trigger_for_any_other_upstream_state(bad: State) -> None:
    with pytest.raises(
        TRIGGERFAIL,
        match=re.escape("trigger all_successful: 1 upstream task(s) did not succeed"),
    ) as exc:
        all_successful(ups(Success(), bad, Skipped()))

    assert isinstance(exc.value.state, TriggerFailed)


def test_all_successful_counts_every_upstream_that_did_not_succeed() -> None:
    with pytest.raises(TRIGGERFAIL, match=re.escape("3 upstream task(s) did not succeed")):
        all_successful(ups(Failed(), Success(), TriggerFailed(), TimedOut()))


def test_the_keys_of_the_upstream_states_can_be_graph_edges() -> None:
    upstream = {Edge("a", "c", "x"): Success(), Edge("b", "c"): Failed()}

    with pytest.raises(TRIGGERFAIL, match=re.escape("1 upstream task(s) did not succeed")):
        all_successful(upstream)
    assert any_failed(upstream) is True


# -- all_failed, any_successful, any_failed -------------------------------------------------


def test_all_failed_passes_when_every_upstream_failed_in_any_way() -> None:
    assert all_failed(ups(Failed(), TimedOut(), TriggerFailed())) is True
    assert all_failed({}) is True


@pytest.mark.parametrize("other", [Success(), Skipped(), Cancelled(), Pending()])
def test_all_failed_fails_the_trigger_when_an_upstream_did_not_fail(other: State) -> None:
    with pytest.raises(
        TRIGGERFAIL, match=re.escape("trigger all_failed: some upstream tasks did not fail")
    ):
        all_failed(ups(Failed(), other))


def test_any_successful_passes_when_one_upstream_succeeded() -> None:
    assert any_successful(ups(Failed(), TriggerFailed(), Skipped())) is True
    assert any_successful(ups(Success())) is True
    assert any_successful({}) is True


def test_any_successful_fails_the_trigger_when_none_succeeded() -> None:
    with pytest.raises(
        TRIGGERFAIL, match=re.escape("trigger any_successful: no upstream task succeeded")
    ):
        any_successful(ups(Failed(), Cancelled(), TimedOut()))


def test_any_failed_passes_when_one_upstream_failed() -> None:
    assert any_failed(ups(Success(), TriggerFailed())) is True
    assert any_failed({}) is True


def test_any_failed_fails_the_trigger_when_none_failed() -> None:
    with pytest.raises(TRIGGERFAIL, match=re.escape("trigger any_failed: no upstream task failed")):
        any_failed(ups(Success(), Skipped(), Cancelled()))


# -- all_finished / always_run --------------------------------------------------------------


def test_all_finished_passes_whatever_the_outcome() -> None:
    upstream = ups(Success(), Failed(), Skipped(), Cancelled(), TimedOut(), Mapped())

    assert all_finished(upstream) is True
    assert all_finished({}) is True


@pytest.mark.parametrize("unfinished", [Pending(), Running(), Retrying(), Paused()])
def test_all_finished_fails_the_trigger_while_an_upstream_is_unfinished(
    unfinished: State,
) -> None:
    with pytest.raises(
        TRIGGERFAIL,
        match=re.escape("trigger all_finished: some upstream tasks have not finished"),
    ):
        all_finished(ups(Success(), unfinished))


def test_always_run_is_all_finished() -> None:
    assert always_run is all_finished


# -- not_all_skipped ------------------------------------------------------------------------


def test_not_all_skipped_passes_when_some_upstream_did_more_than_skip() -> None:
    assert not_all_skipped(ups(Skipped(), Success())) is True
    assert not_all_skipped({}) is True


def test_not_all_skipped_skips_the_task_when_every_upstream_skipped() -> None:
    with pytest.raises(
        SKIP, match=re.escape("trigger not_all_skipped: every upstream task was skipped")
    ) as raised:
        not_all_skipped(ups(Skipped(), Skipped()))
    assert isinstance(raised.value.state, Skipped)
    assert not isinstance(raised.value, TRIGGERFAIL)


def test_not_all_skipped_still_fails_the_trigger_on_a_failed_upstream() -> None:
    with pytest.raises(
        TRIGGERFAIL,
        match=re.escape("trigger not_all_skipped: some upstream tasks did not succeed"),
    ):
        not_all_skipped(ups(Success(), Failed()))


# -- some_successful / some_failed ----------------------------------------------------------


def test_some_successful_passes_within_its_bounds() -> None:
    upstream = ups(Success(), Skipped(), Failed())

    assert some_successful(at_least=2)(upstream) is True
    assert some_successful(at_most=2)(upstream) is True
    assert some_successful(at_least=1, at_most=3)(upstream) is True
    assert some_successful()(upstream) is True


def test_some_successful_fails_the_trigger_below_at_least() -> None:
    with pytest.raises(
        TRIGGERFAIL,
        match=re.escape(
            "trigger some_successful: 1 of 3 upstream tasks successful, fewer than the 2 required"
        ),
    ):
        some_successful(at_least=2)(ups(Success(), Failed(), Failed()))


def test_some_successful_fails_the_trigger_above_at_most() -> None:
    with pytest.raises(
        TRIGGERFAIL,
        match=re.escape(
            "trigger some_successful: 2 of 3 upstream tasks successful, more than the 1 allowed"
        ),
    ):
        some_successful(at_most=1)(ups(Success(), Cached(), Failed()))


def test_some_successful_reads_bounds_below_one_as_fractions_of_the_upstream_tasks() -> None:
    half = some_successful(at_least=0.5)
    quarter_at_most = some_successful(at_most=0.25)

    assert half(ups(Success(), Success(), Failed(), Failed())) is True
    with pytest.raises(
        TRIGGERFAIL, match=re.escape("1 of 4 upstream tasks successful, fewer than the 0.5")
    ):
        half(ups(Success(), Failed(), Failed(), Failed()))
    assert quarter_at_most(ups(Success(), Failed(), Failed(), Failed())) is True
    with pytest.raises(TRIGGERFAIL, match=re.escape("more than the 0.25 allowed")):
        quarter_at_most(ups(Success(), Success(), Failed(), Failed()))


def test_a_bound_of_one_is_a_count_not_a_fraction() -> None:
    at_least_one = some_successful(at_least=1)

    assert at_least_one(ups(Success(), Failed(), Failed())) is True


def test_some_successful_with_at_least_fails_with_no_upstream_tasks() -> None:
    with pytest.raises(TRIGGERFAIL, match=re.escape("0 of 0 upstream tasks successful")):
        some_successful(at_least=1)({})


def test_some_failed_counts_failures() -> None:
    upstream = ups(Failed(), TriggerFailed(), Success(), Success())

    assert some_failed(at_least=2)(upstream) is True
    assert some_failed(at_least=0.5, at_most=0.5)(upstream) is True
    with pytest.raises(
        TRIGGERFAIL,
        match=re.escape(
            "trigger some_failed: 2 of 4 upstream tasks failed, more than the 1 allowed"
        ),
    ):
        some_failed(at_most=1)(upstream)
    with pytest.raises(
        TRIGGERFAIL, match=re.escape("2 of 4 upstream tasks failed, fewer than the 3 required")
    ):
        some_failed(at_least=3)(upstream)


def test_counting_triggers_are_named_after_what_they_count() -> None:
    assert some_successful(at_least=1).__name__ == "some_successful"
    assert some_failed(at_least=1).__name__ == "some_failed"


# -- manual_only ----------------------------------------------------------------------------


@pytest.mark.parametrize("upstream", [{}, ups(Success()), ups(Failed())], ids=["none", "ok", "bad"])
def test_manual_only_pauses_without_approval(upstream: dict[str, State]) -> None:
    with pytest.raises(PAUSE, match=re.escape("trigger manual_only: waiting for approval")) as exc:
        manual_only(upstream)

    assert isinstance(exc.value.state, Paused)


def test_manual_only_passes_once_resumed() -> None:
    with context(resume=True):
        assert manual_only(ups(Success())) is True


def test_manual_only_still_pauses_when_resume_is_false() -> None:
    with context(resume=False), pytest.raises(PAUSE):
        manual_only(ups(Success()))


# -- mapped upstream tasks ------------------------------------------------------------------


def test_a_mapped_upstream_counts_as_each_of_its_children() -> None:
    mapped = Mapped(map_states=[Success(), Failed(), Success()])

    with pytest.raises(TRIGGERFAIL, match=re.escape("1 upstream task(s) did not succeed")):
        all_successful(ups(mapped, Success()))
    assert any_failed(ups(mapped)) is True
    with pytest.raises(
        TRIGGERFAIL, match=re.escape("2 of 4 upstream tasks successful, more than the 1 allowed")
    ):
        some_successful(at_most=1)(ups(mapped, Failed()))


def test_a_mapped_upstream_with_all_children_successful_passes_all_successful() -> None:
    mapped = Mapped(map_states=[Success(), Skipped(), Cached()])

    assert all_successful(ups(mapped)) is True
    with pytest.raises(SKIP, match=re.escape("every upstream task was skipped")):
        not_all_skipped(ups(Mapped(map_states=[Skipped(), Skipped()])))


def test_mapped_children_that_all_failed_pass_all_failed() -> None:
    assert all_failed(ups(Mapped(map_states=[Failed(), TimedOut()]))) is True


# -- the catalogue --------------------------------------------------------------------------


def test_every_listed_trigger_is_a_callable_of_the_module() -> None:
    names = set(triggers.__all__)

    assert names == {
        "all_failed",
        "all_finished",
        "all_successful",
        "always_run",
        "any_failed",
        "any_successful",
        "manual_only",
        "not_all_skipped",
        "some_failed",
        "some_successful",
    }
    assert all(callable(getattr(triggers, n)) for n in names)
