"""Sending a message out: a JSON POST to a webhook, an email through SMTP.

Two small functions, each with a time limit, that raise :class:`SendError` (one line naming the
destination and the cause) when the message could not be delivered. They know nothing of runs or
states, so notifications (:mod:`tideflow.utilities.notifications`) and alerts can both use them.
Credentials never appear in an error's text: a webhook URL (which is itself the credential) is
shown by its host only.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

__all__ = ["SendError", "post_json", "send_email"]


class SendError(Exception):
    """A message could not be delivered; the text says where to and why."""


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def post_json(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: float,
    proxies: Mapping[str, str] | None = None,
) -> int:
    """POST ``payload`` as JSON to ``url`` within ``timeout`` seconds; the HTTP status.

    ``proxies`` maps schemes to proxy URLs (``{"https": "http://proxy:3128"}``); without it the
    environment's proxy settings apply.

    Raises:
        SendError: the URL is not http(s), the request failed, or the answer was not 2xx.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise SendError(f"the webhook URL must start with http:// or https://, got {_where(url)}")
    handlers: list[urllib.request.BaseHandler] = []
    if proxies is not None:
        handlers.append(urllib.request.ProxyHandler(dict(proxies)))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            status: int = response.status
    except urllib.error.HTTPError as exc:
        raise SendError(f"{_where(url)} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"could not post to {_where(url)}: {reason}") from None
    if not 200 <= status < 300:
        raise SendError(f"{_where(url)} answered HTTP {status}")
    return status


def send_email(
    *,
    host: str,
    port: int,
    username: str,
    password: str,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    timeout: float,
    starttls: bool = True,
    ca_file: str | None = None,
) -> None:
    """Send a plain-text email through ``host:port`` within ``timeout`` seconds.

    With ``starttls`` (the default) the connection is upgraded to TLS, the server's certificate
    checked against the system's CAs (or ``ca_file``), before logging in.

    Raises:
        SendError: naming the server and the cause (never the password).
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=ca_file or None))
            if username:
                smtp.login(username, password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise SendError(f"could not send email through {host}:{port}: {exc}") from None
