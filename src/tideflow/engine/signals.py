"""Prefect 1's ``prefect.engine.signals`` path: every signal of :mod:`tideflow.signals`."""

from __future__ import annotations

from tideflow import signals as _signals
from tideflow.signals import *  # noqa: F403

__all__ = sorted(
    name
    for name, value in vars(_signals).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
