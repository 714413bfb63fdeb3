"""Tin nhắn SMS qua nhà cung cấp / SMS through a provider: the `SmsProvider` interface, the
logging provider for development (nothing leaves the server) and an adapter for a provider's
HTTP JSON API (httpx)."""

from __future__ import annotations

import collections
import dataclasses
import logging
from typing import ClassVar, Protocol

import httpx

from eiso.plugins.notifications.config import HttpSmsSettings, SmsSettings
from eiso.plugins.notifications.errors import SendError

log = logging.getLogger("eiso.plugins.notifications")


@dataclasses.dataclass(frozen=True)
class Sms:
    to: str  # the applicant's number: personal data, never logged
    text: str
    reference: str  # the delivery's key: the same on a retry, so a provider may deduplicate


class SmsProvider(Protocol):
    """Sends one SMS or raises `SendError` (`transient`: worth another attempt)."""

    name: str

    async def send(self, sms: Sms, seconds_left: float) -> None: ...


class LogSmsProvider:
    """Development: logs that an SMS would leave (its reference and length, no number and no
    text) and keeps the last messages in memory (`sent`) for the developer's own checks."""

    name = "log"
    sent: ClassVar[collections.deque[Sms]] = collections.deque(maxlen=100)

    async def send(self, sms: Sms, seconds_left: float) -> None:
        type(self).sent.append(sms)
        log.info(
            "SMS not sent (log provider): reference %s, %d characters",
            sms.reference,
            len(sms.text),
        )


class HttpJsonSmsProvider:
    """A provider's HTTP JSON API: `POST url` with `{"to", "text", "sender", "reference"}` and
    `Authorization: Bearer <token>`; any 2xx is accepted, 408, 429 and 5xx (and no answer) are
    worth another attempt, any other status is final."""

    name = "http"

    def __init__(self, settings: HttpSmsSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings, self.client = settings, client

    async def send(self, sms: Sms, seconds_left: float) -> None:
        settings = self.settings
        headers = {"content-type": "application/json"}
        if settings.token is not None:
            headers["authorization"] = f"Bearer {settings.token.get_secret_value()}"
        body = {
            "to": sms.to,
            "text": sms.text,
            "sender": settings.sender_id,
            "reference": sms.reference,
        }
        limit = min(seconds_left, settings.timeout_seconds)
        try:
            if self.client is not None:
                answer = await self.client.post(
                    settings.url, json=body, headers=headers, timeout=limit
                )
            else:
                async with httpx.AsyncClient(timeout=limit) as client:
                    answer = await client.post(settings.url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise SendError("sms_http_timeout", transient=True) from None
        except httpx.HTTPError:
            raise SendError("sms_http_unreachable", transient=True) from None
        status = answer.status_code
        if 200 <= status < 300:
            return
        raise SendError(f"sms_http_{status}", transient=status in (408, 429) or status >= 500)


def provider_for(settings: SmsSettings) -> SmsProvider | None:
    """The province's provider; None when SMS is off."""
    if settings.provider == "off":
        return None
    if settings.provider == "http":
        assert settings.http is not None  # SmsSettings checks it
        return HttpJsonSmsProvider(settings.http)
    return LogSmsProvider()
