"""GraphQL types of the inspection: a province's plan, an agency's inspection with its
checklist and findings, the checklist itself and a line of the PAR summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from eiso.core.global_ids import encode_id
from eiso.core.qms import inspections
from eiso.core.qms.common import value
from eiso.core.qms.inspections import (
    Inspection,
    InspectionFinding,
    InspectionPlan,
    ParLine,
)
from eiso.core.qms.nonconformities import Nonconformity
from eiso.graphql.shared.enums import (
    InspectionFindingStatus,
    InspectionItemResult,
    InspectionStatus,
)
from eiso.graphql.shared.node import AgencyLine, agency_line, node_of


def agency_gid(province_id: int, agency_id: int) -> strawberry.ID:
    return strawberry.ID(encode_id("Agency", province_id, agency_id))


@strawberry.type(description="A checklist item: what it checks and the clause or legal text.")
class InspectionChecklistItem:
    code: str
    clause: str = strawberry.field(description="The ISO clause or legal requirement it checks.")
    requirement: str = strawberry.field(description="What is checked, in Vietnamese.")
    requirement_en: str

    @classmethod
    def of(cls, item: dict[str, Any]) -> InspectionChecklistItem:
        return cls(
            code=item["code"],
            clause=item["clause"],
            requirement=item["requirement"],
            requirement_en=item.get("requirement_en", ""),
        )


@strawberry.input(description="A checklist item as the province edits it.")
class InspectionChecklistItemInput:
    code: str
    clause: str
    requirement: str
    requirement_en: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "clause": self.clause,
            "requirement": self.requirement,
            "requirement_en": self.requirement_en,
        }


@strawberry.type(description="A province's inspection checklist (eiso's default until edited).")
class InspectionChecklistNode:
    items: list[InspectionChecklistItem]
    is_default: bool


@strawberry.type(description="An item of one inspection's checklist, with what was found.")
class InspectionItem(InspectionChecklistItem):
    result: InspectionItemResult
    note: str


@strawberry.type(
    name="InspectionFinding",
    description="A finding: it opened a nonconformity in the inspected agency (follow-up: the "
    "agency closes it, the DOST verifies the closure).",
)
class InspectionFindingNode:
    id: strawberry.ID
    item_code: str
    clause: str
    description: str
    nonconformity_id: strawberry.ID
    nonconformity_status: str = strawberry.field(description="The nonconformity's status.")
    status: InspectionFindingStatus
    verified_by: str | None
    verified_at: dt.datetime | None
    verification_note: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: InspectionFinding, nc: Nonconformity | None) -> InspectionFindingNode:
        return node_of(
            cls,
            row,
            "InspectionFinding",
            nonconformity_id=strawberry.ID(
                encode_id("Nonconformity", row.province_id, row.nonconformity_id)
            ),
            nonconformity_status=value(nc.status).upper() if nc else "UNKNOWN",
            status=InspectionFindingStatus(inspections.finding_status(row, nc).value),
        )


@strawberry.type(
    name="Inspection",
    description="The DOST's inspection of one agency's ISO application in a year.",
)
class InspectionNode:
    id: strawberry.ID
    agency_id: strawberry.ID
    agency_code: str
    agency_name: str
    year: int
    planned_on: dt.date
    inspectors: str
    status: InspectionStatus
    checklist: list[InspectionItem]
    findings: list[InspectionFindingNode]
    conclusion: str
    started_at: dt.datetime | None
    concluded_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime

    @classmethod
    def of(
        cls,
        row: Inspection,
        agency: tuple[str, str],
        found: list[tuple[InspectionFinding, Nonconformity | None]],
    ) -> InspectionNode:
        return node_of(
            cls,
            row,
            "Inspection",
            agency_id=agency_gid(row.province_id, row.agency_id),
            agency_code=agency[0],
            agency_name=agency[1],
            checklist=[
                InspectionItem(
                    code=item["code"],
                    clause=item["clause"],
                    requirement=item["requirement"],
                    requirement_en=item.get("requirement_en", ""),
                    result=InspectionItemResult(item["result"]),
                    note=item.get("note", ""),
                )
                for item in row.checklist
            ],
            findings=[InspectionFindingNode.of(f, nc) for f, nc in found],
        )


@strawberry.type(
    name="InspectionPlan",
    description="A province's inspection plan of a year and the inspections the caller may see "
    "(an agency: its own).",
)
class InspectionPlanNode:
    year: int
    title: str
    notes: str
    updated_by: str
    updated_at: dt.datetime
    inspections: list[InspectionNode]

    @classmethod
    def of(cls, row: InspectionPlan, nodes: list[InspectionNode]) -> InspectionPlanNode:
        return node_of(cls, row, inspections=nodes)


@strawberry.type(description="One agency in the PAR summary of a year's inspections.")
class InspectionSummaryLine(AgencyLine):
    planned: bool
    planned_on: dt.date | None
    status: InspectionStatus | None
    inspected: bool = strawberry.field(description="Inspection concluded or closed.")
    findings: int
    closed: int = strawberry.field(description="Findings whose nonconformity is closed.")
    verified: int = strawberry.field(description="Closed findings the DOST verified.")

    @classmethod
    def of(cls, line: ParLine) -> InspectionSummaryLine:
        row = line.inspection
        agency = line.agency
        return cls(
            **agency_line(agency.province_id, agency.id, agency.code, agency.name),
            planned=row is not None,
            planned_on=row.planned_on if row else None,
            status=InspectionStatus(value(row.status)) if row else None,
            inspected=line.inspected,
            findings=line.findings,
            closed=line.closed,
            verified=line.verified,
        )
