"""Prefect 1's ``prefect.engine.state`` path: every state of :mod:`tideflow.states`."""

from __future__ import annotations

from tideflow import states as _states
from tideflow.states import *  # noqa: F403

__all__ = list(_states.__all__)
