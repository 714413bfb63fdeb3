"""Queries of how an agency applies its QMS and of the province's steering committee. An
agency or province outside the caller's scope reads like one with no records."""

from __future__ import annotations

import strawberry

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.global_ids import decode_id
from eiso.core.qms import application
from eiso.graphql.qms.application.nodes import (
    QmsProfileNode,
    SteeringCommittee,
    SteeringMeetingNode,
    SteeringMemberNode,
    TrainingRecordNode,
)
from eiso.graphql.qms.yearly.queries import province_session
from eiso.graphql.shared.callers import agency_of
from eiso.graphql.shared.permissions import guarded


def agency_named(principal: Principal, agency_id: strawberry.ID | None) -> tuple[int, int]:
    """The agency `agencyId` names (the session's scope hides it when it is not the caller's),
    or the caller's own."""
    return agency_of(principal) if agency_id is None else decode_id(agency_id, "Agency")


@guarded
class ApplicationQuery:
    @strawberry.field(
        description="An agency's QMS profile (agencyId, default the caller's); null if none."
    )
    async def qms_profile(
        self, info: strawberry.Info, agency_id: strawberry.ID | None = None
    ) -> QmsProfileNode | None:
        principal = require_principal(info.context.principal)
        province, agency = agency_named(principal, agency_id)
        async with info.context.resources.session(principal.tenant) as session:
            row = await application.profile(session, province, agency)
        return QmsProfileNode.of(row) if row else None

    @strawberry.field(
        description="Training records (clause 7.2), newest first: an agency's (agencyId, "
        "default the caller's)."
    )
    async def training_records(
        self, info: strawberry.Info, agency_id: strawberry.ID | None = None
    ) -> list[TrainingRecordNode]:
        principal = require_principal(info.context.principal)
        province, agency = agency_named(principal, agency_id)
        async with info.context.resources.session(principal.tenant) as session:
            rows = await application.trainings(session, province, agency)
        return [TrainingRecordNode.of(row) for row in rows]

    @strawberry.field(description="The province's ISO steering committee (provinceId).")
    async def steering_committee(
        self, info: strawberry.Info, province_id: strawberry.ID | None = None
    ) -> SteeringCommittee:
        async with province_session(info, province_id) as (session, province):
            members = await application.members(session, province)
            meetings = await application.meetings(session, province)
        return SteeringCommittee(
            members=[SteeringMemberNode.of(row) for row in members],
            meetings=[SteeringMeetingNode.of(row) for row in meetings],
        )
