"""Yearly report queries: an agency's report, the province's status board, the compiled
province report and its deadline. A province or report outside the caller's scope answers
NOT_FOUND, like one that does not exist."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal, require_province_admin
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id, not_found
from eiso.core.qms import yearly_reports
from eiso.core.qms.common import get_in_scope
from eiso.graphql.qms.yearly.nodes import (
    CompiledYearlyReport,
    YearlyReportBoard,
    YearlyReportDeadline,
    YearlyReportNode,
    YearlyReportStatusLine,
)
from eiso.graphql.shared.callers import agency_of
from eiso.graphql.shared.permissions import guarded
from eiso.infra.clock import utcnow


def province_of(principal: Principal, province_id: strawberry.ID | None) -> int:
    """The province a `provinceId` names inside the caller's scope (NOT_FOUND otherwise), or
    the caller's own province."""
    tenant = principal.tenant
    if province_id is None:
        if principal.province_id is None:
            raise DomainError("provinceId: required", "provinceId: bắt buộc", field="provinceId")
        return principal.province_id
    province, _ = decode_id(province_id, "Province")
    if not (tenant.kind == "nation" or province in tenant.province_ids):
        raise not_found("Province", province_id)
    return province


@contextlib.asynccontextmanager
async def province_session(
    info: strawberry.Info, province_id: strawberry.ID | None
) -> AsyncIterator[tuple[AsyncSession, int]]:
    """A session as the caller, and the province `provinceId` names (`province_of`)."""
    principal = require_principal(info.context.principal)
    province = province_of(principal, province_id)
    async with info.context.resources.session(principal.tenant) as session:
        yield session, province


@guarded
class YearlyReportsQuery:
    @strawberry.field(
        description="A yearly report by id, or the caller's agency's report of `year` (null "
        "when it has none yet)."
    )
    async def yearly_report(
        self, info: strawberry.Info, id: strawberry.ID | None = None, year: int | None = None
    ) -> YearlyReportNode | None:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            if id is not None:
                province_id, row_id = decode_id(id, "YearlyReport")
                row = await get_in_scope(
                    session, yearly_reports.YearlyReport, province_id, row_id, "báo cáo năm"
                )
            else:
                if year is None:
                    raise DomainError("id or year: required", "cần id hoặc year", field="year")
                yearly_reports.check_year(year)
                province_id, agency_id = agency_of(principal)
                found = await yearly_reports.find(session, province_id, agency_id, year)
                if found is None:
                    return None
                row = found
            deadline = await yearly_reports.deadline(session, row.province_id)
            return YearlyReportNode.of(row, deadline)

    @strawberry.field(
        description="Every agency's report of `year` at a glance: a province's (provinceId, "
        "default the caller's); an agency's caller sees its own line."
    )
    async def yearly_report_board(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> YearlyReportBoard:
        principal = require_principal(info.context.principal)
        yearly_reports.check_year(year)  # a year out of range is BAD_INPUT, not a crash
        province = province_of(principal, province_id)
        today = utcnow().date()
        async with info.context.resources.session(principal.tenant) as session:
            lines = await yearly_reports.board(session, principal.tenant, province, year)
            # each line carries the province's due day; ask for it only when there is no line
            due_on = (
                lines[0].due_on
                if lines
                else (await yearly_reports.deadline(session, province)).due_on(year)
            )
        counts = collections.Counter(line.status.upper() for line in lines)
        return YearlyReportBoard(
            year=year,
            due_on=due_on,
            total=len(lines),
            by_status=JSON(dict(sorted(counts.items()))),
            agencies=[YearlyReportStatusLine.of(line, today) for line in lines],
        )

    @strawberry.field(
        description="The province's compiled report of `year` (its administrators, the DOST)."
    )
    async def compiled_yearly_report(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> CompiledYearlyReport:
        principal = require_principal(info.context.principal)
        yearly_reports.check_year(year)
        province = province_of(principal, province_id)
        require_province_admin(principal, province)
        async with info.context.resources.session(principal.tenant) as session:
            compiled = await yearly_reports.compile_province(
                session, principal.tenant, province, year
            )
        return CompiledYearlyReport.of(compiled)

    @strawberry.field(description="The province's deadline for the yearly reports.")
    async def yearly_report_deadline(
        self, info: strawberry.Info, province_id: strawberry.ID | None = None
    ) -> YearlyReportDeadline:
        async with province_session(info, province_id) as (session, province):
            return YearlyReportDeadline.of(await yearly_reports.deadline(session, province))
