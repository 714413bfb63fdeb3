"""Figures, objectives and the yearly report: the queries, thin adapters over core/qms/figures.py,
objectives.py and annual_report.py. Every number is computed in the caller's tenant scope: an
agency sees its own figures, a province its agencies, the nation all; a province or agency id
outside that scope answers NOT_FOUND."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.dossiers.statuses import Status
from eiso.core.global_ids import decode_id, encode_id, not_found
from eiso.core.qms import annual_report, figures, objectives
from eiso.graphql.qms.figures.loaders import figures_loader
from eiso.graphql.qms.figures.nodes import (
    AnnualReport,
    FigureDossier,
    FigureRow,
    ObjectiveNode,
    PeriodInput,
)
from eiso.graphql.shared.connections import (
    Connection,
    Page,
    decode_cursor,
    paged,
)
from eiso.graphql.shared.enums import FigureGroup, FigureMetric
from eiso.graphql.shared.pagination import (
    connection_of_nodes,
    newest_first,
    tenant_key,
    wants_total,
)
from eiso.graphql.shared.permissions import guarded
from eiso.infra.clock import aware

_BY_NATION = FigureGroup("nation")  # the default grouping


def _narrow(
    principal: Principal,
    province_id: strawberry.ID | None,
    agency_id: strawberry.ID | None,
    procedure_code: str | None,
) -> figures.Filter:
    """The optional province and agency ids, each inside the caller's scope or NOT_FOUND."""
    tenant, province, agency = principal.tenant, None, None
    if province_id is not None:
        province, _ = decode_id(province_id, "Province")
        visible = tenant.kind == "nation" or province in tenant.province_ids
        if not visible:
            raise not_found("Province", province_id)
    if agency_id is not None:
        agency_province, agency = decode_id(agency_id, "Agency")
        if not tenant.allows(agency_province, agency) or province not in (None, agency_province):
            raise not_found("Agency", agency_id)
        province = agency_province
    return figures.Filter(
        province_id=province, agency_id=agency, procedure_code=procedure_code or None
    )


def _tenant_cursor(page: Page) -> tuple[int, int] | None:
    """The (province_id, id) in the page's cursor; BAD_INPUT for one not made here."""
    if page.cursor is None:
        return None
    province_id, row_id = decode_cursor(page.cursor, (int, int), page.cursor_field)
    return province_id, row_id


def _figure_dossier(r: Any) -> FigureDossier:
    """A row of `figures.dossiers_behind` as a node."""
    return FigureDossier(
        id=strawberry.ID(encode_id("Dossier", r.province_id, r.id)),
        code=r.code,
        agency_id=strawberry.ID(encode_id("Agency", r.province_id, r.agency_id)),
        procedure_code=r.procedure_code,
        status=Status(r.status),
        received_at=aware(r.received_at),
        appointment_at=aware(r.appointment_at),
        finished_at=aware(r.finished_at),
        handling_days=r.handling_days,
        on_time=r.on_time,
        rating=r.rating,
    )


def _session(info: strawberry.Info, principal: Principal) -> AsyncSession:
    """A session in the caller's scope, to read in (`async with`)."""
    return info.context.resources.session(principal.tenant)


@guarded
class FiguresQuery:
    @strawberry.field(
        description="Figures per nation, province, agency or procedure over a period, in the "
        "caller's scope."
    )
    async def figures(
        self,
        info: strawberry.Info,
        period: PeriodInput,
        group_by: FigureGroup = _BY_NATION,
        province_id: strawberry.ID | None = None,
        agency_id: strawberry.ID | None = None,
        procedure_code: str | None = None,
    ) -> list[FigureRow]:
        principal = require_principal(info.context.principal)
        narrow = _narrow(principal, province_id, agency_id, procedure_code)
        group = figures.Group(group_by.value)
        # the request's other `figures` fields are read with this one (one session)
        rows = await figures_loader(info).figures.load((group, narrow, period.period()))
        return [FigureRow.of(row, group) for row in rows]

    @strawberry.field(
        description="The dossiers behind one number of the figures (by code, oldest first)."
    )
    @paged(default=50)
    async def figure_dossiers(
        self,
        info: strawberry.Info,
        metric: FigureMetric,
        period: PeriodInput,
        province_id: strawberry.ID | None = None,
        agency_id: strawberry.ID | None = None,
        procedure_code: str | None = None,
        *,
        page: Page,
    ) -> Connection[FigureDossier]:
        principal = require_principal(info.context.principal)
        narrow = _narrow(principal, province_id, agency_id, procedure_code)
        async with _session(info, principal) as session:
            total, rows = await figures.dossiers_behind(
                session,
                principal.tenant,
                figures.Metric(metric.value),
                period.period(),
                narrow,
                page.size,
                _tenant_cursor(page),
                backward=page.backward,
                count=wants_total(info),
            )
        taken = rows[: page.size]
        taken = taken[::-1] if page.backward else taken
        nodes = [_figure_dossier(r) for r in taken]
        return connection_of_nodes(taken, nodes, len(rows) > page.size, total, tenant_key, page)

    @strawberry.field(
        description="The yearly report on ISO application: a province's agencies (provinceId) or "
        "the nation's provinces, in the caller's scope."
    )
    async def annual_report(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> AnnualReport | None:
        principal = require_principal(info.context.principal)
        narrow = _narrow(principal, province_id, None, None)
        figures.Period.of(year=year)  # a bad year is BAD_PERIOD before any query
        async with _session(info, principal) as session:
            report = await annual_report.build(session, principal.tenant, year, narrow.province_id)
        return AnnualReport.of(report)

    @strawberry.field(
        description="Quality objectives in the caller's scope with their results (newest first)."
    )
    @paged()
    async def objectives(
        self,
        info: strawberry.Info,
        page: Page,
        year: int | None = None,
    ) -> Connection[ObjectiveNode]:
        async def make(
            session: AsyncSession, rows: list[objectives.Objective]
        ) -> list[ObjectiveNode]:
            return [await ObjectiveNode.of(session, row) for row in rows]

        o = objectives.Objective
        where: tuple[ColumnElement[bool], ...] = ()
        if year is not None:
            period = figures.Period.of(year=year)
            where = (col(o.period_start) <= period.last_day, col(o.period_end) >= period.start)
        return await newest_first(info, o, page, make, where)
