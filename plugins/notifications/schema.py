"""Tình trạng gửi thông báo / The delivery status the agency sees:
`{ notificationsDeliveries(dossierCode: "...", first: 20) { ... } }` (the field `deliveries` of
the module's query type, named by eiso's module naming rule)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from eiso.plugins.notifications import store
from eiso.plugins.notifications.config import Kind

strawberry.enum(Kind, name="NotificationsKind")


@strawberry.enum(name="NotificationsChannel")
class Channel(Enum):
    EMAIL = "email"
    SMS = "sms"


@strawberry.enum(name="NotificationsStatus")
class Status(Enum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@strawberry.type(name="NotificationsDelivery", description="Một thông báo đã gửi / One message.")
class Delivery:
    dossier_code: str
    kind: Kind
    channel: Channel
    recipient: str = strawberry.field(description="The address or number, masked")
    status: Status
    attempts: int
    error: str | None = strawberry.field(description="A stable code of the last failure")
    updated_at: dt.datetime


@strawberry.type(name="NotificationsQuery")
class NotificationsQuery:
    @strawberry.field(
        description="Tình trạng gửi thông báo cho người nộp hồ sơ của cơ quan (hoặc tỉnh), mới "
        "nhất trước / The delivery status of the notifications of the caller's agency (or "
        "province), newest first."
    )
    async def deliveries(
        self, info: strawberry.Info, dossier_code: str | None = None, first: int = 50
    ) -> list[Delivery]:
        rows = await store.deliveries(info.context, dossier_code=dossier_code, first=first)
        return [
            Delivery(
                dossier_code=r.dossier_code,
                kind=Kind(r.kind),
                channel=Channel(r.channel),
                recipient=r.recipient,
                status=Status(r.status),
                attempts=r.attempts,
                error=r.error,
                updated_at=dt.datetime.fromisoformat(r.updated_at),
            )
            for r in rows
        ]
