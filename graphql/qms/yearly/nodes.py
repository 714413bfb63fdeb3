"""GraphQL types of the yearly report workflow: an agency's report, a line of the province's
status board, the province's compiled report and its deadline setting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from eiso.core.global_ids import encode_id
from eiso.core.qms import yearly_reports
from eiso.core.qms.yearly_reports import BoardLine, Deadline, YearlyReport
from eiso.graphql.shared.enums import YearlyReportStatus
from eiso.graphql.shared.node import AgencyLine, agency_line, node_of


@strawberry.input(description="The written parts; a part left out keeps its text.")
class YearlyReportInput:
    scope: str | None = None
    procedures: str | None = None
    legal_updates: str | None = None
    difficulties: str | None = None
    proposals: str | None = None
    funding: str | None = None

    def parts(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in yearly_reports.PARTS}


@strawberry.type(description="A move of the report, with its comment (a return says what to fix).")
class YearlyReportMove:
    action: YearlyReportStatus
    by: str
    at: dt.datetime
    comment: str


@strawberry.type(description="A reminder the sweep recorded: DUE_SOON or OVERDUE.")
class YearlyReportReminder:
    kind: str
    on: dt.date
    due_on: dt.date


@strawberry.type(
    name="YearlyReport",
    description="An agency's yearly report on ISO application (Circular 26/2014/TT-BKHCN): the "
    "written parts its ISO secretary or leader fills, and eiso's figures and dates.",
)
class YearlyReportNode:
    id: strawberry.ID
    agency_id: strawberry.ID
    year: int
    status: YearlyReportStatus
    scope: str
    procedures: str
    legal_updates: str
    difficulties: str
    proposals: str
    funding: str
    internal_audits: list[dt.date] = strawberry.field(
        description="Dates of the year's internal audits (from the audit plans)."
    )
    management_reviews: list[dt.date] = strawberry.field(
        description="Dates of the year's management reviews."
    )
    figures: JSON = strawberry.field(
        description="eiso's part: figures (as annualReport's), nonconformities, the dates."
    )
    history: list[YearlyReportMove]
    reminders: list[YearlyReportReminder]
    due_on: dt.date
    submitted_at: dt.datetime | None
    accepted_at: dt.datetime | None
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: YearlyReport, deadline: Deadline) -> YearlyReportNode:
        own: dict[str, Any] = row.figures or {}
        return node_of(
            cls,
            row,
            "YearlyReport",
            agency_id=strawberry.ID(encode_id("Agency", row.province_id, row.agency_id)),
            internal_audits=[dt.date.fromisoformat(d) for d in own.get("internalAudits", [])],
            management_reviews=[dt.date.fromisoformat(d) for d in own.get("managementReviews", [])],
            figures=JSON(own),
            history=[
                YearlyReportMove(
                    action=YearlyReportStatus(m["action"]),
                    by=m["by"],
                    at=dt.datetime.fromisoformat(m["at"]),
                    comment=m["comment"],
                )
                for m in row.history
            ],
            reminders=[
                YearlyReportReminder(
                    kind=r["kind"].upper(),
                    on=dt.date.fromisoformat(r["on"]),
                    due_on=dt.date.fromisoformat(r["dueOn"]),
                )
                for r in row.reminders
            ],
            due_on=deadline.due_on(row.year),
        )


@strawberry.type(description="One agency on the province's status board.")
class YearlyReportStatusLine(AgencyLine):
    status: str = strawberry.field(
        description="NOT_STARTED (no report yet) or the report's status."
    )
    report_id: strawberry.ID | None
    due_on: dt.date
    overdue: bool
    submitted_at: dt.datetime | None
    accepted_at: dt.datetime | None
    reminders: list[str]

    @classmethod
    def of(cls, line: BoardLine, today: dt.date) -> YearlyReportStatusLine:
        return cls(
            **agency_line(line.province_id, line.agency_id, line.agency_code, line.agency_name),
            status=line.status.upper(),
            report_id=strawberry.ID(encode_id("YearlyReport", line.province_id, line.report_id))
            if line.report_id is not None
            else None,
            due_on=line.due_on,
            overdue=line.overdue(today),
            submitted_at=line.submitted_at,
            accepted_at=line.accepted_at,
            reminders=[kind.upper() for kind in line.reminders],
        )


@strawberry.type(description="A province's reports of a year at a glance.")
class YearlyReportBoard:
    year: int
    due_on: dt.date
    total: int
    by_status: JSON = strawberry.field(description="Agencies per status.")
    agencies: list[YearlyReportStatusLine]


@strawberry.type(
    description="The province's report for the People's Committee and the Ministry, compiled "
    "from the accepted agency reports."
)
class CompiledYearlyReport:
    year: int
    province_code: str
    agencies: int
    accepted: JSON = strawberry.field(description="Each accepted report: parts and figures.")
    missing: JSON = strawberry.field(
        description="Agencies without an accepted report: code, name, status."
    )
    totals: JSON = strawberry.field(description="The accepted reports' counts summed.")

    @classmethod
    def of(cls, compiled: dict[str, Any]) -> CompiledYearlyReport:
        return cls(
            year=compiled["year"],
            province_code=compiled["province"]["code"],
            agencies=compiled["agencies"],
            accepted=JSON(compiled["accepted"]),
            missing=JSON(compiled["missing"]),
            totals=JSON(compiled["totals"]),
        )


@strawberry.type(description="A province's deadline for the yearly reports.")
class YearlyReportDeadline:
    due_month: int
    due_day: int
    remind_days_before: int
    is_default: bool = strawberry.field(
        description="True while the province keeps eiso's default (15 November, 10 days)."
    )

    @classmethod
    def of(cls, deadline: Deadline) -> YearlyReportDeadline:
        return node_of(cls, deadline)
