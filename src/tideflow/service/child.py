"""``python -m tideflow.service.child RUN_ID``: run one claimed run of a scheduled deployment.

A launcher starts one of these per run, in the deployment's environment, and then claims the
run for it (so the claim can name this very process). It opens the run store named by
``TIDEFLOW_DATABASE_URL``, waits for that claim, reads the run and its deployment, runs it
(:func:`tideflow.service.runner.run_claimed`) and exits: status 0 when the run succeeded, 1
when it did not, 3 when the run was not claimed for this process (another process has it, or
the service that started this one died before claiming it: another service runs it).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from tideflow.engine.run_writer import wait_for_claim
from tideflow.service.runner import Loaded, process_main, run_claimed, stored_deployment
from tideflow.store import DeploymentNotFoundError, RunStore

CLAIM_WAIT = 120.0
"""Seconds to wait for the claim; the launcher writes it right after starting the process, and
a store under load may take a while (SQLite writers wait up to 30 s for each other)."""


def run_one(store: RunStore, run_id: str) -> int:
    if not wait_for_claim(store, run_id, CLAIM_WAIT):
        print(f"run {run_id} was not claimed for this process; nothing to do", file=sys.stderr)
        return 3
    run = store.get_flow_run(run_id)
    try:
        deployment = stored_deployment(store, run.deployment or "")
    except DeploymentNotFoundError as exc:
        store.finish(run_id, "Cancelled", f"Cancelled: {exc}", at=datetime.now(UTC))
        return 3
    state = run_claimed(store, run.id, Loaded(deployment))
    return {"Success": 0, "NotClaimed": 3}.get(state, 1)


def main(argv: list[str]) -> int:
    return process_main(argv, "python -m tideflow.service.child RUN_ID", run_one)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
