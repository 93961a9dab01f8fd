"""One behaviour suite, run on every executor: the same flows end in the same states.

``executor`` (see ``conftest.py``) is in turn the ``LocalExecutor``, a ``LocalDaskExecutor``
with two threads, one with two processes, and a ``DaskExecutor`` on a LocalCluster of two worker
processes. The expected values are written out once, so a difference between executors fails
the test of the executor that differs. Processes share no memory, so tasks report what happened
to them (their attempt number, their process id) through their results, never through a list
in the test.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from tests.executors.flows import (
    add,
    boom,
    chatty,
    inc,
    interrupt,
    measured,
    numbers,
    one,
    picky,
    pid,
    ran,
    rendezvous,
    skip_two,
    skipper,
    sleeps_too_long,
    slow_then_fast,
    third_time_lucky,
    total,
    waits_to_be_seen,
)
from tests.executors.support import by_key, outcome

from tideflow import Flow, Task, flatten, triggers, unmapped
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.executors import DaskExecutor, Executor, LocalDaskExecutor, LocalExecutor
from tideflow.states import (
    Cancelled,
    Failed,
    Mapped,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)
from tideflow.store import MemoryStore


def history(state: State, unit: str) -> list[str]:
    return [s.name for s in state.context["task_history"][unit]]


# -- graph shapes ----------------------------------------------------------------------------------


def test_a_diamond_graph_passes_values_along_every_edge(executor: Executor) -> None:
    with Flow("diamond") as flow:
        a = one()
        b = inc(a)
        c = add(a, 10)
        d = add(b, c)
    state = flow.run(executor=executor)
    assert isinstance(state, Success)
    assert [state.result[t].result for t in (a, b, c, d)] == [1, 2, 11, 13]


def test_a_wide_fan_out_runs_every_branch_and_gathers_them(executor: Executor) -> None:
    with Flow("fan-out") as flow:
        root = one()
        branches = [add(root, i) for i in range(40)]
        gathered = total(branches)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert [state.result[b].result for b in branches] == [1 + i for i in range(40)]
    assert state.result[gathered].result == sum(1 + i for i in range(40))


def test_a_chain_of_fifty_tasks_runs_each_after_the_one_before(executor: Executor) -> None:
    with Flow("chain") as flow:
        link = one()
        for _ in range(49):
            link = inc(link)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert len(flow.tasks) == 50
    assert state.result[link].result == 50


# -- mapping ---------------------------------------------------------------------------------------


def test_a_mapped_task_runs_once_per_item_and_ends_mapped(executor: Executor) -> None:
    with Flow("map") as flow:
        added = add.map([1, 2, 3], unmapped(10))
    state = flow.run(executor=executor)
    parent = state.result[added]
    assert isinstance(parent, Mapped)
    assert parent.result == [11, 12, 13]
    assert [type(s) for s in parent.map_states] == [Success] * 3


def test_mapped_to_mapped_links_child_i_to_child_i(executor: Executor) -> None:
    with Flow("pipeline") as flow:
        first = add.map(numbers(), unmapped(10))
        second = inc.map(first)
        flat = inc.map(flatten([[1], [2, 3]]))
    state = flow.run(executor=executor)
    assert state.result[first].result == [11, 12, 13]
    assert state.result[second].result == [12, 13, 14]
    assert state.result[flat].result == [2, 3, 4]


def test_a_consumer_that_does_not_map_receives_the_list_of_child_results(
    executor: Executor,
) -> None:
    with Flow("reduce") as flow:
        summed = total(inc.map(inc.map(numbers(5))))
    state = flow.run(executor=executor)
    assert state.result[summed].result == sum(x + 2 for x in range(1, 6))


def test_an_empty_input_gives_zero_children_all_the_way_down(executor: Executor) -> None:
    with Flow("empty") as flow:
        first = inc.map([])
        second = inc.map(first)
        summed = total(second)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[first].map_states == []
    assert state.result[second].result == []
    assert state.result[summed].result == 0


def test_a_failed_child_fails_the_reducer_but_not_its_siblings(executor: Executor) -> None:
    with Flow("child-failure") as flow:
        mapped = picky.map(numbers())
        reducer = total(mapped)
        downstream = inc.map(mapped)
    state = flow.run(executor=executor)
    parent = state.result[mapped]
    assert isinstance(parent, Mapped)
    assert [s.name for s in parent.map_states] == ["Success", "Failed", "Success"]
    assert parent.map_states[1].message == "ValueError: two"
    assert isinstance(parent.map_states[1].result, ValueError)
    assert isinstance(state.result[reducer], TriggerFailed)
    assert [outcome(s)[0] for s in state.result[downstream].map_states] == [
        "Success",
        "TriggerFailed",
        "Success",
    ]
    assert [s.result for s in state.result[downstream].map_states[::2]] == [2, 4]
    assert isinstance(state, Failed)


def test_a_skipped_child_skips_only_its_own_pipeline(executor: Executor) -> None:
    with Flow("child-skip") as flow:
        out = inc.map(skip_two.map(numbers()))
    state = flow.run(executor=executor)
    assert [s.name for s in state.result[out].map_states] == ["Success", "Skipped", "Success"]
    assert state.is_successful()


# -- failures, retries, timeouts -------------------------------------------------------------------


def test_a_failing_task_fails_its_downstream_but_not_the_other_branch(executor: Executor) -> None:
    with Flow("branches") as flow:
        a = one()
        bad = boom(a)
        after_bad = inc(bad)
        good = inc(a)
        after_good = inc(good)
    state = flow.run(executor=executor)
    assert isinstance(state, Failed)
    assert state.message == "Some reference tasks failed."
    assert isinstance(state.result[bad], Failed)
    assert state.result[bad].message == "ValueError: boom"
    assert isinstance(state.result[bad].result, ValueError)
    assert isinstance(state.result[after_bad], TriggerFailed)
    assert isinstance(state.result[good], Success)
    assert state.result[after_good].result == 3


def test_a_task_that_fails_twice_succeeds_on_its_third_attempt(executor: Executor) -> None:
    with Flow("retries") as flow:
        flaky = third_time_lucky()
        after = inc(flaky)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[flaky].result == 3  # the attempt that succeeded, as the task saw it
    assert state.result[after].result == 4
    assert history(state, "third_time_lucky") == [
        "Running",
        "Retrying",
        "Running",
        "Retrying",
        "Running",
        "Success",
    ]
    first_retry = state.context["task_history"]["third_time_lucky"][1]
    assert "attempt 1 of 3 failed (ConnectionError: attempt 1 fails)" in first_retry.message


def test_a_task_over_its_timeout_ends_timed_out_and_the_flow_goes_on(executor: Executor) -> None:
    with Flow("timeouts") as flow:
        slow = sleeps_too_long()
        after = inc(slow)
        other = inc(one())
    started = time.monotonic()
    state = flow.run(executor=executor)
    assert time.monotonic() - started < 25  # the task sleeps 30 s; the run did not wait for it
    assert isinstance(state.result[slow], TimedOut)
    assert state.result[slow].message == "task timed out after 0.5 s"
    assert isinstance(state.result[after], TriggerFailed)
    assert state.result[other].result == 2
    assert isinstance(state, Failed)


def test_a_timed_out_task_is_retried_and_can_then_succeed(executor: Executor) -> None:
    with Flow("timeout-retry") as flow:
        t = slow_then_fast()
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[t].result == 2
    assert history(state, "slow_then_fast") == ["Running", "Retrying", "Running", "Success"]


def test_a_task_timeout_on_the_main_thread_keeps_an_alarm_timer_that_was_already_set() -> None:
    with Flow("timeout") as flow:
        sleeps_too_long()
    previous_handler = signal.signal(signal.SIGALRM, lambda signum, frame: None)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        state = flow.run(executor=LocalExecutor())
        left, _ = signal.getitimer(signal.ITIMER_REAL)
    finally:
        signal.setitimer(signal.ITIMER_REAL, *previous_timer)
        signal.signal(signal.SIGALRM, previous_handler)
    assert isinstance(state, Failed)
    assert 50 < left <= 60


# -- triggers and skips ----------------------------------------------------------------------------


def test_triggers_decide_which_tasks_run(executor: Executor) -> None:
    def guarded(trigger: triggers.Trigger, *upstream: Task) -> Task:
        return ran(*upstream, task_args={"trigger": trigger})

    with Flow("triggers") as flow:
        ok, bad, other_bad = one(), boom(), boom()
        cases = {
            "all_failed, all failed": guarded(triggers.all_failed, bad, other_bad),
            "all_failed, one succeeded": guarded(triggers.all_failed, bad, ok),
            "any_successful, one succeeded": guarded(triggers.any_successful, bad, ok),
            "any_successful, none succeeded": guarded(triggers.any_successful, bad, other_bad),
            "always_run, all failed": guarded(triggers.always_run, bad, other_bad),
            "all_successful, one failed": guarded(triggers.all_successful, ok, bad),
        }
    state = flow.run(executor=executor)
    outcomes = {name: state.result[t].name for name, t in cases.items()}
    assert outcomes == {
        "all_failed, all failed": "Success",
        "all_failed, one succeeded": "TriggerFailed",
        "any_successful, one succeeded": "Success",
        "any_successful, none succeeded": "TriggerFailed",
        "always_run, all failed": "Success",
        "all_successful, one failed": "TriggerFailed",
    }
    assert state.result[cases["always_run, all failed"]].result == "ran"


def test_a_skip_propagates_downstream_and_counts_as_success(executor: Executor) -> None:
    with Flow("skips") as flow:
        s = skipper()
        child = inc(s)
        grandchild = inc(child)
        sees_it = ran(s, task_args={"skip_on_upstream_skip": False})
    state = flow.run(executor=executor)
    assert isinstance(state.result[s], Skipped)
    assert state.result[s].message == "nothing to do today"
    assert isinstance(state.result[child], Skipped)
    assert isinstance(state.result[grandchild], Skipped)
    assert state.result[sees_it].result == "ran"
    assert state.is_successful()


# -- logs ------------------------------------------------------------------------------------------


def test_what_tasks_log_reaches_the_driver_under_the_task_logger(
    executor: Executor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with Flow("logs") as flow:
        chatty(7)
        chatty.map([1, 2, 3])
        third_time_lucky()
        boom()
    flow.run(executor=executor)
    lines = [
        (r.name, getattr(r, "tideflow_map_index", None), r.levelname, r.getMessage())
        for r in caplog.records
    ]
    expected = [
        ("tideflow.task.chatty", None, "INFO", "processing item 7"),
        ("tideflow.task.chatty", 0, "INFO", "processing item 1"),
        ("tideflow.task.chatty", 1, "INFO", "processing item 2"),
        ("tideflow.task.chatty", 2, "INFO", "processing item 3"),
        (
            "tideflow.task.third_time_lucky",
            None,
            "WARNING",
            "Task 'third_time_lucky': attempt 2 of 3 failed (ConnectionError: attempt 2 fails); "
            "retrying in 0.01 s",
        ),
        ("tideflow.task.boom", None, "ERROR", "Task 'boom' failed: ValueError: boom"),
    ]
    assert {line: lines.count(line) for line in expected} == dict.fromkeys(expected, 1)
    # One logger per task in the driver too, however the records came back.
    assert not [
        n for n in logging.Logger.manager.loggerDict if n.startswith("tideflow.task.chatty[")
    ]
    error = next(r for r in caplog.records if r.name == "tideflow.task.boom")
    # The failure's traceback came along (as text, from another process).
    traceback = error.exc_text or logging.Formatter().formatException(error.exc_info)
    assert traceback.startswith("Traceback (most recent call last):")
    assert ", in boom\n" in traceback
    assert traceback.endswith("ValueError: boom")


def test_a_recorded_run_keeps_task_logs_metrics_artifacts_and_checkpoints(
    executor: Executor,
) -> None:
    store = MemoryStore()
    with Flow("recorded-everywhere") as flow:
        chatty.map([1, 2])
        measured(3)
        boom()
    state = flow.run(executor=executor, store=store)
    run_id = state.context["flow_run_id"]
    logs = store.logs(run_id)
    lines = {(line.task_key, line.map_index, line.level, line.message) for line in logs}
    assert ("chatty", 0, "INFO", "processing item 1") in lines
    assert ("chatty", 1, "INFO", "processing item 2") in lines
    (error,) = store.logs(run_id, task_key="boom")
    assert (error.level, error.logger) == ("ERROR", "tideflow.task.boom")
    assert error.message.startswith("Task 'boom' failed: ValueError: boom\nTraceback")
    assert any(line.task_key is None and "Beginning flow run" in line.message for line in logs)
    assert [(p.name, p.number) for p in store.metrics("recorded-everywhere")] == [("score", 6.0)]
    results = {(row.kind, row.name, row.task_key): row.value for row in store.results(run_id)}
    assert results == {
        ("metric", "score", "measured"): 6.0,
        ("artifact", "summary", "measured"): {"x": 3},
        ("result", "measured", "measured"): 6,
    }


# -- where tasks run -------------------------------------------------------------------------------


def test_tasks_run_where_the_executor_puts_them(executor: Executor) -> None:
    with Flow("where") as flow:
        pids = [pid() for _ in range(4)]
    state = flow.run(executor=executor)
    ran_in = {state.result[p].result for p in pids}
    elsewhere = isinstance(executor, DaskExecutor) or (
        isinstance(executor, LocalDaskExecutor) and executor.scheduler == "processes"
    )
    if elsewhere:
        assert os.getpid() not in ran_in
        assert len(ran_in) <= 2  # two workers
    else:
        assert ran_in == {os.getpid()}


@pytest.mark.parametrize("executor", ["threads", "processes", "dask"], indirect=True)
def test_independent_tasks_run_at_the_same_time(executor: Executor, tmp_path: Path) -> None:
    with Flow("parallel") as flow:
        a = rendezvous(str(tmp_path), "a", "b")
        b = rendezvous(str(tmp_path), "b", "a")
    state = flow.run(executor=executor)
    assert state.is_successful(), by_key(flow, state)
    assert (state.result[a].result, state.result[b].result) == ("a", "b")


# -- the same outcome everywhere -------------------------------------------------------------------


def every_feature() -> Flow:
    with Flow("every-feature") as flow:
        a = one()
        total(add.map(numbers(4), unmapped(a)))
        total(picky.map(numbers()))
        inc.map(inc.map([]))
        inc.map(skip_two.map(numbers()))
        inc(boom(a))
        ran(skipper())
        ran(boom(), task_args={"trigger": triggers.all_failed})
        inc(third_time_lucky())
        inc(sleeps_too_long())
    return flow


def test_every_task_ends_as_it_does_on_the_local_executor(executor: Executor) -> None:
    flow = every_feature()
    expected = flow.run(executor=LocalExecutor())
    state = flow.run(executor=executor)
    assert outcome(state)[:2] == outcome(expected)[:2]
    assert {k: outcome(s) for k, s in by_key(flow, state).items()} == {
        k: outcome(s) for k, s in by_key(flow, expected).items()
    }
    expected_history = {u: [s.name for s in h] for u, h in expected.context["task_history"].items()}
    assert {
        u: [s.name for s in h] for u, h in state.context["task_history"].items()
    } == expected_history


# -- interruption ----------------------------------------------------------------------------------


class Finished(RunObserver):
    def __init__(self) -> None:
        self.states: list[State] = []

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        self.states.append(state)


# Not on the DaskExecutor: there the interrupt kills the worker process running the task, a
# known bug (test_dask_executor.py::test_a_keyboard_interrupt_raised_inside_a_task_interrupts_
# the_run), and would take the shared cluster's workers down with it.
@pytest.mark.parametrize("executor", ["local", "threads", "processes"], indirect=True)
def test_a_keyboard_interrupt_inside_a_task_stops_the_run_and_propagates(
    executor: Executor,
) -> None:
    finished = Finished()
    with Flow("interrupted") as flow:
        inc(interrupt())
    with pytest.raises(KeyboardInterrupt):
        flow.run(executor=executor, observers=[finished])
    (final,) = finished.states
    assert isinstance(final, Cancelled)
    assert final.message == "Flow run interrupted."
    assert not [t for t in threading.enumerate() if t.name.startswith("tideflow-task")]


def test_a_map_that_takes_a_whole_mapped_task_half_finished_gets_every_child(
    executor: Executor,
) -> None:
    from tests.executors.flows import plus_all, slow_numbers

    with Flow("half-finished") as flow:
        mapped = inc.map(numbers(3))  # [2, 3, 4], finished or running when the next map expands
        out = plus_all.map(slow_numbers(2), unmapped(mapped))
    state = flow.run(executor=executor)
    assert state.result[out].result == [9, 10]


# -- states while tasks run ------------------------------------------------------------------------


class SeenRunning(RunObserver):
    """Hears every state; leaves ``seen-<n>`` in ``folder`` on the n-th ``Running`` it hears."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()  # the in-process executors call from their task threads
        self.heard: list[tuple[str, int | None, str]] = []

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        with self.lock:
            self.heard.append((key, map_index, state.name))
            runs = sum(1 for _, _, name in self.heard if name == "Running")
        if state.name == "Running":
            (self.folder / f"seen-{runs}").touch()


@pytest.mark.parametrize("attempts", [1, 2], ids=["one-attempt", "retried"])
def test_a_task_is_seen_running_before_it_ends_each_state_once(
    executor: Executor, tmp_path: Path, attempts: int
) -> None:
    """Remote executors announce a task once it has run for two seconds; this one waits (up
    to two minutes) until the driver has seen each of its attempts running."""
    seen = SeenRunning(tmp_path)
    with Flow("seen-running") as flow:
        out = waits_to_be_seen(str(tmp_path), attempts)
    state = flow.run(executor=executor, observers=[seen])
    assert state.result[out].result == attempts, state.result[out].message
    expected = (
        ["Running", "Success"] if attempts == 1 else ["Running", "Retrying", "Running", "Success"]
    )
    assert seen.heard == [("waits_to_be_seen", None, name) for name in expected]
    assert history(state, "waits_to_be_seen") == expected
