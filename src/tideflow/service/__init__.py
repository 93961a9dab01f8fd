"""The scheduler service: keeps deployments running on their schedules, exactly once per slot.

The parts, each in its own module:

- :mod:`tideflow.deployments` (the spec) and :mod:`tideflow.planner` (what is due: a pure
  function of time and history) live beside this package;
- :mod:`~tideflow.service.registry` reads deployments and their history from the run store;
- :mod:`~tideflow.service.runner` runs one claimed run (a flow, a callable or a command) and
  records it; :mod:`~tideflow.service.child` and :mod:`~tideflow.service.persistent` are the
  two kinds of process it runs in;
- :mod:`~tideflow.service.processes` starts those processes and stops whole process trees;
- :mod:`~tideflow.service.daemon` is the loop: plan, launch, supervise (timeouts, retries,
  crashed runs, persistent processes), and stop cleanly on SIGTERM.

Every decision that must survive a crash goes through the store: a slot is a run row with a
uniqueness constraint on (deployment, scheduled time), and a run is claimed by an atomic
``Scheduled -> Pending`` change, so several service instances on one database never start a slot
twice, and a service killed at any instant loses nothing when it restarts.
"""

from __future__ import annotations
