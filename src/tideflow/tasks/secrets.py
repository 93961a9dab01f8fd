"""Secret tasks: ``PrefectSecret`` and ``EnvVarSecret`` (Prefect 1's ``prefect.tasks.secrets``).

A secret task's result is the secret's value: it is passed to the tasks that take it, never kept
in the run history (``checkpoint`` is ignored for it) and masked (``****``) wherever it would
appear in the run's log lines and recorded state messages (see :mod:`tideflow.secrets`).

>>> from tideflow import Flow, task
>>> @task
... def connect(password):
...     return len(password)
>>> with Flow("secret-doctest") as flow:
...     size = connect(PrefectSecret("DOCTEST_DB"))
>>> secrets = {"DOCTEST_DB": "hunter2-secret"}
>>> flow.run(store=None, context={"secrets": secrets}).result[size].result
14
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tideflow.errors import TaskDefinitionError
from tideflow.secrets import get_secret, register_secret
from tideflow.task import Task

__all__ = ["EnvVarSecret", "PrefectSecret", "SecretBase"]


class SecretBase(Task):
    """A task whose result is a secret value: never checkpointed, masked where recorded."""

    is_secret = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs["checkpoint"] = False
        super().__init__(**kwargs)


class PrefectSecret(SecretBase):
    """The value of secret ``name`` (see :class:`tideflow.client.Secret` for where it is looked
    for); ``name`` may also be given when the task is called, e.g. from a parameter."""

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        self.secret_name = name
        kwargs.setdefault("name", name or "PrefectSecret")
        super().__init__(**kwargs)

    def run(self, name: str | None = None) -> Any:
        name = name if name is not None else self.secret_name
        if not name:
            raise TaskDefinitionError(
                "PrefectSecret needs a secret name: PrefectSecret('NAME') or call it with name=..."
            )
        return get_secret(name)


class EnvVarSecret(SecretBase):
    """The value of environment variable ``name`` as a secret.

    Args:
        name: the variable (may also be given when the task is called).
        cast: a function applied to the text (``int``, ``json.loads``, ...).
        raise_if_missing: fail when the variable is not set (default: the result is ``None``).
    """

    def __init__(
        self,
        name: str | None = None,
        cast: Callable[[str], Any] | None = None,
        raise_if_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        self.env_name = name
        self.cast = cast
        self.raise_if_missing = raise_if_missing
        kwargs.setdefault("name", name or "EnvVarSecret")
        super().__init__(**kwargs)

    def run(self, name: str | None = None) -> Any:
        name = name if name is not None else self.env_name
        if not name:
            raise TaskDefinitionError(
                "EnvVarSecret needs a variable name: EnvVarSecret('NAME') or call it with name=..."
            )
        text = os.environ.get(name)
        if text is None:
            if self.raise_if_missing:
                raise ValueError(f"environment variable {name!r} is not set; set it for the run")
            return None
        register_secret(text)
        value = text if self.cast is None else self.cast(text)
        return register_secret(value)
