"""Gửi một thông báo cho một sự kiện / Delivering one event's notifications: for each channel
the applicant can be reached on (e-mail, SMS), claim the delivery once (`DeliveryBook.claim`,
an add-once in the module's store: a redelivered event sends nothing again), send with retries
and record the outcome the agency sees (`sending` → `sent` | `failed`).

A claim is a lease (`NotificationsConfig.lease_seconds`): a delivery still `sending` a lease
after its claim (its worker died between the claim and the send) is claimed again by the next
run of the hook in its province or the core's periodic sweep of it (`eiso_sweep`,
`reclaim_stale`), once per lease (`DeliveryBook.reclaim`, an
add-once of the lease's number), rebuilt from what the record keeps and sent.

Nothing personal reaches a log line: the dossier code, the event kind, the channel, the
attempts and a stable error code only."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from eiso.core.sdk import ApplicantContact, DossierEvent, SlipFile
from eiso.plugins.notifications import mail
from eiso.plugins.notifications.config import NotificationsConfig
from eiso.plugins.notifications.errors import SendError
from eiso.plugins.notifications.messages import Message
from eiso.plugins.notifications.privacy import mask_email, mask_phone
from eiso.plugins.notifications.retry import with_retries
from eiso.plugins.notifications.sms import Sms, SmsProvider, provider_for

log = logging.getLogger("eiso.plugins.notifications")

Channel = Literal["email", "sms"]
Status = Literal["sending", "sent", "failed"]


@dataclasses.dataclass
class Delivery:
    """The status of one message of one event on one channel, as the agency sees it."""

    key: str  # "<event id>:<channel>": one message per event and channel, ever
    province_id: int
    agency_id: int
    dossier_id: int
    dossier_code: str
    kind: str
    channel: Channel
    recipient: str  # masked
    status: Status
    attempts: int = 0
    error: str | None = None
    updated_at: str = ""
    ref: str = ""  # where the book keeps it
    # The lease: its number (1 for the first claim) and when it began.
    lease: int = 1
    claimed_at: str = ""
    # What a reclaim needs to compose the message again (no personal data: the applicant's
    # contact is read again from the dossier).
    procedure_code: str = ""
    action: str = ""
    to_status: int = 0
    event_at: str = ""
    outbox_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def replayed(self) -> DossierEvent:
        """The event this delivery was claimed for, as far as sending needs it."""
        return DossierEvent(
            province_id=self.province_id,
            agency_id=self.agency_id,
            dossier_id=self.dossier_id,
            dossier_code=self.dossier_code,
            procedure_code=self.procedure_code,
            to_status=self.to_status,
            actor="notifications",
            at=dt.datetime.fromisoformat(self.event_at),
            data={"action": self.action, "outbox_id": self.outbox_id},
        )


class DeliveryBook(Protocol):
    """Where the module keeps its deliveries (per province): `claim` records a new delivery
    and is true for the first claim of its `key` only, for ever; `save` records its status;
    `sending` lists the event's province's deliveries still `sending` (oldest first, a few);
    `reclaim` takes the delivery's next lease from `at` on, true for one caller only."""

    async def claim(self, event: DossierEvent, delivery: Delivery) -> bool: ...

    async def save(self, event: DossierEvent, delivery: Delivery) -> None: ...

    async def sending(self, event: DossierEvent) -> list[Delivery]: ...

    async def reclaim(self, event: DossierEvent, delivery: Delivery, at: str) -> bool: ...


def event_id(event: DossierEvent) -> str:
    """The event's identity: its outbox id (the same on a redelivery)."""
    if event.outbox_id is not None:
        return str(event.outbox_id)
    return f"{event.dossier_id}-{event.action}-{event.at.isoformat()}"


@dataclasses.dataclass
class Senders:
    """How messages leave; tests and development may swap them."""

    email: Callable[[Any, Any, float], Awaitable[None]] = mail.send
    sms: Callable[[NotificationsConfig], SmsProvider | None] = lambda c: provider_for(c.sms)


async def deliver(
    event: DossierEvent,
    config: NotificationsConfig,
    contact: ApplicantContact,
    message: Message,
    book: DeliveryBook,
    slip: Callable[[int], Awaitable[SlipFile]],
    senders: Senders | None = None,
    reclaimed: Delivery | None = None,
) -> list[Delivery]:
    """Send `message` on every channel the applicant gave and the province set up; each
    channel independently (one failing does not hold the other). With `reclaimed` (a delivery
    whose next lease this caller took, `reclaim_stale`): that message only, on its channel."""
    senders = senders or Senders()
    wanted = {reclaimed.channel} if reclaimed else {"email", "sms"}
    jobs: list[Awaitable[Delivery | None]] = []
    if "email" in wanted and contact.email and config.email is not None:
        jobs.append(_email(event, config, contact.email, message, book, slip, senders, reclaimed))
    provider = senders.sms(config) if contact.phone and "sms" in wanted else None
    if contact.phone and provider is not None:
        jobs.append(_sms(event, config, contact.phone, message, book, provider, reclaimed))
    if reclaimed is not None and not jobs:  # the settings or the contact changed since
        jobs.append(_finish(event, book, reclaimed, False, 0, "channel_unavailable"))
    done = await asyncio.gather(*jobs)
    return [d for d in done if d is not None]


def clock() -> dt.datetime:
    """Now (tests move it on)."""
    return dt.datetime.now(dt.UTC)


def _now() -> str:
    return clock().isoformat()


async def reclaim_stale(
    event: DossierEvent, book: DeliveryBook, lease_seconds: int
) -> list[Delivery]:
    """The deliveries of the event's province still `sending` a lease after their claim, each
    now claimed again by this caller (its next lease: no one else sends it during that lease)."""
    expired = clock() - dt.timedelta(seconds=lease_seconds)
    taken = []
    for delivery in await book.sending(event):
        claimed = dt.datetime.fromisoformat(delivery.claimed_at or delivery.updated_at)
        if claimed > expired or not delivery.event_at:
            continue
        if await book.reclaim(event, delivery, _now()):
            log.warning(
                "notification %s of dossier %s (%s) reclaimed after its lease %d expired",
                delivery.channel,
                delivery.dossier_code,
                delivery.kind,
                delivery.lease - 1,
            )
            taken.append(delivery)
    return taken


async def _claimed(
    event: DossierEvent, book: DeliveryBook, channel: Channel, recipient: str, kind: str
) -> Delivery | None:
    now = _now()
    delivery = Delivery(
        key=f"{event_id(event)}:{channel}",
        province_id=event.province_id,
        agency_id=event.agency_id,
        dossier_id=event.dossier_id,
        dossier_code=event.dossier_code,
        kind=kind,
        channel=channel,
        recipient=recipient,
        status="sending",
        updated_at=now,
        claimed_at=now,
        procedure_code=event.procedure_code,
        action=event.action or "",
        to_status=event.to_status,
        event_at=event.at.isoformat(),
        outbox_id=event.outbox_id,
    )
    if not await book.claim(event, delivery):
        log.info(
            "notification %s of dossier %s (%s) already handled, not sent again",
            channel,
            event.dossier_code,
            kind,
        )
        return None
    return delivery


async def _finish(
    event: DossierEvent,
    book: DeliveryBook,
    delivery: Delivery,
    sent: bool,
    attempts: int,
    error: str | None,
) -> Delivery:
    delivery.status = "sent" if sent else "failed"
    delivery.attempts, delivery.error, delivery.updated_at = attempts, error, _now()
    await book.save(event, delivery)
    if sent:
        log.info(
            "notification %s of dossier %s (%s) sent after %d attempt(s)",
            delivery.channel,
            delivery.dossier_code,
            delivery.kind,
            attempts,
        )
    else:
        log.warning(
            "notification %s of dossier %s (%s) failed after %d attempt(s): %s",
            delivery.channel,
            delivery.dossier_code,
            delivery.kind,
            attempts,
            error,
        )
    return delivery


async def _email(
    event: DossierEvent,
    config: NotificationsConfig,
    address: str,
    message: Message,
    book: DeliveryBook,
    slip: Callable[[int], Awaitable[SlipFile]],
    senders: Senders,
    claimed: Delivery | None = None,
) -> Delivery | None:
    assert config.email is not None
    delivery = claimed or await _claimed(
        event, book, "email", mask_email(address), message.kind.value
    )
    if delivery is None:
        return None
    try:
        attachments = (await slip(message.attach_slip),) if message.attach_slip else ()
    except Exception as error:  # noqa: BLE001 - any failure to render: recorded, nothing sent
        code = getattr(error, "code", None) or type(error).__name__
        return await _finish(event, book, delivery, False, 0, f"slip_{code}")
    try:
        email = mail.build(
            config.email, address, message.subject, message.email, attachments, delivery.key
        )
    except SendError as refused:
        return await _finish(event, book, delivery, False, 0, refused.code)

    async def attempt(left: float) -> None:
        await senders.email(config.email, email, left)

    outcome = await with_retries(attempt, config.retry)
    return await _finish(event, book, delivery, outcome.sent, outcome.attempts, outcome.error)


async def _sms(
    event: DossierEvent,
    config: NotificationsConfig,
    number: str,
    message: Message,
    book: DeliveryBook,
    provider: SmsProvider,
    claimed: Delivery | None = None,
) -> Delivery | None:
    delivery = claimed or await _claimed(event, book, "sms", mask_phone(number), message.kind.value)
    if delivery is None:
        return None
    sms = Sms(to=number, text=message.sms, reference=delivery.key)

    async def attempt(left: float) -> None:
        await provider.send(sms, left)

    outcome = await with_retries(attempt, config.retry)
    return await _finish(event, book, delivery, outcome.sent, outcome.attempts, outcome.error)
