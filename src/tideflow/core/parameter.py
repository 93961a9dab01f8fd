"""``prefect.core.parameter``: :class:`Parameter` and :class:`DateTimeParameter`.

Defined in :mod:`tideflow.parameter`; re-exported here under Prefect 1's module path.
"""

from __future__ import annotations

from tideflow.parameter import DateTimeParameter, Parameter

__all__ = ["DateTimeParameter", "Parameter"]
