"""The run store contract, held against every backend (memory, SQLite, PostgreSQL).

Each test states one promise of :class:`tideflow.store.RunStore`; the ``store`` fixture runs it on
each backend. The last section checks the records themselves, which every backend shares.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tideflow.store import (
    SCHEMA_VERSION,
    AmbiguousRunError,
    DeploymentNotFoundError,
    DuplicateRunError,
    Event,
    FlowRecord,
    FlowRunRecord,
    InvalidRecordError,
    LogLine,
    MetricPoint,
    ResultRow,
    RunNotFoundError,
    RunStore,
    StoreClosedError,
    TaskStateChange,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def flow_run(run_id: str = "run-1", **fields: Any) -> FlowRunRecord:
    values: dict[str, Any] = {
        "id": run_id,
        "flow_name": "tickets",
        "deployment": None,
        "parameters": {"batch-size": 100},
        "scheduled_start_time": T0,
        "start_time": None,
        "end_time": None,
        "state": "Scheduled",
        "state_message": None,
        "lateness": None,
        "host": "host-a",
        "pid": 4242,
        "heartbeat": None,
    }
    return FlowRunRecord(**(values | fields))


def change(
    state: str, seconds: float, key: str = "predict-1", map_index: int | None = None, **fields: Any
) -> TaskStateChange:
    values: dict[str, Any] = {
        "flow_run_id": "run-1",
        "task_key": key,
        "task_name": key.split("-")[0],
        "map_index": map_index,
        "state": state,
        "message": None,
        "timestamp": at(seconds),
    }
    return TaskStateChange(**(values | fields))


def log(message: str, task_key: str | None = None, run_id: str = "run-1") -> LogLine:
    return LogLine(
        flow_run_id=run_id,
        task_key=task_key,
        map_index=None,
        timestamp=T0,
        level="INFO",
        logger="tideflow.task",
        message=message,
    )


def metric(name: str, number: float, run_id: str = "run-1", seconds: float = 0) -> ResultRow:
    return ResultRow(
        flow_run_id=run_id,
        task_key="evaluate-1",
        map_index=None,
        name=name,
        kind="metric",
        value=number,
        number=number,
        timestamp=at(seconds),
    )


def ids(runs: list[FlowRunRecord]) -> list[str]:
    return [run.id for run in runs]


def race(workers: int, attempt: Callable[[int], object]) -> list[object]:
    """Run ``attempt(i)`` in ``workers`` threads released together; their outcomes, in order."""
    barrier = threading.Barrier(workers)
    outcomes: list[object] = [None] * workers

    def work(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = attempt(i)
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


# -- flows ---------------------------------------------------------------------------------------


def test_a_flow_is_recorded_and_replaced_by_name(store: RunStore) -> None:
    store.upsert_flow(FlowRecord(name="tickets", graph_hash="h1", graph={"nodes": ["a"]}))
    store.upsert_flow(FlowRecord(name="tickets", graph_hash="h2", graph={"nodes": ["a", "b"]}))
    assert store.get_flow("tickets") == FlowRecord(
        name="tickets", graph_hash="h2", graph={"nodes": ["a", "b"]}
    )
    assert store.get_flow("other") is None


# -- creating runs -------------------------------------------------------------------------------


def test_a_created_run_reads_back_equal(store: RunStore) -> None:
    run = flow_run(deployment="hourly", lateness=1.5, state_message="waiting", heartbeat=at(3))
    store.create_flow_run(run)
    assert store.get_flow_run("run-1") == run


def test_parameters_come_back_as_json_and_cannot_be_changed_behind_the_store(
    store: RunStore,
) -> None:
    parameters: dict[str, Any] = {"sizes": (1, 2), "nested": {"a": None}}
    store.create_flow_run(flow_run(parameters=parameters))
    parameters["nested"]["a"] = "changed"
    store.get_flow_run("run-1").parameters["sizes"].append(3)
    assert store.get_flow_run("run-1").parameters == {"sizes": [1, 2], "nested": {"a": None}}


def test_a_run_id_is_unique(store: RunStore) -> None:
    store.create_flow_run(flow_run("run-1"))
    with pytest.raises(DuplicateRunError, match="'run-1' already exists"):
        store.create_flow_run(flow_run("run-1", scheduled_start_time=at(60)))


def test_a_deployment_slot_holds_one_run(store: RunStore) -> None:
    store.create_flow_run(flow_run("run-1", deployment="hourly"))
    with pytest.raises(DuplicateRunError) as caught:
        store.create_flow_run(flow_run("run-2", deployment="hourly"))
    assert "'hourly'" in str(caught.value)
    assert "2026-03-01T12:00:00+00:00" in str(caught.value)
    assert "run run-1" in str(caught.value)
    assert ids(store.list_flow_runs()) == ["run-1"]


def test_runs_share_a_scheduled_time_unless_they_share_a_deployment(store: RunStore) -> None:
    store.create_flow_run(flow_run("adhoc-1"))
    store.create_flow_run(flow_run("adhoc-2"))
    store.create_flow_run(flow_run("hourly-1", deployment="hourly"))
    store.create_flow_run(flow_run("daily-1", deployment="daily"))
    store.create_flow_run(flow_run("hourly-2", deployment="hourly", scheduled_start_time=at(3600)))
    assert len(store.list_flow_runs()) == 5


def test_of_many_callers_creating_one_slot_exactly_one_succeeds(store: RunStore) -> None:
    outcomes = race(8, lambda i: store.create_flow_run(flow_run(f"run-{i}", deployment="hourly")))
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, DuplicateRunError) for o in outcomes if o is not None)
    assert len(store.list_flow_runs(deployment="hourly")) == 1


# -- finding a run by id or prefix ---------------------------------------------------------------


def test_a_unique_prefix_finds_the_run(store: RunStore) -> None:
    store.create_flow_run(flow_run("3f2a9c"))
    store.create_flow_run(flow_run("7b1e04"))
    assert store.get_flow_run("3f").id == "3f2a9c"
    assert store.get_flow_run("7b1e04").id == "7b1e04"


def test_an_exact_id_wins_over_the_longer_ids_it_begins(store: RunStore) -> None:
    store.create_flow_run(flow_run("abc"))
    store.create_flow_run(flow_run("abcd"))
    assert store.get_flow_run("abc").id == "abc"


def test_a_prefix_that_matches_nothing_is_named_in_the_error(store: RunStore) -> None:
    store.create_flow_run(flow_run("3f2a9c"))
    with pytest.raises(RunNotFoundError, match="no flow run has an id starting with 'ff'"):
        store.get_flow_run("ff")


def test_an_ambiguous_prefix_names_up_to_five_matches(store: RunStore) -> None:
    for i in range(7):
        store.create_flow_run(flow_run(f"ab{i}"))
    with pytest.raises(AmbiguousRunError) as caught:
        store.get_flow_run("ab")
    assert str(caught.value) == (
        "run id prefix 'ab' is ambiguous: it matches ab0, ab1, ab2, ab3, ab4 and more; "
        "give more characters"
    )
    store.create_flow_run(flow_run("xy1"))
    store.create_flow_run(flow_run("xy2"))
    with pytest.raises(AmbiguousRunError, match="matches xy1, xy2; give"):
        store.get_flow_run("xy")


def test_prefixes_are_literal_and_case_sensitive(store: RunStore) -> None:
    store.create_flow_run(flow_run("abc"))
    for prefix in ("ABC", "a%", "a_c", "_"):
        with pytest.raises(RunNotFoundError):
            store.get_flow_run(prefix)


# -- changing a run's state ----------------------------------------------------------------------


def claimed(store: RunStore, run_id: str = "run-1", seconds: float = 1) -> FlowRunRecord:
    found = store.claim(run_id, at=at(seconds), host="host-b", pid=77)
    assert found is not None
    return found


def started(store: RunStore, run_id: str = "run-1", seconds: float = 2) -> FlowRunRecord:
    claimed(store, run_id, seconds - 1)
    found = store.start(run_id, at=at(seconds), host="host-b", pid=77, flow_name="real-name")
    assert found is not None
    return found


def test_a_run_is_claimed_started_and_finished_with_its_times(store: RunStore) -> None:
    store.create_flow_run(flow_run(deployment="hourly", origin="schedule"))
    run = claimed(store)
    assert (run.state, run.host, run.pid, run.heartbeat) == ("Claimed", "host-b", 77, at(1))
    run = store.start("run-1", at=at(2), host="host-b", pid=77, flow_name="real-name")
    assert run is not None
    assert (run.state, run.start_time, run.lateness, run.flow_name) == (
        "Running",
        at(2),
        2.0,
        "real-name",
    )
    assert store.finish("run-1", "Success", "All tasks succeeded", at=at(9)) is not None
    run = store.get_flow_run("run-1")
    assert (run.state, run.state_message) == ("Success", "All tasks succeeded")
    assert (run.start_time, run.end_time, run.lateness) == (at(2), at(9), 2.0)
    assert run.is_finished


def test_only_the_process_a_claim_names_may_start_the_run(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    claimed(store)
    assert store.start("run-1", at=at(2), host="host-b", pid=78) is None
    assert store.start("run-1", at=at(2), host="host-c", pid=77) is None
    assert store.get_flow_run("run-1").state == "Claimed"


@pytest.mark.parametrize(
    ("verb", "state"),
    [
        ("start", "Scheduled"),
        ("finish", "Scheduled"),
        ("claim", "Running"),
        ("claim", "Success"),
        ("finish", "Success"),
        ("release", "Running"),
        ("cancel", "Scheduled"),
        ("reschedule", "Success"),
        ("pause", "Scheduled"),
        ("pause", "Claimed"),
        ("resume", "Running"),
        ("resume", "Success"),
    ],
)
def test_an_illegal_move_is_refused_and_nothing_is_written(
    store: RunStore, verb: str, state: str
) -> None:
    store.create_flow_run(flow_run(state=state, host="host-b", pid=77))
    before = store.last_event_id()
    calls: dict[str, Callable[[], object]] = {
        "start": lambda: store.start("run-1", at=at(1), host="host-b", pid=77),
        "finish": lambda: store.finish("run-1", "Failed", "late", at=at(1)),
        "claim": lambda: store.claim("run-1", at=at(1), host="host-b", pid=77),
        "release": lambda: store.release("run-1", at=at(1), reason="r"),
        "cancel": lambda: store.cancel("run-1", at=at(1), message="m"),
        "reschedule": lambda: store.reschedule("run-1", at=at(1), message="m"),
        "pause": lambda: store.pause("run-1", at=at(1), message="m", host="host-b", pid=77),
        "resume": lambda: store.resume("run-1", at=at(1), message="m"),
    }
    assert calls[verb]() is None
    assert store.get_flow_run("run-1").state == state
    assert store.last_event_id() == before


def test_finish_takes_only_final_states(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    with pytest.raises(InvalidRecordError, match="takes a final state, got 'Running'"):
        store.finish("run-1", "Running", None, at=at(1))
    with pytest.raises(InvalidRecordError, match="takes a final state, got 'running'"):
        store.finish("run-1", "running", None, at=at(1))


def test_finish_changes_only_from_an_expected_state(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    started(store)
    assert store.finish("run-1", "Crashed", "gone", at=at(3), expected={"Claimed"}) is None
    assert store.get_flow_run("run-1").state == "Running"
    assert store.finish("run-1", "Crashed", "gone", at=at(3), expected={"Running"}) is not None


def test_of_many_schedulers_claiming_a_run_exactly_one_wins(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    outcomes = race(8, lambda i: store.claim("run-1", at=at(1), host="h", pid=100 + i))
    won = [i for i, outcome in enumerate(outcomes) if outcome is not None]
    assert len(won) == 1
    assert store.get_flow_run("run-1").pid == 100 + won[0]
    claims = [e for e in store.events(flow_run_id="run-1") if e.name == "Claimed"]
    assert len(claims) == 1


def test_a_claim_sets_the_attempt_s_deadline_from_the_run_s_timeout(store: RunStore) -> None:
    store.create_flow_run(flow_run(deployment="d", timeout=30.0))
    assert claimed(store, seconds=5).deadline == at(35)
    store.create_flow_run(flow_run("run-2", deployment="d", scheduled_start_time=at(60)))
    assert claimed(store, "run-2", seconds=5).deadline is None


def test_a_failure_with_retries_left_goes_on_to_retrying_in_the_same_step(
    store: RunStore,
) -> None:
    store.create_flow_run(flow_run(deployment="d", retries=1, retry_delay=10.0, timeout=60.0))
    started(store)
    run = store.finish("run-1", "Failed", "boom", at=at(5))
    assert run is not None
    assert (run.state, run.attempts, run.not_before, run.deadline) == (
        "Retrying",
        2,
        at(15),
        None,
    )
    assert run.state_message == "Attempt 2 of 2 after Failed: boom"
    assert run.due_time == at(15)
    names = [e.name for e in store.events(flow_run_id="run-1", kinds=["flow_run"])]
    assert names[-2:] == ["Failed", "Retrying"]
    # The second attempt: claimed, started, failed again: no retries left.
    started(store, seconds=20)
    final = store.finish("run-1", "Crashed", "its process died", at=at(21))
    assert final is not None
    assert (final.state, final.attempts) == ("Crashed", 2)


def test_runs_without_a_deployment_are_never_retried_automatically(store: RunStore) -> None:
    store.create_flow_run(flow_run(retries=3))
    started(store)
    run = store.finish("run-1", "Failed", "boom", at=at(5))
    assert run is not None
    assert run.state == "Failed"


def test_a_failed_run_is_retried_on_request(store: RunStore) -> None:
    store.create_flow_run(flow_run(deployment="d"))
    started(store)
    store.finish("run-1", "TimedOut", "too slow", at=at(5))
    run = store.reschedule("run-1", at=at(6), message="Retried by hand.")
    assert run is not None
    assert (run.state, run.attempts, run.not_before, run.end_time) == ("Retrying", 2, at(6), None)
    assert store.claim("run-1", at=at(7), host="h", pid=1) is not None


def test_a_claimed_run_released_waits_again_as_before(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    claimed(store)
    run = store.release("run-1", at=at(2), reason="its process could not be reached")
    assert run is not None
    assert (run.state, run.deadline) == ("Scheduled", None)


def test_cancelling_a_waiting_run_ends_it_and_an_active_one_asks_its_process(
    store: RunStore,
) -> None:
    store.create_flow_run(flow_run())
    store.create_flow_run(flow_run("run-2", scheduled_start_time=at(1)))
    waiting = store.request_cancel("run-1", at=at(3), reason="not needed")
    assert waiting is not None
    assert (waiting.state, waiting.end_time) == ("Cancelled", at(3))
    started(store, "run-2")
    asked = store.request_cancel("run-2", at=at(4), reason="stop it")
    assert asked is not None
    assert asked.state == "Cancelling"
    assert store.request_cancel("run-2", at=at(5), reason="again") is None
    done = store.cancel("run-2", at=at(6), message="Its process tree was stopped.")
    assert done is not None
    assert (done.state, done.end_time) == ("Cancelled", at(6))


def test_a_running_run_is_paused_by_its_process_and_resumed_back_to_running(
    store: RunStore,
) -> None:
    store.create_flow_run(flow_run(deployment="hourly", timeout=600.0))
    began = started(store)
    before = store.last_event_id()
    assert store.pause("run-1", at=at(3), message="m", host="host-b", pid=78) is None
    paused = store.pause("run-1", at=at(3), message="waiting for approval", host="host-b", pid=77)
    assert paused is not None
    assert (paused.state, paused.state_message) == ("Paused", "waiting for approval")
    assert (paused.host, paused.pid, paused.deadline) == ("host-b", 77, began.deadline)
    assert paused.is_active
    assert not paused.is_finished
    assert store.pause("run-1", at=at(4), message="again", host="host-b", pid=77) is None
    resumed = store.resume("run-1", at=at(5), message="Resumed on request.")
    assert resumed is not None
    assert (resumed.state, resumed.pid, resumed.start_time) == ("Running", 77, began.start_time)
    assert store.resume("run-1", at=at(6), message="again") is None
    events = [(e.name, e.data["from"]) for e in store.events(after_id=before)]
    assert events == [("Paused", "Running"), ("Running", "Paused")]
    assert store.finish("run-1", "Success", "done", at=at(7)) is not None


def test_a_paused_run_asked_to_stop_is_cancelling_until_its_process_ends_it(
    store: RunStore,
) -> None:
    store.create_flow_run(flow_run())
    started(store)
    store.pause("run-1", at=at(3), message="waiting", host="host-b", pid=77)
    asked = store.request_cancel("run-1", at=at(4), reason="not approved")
    assert asked is not None
    assert asked.state == "Cancelling"
    assert store.resume("run-1", at=at(5), message="too late") is None
    assert store.finish("run-1", "Cancelled", "cancelled while paused", at=at(6)) is not None


def test_a_paused_run_whose_process_died_may_be_crashed_by_a_service(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    started(store)
    store.pause("run-1", at=at(3), message="waiting", host="host-b", pid=77)
    ended = store.finish("run-1", "Crashed", "gone", at=at(4), expected={"Claimed", "Running"})
    assert ended is None
    assert store.finish("run-1", "Crashed", "gone", at=at(4), expected={"Paused"}) is not None


def test_a_run_asked_to_stop_may_still_end_on_its_own(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    started(store)
    store.request_cancel("run-1", at=at(3), reason="stop it")
    assert store.finish("run-1", "Success", "done first", at=at(4)) is not None


def test_changing_a_missing_run_raises(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError, match="'nope'"):
        store.claim("nope", at=at(1), host="h", pid=1)
    with pytest.raises(RunNotFoundError, match="'nope'"):
        store.finish("nope", "Failed", None, at=at(1))
    with pytest.raises(RunNotFoundError, match="'nope'"):
        store.heartbeat("nope", at(1))


def test_a_heartbeat_is_recorded_and_answers_the_run_s_state(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    started(store)
    assert store.heartbeat("run-1", at(30)) == "Running"
    store.request_cancel("run-1", at=at(40), reason="stop")
    assert store.heartbeat("run-1", at(60)) == "Cancelling"
    assert store.get_flow_run("run-1").heartbeat == at(60)


def test_naive_datetimes_are_refused_by_every_method(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    naive = datetime(2026, 3, 1, 12)
    calls: list[Callable[[], object]] = [
        lambda: store.claim("run-1", at=naive, host="h", pid=1),
        lambda: store.finish("run-1", "Failed", None, at=naive),
        lambda: store.request_cancel("run-1", at=naive, reason="r"),
        lambda: store.heartbeat("run-1", naive),
        lambda: store.list_flow_runs(since=naive),
        lambda: store.prune(naive),
    ]
    for call in calls:
        with pytest.raises(InvalidRecordError, match="must be timezone-aware"):
            call()
    assert store.get_flow_run("run-1") == flow_run()


# -- the event log -------------------------------------------------------------------------------


def test_every_state_change_is_an_event_with_increasing_ids(store: RunStore) -> None:
    store.create_flow_run(flow_run(deployment="d", origin="trigger"))
    started(store)
    store.finish("run-1", "Success", "done", at=at(3))
    found = store.events(flow_run_id="run-1")
    assert [(e.kind, e.name, e.data["from"]) for e in found] == [
        ("flow_run", "Scheduled", None),
        ("flow_run", "Claimed", "Scheduled"),
        ("flow_run", "Running", "Claimed"),
        ("flow_run", "Success", "Running"),
    ]
    assert [e.id for e in found] == sorted({e.id for e in found if e.id is not None})
    assert found[0].data["origin"] == "trigger"
    assert {e.deployment for e in found} == {"d"}
    assert found[2].data["pid"] == 77
    assert store.last_event_id() == found[-1].id


def test_events_after_an_id_give_only_newer_ones_to_follow_the_store(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    seen = store.last_event_id()
    claimed(store)
    store.upsert_deployment("nightly", {"v": 1}, at(2))
    newer = store.events(after_id=seen)
    assert [(e.kind, e.name) for e in newer] == [("flow_run", "Claimed"), ("deployment", "created")]
    assert store.events(after_id=seen, limit=1) == newer[:1]
    assert store.events(after_id=seen, kinds=["deployment"]) == newer[1:]
    assert store.events(deployment="nightly") == newer[1:]
    assert store.events(after_id=store.last_event_id()) == []


def test_task_state_batches_are_events_of_their_run(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_task_states(
        [change("Running", 1, "t-1"), change("Success", 2, "t-1", message="ok")]
    )
    (event,) = store.events(kinds=["task_runs"])
    assert (event.flow_run_id, event.name, event.at) == ("run-1", "states", at(2))
    assert event.data["changes"] == [
        ["t-1", "t", None, "Running", None, at(1).isoformat()],
        ["t-1", "t", None, "Success", "ok", at(2).isoformat()],
    ]


def test_deployment_changes_are_events(store: RunStore) -> None:
    store.upsert_deployment("nightly", {"v": 1}, at(1))
    store.upsert_deployment("nightly", {"v": 1}, at(2))  # no change: no event
    store.upsert_deployment("nightly", {"v": 2}, at(3))
    assert store.set_deployment_paused("nightly", True, at(4))
    assert not store.set_deployment_paused("nightly", True, at(5))
    assert store.set_deployment_paused("nightly", False, at(6))
    assert store.delete_deployment("nightly", at(7))
    found = store.events(kinds=["deployment"])
    assert [(e.name, e.at) for e in found] == [
        ("created", at(1)),
        ("updated", at(3)),
        ("paused", at(4)),
        ("resumed", at(6)),
        ("deleted", at(7)),
    ]


def test_an_action_is_recorded_as_an_event(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    action = Event(kind="action", name="cancel", at=at(1), flow_run_id="run-1", data={"by": "cli"})
    event_id = store.record_event(action)
    assert store.events(after_id=event_id - 1) == [replace(action, id=event_id)]
    with pytest.raises(RunNotFoundError):
        store.record_event(replace(action, flow_run_id="ghost"))


def test_concurrent_writers_never_let_a_follower_skip_an_event(store: RunStore) -> None:
    for i in range(8):
        store.create_flow_run(flow_run(f"run-{i}", scheduled_start_time=at(i)))
    seen: list[int] = []
    last = store.last_event_id()
    stop = threading.Event()

    def follow() -> None:
        nonlocal last
        while not stop.is_set():
            for event in store.events(after_id=last):
                assert event.id is not None
                seen.append(event.id)
                last = event.id

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        race(
            8,
            lambda i: [
                store.record_task_states([change("Running", n, flow_run_id=f"run-{i}")])
                for n in range(10)
            ],
        )
    finally:
        stop.set()
        follower.join()
    seen += [e.id for e in store.events(after_id=last) if e.id is not None]
    written = [e.id for e in store.events(kinds=["task_runs"])]
    assert sorted(seen) == seen
    assert seen == written, "the follower saw every event, in order, once"


# -- task history --------------------------------------------------------------------------------


def test_task_states_come_back_in_time_order(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_task_states([change("Running", 2), change("Pending", 1)])
    store.record_task_states([change("Success", 3), change("Pending", 1, key="score-1")])
    assert [(c.task_key, c.state) for c in store.task_states("run-1")] == [
        ("predict-1", "Pending"),
        ("score-1", "Pending"),  # same time as the first: recording order breaks the tie
        ("predict-1", "Running"),
        ("predict-1", "Success"),
    ]
    assert store.task_states("run-1")[0] == change("Pending", 1)


def test_flat_state_rows_from_the_engine_read_back_as_changes(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_task_state_rows(
        "run-1",
        [
            *("predict-1", "predict", None, "Running", None, at(1)),
            *("predict-1", "predict", None, "Success", "done", at(2.000001)),
            *("score-1", "score", 7, "Failed", "boom", at(1.5)),
        ],
    )
    store.record_task_state_rows("run-1", [])
    assert store.task_states("run-1") == [
        change("Running", 1),
        change("Failed", 1.5, key="score-1", map_index=7, message="boom"),
        change("Success", 2.000001, message="done"),
    ]
    with pytest.raises(RunNotFoundError):
        store.record_task_state_rows("ghost", ["t", "t", None, "Running", None, at(1)])


def test_task_runs_are_derived_from_state_changes_with_attempts(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_task_states(
        [
            change("Pending", 0),
            change("Running", 1),
            change("Retrying", 2, message="retry 1 of 3"),
            change("Running", 4),
            change("Success", 5, message="done"),
            change("Pending", 3, key="score-1"),
        ]
    )
    predict, score = store.task_runs("run-1")
    assert (predict.task_key, predict.task_name) == ("predict-1", "predict")
    assert (predict.state, predict.message, predict.attempts) == ("Success", "done", 2)
    assert (predict.start_time, predict.end_time) == (at(1), at(5))
    assert (score.state, score.attempts, score.start_time, score.end_time) == (
        "Pending",
        0,
        None,
        None,
    )


def test_mapped_children_are_task_runs_of_their_own(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_task_states(
        [change("Running", 1, key="fit-1", map_index=i) for i in (1, 0)]
        + [change("Mapped", 2, key="fit-1"), change("Failed", 3, key="fit-1", map_index=0)]
    )
    runs = store.task_runs("run-1")
    assert [(r.map_index, r.state) for r in runs] == [
        (1, "Running"),
        (0, "Failed"),
        (None, "Mapped"),
    ]
    assert runs[0].end_time is None  # still running: no end yet
    assert runs[1].end_time == at(3)


@pytest.mark.parametrize("kind", ["task states", "logs", "results"])
def test_history_of_a_missing_run_is_refused_whole(store: RunStore, kind: str) -> None:
    store.create_flow_run(flow_run())
    batches: dict[str, Callable[[str], None]] = {
        "task states": lambda rid: store.record_task_states(
            [change("Running", 1), change("Running", 1, flow_run_id=rid)]
        ),
        "logs": lambda rid: store.record_logs([log("kept?"), log("lost", run_id=rid)]),
        "results": lambda rid: store.record_results([metric("mae", 1.0), metric("mae", 2, rid)]),
    }
    with pytest.raises(RunNotFoundError, match="no flow run with id ghost"):
        batches[kind]("ghost")
    assert store.task_states("run-1") == []
    assert store.logs("run-1") == []
    assert store.results("run-1") == []


def test_reading_the_history_of_an_unknown_run_gives_nothing(store: RunStore) -> None:
    assert store.task_states("ghost") == []
    assert store.task_runs("ghost") == []
    assert store.logs("ghost") == []
    assert store.results("ghost") == []
    assert store.metrics("ghost-flow") == []


def test_empty_batches_are_accepted(store: RunStore) -> None:
    store.record_task_states([])
    store.record_logs([])
    store.record_results([])


# -- logs ----------------------------------------------------------------------------------------


def test_log_lines_get_increasing_ids_in_recording_order(store: RunStore) -> None:
    store.create_flow_run(flow_run("run-1"))
    store.create_flow_run(flow_run("run-2"))
    store.record_logs([log("one"), log("other run", run_id="run-2"), log("two")])
    store.record_logs([log("three")])
    lines = store.logs("run-1")
    assert [line.message for line in lines] == ["one", "two", "three"]
    line_ids = [line.id for line in lines]
    assert all(isinstance(i, int) for i in line_ids)
    assert line_ids == sorted(set(line_ids))  # increasing, no repeats
    assert lines[0] == replace(log("one"), id=line_ids[0])


def test_logs_after_an_id_give_only_newer_lines_to_follow_a_run(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_logs([log("one"), log("two")])
    seen = store.logs("run-1")
    assert store.logs("run-1", after_id=seen[-1].id) == []
    store.record_logs([log("three"), log("four")])
    assert [line.message for line in store.logs("run-1", after_id=seen[-1].id)] == ["three", "four"]
    assert [line.message for line in store.logs("run-1", after_id=seen[0].id, limit=2)] == [
        "two",
        "three",
    ]


def test_logs_filter_by_task(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    store.record_logs([log("flow"), log("predicting", "predict-1"), log("scoring", "score-1")])
    assert [line.message for line in store.logs("run-1", task_key="predict-1")] == ["predicting"]
    assert [line.message for line in store.logs("run-1", limit=1)] == ["flow"]
    assert store.logs("run-1", limit=0) == []


# -- results and metrics -------------------------------------------------------------------------


def test_results_come_back_as_json_in_time_order(store: RunStore) -> None:
    store.create_flow_run(flow_run())
    summary = ResultRow(
        flow_run_id="run-1",
        task_key="summary-1",
        map_index=None,
        name="trial_summary",
        kind="result",
        value={"num_obs": 100, "metrics": ("mae", "r2")},
        number=None,
        timestamp=at(5),
    )
    artifact = ResultRow(
        flow_run_id="run-1",
        task_key=None,
        map_index=None,
        name="report",
        kind="artifact",
        value=None,
        number=None,
        timestamp=at(5),
    )
    store.record_results([summary, metric("mae", 3.25, seconds=1), artifact])
    rows = store.results("run-1")
    assert [row.name for row in rows] == ["mae", "trial_summary", "report"]
    assert rows[1].value == {"num_obs": 100, "metrics": ["mae", "r2"]}
    assert rows[0] == metric("mae", 3.25, seconds=1)
    assert rows[2] == artifact


def test_metrics_follow_a_flow_across_runs_oldest_first(store: RunStore) -> None:
    for i, hours in enumerate([2, 0, 1]):
        store.create_flow_run(flow_run(f"run-{i}", scheduled_start_time=at(3600 * hours)))
    store.create_flow_run(flow_run("elsewhere", flow_name="other"))
    store.record_results(
        [metric("mae", 10 + i, f"run-{i}") for i in range(3)]
        + [metric("r2", 0.5, "run-1"), metric("mae", 99, "elsewhere")]
    )
    points = store.metrics("tickets", "mae")
    assert [(p.flow_run_id, p.number) for p in points] == [
        ("run-1", 11.0),
        ("run-2", 12.0),
        ("run-0", 10.0),
    ]
    assert points[0] == MetricPoint(
        flow_run_id="run-1", name="mae", number=11.0, timestamp=T0, scheduled_start_time=T0
    )
    assert [p.name for p in store.metrics("tickets")] == ["mae", "r2", "mae", "mae"]


def test_a_metric_limit_keeps_the_latest_points_still_oldest_first(store: RunStore) -> None:
    for i in range(5):
        store.create_flow_run(flow_run(f"run-{i}", scheduled_start_time=at(60 * i)))
        store.record_results([metric("mae", float(i), f"run-{i}")])
    assert [p.number for p in store.metrics("tickets", "mae", limit=3)] == [2.0, 3.0, 4.0]
    assert store.metrics("tickets", "mae", limit=0) == []


# -- listing runs --------------------------------------------------------------------------------


def test_runs_are_listed_newest_first(store: RunStore) -> None:
    store.create_flow_run(flow_run("old", scheduled_start_time=at(0), start_time=at(1)))
    store.create_flow_run(flow_run("new-a", scheduled_start_time=at(60), start_time=at(61)))
    store.create_flow_run(flow_run("new-b", scheduled_start_time=at(60), start_time=at(65)))
    store.create_flow_run(flow_run("new-unstarted", scheduled_start_time=at(60)))
    store.create_flow_run(flow_run("new-c", scheduled_start_time=at(60), start_time=at(65)))
    assert ids(store.list_flow_runs()) == ["new-c", "new-b", "new-a", "new-unstarted", "old"]


def test_runs_are_filtered_by_flow_deployment_and_state(store: RunStore) -> None:
    store.create_flow_run(flow_run("a", deployment="hourly", state="Success"))
    store.create_flow_run(flow_run("b", deployment="daily", state="Failed"))
    store.create_flow_run(flow_run("c", flow_name="other", state="TimedOut"))
    store.create_flow_run(flow_run("d", state="Running"))
    assert ids(store.list_flow_runs(flow="tickets")) == ["d", "b", "a"]
    assert ids(store.list_flow_runs(deployment="hourly")) == ["a"]
    assert ids(store.list_flow_runs(states={"Failed"})) == ["b"]
    assert ids(store.list_flow_runs(states=["Failed", "TimedOut"])) == ["c", "b"]
    assert ids(store.list_flow_runs(flow="tickets", states={"TimedOut"})) == []
    assert store.list_flow_runs(states=[]) == []


def test_since_keeps_recent_runs_and_limit_the_newest(store: RunStore) -> None:
    for minute in range(10):
        store.create_flow_run(flow_run(f"run-{minute}", scheduled_start_time=at(60 * minute)))
    assert ids(store.list_flow_runs(since=at(7 * 60))) == ["run-9", "run-8", "run-7"]
    assert ids(store.list_flow_runs(limit=2)) == ["run-9", "run-8"]
    assert len(store.list_flow_runs(limit=None)) == 10
    assert len(store.list_flow_runs()) == 10
    cet = timezone(timedelta(hours=1))
    since = datetime(2026, 3, 1, 13, 8, tzinfo=cet)  # 12:08 UTC
    assert ids(store.list_flow_runs(since=since)) == ["run-9", "run-8"]


def test_a_negative_limit_is_refused(store: RunStore) -> None:
    with pytest.raises(ValueError, match="limit must be None or an integer >= 0"):
        store.list_flow_runs(limit=-1)


def test_unfinished_runs_are_those_not_in_a_final_state(store: RunStore) -> None:
    states = ["Scheduled", "Claimed", "Running", "Paused", "Success", "Crashed", "Cancelled"]
    states += ["Retrying", "Cancelling"]
    for i, state in enumerate(states):
        store.create_flow_run(flow_run(state, state=state, scheduled_start_time=at(-i)))
    assert ids(store.unfinished_runs()) == [
        "Cancelling",
        "Retrying",
        "Paused",
        "Running",
        "Claimed",
        "Scheduled",
    ]


# -- pruning -------------------------------------------------------------------------------------


def finished_run(run_id: str, ended: float, state: str = "Success") -> FlowRunRecord:
    return flow_run(
        run_id,
        state=state,
        scheduled_start_time=at(ended - 10),
        start_time=at(ended - 5),
        end_time=at(ended),
    )


def test_prune_deletes_old_finished_runs_with_their_history(store: RunStore) -> None:
    store.create_flow_run(finished_run("old", ended=100, state="Failed"))
    store.create_flow_run(finished_run("recent", ended=300))
    for run_id in ("old", "recent"):
        store.record_task_states([change("Success", 1, flow_run_id=run_id)])
        store.record_logs([log("hello", run_id=run_id)])
        store.record_results([metric("mae", 1.0, run_id)])
    assert store.prune(older_than=at(200)) == 1
    assert ids(store.list_flow_runs()) == ["recent"]
    with pytest.raises(RunNotFoundError):
        store.get_flow_run("old")
    assert (store.task_states("old"), store.logs("old"), store.results("old")) == ([], [], [])
    assert len(store.task_states("recent")) == len(store.logs("recent")) == 1
    assert [p.flow_run_id for p in store.metrics("tickets")] == ["recent"]


def test_prune_never_deletes_unfinished_runs(store: RunStore) -> None:
    for state in ("Scheduled", "Running", "Paused"):
        store.create_flow_run(flow_run(state, state=state, start_time=at(-1000)))
    assert store.prune(older_than=at(10**6)) == 0
    assert len(store.unfinished_runs()) == 3


def test_prune_judges_a_run_without_an_end_by_its_start_then_its_schedule(store: RunStore) -> None:
    store.create_flow_run(flow_run("started", state="Crashed", start_time=at(50)))
    store.create_flow_run(flow_run("never-started", state="Cancelled", scheduled_start_time=at(50)))
    assert store.prune(older_than=at(50)) == 0
    assert store.prune(older_than=at(51)) == 2


def test_a_pruned_slot_can_be_scheduled_again(store: RunStore) -> None:
    store.create_flow_run(flow_run("first", deployment="hourly", state="Success", end_time=at(1)))
    store.prune(older_than=at(2))
    store.create_flow_run(flow_run("second", deployment="hourly"))
    assert ids(store.list_flow_runs(deployment="hourly")) == ["second"]


# -- housekeeping --------------------------------------------------------------------------------


def test_the_schema_version_is_current(store: RunStore) -> None:
    assert store.schema_version() == SCHEMA_VERSION


def test_a_closed_store_refuses_work(store: RunStore) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosedError, match="closed"):
        store.list_flow_runs()
    with pytest.raises(StoreClosedError):
        store.create_flow_run(flow_run())


# -- records -------------------------------------------------------------------------------------

NAIVE = datetime(2026, 3, 1, 12)

RECORD_DATETIMES: list[tuple[str, Callable[[datetime], object]]] = [
    ("FlowRunRecord.scheduled_start_time", lambda d: flow_run(scheduled_start_time=d)),
    ("FlowRunRecord.start_time", lambda d: flow_run(start_time=d)),
    ("FlowRunRecord.end_time", lambda d: flow_run(end_time=d)),
    ("FlowRunRecord.heartbeat", lambda d: flow_run(heartbeat=d)),
    ("TaskStateChange.timestamp", lambda d: change("Running", 0, timestamp=d)),
    ("LogLine.timestamp", lambda d: replace(log("x"), timestamp=d)),
    ("ResultRow.timestamp", lambda d: replace(metric("mae", 1.0), timestamp=d)),
    (
        "MetricPoint.timestamp",
        lambda d: MetricPoint(
            flow_run_id="r", name="m", number=1.0, timestamp=d, scheduled_start_time=T0
        ),
    ),
]


@pytest.mark.parametrize(("field", "build"), RECORD_DATETIMES, ids=[f for f, _ in RECORD_DATETIMES])
def test_records_refuse_naive_datetimes(field: str, build: Callable[[datetime], object]) -> None:
    with pytest.raises(InvalidRecordError) as caught:
        build(NAIVE)
    assert str(caught.value) == (
        f"{field} must be timezone-aware (UTC), got the naive datetime 2026-03-01T12:00:00; "
        "use datetime.now(UTC) or attach tzinfo=UTC"
    )


def test_records_keep_aware_datetimes_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    run = flow_run(scheduled_start_time=datetime(2026, 3, 1, 13, tzinfo=paris))
    assert run.scheduled_start_time == T0
    assert run.scheduled_start_time.tzinfo is UTC


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: flow_run(state="Done"), "FlowRunRecord.state must be a state name, got 'Done'"),
        (lambda: flow_run(id=""), "FlowRunRecord.id must be a non-empty string"),
        (lambda: flow_run(pid=-1), "FlowRunRecord.pid must be an integer >= 0"),
        (lambda: flow_run(parameters=[1]), "FlowRunRecord.parameters must be a dict, got list"),
        (lambda: flow_run(parameters={"f": print}), "parameters must be JSON-serialisable"),
        (lambda: change("Running", 0, map_index=-1), "map_index must be an integer >= 0"),
        (lambda: replace(metric("mae", 1), kind="blob"), "ResultRow.kind must be one of"),
        (lambda: replace(metric("mae", 1), number=None), "must be a finite number for a metric"),
        (
            lambda: replace(metric("mae", 1), value={1, 2}),
            "ResultRow.value must be JSON-serialisable",
        ),
        (lambda: FlowRecord(name="f", graph_hash="h", graph=None), "graph must be a dict"),
    ],
)
def test_records_refuse_values_a_store_cannot_keep(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidRecordError, match=message.replace("(", r"\(")):
        build()


# -- deployments ---------------------------------------------------------------------------------


SPEC = {"entrypoint": {"kind": "flow", "target": "flows.py:flow"}, "schedule": None}


def test_a_deployment_is_registered_read_back_and_listed_by_name(store: RunStore) -> None:
    assert store.get_deployment("nightly") is None
    store.upsert_deployment("nightly", SPEC, T0)
    store.upsert_deployment("hourly", {**SPEC, "kind": "persistent"}, at(1), paused=True)
    nightly = store.get_deployment("nightly")
    assert nightly is not None
    assert (nightly.spec, nightly.paused, nightly.created_at, nightly.last_fire) == (
        SPEC,
        False,
        T0,
        None,
    )
    assert [(d.name, d.paused) for d in store.list_deployments()] == [
        ("hourly", True),
        ("nightly", False),
    ]


def test_updating_a_deployment_keeps_its_creation_pause_and_progress(store: RunStore) -> None:
    store.upsert_deployment("nightly", SPEC, T0)
    store.set_deployment_paused("nightly", True, at(1))
    store.advance_deployment("nightly", at(60))
    store.upsert_deployment("nightly", {**SPEC, "retries": 2}, at(2))
    found = store.get_deployment("nightly")
    assert found is not None
    assert (found.spec["retries"], found.paused, found.created_at, found.updated_at) == (
        2,
        True,
        T0,
        at(2),
    )
    assert found.last_fire == at(60)
    store.upsert_deployment("nightly", SPEC, at(3), paused=False)
    resumed = store.get_deployment("nightly")
    assert resumed is not None
    assert resumed.paused is False


def test_a_deployment_s_last_fire_only_moves_forward(store: RunStore) -> None:
    store.upsert_deployment("nightly", SPEC, T0)
    store.advance_deployment("nightly", at(60))
    store.advance_deployment("nightly", at(30))
    found = store.get_deployment("nightly")
    assert found is not None
    assert found.last_fire == at(60)


def test_unknown_deployments_are_named_in_the_error(store: RunStore) -> None:
    with pytest.raises(DeploymentNotFoundError, match="no deployment is called 'ghost'"):
        store.set_deployment_paused("ghost", True, T0)
    with pytest.raises(DeploymentNotFoundError, match="'ghost'"):
        store.advance_deployment("ghost", T0)
    assert store.delete_deployment("ghost", T0) is False


def test_deleting_a_deployment_keeps_its_runs(store: RunStore) -> None:
    store.upsert_deployment("nightly", SPEC, T0)
    store.create_flow_run(flow_run(deployment="nightly"))
    assert store.delete_deployment("nightly", T0) is True
    assert store.get_deployment("nightly") is None
    assert store.get_flow_run("run-1").deployment == "nightly"


# -- child runs (flows of flows) -----------------------------------------------------------------


def test_a_child_run_names_the_run_and_task_that_started_it(store: RunStore) -> None:
    store.create_flow_run(flow_run("parent", state="Running", start_time=T0))
    child = flow_run("child", parent_run_id="parent", parent_task="start-etl-1[2]")
    store.create_flow_run(child)
    store.create_flow_run(flow_run("other"))
    assert store.get_flow_run("child") == child
    assert ids(store.list_flow_runs(parent_run_id="parent")) == ["child"]
    assert store.list_flow_runs(parent_run_id="child") == []
    created = store.events(flow_run_id="child")[0]
    assert (created.data["parent_run_id"], created.data["parent_task"]) == (
        "parent",
        "start-etl-1[2]",
    )
