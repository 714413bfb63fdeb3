"""Quality objectives: the mutations (create, update, delete), each in one transaction in the
caller's scope, answering the objective with its result."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.errors import DomainError
from eiso.core.qms import objectives
from eiso.graphql.qms.figures.nodes import ObjectiveInput, ObjectiveNode
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import act_on_node, in_transaction


@guarded
class FiguresMutation:
    @strawberry.mutation(
        description="A quality objective: of the caller's agency (ISO secretary, leader) or of "
        "the caller's province (province administrator)."
    )
    async def create_objective(self, info: strawberry.Info, input: ObjectiveInput) -> ObjectiveNode:
        async def work(session: AsyncSession, who: Principal) -> ObjectiveNode:
            if who.province_id is None:
                raise DomainError(
                    "this needs a caller of one province or agency",
                    "cần người dùng thuộc một tỉnh hoặc cơ quan",
                    field="province",
                )
            row = await objectives.create(
                session,
                who,
                province_id=who.province_id,
                agency_id=who.agency_id,
                definition=input.definition(),
            )
            return await ObjectiveNode.of(session, row)

        return await in_transaction(info, work)

    @strawberry.mutation(description="Change an objective's definition.")
    async def update_objective(
        self, info: strawberry.Info, id: strawberry.ID, input: ObjectiveInput
    ) -> ObjectiveNode:
        async def updated(
            session: AsyncSession, who: Principal, province_id: int, row_id: int
        ) -> ObjectiveNode:
            row = await objectives.update(session, who, province_id, row_id, input.definition())
            return await ObjectiveNode.of(session, row)

        return await act_on_node(info, id, "Objective", updated)

    @strawberry.mutation(description="Delete an objective; answers its id.")
    async def delete_objective(self, info: strawberry.Info, id: strawberry.ID) -> strawberry.ID:
        await act_on_node(info, id, "Objective", objectives.delete)
        return id
