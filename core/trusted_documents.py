"""Trusted (persisted) GraphQL documents: the operation texts a frontend registered, each
known by the sha256 of its exact text, so the frontend may send the hash instead of the text
and a deployment may refuse any other operation (`EISO_GRAPHQL_TRUSTED_ONLY`).

National data: one set for the deployment (no tenant columns). What a document may do is
still decided per caller by the schema, the limits and the permission rules when it runs:
registering a document grants nothing. Parsing and checking the texts against the schema is
the GraphQL room's (graphql/server/trusted.py); this module stores them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Sequence

from sqlalchemy import Column, Text, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from eiso.infra.clock import utcnow

PREFIX = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")


class TrustedDocument(SQLModel, table=True):
    __tablename__ = "trusted_documents"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of `body`
    body: str = Field(sa_column=Column(Text, nullable=False))
    # The document's operations, comma-separated: what `list` shows, not used to run it.
    operation_names: str = Field(max_length=1000)
    # Which frontend registered it (a label to list and remove a client's set together).
    client: str | None = Field(default=None, max_length=100, index=True)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)


@dataclasses.dataclass(frozen=True)
class NewDocument:
    body: str
    operation_names: tuple[str, ...]

    @property
    def id(self) -> str:
        return document_id(self.body)


def document_id(body: str) -> str:
    """The id of a document: the sha256 of its exact text (UTF-8), in lowercase hex."""
    return hashlib.sha256(body.encode()).hexdigest()


def parse_id(value: str) -> str | None:
    """The hex id of `sha256:<hex>` or `<hex>` (any case), or None when it is not one."""
    if _HEX.fullmatch(value):  # what clients send: the bare lowercase hex
        return value
    hexdigest = value.lower().removeprefix(PREFIX)
    return hexdigest if _HEX.fullmatch(hexdigest) else None


async def store(
    session: AsyncSession,
    documents: Sequence[NewDocument],
    *,
    client: str | None,
    actor: str,
) -> list[TrustedDocument]:
    """Register `documents` (idempotent: a text registered before keeps its row and gets the
    new client label). Returns the rows in the order given."""
    rows = []
    for document in documents:
        row = await session.get(TrustedDocument, document.id)
        if row is None:
            row = TrustedDocument(
                id=document.id,
                body=document.body,
                operation_names=",".join(document.operation_names),
                client=client,
                created_by=actor,
            )
            session.add(row)
        elif client is not None:
            row.client = client
        rows.append(row)
    await session.flush()
    return rows


async def remove(session: AsyncSession, ids: Sequence[str]) -> list[str]:
    """Delete the documents of `ids`; returns the ids that existed."""
    found = list(
        (
            await session.execute(
                select(col(TrustedDocument.id)).where(col(TrustedDocument.id).in_(ids))
            )
        ).scalars()
    )
    if found:
        await session.execute(delete(TrustedDocument).where(col(TrustedDocument.id).in_(found)))
    return found


async def listing(session: AsyncSession, client: str | None = None) -> list[TrustedDocument]:
    statement = select(TrustedDocument).order_by(
        col(TrustedDocument.client), col(TrustedDocument.created_at), col(TrustedDocument.id)
    )
    if client is not None:
        statement = statement.where(col(TrustedDocument.client) == client)
    return list((await session.execute(statement)).scalars())


async def body_of(session: AsyncSession, id: str) -> str | None:
    return (
        await session.execute(
            select(col(TrustedDocument.body)).where(col(TrustedDocument.id) == id)
        )
    ).scalar_one_or_none()
