"""Inspection queries: a province's plan of a year, the inspections and one by id (an agency's
caller sees its own only: the session's scope hides the others), the checklist and the PAR
summary. A province or inspection outside the caller's scope answers NOT_FOUND."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal, require_province_admin
from eiso.core.global_ids import decode_id
from eiso.core.qms import inspections
from eiso.core.qms.inspections import Inspection
from eiso.graphql.qms.inspections.nodes import (
    InspectionChecklistItem,
    InspectionChecklistNode,
    InspectionNode,
    InspectionPlanNode,
    InspectionSummaryLine,
)
from eiso.graphql.qms.yearly.queries import province_of, province_session
from eiso.graphql.shared.permissions import guarded
from eiso.tenants.models import Agency


async def inspection_nodes(
    session: AsyncSession, province_id: int, rows: Sequence[Inspection]
) -> list[InspectionNode]:
    """The inspections with their agencies' names and their findings (two more queries)."""
    if not rows:
        return []
    ids = sorted({row.agency_id for row in rows})
    names = {
        agency.id: (agency.code, agency.name)
        for agency in (
            await session.execute(
                select(Agency).where(
                    col(Agency.province_id) == province_id, col(Agency.id).in_(ids)
                )
            )
        ).scalars()
    }
    found = await inspections.findings(session, province_id, [row.id for row in rows])
    return [
        InspectionNode.of(row, names.get(row.agency_id, ("", "")), found[row.id]) for row in rows
    ]


def _asked(
    info: strawberry.Info, year: int, province_id: strawberry.ID | None
) -> tuple[Principal, int]:
    """The caller and the province asked about (`provinceId`, default the caller's), once
    `year` is one eiso keeps."""
    principal = require_principal(info.context.principal)
    inspections.check_year(year)
    return principal, province_of(principal, province_id)


@guarded
class InspectionsQuery:
    @strawberry.field(
        description="A province's inspection plan of `year` (provinceId, default the caller's); "
        "null when there is none. An agency's caller sees its own inspection only."
    )
    async def inspection_plan(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> InspectionPlanNode | None:
        principal, province = _asked(info, year, province_id)
        async with info.context.resources.session(principal.tenant) as session:
            row = await inspections.plan(session, province, year)
            if row is None:
                return None
            rows = await inspections.inspections(session, province, year)
            return InspectionPlanNode.of(row, await inspection_nodes(session, province, rows))

    @strawberry.field(
        description="The inspections of `year` the caller may see (an agency: its own), by date."
    )
    async def inspections(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> list[InspectionNode]:
        principal, province = _asked(info, year, province_id)
        async with info.context.resources.session(principal.tenant) as session:
            rows = await inspections.inspections(session, province, year)
            return await inspection_nodes(session, province, rows)

    @strawberry.field(description="An inspection by id, with its checklist and findings.")
    async def inspection(self, info: strawberry.Info, id: strawberry.ID) -> InspectionNode:
        principal = require_principal(info.context.principal)
        province, row_id = decode_id(id, "Inspection")
        async with info.context.resources.session(principal.tenant) as session:
            row = await inspections.load(session, province, row_id)
            (node,) = await inspection_nodes(session, province, [row])
            return node

    @strawberry.field(
        description="The province's inspection checklist: its own, or eiso's default."
    )
    async def inspection_checklist(
        self, info: strawberry.Info, province_id: strawberry.ID | None = None
    ) -> InspectionChecklistNode:
        async with province_session(info, province_id) as (session, province):
            items, is_default = await inspections.checklist(session, province)
        return InspectionChecklistNode(
            items=[InspectionChecklistItem.of(item) for item in items], is_default=is_default
        )

    @strawberry.field(
        description="The PAR index data of `year`: every agency of the province, inspected or "
        "not, its findings, how many closed and verified (the province's administrators)."
    )
    async def inspection_summary(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> list[InspectionSummaryLine]:
        principal, province = _asked(info, year, province_id)
        require_province_admin(principal, province)
        async with info.context.resources.session(principal.tenant) as session:
            lines = await inspections.par_summary(session, province, year)
        return [InspectionSummaryLine.of(line) for line in lines]
