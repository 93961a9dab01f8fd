"""Notifications: Slack posts to a real local HTTP receiver, email to a real local SMTP server
with STARTTLS, and failures that warn without failing what they report on."""

from __future__ import annotations

import json
import logging
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tideflow import Flow, context, task
from tideflow.configuration import reload_config
from tideflow.states import Failed, Running, Success
from tideflow.utilities.notifications import callback_factory, gmail_notifier, slack_notifier


@task
def fails() -> None:
    raise ValueError("the numbers do not add up")


@task
def works() -> int:
    return 1


@pytest.fixture(autouse=True)
def _config_after() -> Iterator[None]:
    yield
    reload_config()


def configure(monkeypatch: pytest.MonkeyPatch, **settings: object) -> None:
    for key, value in settings.items():
        monkeypatch.setenv(f"TIDEFLOW__NOTIFICATIONS__{key.upper()}", str(value))
    reload_config()


# -- Slack ------------------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    found: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path.endswith("/fail"):
                self.send_response(500)
                self.end_headers()
                return
            found.append({"type": self.headers["Content-Type"], **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_port}/services/T0/B0/x", found)
    server.shutdown()
    server.server_close()


def test_slack_posts_a_json_message_for_the_states_it_is_asked_about(webhook: Receiver) -> None:
    with Flow("numbers", state_handlers=[slack_notifier(only_states=[Failed])]) as flow:
        fails(task_args={"state_handlers": [slack_notifier(ignore_states=[Running])]})
    state = flow.run(context={"secrets": {"SLACK_WEBHOOK_URL": webhook.url}})
    assert isinstance(state, Failed)
    assert [m["text"] for m in webhook.received] == [
        "Task 'fails' is now in a Failed state",
        "Flow 'numbers' is now in a Failed state",
    ]
    first = webhook.received[0]
    assert first["type"] == "application/json"
    fields = {f["title"]: f["value"] for f in first["attachments"][0]["fields"]}
    assert fields["Message"] == "ValueError: the numbers do not add up"
    assert fields["Flow"] == "numbers"
    assert fields["Flow run"] == state.context["flow_run_id"]


def test_slack_reads_the_webhook_from_the_named_secret(webhook: Receiver) -> None:
    handler = slack_notifier(webhook_secret="TEAM_HOOK", backend_info=False)
    with Flow("named-secret") as flow:
        works(task_args={"state_handlers": [handler]})
    flow.run(context={"secrets": {"TEAM_HOOK": webhook.url}})
    assert [m["text"] for m in webhook.received][-1] == "Task 'works' is now in a Success state"
    titles = [f["title"] for f in webhook.received[-1]["attachments"][0]["fields"]]
    assert titles == ["Message"]


def test_a_slack_notifier_that_cannot_post_warns_once_and_the_task_still_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with Flow("unreachable") as flow:
        done = works(task_args={"state_handlers": [slack_notifier(only_states=[Success])]})
    with caplog.at_level(logging.WARNING, logger="tideflow.notifications"):
        state = flow.run(context={"secrets": {"SLACK_WEBHOOK_URL": f"http://127.0.0.1:{port}/"}})
    assert isinstance(state.result[done], Success)
    warnings = [r.getMessage() for r in caplog.records if r.name == "tideflow.notifications"]
    assert len(warnings) == 1
    assert warnings[0].startswith("Could not send the Slack notification for task 'works'")
    assert f"http://127.0.0.1:{port}" in warnings[0]


def test_a_receiver_that_never_answers_is_given_up_on_at_the_time_limit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    configure(monkeypatch, timeout=0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with caplog.at_level(logging.WARNING, logger="tideflow.notifications"):
            state = slack_notifier(works, Running(), Success(), webhook_secret="HOOK_X")
            assert isinstance(state, Success)
            monkeypatch.setenv("TIDEFLOW__CONTEXT__SECRETS__HOOK_X", url)
            slack_notifier(works, Running(), Success(), webhook_secret="HOOK_X")
    warnings = [r.getMessage() for r in caplog.records if r.name == "tideflow.notifications"]
    assert "secret 'HOOK_X' was not found" in warnings[0]
    assert "timed out" in warnings[1]


def test_a_webhook_that_answers_an_error_is_reported(
    webhook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = {"SLACK_WEBHOOK_URL": webhook.url + "/fail"}
    with (
        caplog.at_level(logging.WARNING, logger="tideflow.notifications"),
        context(secrets=secrets),
    ):
        slack_notifier(works, Running(), Success())
    port = webhook.url.split(":")[2].split("/")[0]
    assert (
        caplog.records[-1]
        .getMessage()
        .endswith(f"http://127.0.0.1:{port} answered HTTP 500 Internal Server Error")
    )
    assert "/services/" not in caplog.records[-1].getMessage(), "the URL is the credential"


# -- email ------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    ca_file: Path
    messages: list[tuple[str, list[str], str]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def mailbox(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    cert, key = certificate
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(port, cert)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode())
            )
            return "250 OK"

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        box.logins.append((data.login.decode(), data.password.decode()))
        ok = data.password == b"app-password-1"
        return AuthResult(success=ok)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticate,
    )
    controller.start()
    configure(monkeypatch, smtp_host="127.0.0.1", smtp_port=port, smtp_ca_file=cert, timeout=10)
    monkeypatch.setenv("TIDEFLOW__CONTEXT__SECRETS__EMAIL_USERNAME", "me@example.org")
    monkeypatch.setenv("TIDEFLOW__CONTEXT__SECRETS__EMAIL_PASSWORD", "app-password-1")
    yield box
    controller.stop()


def test_gmail_notifier_sends_over_starttls_to_the_user_as_the_user(mailbox: Mailbox) -> None:
    with Flow("mailed") as flow:
        fails(task_args={"state_handlers": [gmail_notifier(only_states=[Failed])]})
    flow.run()
    assert mailbox.logins == [("me@example.org", "app-password-1")]
    ((sender, recipients, content),) = mailbox.messages
    assert (sender, recipients) == ("me@example.org", ["me@example.org"])
    assert "Subject: Tideflow: Task 'fails' is now in a Failed state" in content
    assert "Message: ValueError: the numbers do not add up" in content


def test_an_email_that_cannot_be_sent_warns_without_the_password(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TIDEFLOW__CONTEXT__SECRETS__EMAIL_PASSWORD", "wrong-password-2")
    configure(monkeypatch, timeout=1)
    with Flow("refused") as flow:
        done = works(task_args={"state_handlers": [gmail_notifier(only_states=[Success])]})
    with caplog.at_level(logging.WARNING, logger="tideflow.notifications"):
        state = flow.run()
    assert isinstance(state.result[done], Success)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "tideflow.notifications"]
    assert warning.startswith("Could not send the email notification for task 'works'")
    assert f"127.0.0.1:{mailbox.port}" in warning
    assert "wrong-password-2" not in warning
    assert mailbox.messages == []


def test_an_untrusted_server_certificate_is_refused(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    configure(monkeypatch, smtp_ca_file="")
    with caplog.at_level(logging.WARNING, logger="tideflow.notifications"):
        gmail_notifier(works, Running(), Failed("x"))
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.records[-1].getMessage()
    assert mailbox.messages == []


# -- callback_factory ---------------------------------------------------------------------------


def test_callback_factory_calls_back_only_when_the_check_passes() -> None:
    seen: list[tuple[str, str]] = []
    handler = callback_factory(
        lambda obj, state: seen.append((obj.name, state.name)), lambda s: s.is_failed()
    )
    with Flow("called-back", state_handlers=[handler]) as flow:
        fails(task_args={"state_handlers": [handler]})
    flow.run()
    assert seen == [("fails", "Failed"), ("called-back", "Failed")]
