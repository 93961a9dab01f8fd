"""Behaviour that used to differ from Prefect 1, now as Prefect 1 documents it, on every executor.

Each test runs on the ``LocalExecutor``, a threaded ``LocalDaskExecutor`` and a ``DaskExecutor``
on the session's LocalCluster, and expects the same states from each. Tasks that run on workers
report through their results, or through files (state handlers), never through test memory.
"""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import pytest
from tests.executors import prefect1_tasks
from tests.executors.prefect1_tasks import (
    FailsOnce,
    add,
    boom,
    child,
    context_keys,
    inc,
    nested_and_single,
    recorder,
    skipper,
)
from tests.executors.support import outcome

from tideflow import Flow, flatten, task, triggers, unmapped
from tideflow.executors import Executor
from tideflow.states import Mapped, Skipped, Success, TriggerFailed

cloudpickle.register_pickle_by_value(prefect1_tasks)

THREE = pytest.mark.parametrize("executor", ["local", "threads", "dask"], indirect=True)


@THREE
def test_flatten_keeps_an_item_that_is_not_a_collection_as_one_item(executor: Executor) -> None:
    with Flow("flatten-single") as flow:
        out = inc.map(flatten(nested_and_single()))
        text = child.map(flatten(child.map([["a", "b"], "cd"])))
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[out].result == [2, 3, 4, 5]
    assert state.result[text].result == ["a", "b", "cd"]  # text is one item, not letters


@THREE
def test_flatten_of_a_failed_or_skipped_child_keeps_it_as_one_item_with_its_state(
    executor: Executor,
) -> None:
    with Flow("flatten-children") as flow:
        children = child.map([[1], "fail", "skip", [2, 3]])
        out = inc.map(flatten(children))
    state = flow.run(executor=executor)
    parent = state.result[out]
    assert isinstance(parent, Mapped)
    assert [type(s).__name__ for s in parent.map_states] == [
        "Success",
        "TriggerFailed",
        "Skipped",
        "Success",
        "Success",
    ]
    assert [s.result for s in parent.map_states if type(s) is Success] == [2, 3, 4]
    assert state.is_failed()


@THREE
def test_a_mapped_task_judges_its_trigger_per_child_with_an_unmapped_upstream(
    executor: Executor,
) -> None:
    with Flow("unmapped-failed") as flow:
        out = add.map([1, 2], unmapped(boom()))
        finished = add.map([1, 2], unmapped(boom()), task_args={"trigger": triggers.all_finished})
    state = flow.run(executor=executor)
    assert outcome(state.result[out])[0] == "Mapped"
    assert [type(s) for s in state.result[out].map_states] == [TriggerFailed, TriggerFailed]
    # all_finished passes per child, so each child runs and fails on the exception it is given
    assert [type(s).__name__ for s in state.result[finished].map_states] == ["Failed", "Failed"]
    assert state.is_failed()


@THREE
def test_a_skipped_unmapped_upstream_skips_the_whole_map(executor: Executor) -> None:
    with Flow("unmapped-skipped") as flow:
        out = add.map([1, 2], unmapped(skipper()))
        after = inc.map(out)
    state = flow.run(executor=executor)
    assert type(state.result[out]) is Skipped
    assert type(state.result[after]) is Skipped
    assert state.is_successful()


@THREE
def test_not_all_skipped_with_every_upstream_skipped_skips_the_task(executor: Executor) -> None:
    guarded = task(lambda a, b: "ran", name="guarded")
    with Flow("not-all-skipped") as flow:
        out = guarded(
            skipper(),
            skipper(),
            task_args={"trigger": triggers.not_all_skipped, "skip_on_upstream_skip": False},
        )
    state = flow.run(executor=executor)
    assert type(state.result[out]) is Skipped
    assert state.is_successful()


@THREE
def test_state_handlers_see_failed_before_retrying_and_a_mapped_parent_s_mapped_state(
    executor: Executor, tmp_path: Path
) -> None:
    log = tmp_path / "states.txt"
    retried = FailsOnce(
        name="retried", max_retries=1, retry_delay=0, state_handlers=[recorder(log)]
    )
    mapped_inc = inc.copy(name="mapped", state_handlers=[recorder(log)])
    with Flow("handlers") as flow:
        out = retried()
        mapped = mapped_inc.map([1, 2])
    state = flow.run(executor=executor)
    assert state.result[out].result == "second attempt"
    lines = log.read_text().splitlines()
    assert [line for line in lines if line.startswith("retried")] == [
        "retried: Pending -> Running",
        "retried: Running -> Failed",
        "retried: Failed -> Retrying",
        "retried: Retrying -> Running",
        "retried: Running -> Success",
    ]
    assert "mapped: Pending -> Mapped" in lines
    assert lines.count("mapped: Running -> Success") == 2  # each child, too
    assert isinstance(state.result[mapped], Mapped)
    # the recorded history follows the state machine: the Failed is not kept
    history = state.context["task_history"][flow.key(out)]
    assert [s.name for s in history] == ["Running", "Retrying", "Running", "Success"]


@THREE
def test_flow_state_handlers_see_pending_to_running_then_the_end(executor: Executor) -> None:
    seen: list[str] = []
    with Flow(
        "flow-handlers",
        state_handlers=[lambda f, old, new: seen.append(f"{old.name} -> {new.name}")],
    ) as flow:
        inc(1)
    flow.run(executor=executor)
    assert seen == ["Pending -> Running", "Running -> Success"]


@THREE
def test_the_run_context_has_prefect_1_s_id_keys(executor: Executor) -> None:
    with Flow("Context Keys") as flow:
        plain = context_keys()
        mapped = context_keys.map(upstream_tasks=[inc.map([1, 2])])
    state = flow.run(executor=executor)
    run_id = state.context["flow_run_id"]
    keys = state.result[plain].result
    assert keys["flow_id"] == "context-keys"
    assert keys["flow_run_id"] == run_id
    assert keys["flow_run_name"] == f"context-keys-{run_id[:8]}"
    assert keys["task_slug"] == flow.key(plain)
    assert keys["task_run_id"] == f"{run_id}/{flow.key(plain)}"
    second = state.result[mapped].result[1]
    assert second["task_run_id"] == f"{run_id}/{flow.key(mapped)}[1]"
    assert second["map_index"] == 1
