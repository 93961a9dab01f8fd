"""``FilterTask``: keep the useful items of a list, typically the results of a mapped task.

By default it drops ``None`` and exceptions, which is what a failed or skipped mapped child
leaves in the reduced list: ``FilterTask()(mapped_task)`` receives the list even when some
children failed (its trigger is ``all_finished``) and passes on the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tideflow.context import context
from tideflow.task import Task
from tideflow.triggers import all_finished

__all__ = ["FilterTask"]


def _is_useful(item: Any) -> bool:
    """The default filter: not None and not an exception (signals are exceptions too)."""
    return item is not None and not isinstance(item, BaseException)


class FilterTask(Task):
    """Keep the items of ``task_results`` for which ``filter_func`` is true.

    Args:
        filter_func: ``fn(item) -> bool``; default: drop ``None`` and exceptions.
        log_func: ``fn(kept) -> str | None``; what it returns is logged at INFO.
        **task_options: as for :class:`~tideflow.task.Task`; the trigger defaults to
            ``all_finished`` and ``skip_on_upstream_skip`` to False.
    """

    def __init__(
        self,
        filter_func: Callable[[Any], bool] | None = None,
        log_func: Callable[[list[Any]], str | None] | None = None,
        **task_options: Any,
    ) -> None:
        self.filter_func = filter_func or _is_useful
        self.log_func = log_func
        task_options.setdefault("name", "FilterTask")
        task_options.setdefault("trigger", all_finished)
        task_options.setdefault("skip_on_upstream_skip", False)
        super().__init__(**task_options)

    def run(self, task_results: list[Any]) -> list[Any]:
        kept = [item for item in task_results if self.filter_func(item)]
        if self.log_func is not None:
            message = self.log_func(kept)
            if message is not None:
                logger = context.get("logger") or logging.getLogger("tideflow.task")
                logger.info(message)
        return kept
