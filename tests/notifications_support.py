"""Real local servers for the notifications module's tests: an SMTP server (aiosmtpd) and an
SMS provider's HTTP JSON API (http.server), both on 127.0.0.1, started by the test, each
answering failures on demand so retries can be seen."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.ws_client import free_port


class Inbox:
    """The SMTP server's handler: keeps every accepted message; `refuse` replies (e.g. "451
    try later") are given to the next DATA commands, one each."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: list[str] = []
        self.tries = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        self.tries += 1
        if self.refuse:
            return self.refuse.pop(0)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def config(self) -> dict:
        """The module's `email` settings pointing at this server."""
        return {
            "sender": "motcua@tinh-thu.gov.vn",
            "sender_name": "Bộ phận Một cửa tỉnh thử",
            "smtp": {"host": "127.0.0.1", "port": self.port, "security": "none"},
        }


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


class SmsApi:
    """A provider's HTTP JSON API: records each POST; `statuses` are answered first, one each
    (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.statuses: list[int] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                api.headers.append({k.lower(): v for k, v in self.headers.items()})
                status = api.statuses.pop(0) if api.statuses else 200
                if status == 200:
                    api.received.append(body)
                answer = json.dumps({"id": f"m{len(api.received)}"}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:  # the test server stays quiet
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/sms"

    def config(self) -> dict:
        return {
            "provider": "http",
            "http": {"url": self.url, "token": "bi-mat-thu", "sender_id": "TINHTHU"},
        }


@pytest.fixture
def sms_api() -> Iterator[SmsApi]:
    api = SmsApi()
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
        thread.join(timeout=10)


class MemoryBook:
    """A `DeliveryBook` in memory, for the module's unit tests (the module keeps its own in
    the SDK's store: `eiso.plugins.notifications.store`)."""

    def __init__(self) -> None:
        self.rows: dict[str, Any] = {}

    async def claim(self, event, delivery) -> bool:
        if delivery.key in self.rows:
            return False
        delivery.ref = delivery.key
        self.rows[delivery.key] = delivery
        return True

    async def save(self, event, delivery) -> None:
        self.rows[delivery.ref] = delivery

    async def sending(self, event) -> list:
        return [
            d for k, d in self.rows.items() if not k.startswith("lease:") and d.status == "sending"
        ]

    async def reclaim(self, event, delivery, at: str) -> bool:
        lease = f"lease:{delivery.key}:{delivery.lease + 1}"
        if lease in self.rows:
            return False
        self.rows[lease] = delivery.ref
        delivery.lease += 1
        delivery.claimed_at = delivery.updated_at = at
        return True
