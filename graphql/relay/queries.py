"""`node(id:)` and `nodes(ids:)`: any object with a global id, fetched again by it.

Each type of id is read exactly as the field that shows that type reads it: the same rule of
core/auth/rules.py (its typed lookup's, such as `dossier`, or its list's where it has none)
and the same loader in the caller's tenant scope. So an id of another tenant, of a missing
row, or malformed answers null with the NOT_FOUND error of `dossier(id:)` / `agency(id:)`,
and a caller whose role may not read the type the FORBIDDEN (or UNAUTHENTICATED) its typed
field gives; never the data. In `nodes` each id answers on its own: null and an error at
its index for one refused, the object for the others."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.rules import check_operation, require_principal
from eiso.core.errors import DomainError
from eiso.core.global_ids import id_type, not_found
from eiso.core.qms.audits import AuditFinding, AuditPlan, AuditProgramme
from eiso.core.qms.conformity import ReviewFlag
from eiso.core.qms.documents import DocumentVersion
from eiso.core.qms.management_review import ManagementReview, ReviewAction
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.objectives import Objective
from eiso.core.qms.risks import Risk
from eiso.graphql.dossiers.queries import dossier_by_id
from eiso.graphql.qms.figures.nodes import ObjectiveNode
from eiso.graphql.qms.improvement.nodes import ReviewActionNode, ReviewFlagNode
from eiso.graphql.qms.improvement.queries import review_nodes
from eiso.graphql.qms.registers.nodes import (
    AuditFindingNode,
    AuditPlanNode,
    DocumentVersionNode,
    NonconformityNode,
    RiskNode,
)
from eiso.graphql.qms.registers.queries import document_by_id, programme_nodes
from eiso.graphql.shared.connections import MAX_PAGE
from eiso.graphql.shared.lookup import load_node
from eiso.graphql.shared.node import Node
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.tenants.queries import agency_by_id, province_by_id

Row = TypeVar("Row")
Load = Callable[[strawberry.Info, str], Awaitable[Node]]


@dataclasses.dataclass(frozen=True)
class NodeKind:
    """How one type of global id is read: `operation`, the rule (core/auth/rules.py) of the
    field that shows the type; `load(info, id)`, its loader (NOT_FOUND when out of scope)."""

    operation: str
    load: Load


def _row(model: type[Row], type_name: str, build: Callable[[Row], Node]) -> Load:
    """A loader of one row read in the caller's scope, built without further reads."""

    async def load(info: strawberry.Info, id: str) -> Node:
        return build(await load_node(info, model, id, type_name))

    return load


def _rows(
    model: type[Row],
    type_name: str,
    build: Callable[[AsyncSession, Sequence[Row]], Awaitable[Sequence[Node]]],
) -> Load:
    """A loader of one row built as its list builds it (with its children), in one session."""

    async def load(info: strawberry.Info, id: str) -> Node:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            row = await load_node(info, model, id, type_name, session=session)
            [node] = await build(session, [row])
        return node

    return load


async def _objective_nodes(session: AsyncSession, rows: Sequence[Objective]) -> list[Node]:
    return [await ObjectiveNode.of(session, row) for row in rows]


# The type in a global id (core/global_ids.py) -> how it is read.
KINDS: dict[str, NodeKind] = {
    "Province": NodeKind("provinces", province_by_id),
    "Agency": NodeKind("agency", agency_by_id),
    "Dossier": NodeKind("dossier", dossier_by_id),
    "Document": NodeKind("document", document_by_id),
    "DocumentVersion": NodeKind(
        "document", _row(DocumentVersion, "DocumentVersion", DocumentVersionNode.of)
    ),
    "Nonconformity": NodeKind(
        "nonconformities", _row(Nonconformity, "Nonconformity", NonconformityNode.of)
    ),
    "Risk": NodeKind("risks", _row(Risk, "Risk", RiskNode.of)),
    "AuditProgramme": NodeKind(
        "auditProgrammes", _rows(AuditProgramme, "AuditProgramme", programme_nodes)
    ),
    "AuditPlan": NodeKind("auditProgrammes", _row(AuditPlan, "AuditPlan", AuditPlanNode.of)),
    "AuditFinding": NodeKind(
        "auditProgrammes", _row(AuditFinding, "AuditFinding", AuditFindingNode.of)
    ),
    "Objective": NodeKind("objectives", _rows(Objective, "Objective", _objective_nodes)),
    "ReviewFlag": NodeKind("reviewFlags", _row(ReviewFlag, "ReviewFlag", ReviewFlagNode.of)),
    "ManagementReview": NodeKind(
        "managementReviews", _rows(ManagementReview, "ManagementReview", review_nodes)
    ),
    "ReviewAction": NodeKind(
        "managementReviews", _row(ReviewAction, "ReviewAction", ReviewActionNode.of)
    ),
}


async def find_node(info: strawberry.Info, id: str) -> Node:
    """The object `id` names, read as its type's own field reads it; its error otherwise (an
    unknown type of id: NOT_FOUND, like a malformed one)."""
    type_name = id_type(id)
    kind = KINDS.get(type_name or "")
    if kind is None:
        raise not_found("node", id)
    check_operation(info.context.principal, kind.operation)
    return await kind.load(info, id)


async def _answer(info: strawberry.Info, id: str) -> Any:
    """The node, or the error it answers (graphql-core reports an exception returned as a list
    item at that item's index, and nulls the item alone)."""
    try:
        return await find_node(info, id)
    except DomainError as error:
        return error


@guarded
class RelayQuery:
    @strawberry.field(
        description="Any object by its global id (Relay): null with NOT_FOUND for an id "
        "outside the caller's scope, exactly as its type's own lookup answers."
    )
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await find_node(info, id)

    @strawberry.field(
        description="Several objects by their global ids (at most 100), in the order given: "
        "each one null with its own error when `node` would refuse it."
    )
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_PAGE:
            raise DomainError(
                f"at most {MAX_PAGE} ids at once",
                f"tối đa {MAX_PAGE} mã mỗi lần",
                field="ids",
            )
        # One after another: each read opens its own session in the caller's scope.
        return [await _answer(info, id) for id in ids]
