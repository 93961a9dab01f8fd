"""``Schedule`` and its factories under Prefect 1's module path, ``prefect.schedules.schedules``.

Tideflow defines them in :mod:`tideflow.schedules.schedule`; this module re-exports them so an
import written for Prefect 1 (``from prefect.schedules.schedules import CronSchedule``) works
after changing ``prefect`` to ``tideflow``.
"""

from __future__ import annotations

from tideflow.schedules.schedule import CronSchedule, IntervalSchedule, RRuleSchedule, Schedule

__all__ = ["CronSchedule", "IntervalSchedule", "RRuleSchedule", "Schedule"]
