"""Prefect 1's ``prefect.utilities.logging``: :func:`get_logger` and the extra loggers.

``get_logger()`` is the ``tideflow`` logger, ``get_logger("my_module")`` its child
``tideflow.my_module``. Lines logged through them while a task runs are part of the run's log:
printed with the run's lines and recorded in its history, on every executor. Inside a task,
``tideflow.context.get("logger")`` (the task's own logger) is still the usual choice.

Loggers of other libraries join the run's log by naming them in the configuration, e.g.
``TIDEFLOW__LOGGING__EXTRA_LOGGERS='["boto3", "my_lib"]'`` or, in ``config.toml``::

    [logging]
    extra_loggers = ["boto3", "my_lib"]

>>> get_logger("etl").name
'tideflow.etl'
"""

from __future__ import annotations

import logging

from tideflow.engine.logs import ROOT, extra_logger_names, use_extra_loggers

__all__ = ["configure_extra_loggers", "get_logger"]


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``tideflow`` logger, or its child ``tideflow.<name>``."""
    return logging.getLogger(ROOT if not name else f"{ROOT}.{name}")


def configure_extra_loggers() -> list[str]:
    """Set up the configured extra loggers now (runs do it when they start); their names."""
    use_extra_loggers(console=True)
    return extra_logger_names()
