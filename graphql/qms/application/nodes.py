"""GraphQL types of how an agency applies its QMS (standard, medium, training records) and of
the province's ISO steering committee."""

from __future__ import annotations

import datetime as dt

import strawberry

from eiso.core.global_ids import encode_id
from eiso.core.qms.application import (
    QmsProfile,
    SteeringMeeting,
    SteeringMember,
    TrainingRecord,
)
from eiso.graphql.shared.enums import QmsMedium, QmsStandard
from eiso.graphql.shared.node import node_of


def _agency(row: QmsProfile | TrainingRecord | SteeringMember) -> strawberry.ID | None:
    """The global id of the row's agency; None for the province's own row."""
    if row.agency_id is None:
        return None
    return strawberry.ID(encode_id("Agency", row.province_id, row.agency_id))


@strawberry.type(
    name="QmsProfile",
    description="An agency's QMS: the standard's edition (with the day of the upgrade to "
    "TCVN ISO 9001:2015) and whether it is applied on paper or electronically.",
)
class QmsProfileNode:
    id: strawberry.ID
    agency_id: strawberry.ID
    standard: QmsStandard
    upgraded_on: dt.date | None
    medium: QmsMedium
    updated_by: str
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: QmsProfile) -> QmsProfileNode:
        return node_of(cls, row, "QmsProfile", agency_id=_agency(row))


@strawberry.type(
    name="TrainingRecord",
    description="Training and competence (ISO 9001 clause 7.2): who, what, when, the evidence.",
)
class TrainingRecordNode:
    id: strawberry.ID
    agency_id: strawberry.ID
    person: str
    position: str
    training: str
    provider: str
    held_on: dt.date
    evidence: str = strawberry.field(
        description="A document code of the agency's register or an attachment reference."
    )
    created_by: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: TrainingRecord) -> TrainingRecordNode:
        return node_of(cls, row, "TrainingRecord", agency_id=_agency(row))


@strawberry.input(description="A training record.")
class TrainingInput:
    person: str
    training: str
    held_on: dt.date
    evidence: str
    position: str = ""
    provider: str = ""


@strawberry.type(description="A member of the province's ISO steering committee.")
class SteeringMemberNode:
    id: strawberry.ID
    person: str
    committee_role: str
    agency_id: strawberry.ID | None
    since: dt.date
    until: dt.date | None

    @classmethod
    def of(cls, row: SteeringMember) -> SteeringMemberNode:
        return node_of(cls, row, "SteeringMember", agency_id=_agency(row))


@strawberry.type(description="A meeting of the province's ISO steering committee.")
class SteeringMeetingNode:
    id: strawberry.ID
    held_on: dt.date
    minutes: str
    decisions: list[str]
    created_by: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: SteeringMeeting) -> SteeringMeetingNode:
        return node_of(cls, row, "SteeringMeeting", decisions=list(row.decisions))


@strawberry.type(description="The province's ISO steering committee: members and meetings.")
class SteeringCommittee:
    members: list[SteeringMemberNode]
    meetings: list[SteeringMeetingNode] = strawberry.field(description="Newest first.")
