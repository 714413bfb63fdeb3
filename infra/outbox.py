"""The transactional outbox: an event is a row written in the same transaction as the change
it reports, so it exists if and only if the change committed. The relay (`infra/relay.py`)
moves committed rows to a Redis stream.

Not a `TenantRow` (infra knows no tenants; the ORM adds no scope to it), but on PostgreSQL
row-level security keys it on `province_id`/`agency_id` as every tenant table (migration
0410_outbox_rls): a tenant's transaction sees and writes only its own events; the relay reads
every tenant's under the nation scope (`infra/rls.py`, `every_tenant`). The ids also let
readers route events without parsing the payload; payloads must carry no personal data.
"""

from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from eiso.infra.clock import utcnow
from eiso.infra.defaults import empty_dict
from eiso.infra.tables import new_row

# SQLite only autoincrements an INTEGER primary key.
ID_TYPE = BigInteger().with_variant(Integer, "sqlite")


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox"
    # The relay's query: unsent rows in id order.
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: int | None = Field(default=None, sa_type=ID_TYPE, primary_key=True)
    topic: str = Field(sa_column=Column(String(100), nullable=False))
    payload: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    province_id: int | None = Field(default=None, sa_type=BigInteger)
    agency_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None


def _check_topic(topic: str) -> None:
    if not topic or not all(c.isalnum() or c in "._-" for c in topic):
        raise ValueError(f"topic {topic!r}: use letters, digits, '.', '_' or '-'")


def new_event(
    topic: str, payload: dict, *, province_id: int | None = None, agency_id: int | None = None
) -> OutboxEvent:
    """An event checked and ready to write (not added): a caller that batches its writes
    (the dossier engine) sends it with them; `add_event` adds and flushes it."""
    _check_topic(topic)
    # Fail here, in the caller's transaction, rather than leave a row the relay cannot send.
    try:
        payload = orjson.loads(orjson.dumps(payload))
    except TypeError as error:
        raise ValueError(f"payload: not JSON-serialisable: {error}") from None
    return new_row(
        OutboxEvent, topic=topic, payload=payload, province_id=province_id, agency_id=agency_id
    )


async def add_event(
    session: AsyncSession,
    topic: str,
    payload: dict,
    *,
    province_id: int | None = None,
    agency_id: int | None = None,
) -> OutboxEvent:
    """Record an event in the caller's transaction; it goes out only if that commits."""
    event = new_event(topic, payload, province_id=province_id, agency_id=agency_id)
    session.add(event)
    await session.flush()  # assigns the id consumers deduplicate on
    return event
