"""GraphQL types of figures, objectives and the yearly report: enums, inputs and the nodes
built from core/qms/figures.py, objectives.py and annual_report.py."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.global_ids import encode_id
from eiso.core.qms import annual_report, figures, index766, objectives
from eiso.graphql.dossiers.nodes import DossierStatus
from eiso.graphql.shared.enums import (
    FigureGroup,
    FigureMetric,
    IsoStatus,
    ObjectiveComparator,
    ObjectiveMetric,
    ObjectiveStatus,
)
from eiso.graphql.shared.node import Node

# -- enums and inputs ---------------------------------------------------------------------------


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
    comparator: ObjectiveComparator
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


@strawberry.enum(
    name="Index766Group",
    description="The six groups of Decision 766/QĐ-TTg as the national portal scores them.",
)
class Index766Group(enum.Enum):
    # core/qms/index766.py's GROUPS (index766, deprecated, gives PROGRESS and SATISFACTION only).
    TRANSPARENCY = "transparency"
    PROGRESS = "progress"
    ONLINE_SERVICES = "online_services"
    ONLINE_PAYMENT = "online_payment"
    SATISFACTION = "satisfaction"
    DIGITISATION = "digitisation"


# -- nodes ----------------------------------------------------------------------------------------


@strawberry.type(
    description="Decision 766/QĐ-TTg points of one group, with the two numbers behind them."
)
class IndexPoints:
    group: Index766Group
    max_points: int
    points: float | None
    numerator_metric: FigureMetric
    numerator: int
    denominator_metric: FigureMetric
    denominator: int


def _points(index: dict[str, Any]) -> list[IndexPoints]:
    return [
        IndexPoints(
            group=Index766Group(group),
            max_points=part["maxPoints"],
            points=part["points"],
            numerator_metric=FigureMetric(part["numerator"]["metric"]),
            numerator=part["numerator"]["value"],
            denominator_metric=FigureMetric(part["denominator"]["metric"]),
            denominator=part["denominator"]["value"],
        )
        for group, part in index.items()
    ]


@strawberry.type(
    description="One criterion of Decision 766/QĐ-TTg: its formula and source, and its points "
    "from eiso's data, or why it is not measured (`measured` false, points null)."
)
class Index766Criterion:
    code: str
    max_points: int
    formula: str = strawberry.field(description="The formula (Vietnamese).")
    formula_en: str
    source: str
    measured: bool
    points: float | None = strawberry.field(
        description="Null when not measured, or when the denominator is empty."
    )
    numerator_metric: str | None
    numerator: int | None
    denominator_metric: str | None
    denominator: int | None
    not_measured_reason: str | None = strawberry.field(description="Why not measured (Vietnamese).")
    not_measured_reason_en: str | None

    @classmethod
    def of(cls, part: dict[str, Any]) -> Index766Criterion:
        top, bottom = part["numerator"] or {}, part["denominator"] or {}
        return cls(
            code=part["code"],
            max_points=part["maxPoints"],
            formula=part["formulaVi"],
            formula_en=part["formulaEn"],
            source=part["source"],
            measured=part["measured"],
            points=part["points"],
            numerator_metric=top.get("metric"),
            numerator=top.get("value"),
            denominator_metric=bottom.get("metric"),
            denominator=bottom.get("value"),
            not_measured_reason=part["reasonVi"],
            not_measured_reason_en=part["reasonEn"],
        )


@strawberry.type(
    description="The points of one Decision 766 group: the sum of its measured criteria "
    "(null when none is measured), next to the most those criteria could give."
)
class Index766GroupScore:
    group: Index766Group
    max_points: int
    points: float | None
    measured_max_points: int
    criteria: list[Index766Criterion]


def _groups(groups: list[dict[str, Any]]) -> list[Index766GroupScore]:
    return [
        Index766GroupScore(
            group=Index766Group(g["group"]),
            max_points=g["maxPoints"],
            points=g["points"],
            measured_max_points=g["measuredMaxPoints"],
            criteria=[Index766Criterion.of(c) for c in g["criteria"]],
        )
        for g in groups
    ]


_INDEX766_DEPRECATED = (
    "Two groups with the old formulas (progress = onTime / finished ignores overdue open "
    "dossiers; satisfaction gives 18 points to ratings). Use index766Groups."
)


@strawberry.type(description="The figures of one group (or of everything in scope) over a period.")
class FigureRow:
    province_id: strawberry.ID | None = None
    agency_id: strawberry.ID | None = None
    procedure_code: str | None = None
    received: int
    received_online: int = strawberry.field(description="Of the dossiers received, filed online.")
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
    feedback_received: int = strawberry.field(
        description="Citizens' feedback and petitions received in the period (core/feedback)."
    )
    feedback_answered: int = strawberry.field(description="Of them, answered in the period.")
    feedback_on_time: int = strawberry.field(description="Answered by their deadline.")
    feedback_overdue: int = strawberry.field(
        description="Unanswered and past their deadline at the period's end."
    )
    feedback_rated: int = strawberry.field(description="Answers the citizens rated.")
    feedback_satisfied: int = strawberry.field(description="Answers rated 4 or 5 of 5.")
    index766: list[IndexPoints] = strawberry.field(deprecation_reason=_INDEX766_DEPRECATED)
    index766_groups: list[Index766GroupScore] = strawberry.field(
        description="Decision 766/QĐ-TTg: the six groups and their criteria (core/qms/index766.py)."
    )

    @classmethod
    def of(cls, row: figures.Figures, group: figures.Group) -> FigureRow:
        """The row of one group: its key (province, agency or procedure) names the group."""
        province_id: strawberry.ID | None = None
        agency_id: strawberry.ID | None = None
        procedure_code: str | None = None
        if group in (figures.Group.province, figures.Group.agency):
            province_id = strawberry.ID(encode_id("Province", row.key[0], row.key[0]))
        if group is figures.Group.agency:
            agency_id = strawberry.ID(encode_id("Agency", row.key[0], row.key[1]))
        elif group is figures.Group.procedure:
            procedure_code = row.key[0]
        return cls.from_dict(
            annual_report.figures_dict(row),
            annual_report.index_766(row),
            index766.scores(row),
            province_id=province_id,
            agency_id=agency_id,
            procedure_code=procedure_code,
        )

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        index: dict[str, Any],
        groups: list[dict[str, Any]],
        *,
        province_id: strawberry.ID | None = None,
        agency_id: strawberry.ID | None = None,
        procedure_code: str | None = None,
    ) -> FigureRow:
        """The row from the figures' JSON form (annual_report.figures_dict) and its index."""
        return cls(
            province_id=province_id,
            agency_id=agency_id,
            procedure_code=procedure_code,
            received=data["received"],
            received_online=data["receivedOnline"],
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
            # A yearly report stored before feedback existed has none of these: zero.
            feedback_received=data.get("feedbackReceived", 0),
            feedback_answered=data.get("feedbackAnswered", 0),
            feedback_on_time=data.get("feedbackOnTime", 0),
            feedback_overdue=data.get("feedbackOverdue", 0),
            feedback_rated=data.get("feedbackRated", 0),
            feedback_satisfied=data.get("feedbackSatisfied", 0),
            index766=_points(index),
            index766_groups=_groups(groups),
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
class ObjectiveNode(Node):
    id: strawberry.ID
    province_id: strawberry.ID
    agency_id: strawberry.ID | None = strawberry.field(
        description="Empty: an objective of the whole province."
    )
    title: str
    metric: ObjectiveMetric
    comparator: ObjectiveComparator
    target: float
    period_from: dt.date
    period_to: dt.date
    procedure_code: str | None
    status: ObjectiveStatus
    actual: float | None

    @classmethod
    async def of(cls, session: AsyncSession, row: objectives.Objective) -> ObjectiveNode:
        result = await objectives.evaluate(session, row)
        return cls(
            id=strawberry.ID(encode_id("Objective", row.province_id, row.id)),
            province_id=strawberry.ID(encode_id("Province", row.province_id, row.province_id)),
            agency_id=strawberry.ID(encode_id("Agency", row.province_id, row.agency_id))
            if row.agency_id is not None
            else None,
            title=row.title,
            metric=ObjectiveMetric(row.metric),
            comparator=ObjectiveComparator(row.comparator),
            target=row.target,
            period_from=row.period_start,
            period_to=row.period_end,
            procedure_code=row.procedure_code,
            status=ObjectiveStatus(result.status.value),
            actual=result.actual,
        )


@strawberry.type
class ObjectiveResult:
    scope: str
    title: str
    metric: ObjectiveMetric
    comparator: ObjectiveComparator
    target: float
    period_from: dt.date
    period_to: dt.date
    procedure_code: str | None
    status: ObjectiveStatus
    actual: float | None


@strawberry.type
class ReportLine:
    level: FigureGroup
    code: str
    name: str
    iso_status: IsoStatus | None
    figures: FigureRow
    nonconformities_raised: int
    nonconformities_open: int


@strawberry.type
class ConformityCount:
    iso_status: IsoStatus
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
    description="The yearly report on ISO application: agencies of a province, or provinces of "
    "the nation."
)
class AnnualReport:
    year: int
    level: FigureGroup
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
    def of(cls, report: dict[str, Any]) -> AnnualReport:
        province = report["province"] or {"code": "VN", "name": "Toàn quốc"}

        def line(row: dict[str, Any], level: str, code: str, name: str) -> ReportLine:
            return ReportLine(
                level=FigureGroup(level),
                code=code,
                name=name,
                iso_status=IsoStatus(row["isoStatus"]) if row.get("isoStatus") else None,
                figures=FigureRow.from_dict(row["figures"], row["index766"], row["index766Groups"]),
                nonconformities_raised=row["nonconformities"]["raised"],
                nonconformities_open=row["nonconformities"]["open"],
            )

        return cls(
            year=report["year"],
            level=FigureGroup(report["level"]),
            province_code=report["province"]["code"] if report["province"] else None,
            province_name=report["province"]["name"] if report["province"] else None,
            period_from=dt.date.fromisoformat(report["period"]["from"]),
            period_to=dt.date.fromisoformat(report["period"]["to"]),
            total=line(report["total"], report["level"], province["code"], province["name"]),
            rows=[line(row, row["level"], row["code"], row["name"]) for row in report["rows"]],
            conformity=[
                ConformityCount(iso_status=IsoStatus(k), agencies=v)
                for k, v in sorted(report["conformity"].items())
            ],
            par_index=ParIndexData(**{_snake(k): v for k, v in report["parIndex"].items()}),
            objectives=[
                ObjectiveResult(
                    scope=o["scope"],
                    title=o["title"],
                    metric=ObjectiveMetric(o["metric"]),
                    comparator=ObjectiveComparator(o["comparator"]),
                    target=o["target"],
                    period_from=dt.date.fromisoformat(o["period"]["from"]),
                    period_to=dt.date.fromisoformat(o["period"]["to"]),
                    procedure_code=o["procedureCode"],
                    status=ObjectiveStatus(o["status"]),
                    actual=o["actual"],
                )
                for o in report["objectives"]
            ],
        )


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
