"""What a resumed attempt gives back (``tideflow.engine.resume``): finished states, with their
values read back, for the tasks that need not run again."""

from __future__ import annotations

from tideflow import Flow, Parameter, task
from tideflow.engine.resume import resume_states
from tideflow.states import Mapped, Success
from tideflow.store import MemoryStore


def test_a_mapped_task_that_succeeded_is_restored_child_by_child() -> None:
    ran: list[str] = []

    @task(checkpoint=True)
    def square(x: int) -> int:
        ran.append(f"square({x})")
        return x * x

    @task
    def total(xs: list[int], fail: bool) -> int:
        ran.append("total")
        if fail:
            raise RuntimeError("not yet")
        return sum(xs)

    with Flow("mapped-resume") as flow:
        squares = square.map([1, 2, 3])
        result = total(squares, Parameter("fail"))
    store = MemoryStore()
    first = flow.run(fail=True, store=store)
    assert first.is_failed()
    resumed = resume_states(flow, store, first.context["flow_run_id"])
    assert resumed.rerun == ["total"]
    restored = resumed.task_states[flow.key(squares)]
    assert isinstance(restored, Mapped)
    assert restored.result == [1, 4, 9]
    assert [type(s) for s in restored.map_states] == [Success, Success, Success]
    ran.clear()
    second = flow.run(fail=False, store=store, task_states=resumed.task_states)
    assert second.result[result].result == 14
    assert ran == ["total"]


def test_a_task_whose_value_nobody_needs_is_restored_without_it() -> None:
    @task
    def side_effect() -> int:
        return 1  # not kept anywhere

    @task
    def fails() -> None:
        raise RuntimeError("down")

    with Flow("unneeded") as flow:
        side_effect()
        fails()
    store = MemoryStore()
    run_id = flow.run(store=store).context["flow_run_id"]
    resumed = resume_states(flow, store, run_id)
    assert resumed.rerun == ["fails"]
    assert resumed.task_states == {"side_effect": Success(result=None)}
