"""Mutations of how an agency applies its QMS (its ISO secretary or leader) and of the
province's steering committee (its administrators). Each in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.global_ids import decode_id
from eiso.core.qms import application
from eiso.graphql.qms.application.nodes import (
    QmsProfileNode,
    SteeringMeetingNode,
    SteeringMemberNode,
    TrainingInput,
    TrainingRecordNode,
)
from eiso.graphql.qms.yearly.queries import province_of
from eiso.graphql.shared.enums import QmsMedium, QmsStandard
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import act_on_node, for_own_agency, in_transaction


@guarded
class ApplicationMutation:
    @strawberry.mutation(description="The caller's agency's QMS standard and medium.")
    async def set_qms_profile(
        self,
        info: strawberry.Info,
        standard: QmsStandard,
        medium: QmsMedium,
        upgraded_on: dt.date | None = None,
    ) -> QmsProfileNode:
        row = await for_own_agency(
            info,
            application.set_profile,
            standard=standard.value,
            medium=medium.value,
            upgraded_on=upgraded_on,
        )
        return QmsProfileNode.of(row)

    @strawberry.mutation(description="Record a training of the caller's agency (clause 7.2).")
    async def record_training(
        self, info: strawberry.Info, input: TrainingInput
    ) -> TrainingRecordNode:
        # The input's fields are the service's keyword arguments, by the same names.
        row = await for_own_agency(info, application.record_training, **dataclasses.asdict(input))
        return TrainingRecordNode.of(row)

    @strawberry.mutation(description="Remove a training record entered by mistake.")
    async def delete_training_record(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> TrainingRecordNode:
        row = await act_on_node(info, id, "TrainingRecord", application.delete_training)
        return TrainingRecordNode.of(row)

    @strawberry.mutation(description="Add a member to the province's ISO steering committee.")
    async def add_steering_member(
        self,
        info: strawberry.Info,
        person: str,
        committee_role: str,
        since: dt.date,
        agency_id: strawberry.ID | None = None,
        province_id: strawberry.ID | None = None,
    ) -> SteeringMemberNode:
        async def work(session: AsyncSession, who: Principal) -> SteeringMemberNode:
            province = province_of(who, province_id)
            agency = None
            if agency_id is not None:
                agency_province, agency = decode_id(agency_id, "Agency")
                if agency_province != province:
                    agency = -1  # another province's agency: NOT_FOUND like a missing one
            row = await application.add_member(
                session,
                who,
                province,
                person=person,
                committee_role=committee_role,
                since=since,
                agency_id=agency,
            )
            return SteeringMemberNode.of(row)

        return await in_transaction(info, work)

    @strawberry.mutation(description="A member leaves the committee on `until`.")
    async def end_steering_membership(
        self, info: strawberry.Info, id: strawberry.ID, until: dt.date
    ) -> SteeringMemberNode:
        async def work(
            session: AsyncSession, who: Principal, province_id: int, row_id: int
        ) -> SteeringMemberNode:
            row = await application.end_membership(session, who, province_id, row_id, until)
            return SteeringMemberNode.of(row)

        return await act_on_node(info, id, "SteeringMember", work)

    @strawberry.mutation(description="Record a committee meeting: date, minutes, decisions.")
    async def record_steering_meeting(
        self,
        info: strawberry.Info,
        held_on: dt.date,
        minutes: str,
        decisions: list[str],
        province_id: strawberry.ID | None = None,
    ) -> SteeringMeetingNode:
        async def work(session: AsyncSession, who: Principal) -> SteeringMeetingNode:
            province = province_of(who, province_id)
            row = await application.record_meeting(
                session, who, province, held_on=held_on, minutes=minutes, decisions=decisions
            )
            return SteeringMeetingNode.of(row)

        return await in_transaction(info, work)
