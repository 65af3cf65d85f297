"""Real servers on loopback for the channel tests: a fake SMS provider and an SMTP server."""
import json
import socket
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

FAKE_ACCOUNT_SID = "AC" + "0" * 32
FAKE_AUTH_TOKEN = "fake-auth-token-for-tests"
CLINIC_NUMBER = "+15555550100"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- A Twilio-style messages API -----------------------------------------------------------

@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class FakeProvider:
    base_url: str = ""
    received: list[ReceivedRequest] = field(default_factory=list)
    # Queued answers, oldest first; when empty, the provider accepts the message.
    answers: deque = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, status: int, payload: dict | None = None, headers: dict | None = None) -> None:
        self.answers.append((status, payload or {}, headers or {}))

    def stall(self) -> None:
        """The next request gets no answer until the test ends."""
        self.answers.append("stall")


class _ProviderHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        provider: FakeProvider = self.server.provider
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        provider.received.append(ReceivedRequest(
            path=self.path, headers=dict(self.headers.items()), form=parse_qs(body),
        ))
        answer = provider.answers.popleft() if provider.answers else None
        if answer == "stall":
            provider.release.wait(timeout=30)
            return
        status, payload, headers = answer or (
            201, {"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}, {})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def fake_provider(settings):
    """A fake SMS provider over real HTTP, and settings pointing HttpBackend at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProviderHandler)
    server.daemon_threads = True
    provider = FakeProvider(base_url=f"http://127.0.0.1:{server.server_port}/2010-04-01")
    server.provider = provider
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    settings.SMS_BACKEND = "reminders.channels.sms.HttpBackend"
    settings.SMS_API_BASE_URL = provider.base_url
    settings.SMS_ACCOUNT_SID = FAKE_ACCOUNT_SID
    settings.SMS_AUTH_TOKEN = FAKE_AUTH_TOKEN
    settings.SMS_FROM_NUMBER = CLINIC_NUMBER
    settings.SMS_HTTP_TIMEOUT = 5.0
    yield provider
    provider.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- An SMTP server ------------------------------------------------------------------------

class SmtpHandler:
    """Accepts mail, or answers RCPT / DATA with a fixed refusal such as "550 5.1.1 ..."."""

    def __init__(self, *, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """Start an SMTP server on loopback with a handler and send Django's mail to it."""
    controllers = []

    def start(handler: SmtpHandler | None = None) -> SmtpHandler:
        handler = handler or SmtpHandler()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = controller.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        return handler

    yield start
    for controller in controllers:
        controller.stop()
