"""Secrets, resource managers, loggers and notifications of the Prefect 1 API, on the local
executor, a thread pool and a Dask cluster: what the run records and what it returns."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from tests.executors import misc_flows
from tests.executors.misc_flows import Ledger, after, explode, fail_with, log_and_use, write

from tideflow import Flow
from tideflow.executors import Executor
from tideflow.states import Failed, Skipped, Success
from tideflow.store import MemoryStore
from tideflow.tasks.secrets import PrefectSecret
from tideflow.utilities.notifications import slack_notifier

cloudpickle.register_pickle_by_value(misc_flows)

THREE = ["local", "threads", "dask"]
three_executors = pytest.mark.parametrize("executor", THREE, indirect=True)


def run_recorded(flow: Flow, executor: Executor, **kwargs: Any) -> tuple[Any, MemoryStore, str]:
    store = MemoryStore()
    state = flow.run(executor=executor, store=store, **kwargs)
    return state, store, state.context["flow_run_id"]


# -- secrets ----------------------------------------------------------------------------------


@three_executors
def test_a_secret_reaches_its_task_and_is_masked_in_recorded_lines_and_messages(
    executor: Executor,
) -> None:
    value = f"pw-{executor.__class__.__name__}-7f3a9c"
    with Flow("secret-use") as flow:
        secret = PrefectSecret("DB_PASSWORD", checkpoint=True)
        used = log_and_use(secret)
        failed = fail_with(secret)
    state, store, run_id = run_recorded(flow, executor, context={"secrets": {"DB_PASSWORD": value}})
    assert state.result[used].result == len(value)
    assert isinstance(state.result[failed], Failed)
    lines = [line.message for line in store.logs(run_id)]
    assert "connecting with password ****" in lines
    messages = [t.message or "" for t in store.task_runs(run_id)]
    assert "RuntimeError: login refused for password ****" in messages
    events = json.dumps([e.data for e in store.events()] + [e.message for e in store.events()])
    everything = json.dumps(lines) + json.dumps(messages) + events
    assert value not in everything
    assert store.results(run_id) == [], "a secret task's result is never checkpointed"


# -- resource_manager -------------------------------------------------------------------------


@three_executors
def test_a_resource_is_set_up_before_its_block_and_cleaned_up_after_even_on_failure(
    executor: Executor, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.txt"
    with Flow("resource") as flow:
        with Ledger(str(ledger)) as path:
            first = write(path, "first")
            boom = explode(path, upstream_tasks=[first])
        later = after(first)
    state = flow.run(executor=executor)
    lines = ledger.read_text().splitlines()
    assert lines == ["setup", "first", "explode", "cleanup ledger.txt"]
    assert isinstance(state.result[boom], Failed)
    assert isinstance(state.result[later], Success)
    assert isinstance(state, Failed), "the block's failure decides the run, not cleanup"


@three_executors
def test_cleanup_is_skipped_when_setup_fails_and_the_run_fails(
    executor: Executor, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.txt"
    with Flow("resource-down") as flow:
        manager = Ledger(str(ledger), fail_setup=True)
        with manager as path:
            written = write(path, "never")
    state = flow.run(executor=executor)
    assert not ledger.exists()
    assert isinstance(state, Failed)
    assert isinstance(state.result[manager.cleanup_task], Skipped)
    assert state.result[written].is_failed()


# -- loggers ----------------------------------------------------------------------------------


@three_executors
def test_get_logger_and_library_lines_in_a_task_are_recorded_with_the_run(
    executor: Executor,
) -> None:
    with Flow("loggers") as flow:
        misc_flows.log_elsewhere("m-42")
    _, store, run_id = run_recorded(flow, executor)
    lines = {(line.logger, line.message, line.task_key) for line in store.logs(run_id)}
    assert ("tideflow.etl", "get_logger line m-42", "log_elsewhere") in lines
    assert ("thirdparty.lib", "library line m-42", "log_elsewhere") in lines


# -- notifications ----------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


@three_executors
def test_a_slack_notifier_on_a_task_posts_where_the_task_runs(
    executor: Executor, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    with Flow("notified") as flow:
        fail_with("not-a-secret", task_args={"state_handlers": [slack_notifier]})
    state = flow.run(executor=executor, context={"secrets": {"SLACK_WEBHOOK_URL": url}})
    assert isinstance(state, Failed)
    titles = [message["text"] for message in received]
    assert titles == [
        "Task 'fail_with' is now in a Running state",
        "Task 'fail_with' is now in a Failed state",
    ]
