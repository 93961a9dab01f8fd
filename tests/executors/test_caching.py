"""The cache, targets and given task states behave the same on every executor: the
``LocalExecutor``, a ``LocalDaskExecutor`` with threads and a ``DaskExecutor`` on the session's
LocalCluster (whose workers are other processes, so calls are counted in files)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import cloudpickle
import pytest
from tests.executors import caching_flows
from tests.executors.caching_flows import call_counts, double, plus_one

from tideflow import Flow, Parameter, unmapped
from tideflow.engine.results import LocalResult
from tideflow.executors import Executor
from tideflow.states import Cached, Mapped, Success

cloudpickle.register_pickle_by_value(caching_flows)

pytestmark = pytest.mark.parametrize("executor", ["local", "threads", "dask"], indirect=True)


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    folder = tmp_path / "calls"
    folder.mkdir()
    return folder


def test_a_cached_task_is_not_run_again_within_cache_for(executor: Executor, calls: Path) -> None:
    with Flow("cached-everywhere") as flow:
        doubled = double(Parameter("x"), str(calls), task_args={"cache_for": timedelta(hours=1)})
        plus_one(doubled, str(calls))
    first = flow.run(x=4, executor=executor)
    second = flow.run(x=4, executor=executor)
    assert isinstance(first.result[doubled], Cached)
    assert isinstance(second.result[doubled], Cached)
    assert second.result[doubled].result == 8
    assert (second.result[doubled].message or "").startswith("Cache hit")
    assert call_counts(calls) == {"double": 1, "plus_one": 2}


def test_mapped_children_find_their_own_targets(
    executor: Executor, calls: Path, tmp_path: Path
) -> None:
    result = LocalResult(dir=tmp_path / "results")
    with Flow("mapped-targets") as flow:
        doubled = double.map(
            Parameter("xs"),
            calls=unmapped(str(calls)),
            task_args={"target": "{task_name}-{map_index}-{x}.pkl", "result": result},
        )
    first = flow.run(xs=[1, 2, 3], executor=executor)
    again = flow.run(xs=[1, 2, 5], executor=executor)
    assert first.result[doubled].result == [2, 4, 6]
    assert again.result[doubled].result == [2, 4, 10]
    children = again.result[doubled]
    assert isinstance(children, Mapped)
    assert [type(c).__name__ for c in children.map_states] == ["Cached", "Cached", "Success"]
    assert call_counts(calls) == {"double[0]": 1, "double[1]": 1, "double[2]": 2}


def test_given_task_states_are_not_run_and_feed_downstream(executor: Executor, calls: Path) -> None:
    with Flow("given-everywhere") as flow:
        doubled = double(Parameter("x"), str(calls))
        last = plus_one(doubled, str(calls))
    run = flow.run(x=1, executor=executor, task_states={doubled: Success(result=100)})
    assert run.result[last].result == 101
    assert call_counts(calls) == {"plus_one": 1}
