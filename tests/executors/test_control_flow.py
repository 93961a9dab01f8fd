"""Branches, loops and pauses on every executor: the same results wherever tasks run.

On the ``LocalExecutor``, the ``LocalDaskExecutor`` (threads) and the ``DaskExecutor`` (the
session's cluster: tasks run in other processes, and downstream tasks are submitted before
their upstream ones finish, which is what a paused task's downstream must survive). The process
pool adds nothing these do not cover, at seconds per run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cloudpickle
import pytest
from tests.executors import control_flows as cf
from tests.executors.support import wait_until

from tideflow import Flow, actions, apply_map, case, mapped
from tideflow.engine import recording
from tideflow.executors import Executor
from tideflow.states import Mapped, Skipped, State, Success
from tideflow.store import MemoryStore
from tideflow.tasks.control_flow import FilterTask, merge

cloudpickle.register_pickle_by_value(cf)

pytestmark = pytest.mark.parametrize("executor", ["local", "threads", "dask"], indirect=True)


def test_case_and_merge_pick_the_live_branch_per_item_with_apply_map(executor: Executor) -> None:
    def branch(x: object) -> object:
        even = cf.is_even(x)
        with case(even, True):
            doubled = cf.double(x)
        with case(even, False):
            negated = cf.negate(x)
        return merge(doubled, negated)

    with Flow("branches") as flow:
        merged = apply_map(branch, cf.numbers())
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[merged].result == [-1, 4, -3, 8]
    doubled = flow.get_tasks(name="double")[0]
    assert [type(s) for s in state.result[doubled].map_states] == [Skipped, Success] * 2


def test_filter_task_drops_failed_children_and_mapped_marks_one_argument(
    executor: Executor,
) -> None:
    with Flow("filtering") as flow:
        checked = cf.fail_on_three(mapped(cf.numbers()))
        kept = FilterTask()(checked)
    state = flow.run(executor=executor)
    assert isinstance(state.result[checked], Mapped)
    assert state.result[kept].result == [1, 2, 4]


def test_loop_runs_again_with_its_result_and_count_until_it_returns(executor: Executor) -> None:
    with Flow("looping") as flow:
        fib = cf.fib_until(10)
        counted = cf.count_to.map([3, 1, 2])
    state = flow.run(executor=executor)
    assert state.result[fib].result == 55
    assert state.result[counted].result == [300, 101, 202]
    history = state.context["task_history"]["fib_until"]
    assert [s.name for s in history].count("Looped") == 9
    assert history[-1].name == "Success"


def test_a_failed_iteration_is_retried_and_the_loop_goes_on_from_there(
    executor: Executor, tmp_path: Path
) -> None:
    with Flow("flaky loop") as flow:
        looped = cf.loop_with_a_flaky_iteration(str(tmp_path))
    state = flow.run(executor=executor)
    assert state.result[looped].result == [1, 2, 3]
    names = [s.name for s in state.context["task_history"]["loop_with_a_flaky_iteration"]]
    assert names[:4] == ["Running", "Looped", "Running", "Retrying"]
    assert names[-1] == "Success"


def run_until_paused(
    flow: Flow, executor: Executor, store: MemoryStore, run_id: str
) -> tuple[threading.Thread, Callable[[], State]]:
    """Run ``flow`` recorded into ``store`` in a thread; return once the run is Paused."""
    out: dict[str, State] = {}

    def go() -> None:
        out["state"] = flow.run(executor=executor, store=store, flow_run_id=run_id)

    thread = threading.Thread(target=go)
    thread.start()

    def paused() -> bool:
        runs = [r for r in store.list_flow_runs(limit=None) if r.id == run_id]
        return bool(runs) and runs[0].state == "Paused"

    wait_until(lambda: paused() or not thread.is_alive(), 60, "the run to pause")
    assert thread.is_alive(), f"the run ended instead of pausing: {out}"

    def result() -> State:
        thread.join(60)
        return out["state"]

    return thread, result


def test_a_paused_run_resumes_in_place_and_runs_nothing_twice(
    executor: Executor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "PAUSE_POLL_SECONDS", 0.02)
    folder = str(tmp_path)
    with Flow("approval") as flow:
        data = cf.write_call(folder, "extract", 20)
        side = cf.write_call(folder, "side", data)
        approved = cf.approve(data)
        after = cf.write_call(folder, "after", approved)
        items = cf.pause_unless_resumed.map([1, 2, 3])
        tens = cf.write_call(folder, "tens", items)
    store = MemoryStore()
    _, result = run_until_paused(flow, executor, store, "paused-run")
    calls = {p.stem: len(p.read_text().splitlines()) for p in tmp_path.glob("*.calls")}
    assert calls == {"extract": 1, "side": 1}
    message = store.get_flow_run("paused-run").state_message or ""
    assert message.startswith("Waiting for approval of approve, pause_unless_resumed[0], ")

    actions.resume_run(store, "paused-run", at=datetime.now(UTC))
    state = result()
    assert state.is_successful()
    assert state.result[side].result == 20
    assert state.result[after].result == 120
    assert state.result[tens].result == [10, 20, 30]
    calls = {p.stem: len(p.read_text().splitlines()) for p in tmp_path.glob("*.calls")}
    assert calls == {"after": 1, "extract": 1, "side": 1, "tens": 1}
    assert store.get_flow_run("paused-run").state == "Success"
