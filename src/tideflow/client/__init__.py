"""Prefect 1's ``prefect.client`` home of :class:`Secret` (Tideflow needs no API client)."""

from __future__ import annotations

from tideflow.client.secrets import Secret

__all__ = ["Secret"]
