"""Secrets: values a flow needs (passwords, tokens, webhook URLs) that must never be recorded.

``Secret("NAME").get()`` looks, in order, in:

1. the run context's ``secrets`` mapping (``flow.run(context={"secrets": {...}})``, as in
   Prefect 1; handy in tests);
2. the environment: ``TIDEFLOW__CONTEXT__SECRETS__NAME``, then Prefect 1's
   ``PREFECT__CONTEXT__SECRETS__NAME``;
3. the TOML file ``$TIDEFLOW_HOME/secrets.toml`` (``NAME = "value"``, any TOML value), which must
   belong to the user reading it and be readable by nobody else (``chmod 600``): a file others can
   read is refused rather than used.

A secret that is nowhere is one :class:`SecretNotFoundError` saying where it was looked for.

**Masking.** Every string value :func:`get_secret` hands out is remembered by this process, and
:func:`mask` replaces each remembered value by ``****``. The engine masks the log lines and the
state messages it records (and the default console handler masks what it prints), so a task that
logs or raises with a secret in its text leaves ``****`` in the history, in events and on screen.
A run process started by the service also masks the values of the environment variables named in
``TIDEFLOW_MASKED_ENV`` (the deployment's secret variables, see
:mod:`tideflow.deployments`). Values shorter than :data:`MIN_MASKED_LENGTH` characters are not
masked: replacing every ``a`` in every line would hide everything and protect nothing.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tideflow.configuration import tideflow_home
from tideflow.context import context
from tideflow.errors import TideflowError

__all__ = [
    "ENV_PREFIXES",
    "MASK",
    "MIN_MASKED_LENGTH",
    "MaskSecrets",
    "Secret",
    "SecretNotFoundError",
    "SecretsFileError",
    "get_secret",
    "mask",
    "register_secret",
    "secrets_file",
]

ENV_PREFIXES = ("TIDEFLOW__CONTEXT__SECRETS__", "PREFECT__CONTEXT__SECRETS__")
MASK = "****"
MIN_MASKED_LENGTH = 4
MASKED_ENV = "TIDEFLOW_MASKED_ENV"
"""Names (comma-separated) of environment variables whose values this process masks."""


class SecretNotFoundError(TideflowError, ValueError):
    """A secret was looked for everywhere and found nowhere."""


class SecretsFileError(TideflowError, PermissionError):
    """The secrets file is unsafe (others may read it) or unreadable."""


def secrets_file() -> Path:
    """``$TIDEFLOW_HOME/secrets.toml``."""
    return tideflow_home() / "secrets.toml"


def _read_secrets_file(path: Path) -> dict[str, Any] | None:
    """The secrets in ``path``; None when there is no such file.

    Raises:
        SecretsFileError: the file is not the user's own, others may read it, or it is not TOML.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsFileError(
            f"{path} holds secrets but others may read it or it is not yours; make it yours "
            f"and private with: chmod 600 {path}"
        )
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SecretsFileError(f"cannot read the secrets file {path}: {exc}") from None


def get_secret(name: str) -> Any:
    """The value of secret ``name`` (see the module docstring); remembered for masking.

    Raises:
        SecretNotFoundError: naming every place it was looked for.
        SecretsFileError: the secrets file exists but is unsafe or unreadable.
    """
    if not isinstance(name, str) or not name:
        raise SecretNotFoundError(f"a secret needs a non-empty name, got {name!r}")
    in_context = context.get("secrets")
    if isinstance(in_context, Mapping) and name in in_context:
        return register_secret(in_context[name])
    for prefix in ENV_PREFIXES:
        value = os.environ.get(prefix + name)
        if value is not None:
            return register_secret(value)
    path = secrets_file()
    found = _read_secrets_file(path)
    if found is not None and name in found:
        return register_secret(found[name])
    raise SecretNotFoundError(
        f"secret {name!r} was not found: set the environment variable "
        f'TIDEFLOW__CONTEXT__SECRETS__{name} or add {name} = "..." to {path} '
        f"({'no such file' if found is None else 'not in it'})"
    )


class Secret:
    """A named secret: ``Secret("NAME").get()`` is its value (Prefect 1's ``client.Secret``).

    >>> from tideflow import context
    >>> with context(secrets={"DOCTEST_TOKEN": "s3cr3t-value"}):
    ...     Secret("DOCTEST_TOKEN").get()
    's3cr3t-value'
    >>> mask("token is s3cr3t-value")
    'token is ****'
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self) -> Any:
        """The secret's value; raises :class:`SecretNotFoundError` when it is nowhere."""
        return get_secret(self.name)

    def exists(self) -> bool:
        """Whether the secret can be found."""
        try:
            get_secret(self.name)
        except SecretNotFoundError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<Secret: {self.name}>"


# -- masking -------------------------------------------------------------------------------------

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def register_secret(value: Any) -> Any:
    """Mask ``value`` (its strings, for a dict or list) from now on in this process; return it."""
    global _pattern
    new = {s for s in _strings(value) if len(s) >= MIN_MASKED_LENGTH} - _values
    if new:
        with _lock:
            _values.update(new)
            ordered = sorted(_values, key=len, reverse=True)  # longest first: no partial leaks
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))
    return value


def mask(text: str) -> str:
    """``text`` with every secret value this process knows replaced by ``****``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def masking() -> bool:
    """Whether this process knows any secret value to mask."""
    return _pattern is not None


class MaskSecrets(logging.Filter):
    """A handler filter that masks secret values in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def _register_masked_env() -> None:
    for name in os.environ.get(MASKED_ENV, "").split(","):
        value = os.environ.get(name.strip()) if name.strip() else None
        if value:
            register_secret(value)


_register_masked_env()
