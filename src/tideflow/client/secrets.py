"""Prefect 1's ``prefect.client.secrets``: ``Secret``; see :mod:`tideflow.secrets`."""

from __future__ import annotations

from tideflow.secrets import Secret, SecretNotFoundError, SecretsFileError

__all__ = ["Secret", "SecretNotFoundError", "SecretsFileError"]
