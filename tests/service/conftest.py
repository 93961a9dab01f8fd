"""The service tests reuse the run store tests' PostgreSQL fixtures (a schema per test)."""

from __future__ import annotations

from tests.store.conftest import postgres_admin, postgres_url

__all__ = ["postgres_admin", "postgres_url"]
