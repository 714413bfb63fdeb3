"""Improvement queries: review flags, legal basis versions, conformity announcements (the
caller's agency, a province's progress) and management reviews."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.auth.rules import require_principal, require_province_admin
from eiso.core.errors import DomainError
from eiso.core.qms import conformity, legal, qms_scope
from eiso.core.qms import management_review as reviews
from eiso.graphql.qms.improvement.nodes import (
    ConformityNode,
    ConformityStatusCount,
    LegalBasisVersionNode,
    ManagementReviewNode,
    ProvinceConformity,
    ReviewFlagNode,
)
from eiso.graphql.shared.callers import agency_of
from eiso.graphql.shared.connections import Connection, Page, paged
from eiso.graphql.shared.pagination import newest_first
from eiso.graphql.shared.permissions import guarded
from eiso.tenants.models import IsoStatus
from eiso.tenants.services import get_province


async def review_nodes(
    session: AsyncSession, rows: Sequence[reviews.ManagementReview]
) -> list[ManagementReviewNode]:
    """The reviews with their actions (one query for all of them)."""
    found = await reviews.actions_of(session, [(row.province_id, row.id) for row in rows])
    return [ManagementReviewNode.of(row, found.get((row.province_id, row.id), [])) for row in rows]


async def _flag_nodes(
    session: AsyncSession, rows: Sequence[conformity.ReviewFlag]
) -> list[ReviewFlagNode]:
    """The flags with what their agency is told (batched for the page)."""
    found = await legal.notices(session, rows)
    return [ReviewFlagNode.of(row, notice) for row, notice in zip(rows, found, strict=True)]


async def conformity_node(
    session: AsyncSession, province_id: int, agency_id: int
) -> ConformityNode:
    """The agency's conformity: status, last announcement and scope."""
    agency = await conformity.agency_row(session, province_id, agency_id)
    row = await conformity.announcement(session, province_id, agency_id, create=False)
    scope = await qms_scope.scope_of(session, province_id, agency_id)
    return ConformityNode.of(agency, row, scope)


@guarded
class ImprovementQuery:
    @strawberry.field(
        description="Procedures and documents flagged for review after a legal change."
    )
    @paged()
    async def review_flags(
        self,
        info: strawberry.Info,
        page: Page,
        open_only: bool = True,
    ) -> Connection[ReviewFlagNode]:
        where = (col(conformity.ReviewFlag.reviewed_at).is_(None),) if open_only else ()
        return await newest_first(
            info,
            conformity.ReviewFlag,
            page,
            _flag_nodes,
            where,
        )

    @strawberry.field(description="The versions of a legal basis (by its number), newest first.")
    async def legal_basis_versions(
        self, info: strawberry.Info, reference: str
    ) -> list[LegalBasisVersionNode]:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            rows = (
                (
                    await session.execute(
                        select(legal.LegalBasisVersion)
                        .where(col(legal.LegalBasisVersion.reference) == reference)
                        .order_by(col(legal.LegalBasisVersion.version).desc())
                    )
                )
                .scalars()
                .all()
            )
        return [LegalBasisVersionNode.of(row) for row in rows]

    @strawberry.field(
        description="The caller's agency's conformity announcement, with its QMS scope."
    )
    async def conformity(self, info: strawberry.Info) -> ConformityNode | None:
        principal = require_principal(info.context.principal)
        province_id, agency_id = agency_of(principal)
        async with info.context.resources.session(principal.tenant) as session:
            return await conformity_node(session, province_id, agency_id)

    @strawberry.field(
        description="The province's progress: how many agencies are at each conformity status, "
        "and each agency's details. A national administrator names the province."
    )
    async def province_conformity(
        self, info: strawberry.Info, province_code: str | None = None
    ) -> ProvinceConformity | None:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            if province_code is not None:
                province = await get_province(session, province_code)
                province_id = province.id if province else None
            else:
                province_id = principal.province_id
            if province_id is None:
                raise DomainError(
                    "provinceCode: required", "provinceCode: bắt buộc", field="provinceCode"
                )
            require_province_admin(principal, province_id)
            rows = await conformity.province_progress(session, province_id)
            scopes = await qms_scope.scopes_of_province(session, province_id)
        nodes = [ConformityNode.of(agency, row, scopes.get(agency.id)) for agency, row in rows]
        counts = [
            ConformityStatusCount(
                status=s,
                count=sum(1 for n in nodes if n.status.value == s.value),
            )
            for s in IsoStatus
        ]
        return ProvinceConformity(total=len(nodes), counts=counts, agencies=nodes)

    @strawberry.field(description="Management reviews (newest first) with their actions.")
    @paged()
    async def management_reviews(
        self, info: strawberry.Info, page: Page
    ) -> Connection[ManagementReviewNode]:
        return await newest_first(info, reviews.ManagementReview, page, review_nodes)
