"""Improvement mutations: legal changes (national level) and reviews after them, conformity
announcements, management reviews and their actions. Resolvers stay thin: the rules are in
core/qms."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.errors import Forbidden
from eiso.core.qms import conformity, legal, review_deadline
from eiso.core.qms import management_review as reviews
from eiso.core.qms.common import get_in_scope
from eiso.graphql.qms.improvement.nodes import (
    ConformityNode,
    LegalBasisVersionNode,
    LegalChangeResult,
    ManagementReviewNode,
    ReviewActionNode,
    ReviewFlagNode,
)
from eiso.graphql.qms.improvement.queries import conformity_node, review_nodes
from eiso.graphql.shared.arguments import arguments_of
from eiso.graphql.shared.callers import agency_of
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import act_on_node, for_own_agency, in_transaction
from eiso.graphql.tenants.queries import province_days

# A change of the caller's agency's conformity: (session, principal, province_id, agency_id).
_ConformityChange = Callable[[AsyncSession, Principal, int, int], Awaitable[object]]


# A mutation's arguments (`@arguments_of`) that are its service's keywords by the same names:
# one declaration for the SDL and the call.


@dataclasses.dataclass(frozen=True)
class LegalChange:
    """recordLegalChange's: legal.record_change's keywords."""

    reference: str
    title: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    note: str = ""


@dataclasses.dataclass(frozen=True)
class ReviewHeld:
    """holdManagementReview's: management_review.hold_review's keywords."""

    period_start: dt.date
    period_end: dt.date
    held_on: dt.date
    chaired_by: str
    conclusions: str = ""
    risk_threshold: int = reviews.DEFAULT_RISK_THRESHOLD


@guarded
class ImprovementMutation:
    @strawberry.mutation(
        description="Enter a new version of a legal basis (national administrator): every "
        "procedure and document resting on it is flagged for review, and announced "
        "agencies go back to to_be_reannounced."
    )
    @arguments_of("change", LegalChange)
    async def record_legal_change(
        self, info: strawberry.Info, change: LegalChange
    ) -> LegalChangeResult:
        if require_principal(info.context.principal).tenant.kind != "nation":
            raise Forbidden(
                "only the national level enters legal changes",
                "chỉ cấp trung ương nhập thay đổi văn bản pháp lý",
            )
        # The caller's scope is the nation's (legal bases are national reference data).
        row, flagged = await in_transaction(
            info,
            lambda session, who: legal.record_change(session, who, **dataclasses.asdict(change)),
        )
        return LegalChangeResult(version=LegalBasisVersionNode.of(row), flagged=flagged)

    @strawberry.mutation(
        description="Confirm the caller's agency reviewed a procedure after a legal change "
        "(clears its open flags; NO_REVIEW_PENDING when none)."
    )
    async def review_procedure(
        self, info: strawberry.Info, procedure_code: str, note: str = ""
    ) -> list[ReviewFlagNode]:
        rows = await for_own_agency(
            info, legal.review_procedure, procedure_code=procedure_code, note=note
        )
        return [ReviewFlagNode.of(row) for row in rows]

    set_review_deadline_days = province_days(
        "A province's deadline for reviewing what a legal change flagged, in working days after "
        "the flag is raised (its administrator; 1 to 90, eiso's default 20). Flags raised from "
        "now on get it. Answers the days set.",
        review_deadline.set_review_days,
    )

    @strawberry.mutation(description="Confirm a document was reviewed after a legal change.")
    async def review_document(
        self, info: strawberry.Info, id: strawberry.ID, note: str = ""
    ) -> list[ReviewFlagNode]:
        rows = await act_on_node(info, id, "Document", legal.review_document, note=note)
        return [ReviewFlagNode.of(row) for row in rows]

    @strawberry.mutation(description="The agency starts building its QMS (not_started → building).")
    async def start_conformity_building(
        self, info: strawberry.Info, since: dt.date
    ) -> ConformityNode:
        return await _conformity(
            info, lambda s, who, p, a: conformity.start_building(s, who, p, a, since=since)
        )

    @strawberry.mutation(
        description="Set the caller's agency's QMS scope: procedures it adopted "
        "(UNKNOWN_PROCEDURE, PROCEDURE_NOT_ADOPTED, EMPTY_SCOPE) and other activities covered. "
        "A change sends an announced agency to TO_BE_REANNOUNCED; the internal audit and "
        "management review an announcement needs must come after it."
    )
    async def set_conformity_scope(
        self,
        info: strawberry.Info,
        procedures: list[str],
        activities: list[str] | None = None,
    ) -> ConformityNode:
        return await _conformity(
            info,
            lambda s, who, p, a: conformity.set_scope(
                s, who, p, a, procedures=procedures, activities=activities or []
            ),
        )

    @strawberry.mutation(
        description="The leader announces conformity with the announcing decision's number "
        "and date (REVIEW_PENDING while a legal change awaits review; PREREQUISITES_UNMET "
        "with `problems` listing each unmet prerequisite: SCOPE_NOT_SET, "
        "DOCUMENTS_NOT_EFFECTIVE, INTERNAL_AUDIT_MISSING, MANAGEMENT_REVIEW_MISSING). The "
        "announcement is notified to the province's DOST."
    )
    async def announce_conformity(
        self, info: strawberry.Info, decision_number: str, announced_on: dt.date
    ) -> ConformityNode:
        return await _conformity(
            info,
            lambda s, who, p, a: conformity.announce(
                s, who, p, a, decision_number=decision_number, announced_on=announced_on
            ),
        )

    @strawberry.mutation(
        description="Hold a management review for a period: its inputs are compiled from the "
        "agency's figures, audits, feedback, nonconformities and risks."
    )
    @arguments_of("review", ReviewHeld)
    async def hold_management_review(
        self, info: strawberry.Info, review: ReviewHeld
    ) -> ManagementReviewNode:
        row = await for_own_agency(info, reviews.hold_review, **dataclasses.asdict(review))
        return ManagementReviewNode.of(row)

    @strawberry.mutation(
        description="A decision of a management review becomes an action with owner and due date."
    )
    async def add_review_action(
        self,
        info: strawberry.Info,
        review_id: strawberry.ID,
        decision: str,
        owner: str,
        due_date: dt.date,
    ) -> ManagementReviewNode:
        async def added(
            session: AsyncSession, who: Principal, province_id: int, row_id: int
        ) -> ManagementReviewNode:
            await reviews.add_action(
                session, who, province_id, row_id, decision=decision, owner=owner, due_date=due_date
            )
            row = await get_in_scope(
                session, reviews.ManagementReview, province_id, row_id, "management review"
            )
            return (await review_nodes(session, [row]))[0]

        return await act_on_node(info, review_id, "ManagementReview", added)

    @strawberry.mutation(description="Mark a review action done, with its result.")
    async def complete_review_action(
        self, info: strawberry.Info, id: strawberry.ID, result: str
    ) -> ReviewActionNode:
        return ReviewActionNode.of(
            await act_on_node(info, id, "ReviewAction", reviews.complete_action, result=result)
        )


async def _conformity(info: strawberry.Info, change: _ConformityChange) -> ConformityNode:
    """A change of the caller's agency's announcement, answering the agency's conformity."""

    async def work(session: AsyncSession, who: Principal) -> ConformityNode:
        province_id, agency_id = agency_of(who)
        await change(session, who, province_id, agency_id)
        return await conformity_node(session, province_id, agency_id)

    return await in_transaction(info, work)
