"""`Subscription.dossierEvents(agencyId)`: an agency's dossier transitions as they commit.

Served over `graphql-transport-ws` on `/graphql`. Each worker reads the dossier stream once
(`app.state.live_feed`, infra/live_feed.py) and fans events out to its subscribers, so a
client connected to one worker hears a transition made on any other. Events carry no personal
data: codes, statuses, the action and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

import strawberry
from redis.exceptions import RedisError

from eiso.core.auth.rules import check_tenant, require_principal
from eiso.core.dossiers.engine import TOPIC
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id, encode_id
from eiso.graphql.dossiers.nodes import DossierAction, DossierStatus
from eiso.graphql.shared.lookup import load_node
from eiso.graphql.shared.permissions import guarded
from eiso.infra.live_feed import FeedOverflow, Subscription
from eiso.infra.stream_reader import StreamEvent
from eiso.tenants.models import Agency


@strawberry.type(name="DossierEvent", description="A committed transition of a dossier.")
class DossierEventNode:
    event_id: strawberry.ID = strawberry.field(
        description="The event's id (increasing); one subscription never gets the same event twice."
    )
    dossier_id: strawberry.ID
    dossier_code: str
    procedure_code: str
    agency_id: strawberry.ID
    action: DossierAction
    from_status: DossierStatus | None
    to_status: DossierStatus
    at: dt.datetime

    @classmethod
    def of(cls, event: StreamEvent) -> DossierEventNode:
        p = event.payload
        province = p["province_id"]
        return cls(
            event_id=strawberry.ID(str(event.outbox_id)),
            dossier_id=strawberry.ID(encode_id("Dossier", province, p["dossier_id"])),
            dossier_code=p["dossier_code"],
            procedure_code=p["procedure_code"],
            agency_id=strawberry.ID(encode_id("Agency", province, p["agency_id"])),
            action=DossierAction(p["action"]),
            at=dt.datetime.fromisoformat(p["at"]),
            from_status=None if p.get("from_status") is None else DossierStatus(p["from_status"]),
            to_status=DossierStatus(p["to_status"]),
        )


async def _readable_agency(info: strawberry.Info, agency_id: strawberry.ID) -> tuple[int, int]:
    """(province_id, agency_id) of an agency the caller may watch: officers their own agency,
    province roles their province, the nation any. Refused otherwise, whether it exists or not."""
    principal = require_principal(info.context.principal)
    province_id, agency_pk = decode_id(agency_id, "Agency")
    check_tenant(principal, province_id, agency_pk)  # FORBIDDEN before any lookup
    await load_node(info, Agency, agency_id, "Agency")
    return province_id, agency_pk


def _unavailable() -> DomainError:
    return DomainError(
        "dossier events are unavailable right now; retry shortly",
        "luồng sự kiện hồ sơ tạm thời không khả dụng; hãy thử lại sau",
        code="EVENTS_UNAVAILABLE",
    )


async def _stream(subscription: Subscription) -> AsyncGenerator[DossierEventNode, None]:
    try:
        while True:
            try:
                event = await subscription.get()
            except FeedOverflow:
                raise DomainError(
                    "too many events unread: subscribe again",
                    "quá nhiều sự kiện chưa đọc: hãy đăng ký lại",
                    code="SUBSCRIPTION_OVERFLOW",
                ) from None
            yield DossierEventNode.of(event)
    finally:  # the client completed or went away
        subscription.close()


@guarded
class DossiersSubscription:
    @strawberry.subscription(
        description="The agency's dossier transitions from now on, as they commit."
    )
    async def dossier_events(
        self, info: strawberry.Info, agency_id: strawberry.ID
    ) -> AsyncGenerator[DossierEventNode, None]:
        _, agency_pk = await _readable_agency(info, agency_id)
        feed = info.context.request.app.state.live_feed
        try:
            subscription = await feed.subscribe(
                lambda event: event.topic == TOPIC and event.agency_id == agency_pk
            )
        except (RedisError, OSError):
            raise _unavailable() from None
        return _stream(subscription)
