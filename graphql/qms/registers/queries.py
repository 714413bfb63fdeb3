"""QMS register queries: documents, nonconformities, risks and audit programmes as cursor
connections (newest first); one document with its versions; who adopted a model document."""

from __future__ import annotations

from collections.abc import Sequence

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


async def document_nodes(session: AsyncSession, rows: Sequence[Document]) -> list[DocumentNode]:
    """The documents with all their versions (by number), one query for the versions of all."""
    if not rows:
        return []
    keys = [(row.province_id, row.id) for row in rows]
    versions = (
        await session.execute(
            select(DocumentVersion)
            .where(tuple_(DocumentVersion.province_id, DocumentVersion.document_id).in_(keys))
            .order_by(col(DocumentVersion.number))
        )
    ).scalars()
    by_document: dict[tuple[int, int], list[DocumentVersion]] = {}
    for version in versions:
        by_document.setdefault((version.province_id, version.document_id), []).append(version)
    return [DocumentNode.of(row, by_document.get((row.province_id, row.id), [])) for row in rows]


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
    """The programmes with their plans (one query for the plans of them all)."""
    if not rows:
        return []
    keys = [(row.province_id, row.id) for row in rows]
    plans = (
        await session.execute(
            select(AuditPlan)
            .where(tuple_(AuditPlan.province_id, AuditPlan.programme_id).in_(keys))
            .order_by(col(AuditPlan.date))
        )
    ).scalars()
    by_programme: dict[tuple[int, int], list[AuditPlan]] = {}
    for plan in plans:
        by_programme.setdefault((plan.province_id, plan.programme_id), []).append(plan)
    return [
        AuditProgrammeNode.of(row, by_programme.get((row.province_id, row.id), [])) for row in rows
    ]


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
