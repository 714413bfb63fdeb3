"""Quality objectives: the mutations (create, update, delete), each in one transaction in the
caller's scope, answering the objective with its result."""

from __future__ import annotations

import strawberry

from eiso.core.auth.rules import require_principal
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id
from eiso.core.qms import objectives
from eiso.graphql.qms.figures.nodes import ObjectiveInput, ObjectiveNode
from eiso.graphql.shared.permissions import guard
from eiso.graphql.shared.transactions import act_on_node


async def _objective_tx(info: strawberry.Info, work) -> ObjectiveNode:
    principal = require_principal(info.context.principal)
    async with info.context.resources.session(principal.tenant) as session, session.begin():
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
        await act_on_node(info, id, "Objective", objectives.delete)
        return id
