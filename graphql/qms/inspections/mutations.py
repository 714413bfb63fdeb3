"""Inspection mutations: the province's administrators (the DOST) keep the plan and the
checklist, schedule, conduct, conclude and follow up. Each in one transaction: a refused move
changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.global_ids import decode_id
from eiso.core.qms import inspections
from eiso.core.qms.inspections import Inspection
from eiso.graphql.qms.inspections.nodes import (
    InspectionChecklistItem,
    InspectionChecklistItemInput,
    InspectionChecklistNode,
    InspectionFindingNode,
    InspectionNode,
    InspectionPlanNode,
)
from eiso.graphql.qms.inspections.queries import inspection_nodes
from eiso.graphql.qms.yearly.queries import province_of
from eiso.graphql.shared.enums import InspectionItemResult
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import act_on_node, in_transaction


async def _node(session: AsyncSession, row: Inspection) -> InspectionNode:
    (node,) = await inspection_nodes(session, row.province_id, [row])
    return node


async def _on_inspection(
    info: strawberry.Info,
    id: strawberry.ID,
    move: Callable[..., Awaitable[Inspection]],
    **kwargs: Any,
) -> InspectionNode:
    """`move(session, who, province_id, row_id, **kwargs)` on the inspection `id` names."""

    async def work(
        session: AsyncSession, who: Principal, province_id: int, row_id: int
    ) -> InspectionNode:
        return await _node(session, await move(session, who, province_id, row_id, **kwargs))

    return await act_on_node(info, id, "Inspection", work)


@guarded
class InspectionsMutation:
    @strawberry.mutation(description="Create or rename the province's inspection plan of `year`.")
    async def save_inspection_plan(
        self,
        info: strawberry.Info,
        year: int,
        title: str,
        notes: str = "",
        province_id: strawberry.ID | None = None,
    ) -> InspectionPlanNode:
        async def work(session: AsyncSession, who: Principal) -> InspectionPlanNode:
            province = province_of(who, province_id)
            row = await inspections.save_plan(session, who, province, year, title, notes)
            rows = await inspections.inspections(session, province, year)
            return InspectionPlanNode.of(row, await inspection_nodes(session, province, rows))

        return await in_transaction(info, work)

    @strawberry.mutation(
        description="Put an agency on the plan of `year` with its date; it gets a copy of the "
        "province's checklist."
    )
    async def schedule_inspection(
        self,
        info: strawberry.Info,
        agency_id: strawberry.ID,
        year: int,
        planned_on: dt.date,
        inspectors: str = "",
    ) -> InspectionNode:
        province, agency = decode_id(agency_id, "Agency")

        async def work(session: AsyncSession, who: Principal) -> InspectionNode:
            row = await inspections.schedule(
                session,
                who,
                province_id=province,
                agency_id=agency,
                year=year,
                planned_on=planned_on,
                inspectors=inspectors,
            )
            return await _node(session, row)

        return await in_transaction(info, work)

    @strawberry.mutation(description="Move a planned inspection to another day.")
    async def reschedule_inspection(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        planned_on: dt.date,
        inspectors: str | None = None,
    ) -> InspectionNode:
        return await _on_inspection(
            info, id, inspections.reschedule, planned_on=planned_on, inspectors=inspectors
        )

    @strawberry.mutation(description="The inspection begins at the agency.")
    async def start_inspection(self, info: strawberry.Info, id: strawberry.ID) -> InspectionNode:
        return await _on_inspection(info, id, inspections.start)

    @strawberry.mutation(description="Record an item's result (while the inspection runs).")
    async def mark_inspection_item(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        item_code: str,
        result: InspectionItemResult,
        note: str = "",
    ) -> InspectionNode:
        return await _on_inspection(
            info,
            id,
            inspections.mark_item,
            item_code=item_code,
            result=result.value,
            note=note,
        )

    @strawberry.mutation(
        description="A finding against an item: opens a nonconformity in the inspected agency."
    )
    async def record_inspection_finding(
        self, info: strawberry.Info, id: strawberry.ID, item_code: str, description: str
    ) -> InspectionNode:
        async def work(
            session: AsyncSession, who: Principal, province_id: int, row_id: int
        ) -> InspectionNode:
            await inspections.record_finding(
                session, who, province_id, row_id, item_code, description
            )
            return await _node(session, await inspections.load(session, province_id, row_id))

        return await act_on_node(info, id, "Inspection", work)

    @strawberry.mutation(description="The inspection's conclusion; the follow-up begins.")
    async def conclude_inspection(
        self, info: strawberry.Info, id: strawberry.ID, conclusion: str
    ) -> InspectionNode:
        return await _on_inspection(info, id, inspections.conclude, conclusion=conclusion)

    @strawberry.mutation(
        description="Follow-up: the DOST verifies a finding whose nonconformity the agency closed."
    )
    async def verify_inspection_finding(
        self, info: strawberry.Info, id: strawberry.ID, note: str = ""
    ) -> InspectionFindingNode:
        async def work(
            session: AsyncSession, who: Principal, province_id: int, row_id: int
        ) -> InspectionFindingNode:
            finding = await inspections.verify_finding(session, who, province_id, row_id, note)
            found = await inspections.findings(session, province_id, [finding.inspection_id])
            return InspectionFindingNode.of(
                *next(pair for pair in found[finding.inspection_id] if pair[0].id == row_id)
            )

        return await act_on_node(info, id, "InspectionFinding", work)

    @strawberry.mutation(description="Close the follow-up once every finding is verified.")
    async def close_inspection(self, info: strawberry.Info, id: strawberry.ID) -> InspectionNode:
        return await _on_inspection(info, id, inspections.close)

    @strawberry.mutation(
        description="Replace the province's checklist (inspections already planned keep theirs)."
    )
    async def set_inspection_checklist(
        self,
        info: strawberry.Info,
        items: list[InspectionChecklistItemInput],
        province_id: strawberry.ID | None = None,
    ) -> InspectionChecklistNode:
        async def work(session: AsyncSession, who: Principal) -> InspectionChecklistNode:
            province = province_of(who, province_id)
            saved = await inspections.set_checklist(
                session, who, province, [item.as_dict() for item in items]
            )
            return InspectionChecklistNode(
                items=[InspectionChecklistItem.of(item) for item in saved], is_default=False
            )

        return await in_transaction(info, work)

    @strawberry.mutation(description="Go back to eiso's default checklist.")
    async def reset_inspection_checklist(
        self, info: strawberry.Info, province_id: strawberry.ID | None = None
    ) -> InspectionChecklistNode:
        async def work(session: AsyncSession, who: Principal) -> InspectionChecklistNode:
            province = province_of(who, province_id)
            await inspections.reset_checklist(session, who, province)
            return InspectionChecklistNode(
                items=[InspectionChecklistItem.of(item) for item in inspections.default_items()],
                is_default=True,
            )

        return await in_transaction(info, work)
