"""``python -m tideflow.service.child RUN_ID``: run one claimed run of a scheduled deployment.

The service starts one of these per fire time, in the deployment's environment. It opens the run
store named by ``TIDEFLOW_DATABASE_URL``, reads the run and its deployment, runs it
(:func:`tideflow.service.runner.run_claimed`) and exits: status 0 when the run succeeded, 1 when
it did not, 3 when the run was no longer waiting for this process.
"""

from __future__ import annotations

import sys

from tideflow.service.runner import Loaded, process_main, run_claimed, stored_deployment
from tideflow.store import RunStore


def run_one(store: RunStore, run_id: str) -> int:
    run = store.get_flow_run(run_id)
    deployment = stored_deployment(store, run.deployment or "")
    state = run_claimed(store, run.id, Loaded(deployment))
    return {"Success": 0, "NotClaimed": 3}.get(state, 1)


def main(argv: list[str]) -> int:
    return process_main(argv, "python -m tideflow.service.child RUN_ID", run_one)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
