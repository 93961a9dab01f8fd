"""Behaviour of one flow run on the default LocalExecutor: graph shapes, failures, retries,
timeouts, skips, triggers, signals, handlers and the final state."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from tideflow import Flow, Parameter, Task, context, signals, task, triggers
from tideflow.clock import FakeClock
from tideflow.engine.observers import FlowRunInfo, RunObserver
from tideflow.states import (
    Cancelled,
    Failed,
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


@task
def one() -> int:
    return 1


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def inc(x: int) -> int:
    return x + 1


@task
def boom(x: Any = None) -> int:
    raise ValueError("boom")


def states_by_key(flow: Flow, state: State) -> dict[str, State]:
    return {flow.key(t): s for t, s in state.result.items()}


class Recorder(RunObserver):
    """Collects every (task key, state name) the run reports, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.finished: list[State] = []
        self.lock = threading.Lock()  # Running states are told from the threads of tasks

    def task_state_changed(
        self, run: FlowRunInfo, key: str, task: Task, state: State, map_index: int | None
    ) -> None:
        with self.lock:
            self.events.append((key, state.name))

    def flow_run_finished(self, run: FlowRunInfo, state: State) -> None:
        self.finished.append(state)


def test_a_diamond_graph_passes_values_along_every_edge() -> None:
    with Flow("diamond") as flow:
        a = one()
        b = inc(a)
        c = add(a, 10)
        d = add(b, c)
    state = flow.run()
    assert state.is_successful()
    assert isinstance(state, Success)
    assert state.message == "All reference tasks succeeded."
    assert [state.result[t].result for t in (a, b, c, d)] == [1, 2, 11, 13]
    assert set(state.result) == flow.tasks


def test_a_failing_task_fails_its_downstream_but_not_the_other_branch() -> None:
    with Flow("branches") as flow:
        a = one()
        bad = boom(a)
        after_bad = inc(bad)
        good = inc(a)
        after_good = inc(good)
    state = flow.run()
    assert isinstance(state, Failed)
    assert state.message == "Some reference tasks failed."
    assert isinstance(state.result[bad], Failed)
    assert isinstance(state.result[bad].result, ValueError)
    assert state.result[bad].message == "ValueError: boom"
    assert isinstance(state.result[after_bad], TriggerFailed)
    assert state.result[after_good].result == 3
    assert state.result[good].is_successful()


def test_a_task_that_succeeds_on_its_third_attempt_shows_its_run_count(
    fake_clock: FakeClock,
) -> None:
    seen_counts: list[int] = []

    @task(max_retries=3, retry_delay=timedelta(minutes=5))
    def flaky() -> str:
        seen_counts.append(context.task_run_count)
        if context.task_run_count < 3:
            raise ConnectionError("not yet")
        return "third time lucky"

    with Flow("retries") as flow:
        result = flaky()
    state = flow.run(clock=fake_clock)
    assert state.is_successful()
    assert state.result[result].result == "third time lucky"
    assert seen_counts == [1, 2, 3]
    history = state.context["task_history"]["flaky"]
    assert [s.name for s in history] == [
        "Running",
        "Retrying",
        "Running",
        "Retrying",
        "Running",
        "Success",
    ]
    retry = history[1]
    assert isinstance(retry, Retrying)
    assert retry.run_count == 2
    assert retry.start_time == retry.timestamp + timedelta(minutes=5)
    assert "attempt 1 of 4 failed (ConnectionError: not yet)" in (retry.message or "")
    assert fake_clock.slept == [300.0, 300.0]  # waited on the injected clock, not for real


def test_a_task_out_of_retries_ends_failed(fake_clock: FakeClock) -> None:
    calls: list[int] = []

    @task(max_retries=2, retry_delay=1)
    def always_fails() -> None:
        calls.append(1)
        raise RuntimeError("nope")

    with Flow("exhausted") as flow:
        t = always_fails()
    state = flow.run(clock=fake_clock)
    assert len(calls) == 3
    assert isinstance(state.result[t], Failed)
    assert state.result[t].message == "RuntimeError: nope"


def test_a_retry_delay_does_not_hold_up_other_ready_tasks(fake_clock: FakeClock) -> None:
    order: list[str] = []

    @task(max_retries=1, retry_delay=timedelta(hours=1))
    def flaky() -> None:
        order.append(f"flaky#{context.task_run_count}")
        if context.task_run_count == 1:
            raise ConnectionError("later")

    @task
    def work(name: str) -> None:
        order.append(name)

    with Flow("no-blocking") as flow:
        flaky()
        work("a")
        work("b")
    started = fake_clock.now()
    state = flow.run(clock=fake_clock)
    assert state.is_successful()
    assert order == ["flaky#1", "a", "b", "flaky#2"]
    assert fake_clock.now() - started == timedelta(hours=1)


def test_retry_on_limits_which_errors_are_retried(fake_clock: FakeClock) -> None:
    attempts: list[str] = []

    @task(max_retries=3, retry_delay=0, retry_on=ConnectionError)
    def picky(kind: str) -> None:
        attempts.append(kind)
        raise (ConnectionError if kind == "net" else KeyError)(kind)

    with Flow("retry-on") as flow:
        net = picky("net")
        key = picky("key")
    state = flow.run(clock=fake_clock)
    assert attempts.count("net") == 4
    assert attempts.count("key") == 1
    assert state.result[net].is_failed()
    assert state.result[key].is_failed()


def test_a_task_over_its_timeout_ends_timed_out_and_the_flow_goes_on() -> None:
    @task(timeout=0.2)
    def slow() -> str:
        time.sleep(30)
        return "never"

    with Flow("timeouts") as flow:
        s = slow()
        after = inc(s)
        other = inc(one())
    started = time.monotonic()
    state = flow.run()
    assert time.monotonic() - started < 10
    assert isinstance(state.result[s], TimedOut)
    assert state.result[s].message == "task timed out after 0.2 s"
    assert isinstance(state.result[after], TriggerFailed)
    assert state.result[other].result == 2
    assert state.is_failed()


def test_a_timed_out_task_is_retried_and_can_then_succeed(fake_clock: FakeClock) -> None:
    @task(timeout=0.2, max_retries=1, retry_delay=0)
    def slow_then_fast() -> str:
        if context.task_run_count == 1:
            time.sleep(30)
        return "fast"

    with Flow("timeout-retry") as flow:
        t = slow_then_fast()
    state = flow.run(clock=fake_clock)
    assert state.result[t].result == "fast"
    names = [s.name for s in state.context["task_history"]["slow_then_fast"]]
    assert names == ["Running", "Retrying", "Running", "Success"]


def test_timeouts_are_enforced_when_the_flow_runs_outside_the_main_thread() -> None:
    @task(timeout=0.2)
    def slow() -> None:
        for _ in range(3000):  # pure Python work, interruptible in a helper thread
            time.sleep(0.01)

    with Flow("thread-timeout") as flow:
        s = slow()
    out: dict[str, State] = {}
    worker = threading.Thread(target=lambda: out.update(state=flow.run()))
    worker.start()
    worker.join(20)
    assert not worker.is_alive()
    assert isinstance(out["state"].result[s], TimedOut)


def test_a_skip_propagates_downstream_and_counts_as_success() -> None:
    @task
    def skipper() -> None:
        raise signals.SKIP("nothing to do today")

    with Flow("skips") as flow:
        s = skipper()
        child = inc(s)
        grandchild = inc(child)
    state = flow.run()
    assert isinstance(state.result[s], Skipped)
    assert state.result[s].message == "nothing to do today"
    assert isinstance(state.result[child], Skipped)
    assert isinstance(state.result[grandchild], Skipped)
    assert state.is_successful()


def test_a_task_that_does_not_skip_on_upstream_skip_receives_the_skip_signal() -> None:
    received: list[Any] = []

    @task
    def skipper() -> None:
        raise signals.SKIP("skip")

    @task(skip_on_upstream_skip=False)
    def sees(x: Any) -> str:
        received.append(x)
        return "ran"

    with Flow("no-skip") as flow:
        out = sees(skipper())
    state = flow.run()
    assert state.result[out].result == "ran"
    assert isinstance(received[0], signals.SKIP)


@pytest.mark.parametrize(
    ("trigger", "upstreams", "runs"),
    [
        (triggers.all_successful, "ok ok", True),
        (triggers.all_successful, "fail ok", False),
        (triggers.all_failed, "fail fail", True),
        (triggers.all_failed, "fail ok", False),
        (triggers.any_successful, "fail ok", True),
        (triggers.any_successful, "fail fail", False),
        (triggers.any_failed, "fail ok", True),
        (triggers.any_failed, "ok ok", False),
        (triggers.all_finished, "fail fail", True),
        (triggers.always_run, "fail ok", True),
        (triggers.not_all_skipped, "skip ok", True),
        (triggers.not_all_skipped, "skip skip", None),
        (triggers.not_all_skipped, "fail ok", False),
        (triggers.some_successful(at_least=1), "fail ok", True),
        (triggers.some_successful(at_least=2), "fail ok", False),
        (triggers.some_successful(at_most=1), "ok ok", False),
        (triggers.some_failed(at_most=0), "fail ok", False),
        (triggers.some_failed(at_least=0.5), "fail ok", True),
        (triggers.some_failed(at_least=0.75), "fail ok", False),
    ],
)
def test_every_trigger_decides_whether_the_task_runs(
    trigger: triggers.Trigger, upstreams: str, runs: bool | None
) -> None:
    """``runs``: True, False (TriggerFailed), or None (Skipped, as not_all_skipped does)."""
    ran: list[bool] = []

    @task
    def skipper() -> None:
        raise signals.SKIP("skip")

    @task(trigger=trigger, skip_on_upstream_skip=False)
    def guarded(a: Any, b: Any) -> str:
        ran.append(True)
        return "ran"

    makers = {"ok": one, "fail": boom, "skip": skipper}
    with Flow("triggers") as flow:
        first, second = (makers[kind]() for kind in upstreams.split())
        out = guarded(first, second)
    state = flow.run()
    assert bool(ran) is bool(runs)
    if runs:
        assert state.result[out].result == "ran"
    elif runs is None:
        assert isinstance(state.result[out], Skipped)
    else:
        # Prefect 1: not_all_skipped with every upstream skipped skips the task.
        all_skipped = trigger is triggers.not_all_skipped and upstreams == "skip skip"
        expected = Skipped if all_skipped else TriggerFailed
        assert type(state.result[out]) is expected
        assert "trigger" in (state.result[out].message or "")


def test_manual_only_pauses_the_task_and_the_flow_until_resumed() -> None:
    @task(trigger=triggers.manual_only)
    def approve(x: int) -> int:
        return 100

    with Flow("approval") as flow:
        gate = approve(one())
        after = inc(one())
        downstream = inc(gate)
    state = flow.run()
    assert isinstance(state, Paused)
    assert "approve" in (state.message or "")
    assert isinstance(state.result[gate], Paused)
    assert state.result[after].result == 2
    assert isinstance(state.result[downstream], Pending)
    assert state.result[downstream].message == "Task not run."

    resumed = flow.run(context={"resume": True})
    assert resumed.result[gate].result == 100
    assert resumed.result[downstream].result == 101
    assert resumed.is_successful()


def test_signals_choose_the_final_state() -> None:
    @task
    def succeed_early() -> None:
        raise signals.SUCCESS("done early", result=42)

    @task
    def end_run() -> None:
        raise signals.ENDRUN(Skipped("ended on purpose"))

    @task(max_retries=1, retry_delay=0)
    def fail_signal() -> None:
        raise signals.FAIL("explicit failure")

    with Flow("signals") as flow:
        a = succeed_early()
        b = end_run()
        c = fail_signal()
    state = flow.run()
    assert isinstance(state.result[a], Success)
    assert state.result[a].result == 42
    assert isinstance(state.result[b], Skipped)
    assert state.result[b].message == "ended on purpose"
    assert isinstance(state.result[c], Failed)
    history = [s.name for s in state.context["task_history"]["fail_signal"]]
    assert history == ["Running", "Retrying", "Running", "Failed"]  # FAIL is retried


def test_retry_signal_retries_even_without_max_retries(fake_clock: FakeClock) -> None:
    @task
    def again() -> str:
        if context.task_run_count < 3:
            raise signals.RETRY("try again")
        return "ok"

    with Flow("retry-signal") as flow:
        t = again()
    state = flow.run(clock=fake_clock)
    assert state.result[t].result == "ok"


def test_state_handlers_see_every_transition_and_can_replace_the_state() -> None:
    seen: list[tuple[str, str]] = []
    failures: list[str] = []

    def record(task: Task, old: State, new: State) -> State | None:
        seen.append((old.name, new.name))
        if isinstance(new, Failed):
            return Success("forgiven", result="recovered")
        return None

    @task(state_handlers=[record], on_failure=lambda t, s: failures.append(s.name))
    def fails() -> None:
        raise ValueError("x")

    with Flow("handlers") as flow:
        t = fails()
    state = flow.run()
    assert seen == [("Pending", "Running"), ("Running", "Failed")]
    assert state.result[t].result == "recovered"
    assert failures == []  # the handler turned the failure into a success


def test_on_failure_is_called_with_the_failed_state() -> None:
    failures: list[State] = []
    flow_failures: list[State] = []

    @task(on_failure=lambda t, s: failures.append(s))
    def fails() -> None:
        raise ValueError("x")

    with Flow("on-failure", on_failure=lambda f, s: flow_failures.append(s)) as flow:
        fails()
    state = flow.run()
    assert [s.name for s in failures] == ["Failed"]
    assert flow_failures == [state]


def test_flow_state_handlers_see_the_run_start_and_end() -> None:
    seen: list[tuple[str, str]] = []

    def handler(flow: Flow, old: State, new: State) -> State | None:
        seen.append((old.name, new.name))
        return None

    with Flow("flow-handlers", state_handlers=[handler]) as flow:
        one()
    flow.run()
    assert seen == [("Pending", "Running"), ("Running", "Success")]


def test_reference_tasks_decide_the_flow_state() -> None:
    with Flow("reference") as flow:
        good = inc(one())
        boom(one())
    flow.set_reference_tasks([good])
    assert flow.run().is_successful()


def test_parameters_reach_tasks_by_keyword_and_by_mapping() -> None:
    with Flow("params") as flow:
        x = Parameter("x")
        size = Parameter("batch-size", default=10)
        total = add(x, size)
    assert flow.run(x=1).result[total].result == 11
    assert flow.run(parameters={"x": 1, "batch-size": 5}).result[total].result == 6


def test_unknown_and_missing_parameters_are_named_before_anything_runs() -> None:
    ran: list[bool] = []

    @task
    def side_effect(x: int) -> None:
        ran.append(True)

    with Flow("strict-params") as flow:
        side_effect(Parameter("x"))
        Parameter("batch-size", default=1000)()
    from tideflow.errors import ParameterError

    with pytest.raises(ParameterError) as info:
        flow.run(parameters={"batch_size": 3, "y": 1})
    assert str(info.value) == (
        "flow 'strict-params': unknown parameter 'batch_size' (did you mean 'batch-size'?); "
        "unknown parameter 'y'; missing required parameter 'x'. "
        "The flow's parameters are: batch-size (default 1000), x (required)."
    )
    assert ran == []


def test_the_context_describes_the_run_inside_a_task() -> None:
    seen: list[dict[str, Any]] = []

    @task
    def look() -> None:
        seen.append(context.to_dict())

    with Flow("ctx") as flow:
        look()
        Parameter("p", default=3)()
    first = flow.run(context={"extra": "yes"})
    second = flow.run()
    a, b = seen
    assert a["flow_name"] == "ctx"
    assert a["task_name"] == "look"
    assert a["task_run_count"] == 1
    assert a["map_index"] is None
    assert a["parameters"] == {"p": 3}
    assert a["extra"] == "yes"
    assert a["today"] == a["scheduled_start_time"].strftime("%Y-%m-%d")
    assert a["flow_run_id"] != b["flow_run_id"]
    assert first.context["flow_run_id"] == a["flow_run_id"]
    assert second.context["flow_run_id"] == b["flow_run_id"]
    assert a["logger"].name == "tideflow.task.look"


def test_each_task_logs_through_its_own_logger(caplog: pytest.LogCaptureFixture) -> None:
    @task
    def chatty() -> None:
        context.get("logger").info("hello from the task")

    @task(log_stdout=True)
    def printer() -> None:
        print("printed line")

    with Flow("logs") as flow:
        chatty()
        printer()
    with caplog.at_level("INFO"):
        flow.run()
    records = {(r.name, r.getMessage()) for r in caplog.records}
    assert ("tideflow.task.chatty", "hello from the task") in records
    assert ("tideflow.task.printer", "printed line") in records


def test_a_failure_is_logged_with_its_traceback_and_a_retry_as_a_warning(
    caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
) -> None:
    @task(max_retries=1, retry_delay=0)
    def fails() -> None:
        raise ValueError("bad value")

    with Flow("failure-logs") as flow:
        fails()
    flow.run(clock=fake_clock)
    warning, error = (r for r in caplog.records if r.name == "tideflow.task.fails")
    assert warning.levelname == "WARNING"
    assert "attempt 1 of 2 failed (ValueError: bad value)" in warning.getMessage()
    assert error.levelname == "ERROR"
    assert error.exc_info is not None


def test_collections_of_tasks_and_tuple_unpacking_work_end_to_end() -> None:
    @task
    def split(x: int) -> tuple[int, int]:
        return x, x * 10

    @task
    def total(values: list[int], extra: dict[str, int]) -> int:
        return sum(values) + sum(extra.values())

    with Flow("collections") as flow:
        small, big = split(one())
        result = total([small, big, 5], {"a": small})
    state = flow.run()
    assert state.result[result].result == 1 + 10 + 5 + 1


def test_observers_hear_every_state_in_order() -> None:
    recorder = Recorder()
    with Flow("observed") as flow:
        inc(boom())
    state = flow.run(observers=[recorder])
    assert recorder.events == [
        ("boom", "Running"),
        ("boom", "Failed"),
        ("inc", "TriggerFailed"),
    ]
    assert recorder.finished == [state]


def test_an_interrupted_run_is_recorded_cancelled_and_the_interrupt_propagates() -> None:
    recorder = Recorder()

    @task
    def interrupt() -> None:
        raise KeyboardInterrupt

    with Flow("interrupted") as flow:
        inc(interrupt())
    with pytest.raises(KeyboardInterrupt):
        flow.run(observers=[recorder])
    (final,) = recorder.finished
    assert isinstance(final, Cancelled)
    assert final.message == "Flow run interrupted."


def test_states_carry_their_times_so_durations_can_be_derived(fake_clock: FakeClock) -> None:
    @task
    def tick() -> None:
        fake_clock.advance(2.5)

    with Flow("timing") as flow:
        tick()
    state = flow.run(clock=fake_clock)
    running, success = state.context["task_history"]["tick"]
    assert isinstance(running, Running)
    assert (success.timestamp - running.timestamp).total_seconds() == 2.5


def test_a_flow_with_an_executor_set_uses_it() -> None:
    from tideflow.executors import LocalExecutor

    submitted: list[str] = []

    class Spy(LocalExecutor):
        def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
            submitted.append(args[0].key)
            return super().submit(fn, *args, **kwargs)

    with Flow("executor", executor=Spy()) as flow:
        inc(one())
    assert flow.run().is_successful()
    assert submitted == ["one", "inc"]


def test_a_trigger_that_raises_fails_its_task_with_the_error_named() -> None:
    def broken_trigger(upstream: Any) -> bool:
        raise RuntimeError("trigger bug")

    @task(trigger=broken_trigger)
    def guarded(x: int) -> int:
        return x

    with Flow("broken-trigger") as flow:
        out = guarded(one())
    state = flow.run()
    assert isinstance(state.result[out], TriggerFailed)
    assert state.result[out].message == (
        "trigger broken_trigger raised RuntimeError('trigger bug')"
    )


def test_a_state_handler_that_raises_fails_the_task() -> None:
    def broken_handler(task: Task, old: State, new: State) -> State | None:
        if isinstance(new, Success):
            raise ValueError("handler bug")
        return None

    @task(state_handlers=[broken_handler])
    def fine() -> int:
        return 1

    with Flow("broken-handler") as flow:
        out = fine()
    state = flow.run()
    assert isinstance(state.result[out], Failed)
    assert state.result[out].message == (
        "state handler broken_handler raised ValueError('handler bug')"
    )


def test_a_unit_the_executor_could_not_run_fails_and_its_downstream_does_not_run() -> None:
    from tideflow.executors import LocalExecutor
    from tideflow.executors.local import DoneFuture

    class LosesOne(LocalExecutor):
        def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
            if args[0].key == "inc":
                return DoneFuture(error=ConnectionError("worker lost"))
            return super().submit(fn, *args, **kwargs)

    with Flow("lost") as flow:
        lost = inc(one())
        after = inc(lost)
    state = flow.run(executor=LosesOne())
    assert isinstance(state.result[lost], Failed)
    assert state.result[lost].message == "could not run the task: ConnectionError: worker lost"
    assert isinstance(state.result[after], TriggerFailed)
