"""State handlers that notify someone: Prefect 1's ``prefect.utilities.notifications``.

``slack_notifier`` and ``gmail_notifier`` are state handlers for tasks and flows
(``state_handlers=[slack_notifier]``); called with only options they return a handler with those
options (``slack_notifier(only_states=[Failed])``), as Prefect 1's curried functions did.
``callback_factory(fn, check)`` makes a handler that calls ``fn(task_or_flow, new_state)`` when
``check(new_state)`` is true.

A notification that cannot be sent (no webhook secret, the receiver is down, a time limit ran
out) logs one warning and changes nothing: it never fails the task or flow it reports on.

* Slack: a JSON message is posted to the webhook URL held by the secret ``webhook_secret``
  (default ``SLACK_WEBHOOK_URL``; see :class:`tideflow.client.Secret`).
* Email: sent through ``notifications.smtp_host``/``smtp_port`` of ``tideflow.config`` (default
  ``smtp.gmail.com:587``, with STARTTLS; ``smtp_ca_file`` names extra trusted CAs) from and to the
  ``EMAIL_USERNAME`` secret, logging in with ``EMAIL_PASSWORD``.

``notifications.timeout`` (seconds, default 10) limits each send.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from tideflow.configuration import get_config
from tideflow.context import context
from tideflow.secrets import SecretNotFoundError, SecretsFileError, get_secret, mask
from tideflow.states import State
from tideflow.task import Task
from tideflow.utilities.sending import SendError, post_json, send_email

__all__ = ["callback_factory", "gmail_notifier", "slack_message_formatter", "slack_notifier"]

log = logging.getLogger("tideflow.notifications")

Handler = Callable[[Any, State, State], State]

_COLORS = {"Success": "#28a745", "Failed": "#eb0000", "Skipped": "#aaaaaa"}


def _kind(obj: Any) -> str:
    return "Task" if isinstance(obj, Task) else "Flow"


def _wanted(
    state: State,
    ignore_states: Iterable[type[State]] | None,
    only_states: Iterable[type[State]] | None,
) -> bool:
    if ignore_states and isinstance(state, tuple(ignore_states)):
        return False
    return not only_states or isinstance(state, tuple(only_states))


def _settings() -> dict[str, Any]:
    return dict(get_config().get("notifications", {}))


def _color(state: State) -> str:
    for cls in type(state).__mro__:
        if cls.__name__ in _COLORS:
            return _COLORS[cls.__name__]
    return "#00a0e0"


def _summary(obj: Any, state: State) -> str:
    name = getattr(obj, "name", repr(obj))
    return f"{_kind(obj)} {name!r} is now in a {state.name} state"


def slack_message_formatter(
    tracked_obj: Any, state: State, backend_info: bool = True
) -> dict[str, Any]:
    """The Slack message (``text`` plus one attachment) telling of ``state``."""
    fields: list[dict[str, Any]] = [{"title": "Message", "value": mask(state.message or "-")}]
    if backend_info:
        for key, title in (("flow_name", "Flow"), ("flow_run_id", "Flow run")):
            value = context.get(key)
            if value is not None:
                fields.append({"title": title, "value": str(value), "short": True})
    summary = _summary(tracked_obj, state)
    return {
        "text": summary,
        "attachments": [
            {
                "fallback": summary,
                "color": _color(state),
                "title": summary,
                "fields": fields,
                "footer": "Tideflow notification",
            }
        ],
    }


def _warn(obj: Any, channel: str, reason: object) -> None:
    log.warning(
        "Could not send the %s notification for %s %r: %s",
        channel,
        _kind(obj).lower(),
        getattr(obj, "name", obj),
        reason,
    )


def _curried(fn: Callable[..., State]) -> Callable[..., Any]:
    """Let ``fn(obj, old, new, **options)`` also be called as ``fn(**options)`` for a handler."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **options: Any) -> Any:
        if not args:
            return functools.partial(fn, **options)
        return fn(*args, **options)

    return wrapper


@_curried
def slack_notifier(
    task_or_flow: Any,
    old_state: State,
    new_state: State,
    ignore_states: Iterable[type[State]] | None = None,
    only_states: Iterable[type[State]] | None = None,
    webhook_secret: str | None = None,
    backend_info: bool = True,
    proxies: dict[str, str] | None = None,
) -> State:
    """Post a Slack message about ``new_state`` (see the module docstring); returns it."""
    if not _wanted(new_state, ignore_states, only_states):
        return new_state
    try:
        url = get_secret(webhook_secret or "SLACK_WEBHOOK_URL")
        message = slack_message_formatter(task_or_flow, new_state, backend_info)
        post_json(str(url), message, timeout=float(_settings()["timeout"]), proxies=proxies)
    except (SendError, SecretNotFoundError, SecretsFileError) as exc:
        _warn(task_or_flow, "Slack", exc)
    except Exception as exc:  # a notification never fails what it reports on
        _warn(task_or_flow, "Slack", repr(exc))
    return new_state


@_curried
def gmail_notifier(
    task_or_flow: Any,
    old_state: State,
    new_state: State,
    ignore_states: Iterable[type[State]] | None = None,
    only_states: Iterable[type[State]] | None = None,
) -> State:
    """Email ``EMAIL_USERNAME`` about ``new_state`` (see the module docstring); returns it."""
    if not _wanted(new_state, ignore_states, only_states):
        return new_state
    try:
        username = str(get_secret("EMAIL_USERNAME"))
        password = str(get_secret("EMAIL_PASSWORD"))
        settings = _settings()
        summary = _summary(task_or_flow, new_state)
        body = f"{summary}.\n\nMessage: {mask(new_state.message or '-')}\n"
        run_id = context.get("flow_run_id")
        if run_id is not None:
            body += f"Flow run: {run_id}\n"
        send_email(
            host=str(settings["smtp_host"]),
            port=int(settings["smtp_port"]),
            username=username,
            password=password,
            sender=username,
            recipients=[username],
            subject=f"Tideflow: {summary}",
            body=body,
            timeout=float(settings["timeout"]),
            starttls=bool(settings.get("smtp_starttls", True)),
            ca_file=settings.get("smtp_ca_file") or None,
        )
    except (SendError, SecretNotFoundError, SecretsFileError) as exc:
        _warn(task_or_flow, "email", exc)
    except Exception as exc:  # a notification never fails what it reports on
        _warn(task_or_flow, "email", repr(exc))
    return new_state


def callback_factory(fn: Callable[[Any, State], Any], check: Callable[[State], bool]) -> Handler:
    """A state handler calling ``fn(task_or_flow, new_state)`` whenever ``check(new_state)``."""

    def handler(obj: Any, old_state: State, new_state: State) -> State:
        if check(new_state):
            fn(obj, new_state)
        return new_state

    handler.__name__ = getattr(fn, "__name__", "callback")
    return handler
