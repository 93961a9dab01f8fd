"""The task cache and targets on the LocalExecutor: what runs, what is reused, what is kept.

(The same behaviour on the other executors: ``tests/executors/test_caching.py``.)
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from tideflow import Flow, Parameter, task
from tideflow.clock import FakeClock
from tideflow.engine.cache_validators import all_inputs, all_parameters
from tideflow.engine.results import LocalResult, PrefectResult
from tideflow.errors import TaskDefinitionError
from tideflow.states import Cached, Failed, State, Success, TriggerFailed
from tideflow.store import MemoryStore


class Calls:
    """Counts calls per name (tasks here run in this process)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    """This test's TIDEFLOW_HOME."""
    return _isolated_home


def states(run: State) -> dict[str, State]:
    return {t.name: s for t, s in run.result.items()}


@pytest.fixture
def calls() -> Calls:
    return Calls()


def test_a_cached_task_runs_once_within_cache_for_and_again_after_it(
    calls: Calls, fake_clock: FakeClock
) -> None:
    @task(cache_for=timedelta(minutes=10))
    def load() -> int:
        calls("load")
        return 42

    with Flow("caching") as flow:
        load()
    first = states(flow.run(clock=fake_clock))["load"]
    assert isinstance(first, Cached)
    assert first.result == 42
    assert first.message is not None
    assert first.message.startswith("Result cached until")
    fake_clock.advance(timedelta(minutes=9))
    hit = states(flow.run(clock=fake_clock))["load"]
    assert isinstance(hit, Cached)
    assert hit.result == 42
    assert hit.message is not None
    assert hit.message.startswith("Cache hit")
    assert calls.counts == {"load": 1}
    fake_clock.advance(timedelta(minutes=2))
    flow.run(clock=fake_clock)
    assert calls.counts == {"load": 2}


def test_all_inputs_keeps_one_entry_per_input(calls: Calls) -> None:
    @task(cache_for=timedelta(hours=1), cache_validator=all_inputs)
    def square(x: int) -> int:
        calls(f"square({x})")
        return x * x

    with Flow("squares") as flow:
        square(Parameter("x"))
    for x in (2, 3, 2, 3):
        assert states(flow.run(x=x))["square"].result == x * x
    assert calls.counts == {"square(2)": 1, "square(3)": 1}


def test_all_parameters_reruns_when_a_parameter_changes(calls: Calls) -> None:
    @task(cache_for=timedelta(hours=1), cache_validator=all_parameters)
    def fetch() -> str:
        calls("fetch")
        return "rows"

    with Flow("fetching") as flow:
        day = Parameter("day")
        fetch(upstream_tasks=[day])
    flow.run(day="mon")
    flow.run(day="mon")
    flow.run(day="tue")
    assert calls.counts == {"fetch": 2}


def test_a_cache_key_is_shared_across_flows_and_the_default_key_is_per_flow(calls: Calls) -> None:
    def make(name: str, cache_key: str | None) -> Flow:
        @task(name="rates", cache_for=timedelta(hours=1), cache_key=cache_key)
        def rates() -> str:
            calls(f"{name}:{cache_key}")
            return f"from {name}"

        with Flow(name) as flow:
            rates()
        return flow

    assert states(make("a", "fx").run())["rates"].result == "from a"
    assert states(make("b", "fx").run())["rates"].result == "from a"  # shared by key
    assert states(make("b", None).run())["rates"].result == "from b"  # not a's: other flow
    assert states(make("c", None).run())["rates"].result == "from c"
    assert calls.counts == {"a:fx": 1, "b:None": 1, "c:None": 1}


def test_a_corrupt_cache_entry_is_a_warning_naming_it_and_the_task_runs(
    calls: Calls, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    @task(cache_for=timedelta(hours=1))
    def load() -> int:
        calls("load")
        return 7

    with Flow("corrupt") as flow:
        load()
    flow.run()
    [entry] = (home / "cache").rglob("*.entry")
    entry.write_bytes(b"tideflow-cache 1\n garbage")
    with caplog.at_level(logging.WARNING, logger="tideflow.cache"):
        run = flow.run()
    assert run.is_successful()
    assert states(run)["load"].result == 7
    assert calls.counts == {"load": 2}
    assert str(entry) in caplog.text
    assert "cannot be read" in caplog.text
    assert states(flow.run())["load"].result == 7  # the fresh entry is used
    assert calls.counts == {"load": 2}


def test_a_cached_result_is_reused_by_another_process(tmp_path: Path, home: Path) -> None:
    script = tmp_path / "cached_flow.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from datetime import timedelta
            from pathlib import Path
            from tideflow import Flow, task

            @task(cache_for=timedelta(hours=1))
            def expensive() -> int:
                with open({str(tmp_path / "calls")!r}, "a") as f:
                    f.write("called\\n")
                return 6 * 7

            with Flow("cross-process") as flow:
                expensive()
            state = flow.run()
            [only] = state.result.values()
            print(only.result, type(only).__name__)
            """
        )
    )
    outputs = [
        subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        for _ in range(2)
    ]
    assert outputs == ["42 Cached", "42 Cached"]
    assert (tmp_path / "calls").read_text() == "called\n"


def test_a_target_skips_the_task_until_the_inputs_of_its_template_change(
    calls: Calls, home: Path
) -> None:
    @task(target="{flow_name}/{task_name}-{today}-{x}.pkl")
    def report(x: int) -> str:
        calls(f"report({x})")
        return f"report {x}"

    with Flow("reports") as flow:
        report(Parameter("x"))
    first = states(flow.run(x=1))["report"]
    assert type(first) is Success
    assert first.result == "report 1"
    again = states(flow.run(x=1))["report"]
    assert isinstance(again, Cached)
    assert again.result == "report 1"
    assert states(flow.run(x=2))["report"].result == "report 2"
    assert calls.counts == {"report(1)": 1, "report(2)": 1}
    files = sorted(p.name for p in (home / "results" / "reports").iterdir())
    assert len(files) == 2
    assert all(f.startswith("report-") for f in files)


def test_a_callable_target_is_called_with_the_same_names(calls: Calls, tmp_path: Path) -> None:
    def where(**names: object) -> str:
        return f"{names['task_name']}-{names['batch']}-{names['n']}.pkl"

    @task(target=where, result=LocalResult(dir=tmp_path))
    def train(n: int) -> int:
        calls("train")
        return n

    with Flow("training") as flow:
        train(Parameter("n"), upstream_tasks=[Parameter("batch")])
    flow.run(n=1, batch="b1")
    flow.run(n=1, batch="b1")
    assert calls.counts == {"train": 1}
    assert (tmp_path / "train-b1-1.pkl").is_file()


def test_a_target_is_checked_before_the_trigger(calls: Calls, tmp_path: Path) -> None:
    @task
    def source(fail: bool) -> int:
        if fail:
            raise ValueError("source is down")
        return 1

    @task(target="derived.pkl", result=LocalResult(dir=tmp_path))
    def derived(x: int) -> int:
        calls("derived")
        return x + 1

    @task
    def use(x: int) -> int:
        return x * 10

    with Flow("targets-first") as flow:
        use(derived(source(Parameter("fail"))))
    assert states(flow.run(fail=False))["use"].result == 20
    later = states(flow.run(fail=True))
    assert isinstance(later["source"], Failed)
    assert isinstance(later["derived"], Cached)
    assert later["use"].result == 20
    assert calls.counts == {"derived": 1}


def test_a_target_naming_an_unknown_value_fails_the_task_saying_which(tmp_path: Path) -> None:
    @task(target="{task_name}-{dayy}", result=LocalResult(dir=tmp_path))
    def t() -> int:
        return 1

    with Flow("typo") as flow:
        t()
    state = states(flow.run())["t"]
    assert isinstance(state, Failed)
    assert "names {dayy}" in (state.message or "")
    assert "today" in (state.message or "")


def test_a_flow_result_writes_every_task_value_unless_checkpoint_is_false(tmp_path: Path) -> None:
    @task
    def kept() -> list[int]:
        return [1, 2]

    @task(checkpoint=False)
    def not_kept() -> int:
        return 3

    with Flow("persisted", result=LocalResult(dir=tmp_path)) as flow:
        kept()
        not_kept()
        Parameter("p", default=1)
    run = flow.run()
    run_id = run.context["flow_run_id"]
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [f"persisted/{run_id}/kept"]
    assert LocalResult(dir=tmp_path).read(written[0]).value == [1, 2]
    assert flow.copy().result is flow.result


def test_a_result_that_cannot_be_written_is_a_warning_and_the_task_still_succeeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    @task(result=PrefectResult())
    def handle() -> object:
        return object()

    with Flow("unwritable") as flow:
        handle()
    with caplog.at_level(logging.WARNING):
        run = flow.run()
    assert run.is_successful()
    assert "its result was not written" in caplog.text
    assert "JSON values only" in caplog.text


def test_given_task_states_are_not_run_and_feed_their_results_downstream(calls: Calls) -> None:
    @task
    def extract() -> int:
        calls("extract")
        return 1

    @task
    def transform(x: int) -> int:
        calls("transform")
        return x + 1

    with Flow("given") as flow:
        e = extract()
        t = transform(e)
    run = flow.run(task_states={e: Success(result=10)})
    assert run.result[t].result == 11
    assert calls.counts == {"transform": 1}
    by_key = flow.run(task_states={"extract": Success(result=20)})
    assert by_key.result[t].result == 21
    failed = flow.run(task_states={e: Failed("given as failed")})
    assert isinstance(failed.result[t], TriggerFailed)
    assert calls.counts == {"transform": 2}


def test_a_finished_flow_state_is_returned_without_running(calls: Calls) -> None:
    @task
    def t() -> None:
        calls("t")

    with Flow("done") as flow:
        t()
    done = Success("done before")
    assert flow.run(state=done) is done
    assert calls.counts == {}


def test_task_states_must_be_states() -> None:
    with Flow("bad") as flow:
        t = task(lambda: 1, name="t")()
    with pytest.raises(TypeError, match=r"must be a tideflow\.states State"):
        flow.run(task_states={t: 1})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache_for": -1}, "cache_for must be a positive number"),
        ({"cache_key": ""}, "cache_key must be a non-empty string"),
        ({"cache_validator": "all_inputs"}, "cache_validator must be a function"),
        ({"result": "local"}, "result must be a Result"),
        ({"target": 3}, "target must be a location template"),
    ],
)
def test_bad_caching_options_are_refused_when_the_task_is_made(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        task(lambda: 1, **options)


def test_a_validator_without_cache_for_warns_that_nothing_is_cached() -> None:
    with pytest.warns(UserWarning, match="without cache_for, so nothing is cached"):
        task(lambda: 1, cache_validator=all_inputs)


def test_caching_options_can_be_given_per_copy(calls: Calls) -> None:
    @task
    def t() -> int:
        calls("t")
        return 1

    with Flow("copies") as flow:
        t(task_args={"cache_for": 60})
    flow.run()
    flow.run()
    assert calls.counts == {"t": 1}
    assert flow.get_tasks(name="t")[0].cache_for == timedelta(seconds=60)


def test_where_a_result_went_is_recorded_with_the_run(tmp_path: Path) -> None:
    @task(result=LocalResult(dir=tmp_path, location="{task_name}.pkl"))
    def to_file() -> list[int]:
        return [1]

    @task(result=PrefectResult())
    def to_store() -> dict[str, int]:
        return {"n": 2}

    with Flow("recorded-results") as flow:
        to_file()
        to_store()
    store = MemoryStore()
    run_id = flow.run(store=store).context["flow_run_id"]
    rows = {(r.task_key, r.kind, r.name): r.value for r in store.results(run_id)}
    assert rows == {
        ("to_file", "artifact", "tideflow.result_location"): str(tmp_path / "to_file.pkl"),
        ("to_store", "result", "to_store"): {"n": 2},
    }


def test_each_cache_hit_gets_its_own_copy_of_the_value(calls: Calls) -> None:
    @task(cache_for=timedelta(hours=1))
    def rows() -> list[int]:
        calls("rows")
        return [1, 2]

    @task
    def append(xs: list[int]) -> list[int]:
        xs.append(3)  # changes its input in place
        return xs

    with Flow("mutating") as flow:
        append(rows())
    for _ in range(3):
        assert states(flow.run())["append"].result == [1, 2, 3]
    assert calls.counts == {"rows": 1}
