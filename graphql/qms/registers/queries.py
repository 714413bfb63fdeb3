"""QMS register queries: documents, nonconformities, risks and audit programmes as cursor
connections (newest first); one document with its versions; who adopted a model document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import strawberry
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.errors import DomainError
from eiso.core.global_ids import encode_id, not_found
from eiso.core.qms import documents
from eiso.core.qms.audits import AuditPlan, AuditProgramme
from eiso.core.qms.documents import Document, DocumentVersion
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.risks import Risk
from eiso.graphql.qms.registers.nodes import (
    AdoptionNode,
    AuditProgrammeNode,
    DocumentNode,
    NonconformityNode,
    RiskNode,
)
from eiso.graphql.shared.connections import Connection, Page, paged
from eiso.graphql.shared.lookup import load_node
from eiso.graphql.shared.pagination import each_of, newest_first
from eiso.graphql.shared.permissions import guarded
from eiso.tenants.scope import TenantScope


def province_of(principal: Principal) -> int:
    """The one province the caller acts for; BAD_INPUT (field `province`) for a caller of no
    single province."""
    if principal.province_id is None:
        raise DomainError(
            "this needs a caller of one province",
            "cần người dùng thuộc một tỉnh",
            field="province",
        )
    return principal.province_id


C = TypeVar("C", DocumentVersion, AuditPlan)


async def children_of(
    session: AsyncSession,
    rows: Sequence[Document] | Sequence[AuditProgramme],
    child: type[C],
    parent: str,
    order: str,
) -> dict[tuple[int, int], list[C]]:
    """The `child` rows of each of `rows` by (province_id, id), their `parent` column naming
    it, ordered by `order`: one query for them all."""
    keys = [(row.province_id, row.id) for row in rows]
    if not keys:
        return {}
    found = (
        await session.execute(
            select(child)
            .where(tuple_(col(child.province_id), getattr(child, parent)).in_(keys))
            .order_by(getattr(child, order))
        )
    ).scalars()
    by_parent: dict[tuple[int, int], list[C]] = {}
    for row in found:
        by_parent.setdefault((row.province_id, getattr(row, parent)), []).append(row)
    return by_parent


async def document_nodes(session: AsyncSession, rows: Sequence[Document]) -> list[DocumentNode]:
    """The documents with all their versions (by number)."""
    versions = await children_of(session, rows, DocumentVersion, "document_id", "number")
    return [DocumentNode.of(row, versions.get((row.province_id, row.id), [])) for row in rows]


async def document_node(session: AsyncSession, row: Document) -> DocumentNode:
    """The document with all its versions (by number)."""
    return (await document_nodes(session, [row]))[0]


async def document_by_id(info: strawberry.Info, id: str) -> DocumentNode:
    """The document a global id names, with its versions, in the caller's scope."""
    principal = require_principal(info.context.principal)
    async with info.context.resources.session(principal.tenant) as session:
        return await document_node(
            session, await load_node(info, Document, id, "Document", session=session)
        )


async def programme_nodes(
    session: AsyncSession, rows: Sequence[AuditProgramme]
) -> list[AuditProgrammeNode]:
    """The programmes with their plans (by date)."""
    plans = await children_of(session, rows, AuditPlan, "programme_id", "date")
    return [AuditProgrammeNode.of(row, plans.get((row.province_id, row.id), [])) for row in rows]


@guarded
class RegistersQuery:
    @strawberry.field(
        description="The QMS documents the caller may see (newest first), with their versions."
    )
    @paged()
    async def documents(
        self,
        info: strawberry.Info,
        page: Page,
        models_only: bool = False,
    ) -> Connection[DocumentNode]:
        where = (col(Document.is_model).is_(True),) if models_only else ()
        return await newest_first(info, Document, page, document_nodes, where)

    @strawberry.field(
        description="The model documents of the caller's province, which its agencies adopt."
    )
    @paged()
    async def model_documents(self, info: strawberry.Info, page: Page) -> Connection[DocumentNode]:
        province_id = province_of(require_principal(info.context.principal))

        # Models are the province's shared set: read in the province's scope, models only.
        return await newest_first(
            info,
            Document,
            page,
            document_nodes,
            (col(Document.is_model).is_(True),),
            TenantScope.province(province_id),
        )

    @strawberry.field(description="Which agencies adopted which version of a model document.")
    async def model_adoptions(self, info: strawberry.Info, id: strawberry.ID) -> list[AdoptionNode]:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            model = await load_node(info, Document, id, "Document", session=session)
            if not model.is_model:
                raise not_found("Document", id)
            province_id = model.province_id
            rows = await documents.adoptions(session, province_id, model.id)
        return [
            AdoptionNode(
                agency_id=strawberry.ID(encode_id("Agency", province_id, agency_id)),
                document_id=strawberry.ID(encode_id("Document", province_id, document_id)),
                model_version_number=number,
            )
            for agency_id, document_id, number in rows
        ]

    @strawberry.field(
        description="One document with its versions; NOT_FOUND outside the caller's scope."
    )
    async def document(self, info: strawberry.Info, id: strawberry.ID) -> DocumentNode | None:
        return await document_by_id(info, id)

    @strawberry.field(description="Nonconformities (newest first).")
    @paged()
    async def nonconformities(
        self, info: strawberry.Info, page: Page
    ) -> Connection[NonconformityNode]:
        return await newest_first(info, Nonconformity, page, each_of(NonconformityNode.of))

    @strawberry.field(description="The risk register (newest first).")
    @paged()
    async def risks(self, info: strawberry.Info, page: Page) -> Connection[RiskNode]:
        return await newest_first(info, Risk, page, each_of(RiskNode.of))

    @strawberry.field(description="Internal audit programmes with their plans.")
    @paged()
    async def audit_programmes(
        self, info: strawberry.Info, page: Page
    ) -> Connection[AuditProgrammeNode]:
        return await newest_first(info, AuditProgramme, page, programme_nodes)
