"""Figures, objectives and the yearly report over GraphQL: thin adapters over core/qms/figures.py,
objectives.py and annual_report.py. Every number is computed in the caller's tenant scope: an
agency sees its own figures, a province its agencies, the nation all; a province or agency id
outside that scope answers NOT_FOUND."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.core.qms import annual_report, figures, objectives
from eiso.graphql.auth.permissions import guard
from eiso.graphql.connections import (
    Connection,
    Edge,
    PageInfo,
    check_first,
    decode_cursor,
    encode_cursor,
)
from eiso.graphql.dossiers.nodes import DossierStatus
from eiso.graphql.qms.queries import page
from eiso.graphql.tenants.ids import decode_id, encode_id, not_found
from eiso.infra.clock import aware

# -- enums and inputs ---------------------------------------------------------------------------


class FigureGroupEnum(enum.Enum):
    NATION = "nation"
    PROVINCE = "province"
    AGENCY = "agency"
    PROCEDURE = "procedure"


class FigureMetricEnum(enum.Enum):
    RECEIVED = "received"
    FINISHED = "finished"
    ON_TIME = "on_time"
    FINISHED_LATE = "finished_late"
    BACKLOG = "backlog"
    BACKLOG_LATE = "backlog_late"
    LATE = "late"
    RATED = "rated"
    SATISFIED = "satisfied"


class ObjectiveMetricEnum(enum.Enum):
    ON_TIME_RATE = "on_time_rate"
    SATISFIED_SHARE = "satisfied_share"
    RATING_MEAN = "rating_mean"
    MEAN_DAYS = "mean_days"
    P90_DAYS = "p90_days"
    RECEIVED = "received"
    FINISHED = "finished"
    LATE = "late"
    BACKLOG = "backlog"


class ComparatorEnum(enum.Enum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    MORE_THAN = "more_than"
    LESS_THAN = "less_than"


class ObjectiveStatusEnum(enum.Enum):
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    IN_PROGRESS = "in_progress"
    NO_DATA = "no_data"


FigureGroup = strawberry.enum(FigureGroupEnum, name="FigureGroup")
FigureMetric = strawberry.enum(FigureMetricEnum, name="FigureMetric")
ObjectiveMetric = strawberry.enum(ObjectiveMetricEnum, name="ObjectiveMetric")
Comparator = strawberry.enum(ComparatorEnum, name="ObjectiveComparator")
ObjectiveStatus = strawberry.enum(ObjectiveStatusEnum, name="ObjectiveStatus")


@strawberry.input(
    description="A year; a quarter or a month of it; or the days from..to (both included)."
)
class PeriodInput:
    year: int | None = None
    quarter: int | None = None
    month: int | None = None
    from_: dt.date | None = strawberry.field(name="from", default=None)
    to: dt.date | None = None

    def period(self) -> figures.Period:
        return figures.Period.of(self.year, self.quarter, self.month, self.from_, self.to)


@strawberry.input
class ObjectiveInput:
    title: str
    metric: ObjectiveMetric
    comparator: Comparator
    target: float
    period: PeriodInput
    procedure_code: str | None = None

    def definition(self) -> objectives.Definition:
        return objectives.Definition(
            self.title,
            self.metric.value,
            self.comparator.value,
            self.target,
            self.period.period(),
            self.procedure_code,
        )


# -- nodes ----------------------------------------------------------------------------------------


@strawberry.type(
    description="Decision 766/QĐ-TTg points of one group, with the two numbers behind them."
)
class IndexPoints:
    group: str
    max_points: int
    points: float | None
    numerator_metric: FigureMetric
    numerator: int
    denominator_metric: FigureMetric
    denominator: int


def _points(index: dict) -> list[IndexPoints]:
    return [
        IndexPoints(
            group=group,
            max_points=part["maxPoints"],
            points=part["points"],
            numerator_metric=FigureMetricEnum(part["numerator"]["metric"]),
            numerator=part["numerator"]["value"],
            denominator_metric=FigureMetricEnum(part["denominator"]["metric"]),
            denominator=part["denominator"]["value"],
        )
        for group, part in index.items()
    ]


@strawberry.type(description="The figures of one group (or of everything in scope) over a period.")
class FigureRow:
    province_id: strawberry.ID | None = None
    agency_id: strawberry.ID | None = None
    procedure_code: str | None = None
    received: int
    finished: int
    on_time: int
    late: int
    finished_late: int
    backlog: int
    backlog_late: int
    on_time_rate: float | None
    mean_days: float | None = strawberry.field(description="Mean handling time in working days.")
    p90_days: float | None = strawberry.field(
        description="90th percentile of the handling time in working days."
    )
    rating_count: int
    rating_mean: float | None
    satisfied: int
    satisfied_share: float | None
    index766: list[IndexPoints]

    @classmethod
    def of(cls, row: figures.Figures, group: figures.Group) -> FigureRow:
        data = annual_report.figures_dict(row)
        ids: dict = {}
        if group is figures.Group.province:
            ids["province_id"] = strawberry.ID(encode_id("Province", row.key[0], row.key[0]))
        elif group is figures.Group.agency:
            ids["province_id"] = strawberry.ID(encode_id("Province", row.key[0], row.key[0]))
            ids["agency_id"] = strawberry.ID(encode_id("Agency", row.key[0], row.key[1]))
        elif group is figures.Group.procedure:
            ids["procedure_code"] = row.key[0]
        return cls.from_dict(data, annual_report.index_766(row), **ids)

    @classmethod
    def from_dict(cls, data: dict, index: dict, **ids) -> FigureRow:
        return cls(
            **ids,
            received=data["received"],
            finished=data["finished"],
            on_time=data["onTime"],
            late=data["late"],
            finished_late=data["finishedLate"],
            backlog=data["backlog"],
            backlog_late=data["backlogLate"],
            on_time_rate=data["onTimeRate"],
            mean_days=data["meanDays"],
            p90_days=data["p90Days"],
            rating_count=data["ratingCount"],
            rating_mean=data["ratingMean"],
            satisfied=data["satisfied"],
            satisfied_share=data["satisfiedShare"],
            index766=_points(index),
        )


@strawberry.type(description="A dossier counted in a figure (no personal data).")
class FigureDossier:
    id: strawberry.ID
    code: str
    agency_id: strawberry.ID
    procedure_code: str
    status: DossierStatus
    received_at: dt.datetime
    appointment_at: dt.datetime | None
    finished_at: dt.datetime | None
    handling_days: float | None
    on_time: bool | None
    rating: int | None


@strawberry.type(
    name="Objective",
    description="A quality objective (clause 6.2) and its result from the figures.",
)
class ObjectiveNode:
    id: strawberry.ID
    province_id: strawberry.ID
    agency_id: strawberry.ID | None = strawberry.field(
        description="Empty: an objective of the whole province."
    )
    title: str
    metric: ObjectiveMetric
    comparator: Comparator
    target: float
    period_from: dt.date
    period_to: dt.date
    procedure_code: str | None
    status: ObjectiveStatus
    actual: float | None

    @classmethod
    async def of(cls, session, row: objectives.Objective) -> ObjectiveNode:
        result = await objectives.evaluate(session, row)
        return cls(
            id=strawberry.ID(encode_id("Objective", row.province_id, row.id)),
            province_id=strawberry.ID(encode_id("Province", row.province_id, row.province_id)),
            agency_id=strawberry.ID(encode_id("Agency", row.province_id, row.agency_id))
            if row.agency_id is not None
            else None,
            title=row.title,
            metric=ObjectiveMetricEnum(row.metric),
            comparator=ComparatorEnum(row.comparator),
            target=row.target,
            period_from=row.period_start,
            period_to=row.period_end,
            procedure_code=row.procedure_code,
            status=ObjectiveStatusEnum(result.status.value),
            actual=result.actual,
        )


@strawberry.type
class ObjectiveResult:
    scope: str
    title: str
    metric: ObjectiveMetric
    comparator: Comparator
    target: float
    period_from: dt.date
    period_to: dt.date
    procedure_code: str | None
    status: ObjectiveStatus
    actual: float | None


@strawberry.type
class ReportLine:
    level: str
    code: str
    name: str
    iso_status: str | None
    figures: FigureRow
    nonconformities_raised: int
    nonconformities_open: int


@strawberry.type
class ConformityCount:
    iso_status: str
    agencies: int


@strawberry.type(
    description="What the PAR index asks of ISO application, from the same figures: agencies that "
    "announced conformity, and dossiers resolved on time (figureDossiers lists them)."
)
class ParIndexData:
    agencies: int
    announced: int
    announced_share: float | None
    to_be_reannounced: int
    resolved: int
    resolved_on_time: int
    on_time_share: float | None


@strawberry.type(
    description="The yearly report on ISO application: agencies of a province, or provinces of the nation."
)
class AnnualReport:
    year: int
    level: str
    province_code: str | None
    province_name: str | None
    period_from: dt.date
    period_to: dt.date
    total: ReportLine
    rows: list[ReportLine]
    conformity: list[ConformityCount]
    par_index: ParIndexData
    objectives: list[ObjectiveResult]

    @classmethod
    def of(cls, report: dict) -> AnnualReport:
        province = report["province"] or {"code": "VN", "name": "Toàn quốc"}

        def line(row: dict, level: str, code: str, name: str) -> ReportLine:
            return ReportLine(
                level=level,
                code=code,
                name=name,
                iso_status=row.get("isoStatus"),
                figures=FigureRow.from_dict(row["figures"], row["index766"]),
                nonconformities_raised=row["nonconformities"]["raised"],
                nonconformities_open=row["nonconformities"]["open"],
            )

        return cls(
            year=report["year"],
            level=report["level"],
            province_code=report["province"]["code"] if report["province"] else None,
            province_name=report["province"]["name"] if report["province"] else None,
            period_from=dt.date.fromisoformat(report["period"]["from"]),
            period_to=dt.date.fromisoformat(report["period"]["to"]),
            total=line(report["total"], report["level"], province["code"], province["name"]),
            rows=[line(row, row["level"], row["code"], row["name"]) for row in report["rows"]],
            conformity=[
                ConformityCount(iso_status=k, agencies=v)
                for k, v in sorted(report["conformity"].items())
            ],
            par_index=ParIndexData(**{_snake(k): v for k, v in report["parIndex"].items()}),
            objectives=[
                ObjectiveResult(
                    scope=o["scope"],
                    title=o["title"],
                    metric=ObjectiveMetricEnum(o["metric"]),
                    comparator=ComparatorEnum(o["comparator"]),
                    target=o["target"],
                    period_from=dt.date.fromisoformat(o["period"]["from"]),
                    period_to=dt.date.fromisoformat(o["period"]["to"]),
                    procedure_code=o["procedureCode"],
                    status=ObjectiveStatusEnum(o["status"]),
                    actual=o["actual"],
                )
                for o in report["objectives"]
            ],
        )


# -- helpers --------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


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


def _session(info: strawberry.Info, principal: Principal):
    return info.context.resources.session(principal.tenant)


# -- queries --------------------------------------------------------------------------------------


@strawberry.type
class FiguresQuery:
    @strawberry.field(
        description="Figures per nation, province, agency or procedure over a period, in the caller's scope.",
        extensions=guard("figures"),
    )
    async def figures(
        self,
        info: strawberry.Info,
        period: PeriodInput,
        group_by: FigureGroup = FigureGroupEnum.NATION,
        province_id: strawberry.ID | None = None,
        agency_id: strawberry.ID | None = None,
        procedure_code: str | None = None,
    ) -> list[FigureRow]:
        principal = require_principal(info.context.principal)
        narrow = _narrow(principal, province_id, agency_id, procedure_code)
        group = figures.Group(group_by.value)
        async with _session(info, principal) as session:
            rows = await figures.figures(session, principal.tenant, period.period(), group, narrow)
        return [FigureRow.of(row, group) for row in rows]

    @strawberry.field(
        description="The dossiers behind one number of the figures (by code, oldest first).",
        extensions=guard("figureDossiers"),
    )
    async def figure_dossiers(
        self,
        info: strawberry.Info,
        metric: FigureMetric,
        period: PeriodInput,
        province_id: strawberry.ID | None = None,
        agency_id: strawberry.ID | None = None,
        procedure_code: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[FigureDossier]:
        principal = require_principal(info.context.principal)
        first = check_first(first)
        narrow = _narrow(principal, province_id, agency_id, procedure_code)
        key = tuple(decode_cursor(after, 2)) if after is not None else None
        async with _session(info, principal) as session:
            total, rows = await figures.dossiers_behind(
                session,
                principal.tenant,
                figures.Metric(metric.value),
                period.period(),
                narrow,
                first,
                key,
            )
        edges = [
            Edge(
                cursor=encode_cursor([r.province_id, r.id]),
                node=FigureDossier(
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
                ),
            )
            for r in rows[:first]
        ]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )

    @strawberry.field(
        description="The yearly report on ISO application: a province's agencies (provinceId) or "
        "the nation's provinces, in the caller's scope.",
        extensions=guard("annualReport"),
    )
    async def annual_report(
        self, info: strawberry.Info, year: int, province_id: strawberry.ID | None = None
    ) -> AnnualReport:
        principal = require_principal(info.context.principal)
        narrow = _narrow(principal, province_id, None, None)
        figures.Period.of(year=year)  # a bad year is BAD_PERIOD before any query
        async with _session(info, principal) as session:
            report = await annual_report.build(session, principal.tenant, year, narrow.province_id)
        return AnnualReport.of(report)

    @strawberry.field(
        description="Quality objectives in the caller's scope with their results (newest first).",
        extensions=guard("objectives"),
    )
    async def objectives(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        year: int | None = None,
    ) -> Connection[ObjectiveNode]:
        async def make(session, rows):
            return [await ObjectiveNode.of(session, row) for row in rows]

        o = objectives.Objective
        where = ()
        if year is not None:
            period = figures.Period.of(year=year)
            where = (o.period_start <= period.last_day, o.period_end >= period.start)
        return await page(info, o, first, after, make, where)


# -- mutations ------------------------------------------------------------------------------------


async def _objective_tx(info: strawberry.Info, work) -> ObjectiveNode:
    principal = require_principal(info.context.principal)
    async with _session(info, principal) as session, session.begin():
        row = await work(session, principal)
        return await ObjectiveNode.of(session, row)


@strawberry.type
class FiguresMutation:
    @strawberry.mutation(
        description="A quality objective: of the caller's agency (ISO secretary, leader) or of "
        "the caller's province (province administrator).",
        extensions=guard("createObjective"),
    )
    async def create_objective(self, info: strawberry.Info, input: ObjectiveInput) -> ObjectiveNode:
        async def work(session, who):
            if who.province_id is None:
                raise DomainError(
                    "this needs a caller of one province or agency",
                    "cần người dùng thuộc một tỉnh hoặc cơ quan",
                    field="province",
                )
            return await objectives.create(
                session,
                who,
                province_id=who.province_id,
                agency_id=who.agency_id,
                definition=input.definition(),
            )

        return await _objective_tx(info, work)

    @strawberry.mutation(
        description="Change an objective's definition.", extensions=guard("updateObjective")
    )
    async def update_objective(
        self, info: strawberry.Info, id: strawberry.ID, input: ObjectiveInput
    ) -> ObjectiveNode:
        province_id, row_id = decode_id(id, "Objective")
        return await _objective_tx(
            info,
            lambda session, who: objectives.update(
                session, who, province_id, row_id, input.definition()
            ),
        )

    @strawberry.mutation(
        description="Delete an objective; answers its id.", extensions=guard("deleteObjective")
    )
    async def delete_objective(self, info: strawberry.Info, id: strawberry.ID) -> strawberry.ID:
        province_id, row_id = decode_id(id, "Objective")
        principal = require_principal(info.context.principal)
        async with _session(info, principal) as session, session.begin():
            await objectives.delete(session, principal, province_id, row_id)
        return id
