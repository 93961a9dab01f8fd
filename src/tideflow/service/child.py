"""``python -m tideflow.service.child RUN_ID``: run one claimed run of a scheduled deployment.

The service starts one of these per fire time, in the deployment's environment. It opens the run
store named by ``TIDEFLOW_DATABASE_URL``, reads the run and its deployment, runs it
(:func:`tideflow.service.runner.run_claimed`) and exits: status 0 when the run succeeded, 1 when
it did not, 3 when the run was no longer waiting for this process.
"""

from __future__ import annotations

import logging
import sys

from tideflow.deployments import Deployment
from tideflow.service.runner import Loaded, run_claimed
from tideflow.store import open_store

FORMAT = "[%(asctime)s] %(levelname)s - %(name)s | %(message)s"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tideflow.service.child RUN_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    store = open_store()
    if store is None:
        print("tideflow.service.child: no run store is configured", file=sys.stderr)
        return 2
    with store:
        run = store.get_flow_run(argv[0])
        found = store.get_deployment(run.deployment or "")
        if found is None:
            print(f"run {run.id}: its deployment {run.deployment!r} is gone", file=sys.stderr)
            return 2
        state = run_claimed(store, run.id, Loaded(Deployment.from_dict(found.spec)))
    return {"Success": 0, "NotClaimed": 3}.get(state, 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
