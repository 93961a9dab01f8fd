"""Signals: exceptions a task raises to choose its own final state.

``raise FAIL("bad input")`` ends the task ``Failed`` (retries apply), ``SUCCESS``/``SKIP`` end it
successfully, ``RETRY`` asks for another attempt even past ``max_retries``, ``TRIGGERFAIL`` and
``PAUSE`` are what triggers raise, ``LOOP(result=...)`` runs the task again with that result in
its context, and ``ENDRUN(state)`` ends the run in exactly ``state`` with no
retry. The signal object becomes the state's result unless a ``result`` is given, which is why a
task downstream of a skipped task (with ``skip_on_upstream_skip=False``) receives the ``SKIP``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tideflow import states

_UNSET: Any = object()


class Signal(Exception):
    """Base class of the state signals; ``state`` is the state the task ends in."""

    state_class: ClassVar[type[states.State]] = states.State

    def __init__(self, message: str | None = None, *, result: Any = _UNSET) -> None:
        super().__init__(message)
        self.message = message
        self.state = self.state_class(message, self if result is _UNSET else result)


class FAIL(Signal):
    """End the task ``Failed``; retries apply."""

    state_class = states.Failed


class TRIGGERFAIL(FAIL):
    """End the task ``TriggerFailed``; raised by triggers."""

    state_class = states.TriggerFailed


class SUCCESS(Signal):
    """End the task ``Success`` now."""

    state_class = states.Success


class SKIP(SUCCESS):
    """End the task ``Skipped``; downstream tasks skip too (see ``skip_on_upstream_skip``)."""

    state_class = states.Skipped


class PAUSE(Signal):
    """Stop the task ``Paused`` until it is approved; raised by the ``manual_only`` trigger."""

    state_class = states.Paused


class LOOP(Signal):
    """Run the task again at once, in the same task run: the next iteration reads ``result``
    as ``tideflow.context.task_loop_result`` and its number (from 1) as ``task_loop_count``.
    The task's final state is that of its last iteration (the one that did not loop)."""

    state_class = states.Looped


class RETRY(Signal):
    """Run the task again after its ``retry_delay`` (or at once), even past ``max_retries``."""

    state_class = states.Retrying


class ENDRUN(Exception):
    """End the task run in ``state`` with no retry."""

    def __init__(self, state: states.State) -> None:
        super().__init__(state.message)
        self.state = state
