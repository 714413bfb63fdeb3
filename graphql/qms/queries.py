"""QMS queries: lists as cursor connections (newest first), one document with its versions."""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select, tuple_

from eiso.core.auth.rules import require_principal
from eiso.core.errors import DomainError
from eiso.core.qms import documents
from eiso.core.qms.audits import AuditPlan, AuditProgramme
from eiso.core.qms.documents import Document, DocumentVersion
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.risks import Risk
from eiso.graphql.auth.permissions import guard
from eiso.graphql.connections import (
    Connection,
    Edge,
    PageInfo,
    check_first,
    decode_cursor,
    encode_cursor,
)
from eiso.graphql.qms.nodes import (
    AdoptionNode,
    AuditProgrammeNode,
    DocumentNode,
    NonconformityNode,
    RiskNode,
)
from eiso.graphql.tenants.ids import decode_id, encode_id, not_found
from eiso.tenants.scope import TenantScope


async def page(
    info: strawberry.Info, model, first: int, after: str | None, make, where=(), scope=None
) -> Connection:
    """Keyset pagination on (province_id, id) in the caller's scope: one query for the page,
    one count; `make(session, rows)` builds the nodes (and batches any nested loads)."""
    principal = require_principal(info.context.principal)
    first = check_first(first)
    columns = (model.province_id, model.id)
    statement = select(model).where(*where)
    async with info.context.resources.session(scope or principal.tenant) as session:
        total = (
            await session.execute(select(func.count()).select_from(statement.subquery()))
        ).scalar_one()
        if after is not None:
            statement = statement.where(tuple_(*columns) < tuple_(*decode_cursor(after, 2)))
        rows = list(
            (
                await session.execute(
                    statement.order_by(*(c.desc() for c in columns)).limit(first + 1)
                )
            ).scalars()
        )
        nodes = await make(session, rows[:first])
    edges = [
        Edge(cursor=encode_cursor([row.province_id, row.id]), node=node)
        for row, node in zip(rows, nodes)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=total,
    )


async def document_node(session, row) -> DocumentNode:
    versions = (
        (
            await session.execute(
                select(DocumentVersion)
                .where(
                    DocumentVersion.province_id == row.province_id,
                    DocumentVersion.document_id == row.id,
                )
                .order_by(DocumentVersion.number)
            )
        )
        .scalars()
        .all()
    )
    return DocumentNode.of(row, versions)


@strawberry.type
class QmsQuery:
    @strawberry.field(
        description="The QMS documents the caller may see (newest first).",
        extensions=guard("documents"),
    )
    async def documents(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        models_only: bool = False,
    ) -> Connection[DocumentNode]:
        async def make(session, rows):
            return [DocumentNode.of(row) for row in rows]

        where = (Document.is_model.is_(True),) if models_only else ()
        return await page(info, Document, first, after, make, where)

    @strawberry.field(
        description="The model documents of the caller's province, which its agencies adopt.",
        extensions=guard("modelDocuments"),
    )
    async def model_documents(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[DocumentNode]:
        principal = require_principal(info.context.principal)
        if principal.province_id is None:
            raise DomainError(
                "this needs a caller of one province",
                "cần người dùng thuộc một tỉnh",
                field="province",
            )

        async def make(session, rows):
            return [await document_node(session, row) for row in rows]

        # Models are the province's shared set: read in the province's scope, models only.
        return await page(
            info,
            Document,
            first,
            after,
            make,
            (Document.is_model.is_(True),),
            TenantScope.province(principal.province_id),
        )

    @strawberry.field(
        description="Which agencies adopted which version of a model document.",
        extensions=guard("modelAdoptions"),
    )
    async def model_adoptions(self, info: strawberry.Info, id: strawberry.ID) -> list[AdoptionNode]:
        principal = require_principal(info.context.principal)
        province_id, row_id = decode_id(id, "Document")
        async with info.context.resources.session(principal.tenant) as session:
            model = await session.get(Document, (province_id, row_id))
            if model is None or not model.is_model:
                raise not_found("Document", id)
            rows = await documents.adoptions(session, province_id, row_id)
        return [
            AdoptionNode(
                agency_id=strawberry.ID(encode_id("Agency", province_id, agency_id)),
                document_id=strawberry.ID(encode_id("Document", province_id, document_id)),
                model_version_number=number,
            )
            for agency_id, document_id, number in rows
        ]

    @strawberry.field(
        description="One document with its versions; NOT_FOUND outside the caller's scope.",
        extensions=guard("document"),
    )
    async def document(self, info: strawberry.Info, id: strawberry.ID) -> DocumentNode:
        principal = require_principal(info.context.principal)
        province_id, row_id = decode_id(id, "Document")
        async with info.context.resources.session(principal.tenant) as session:
            row = await session.get(Document, (province_id, row_id))
            if row is None:
                raise not_found("Document", id)
            return await document_node(session, row)

    @strawberry.field(
        description="Nonconformities (newest first).", extensions=guard("nonconformities")
    )
    async def nonconformities(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[NonconformityNode]:
        async def make(session, rows):
            return [NonconformityNode.of(row) for row in rows]

        return await page(info, Nonconformity, first, after, make)

    @strawberry.field(description="The risk register (newest first).", extensions=guard("risks"))
    async def risks(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[RiskNode]:
        async def make(session, rows):
            return [RiskNode.of(row) for row in rows]

        return await page(info, Risk, first, after, make)

    @strawberry.field(
        description="Internal audit programmes with their plans.",
        extensions=guard("auditProgrammes"),
    )
    async def audit_programmes(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[AuditProgrammeNode]:
        async def make(session, rows):
            if not rows:
                return []
            keys = [(row.province_id, row.id) for row in rows]
            plans = (
                await session.execute(
                    select(AuditPlan)
                    .where(tuple_(AuditPlan.province_id, AuditPlan.programme_id).in_(keys))
                    .order_by(AuditPlan.date)
                )
            ).scalars()
            by_programme: dict = {}
            for plan in plans:  # one query for the plans of the whole page
                by_programme.setdefault(plan.programme_id, []).append(plan)
            return [AuditProgrammeNode.of(row, by_programme.get(row.id, [])) for row in rows]

        return await page(info, AuditProgramme, first, after, make)
