"""Feedback and petitions: the citizen submits, follows and rates without an account (each
counted by the public rate limit per address, like the dossier lookup); the agency's staff list,
assign and answer in their own scope; a province's administrator tightens the deadline.
Resolvers stay thin: the rules are in core/feedback."""

from __future__ import annotations

import strawberry

from eiso.core.dossiers import public_limit
from eiso.core.feedback import rules, service
from eiso.core.global_ids import decode_id
from eiso.graphql.dossiers.queries import client_address
from eiso.graphql.feedback.nodes import (
    FeedbackInput,
    FeedbackNode,
    FeedbackSubmission,
    PublicFeedback,
    PublishedFeedback,
)
from eiso.graphql.shared.enums import FeedbackState
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import act_on_node, in_transaction
from eiso.graphql.tenants.queries import province_days


@guarded
class FeedbackQuery:
    @strawberry.field(
        description="The citizen follows a feedback by its code and lookup key (no account); a "
        "wrong code or key is NOT_FOUND alike."
    )
    async def public_feedback(
        self, info: strawberry.Info, code: str, lookup_key: str
    ) -> PublicFeedback:
        await public_limit.check(info.context.resources, client_address(info))
        return PublicFeedback.of(await service.follow(info.context.resources, code, lookup_key))

    @strawberry.field(
        description="The answers a province's agencies published with the citizens' consent, "
        "the latest first (public, at most 50)."
    )
    async def published_feedback(
        self, info: strawberry.Info, province_code: str, first: int = 20
    ) -> list[PublishedFeedback]:
        await public_limit.check(info.context.resources, client_address(info))
        found = await service.published(info.context.resources, province_code, first)
        return [PublishedFeedback.of(seen) for seen in found]

    @strawberry.field(
        description="The feedback of the caller's agency (a province's administrator: of its "
        "agencies), by deadline; `overdue` keeps only those past it (true) or not (false)."
    )
    async def feedbacks(
        self,
        info: strawberry.Info,
        state: FeedbackState | None = None,
        overdue: bool | None = None,
    ) -> list[FeedbackNode]:
        wanted = rules.State(state.value) if state is not None else None
        rows = await in_transaction(
            info, lambda session, _who: service.listing(session, wanted, overdue)
        )
        return [FeedbackNode.of(row) for row in rows]


@guarded
class FeedbackMutation:
    @strawberry.mutation(
        description="A citizen submits feedback or a petition about an agency, one of its "
        "procedures or a dossier (no account); answers the code and lookup key to follow it, "
        "and the deadline (the province's, in working days)."
    )
    async def submit_feedback(
        self, info: strawberry.Info, input: FeedbackInput
    ) -> FeedbackSubmission:
        resources = info.context.resources
        await public_limit.check(resources, client_address(info))
        province_id, agency_id = decode_id(input.agency_id, "Agency")
        got = await service.submit(
            resources,
            province_id=province_id,
            agency_id=agency_id,
            kind=input.kind.value,
            subject=input.subject.value,
            content=input.content,
            procedure_code=input.procedure_code,
            dossier_code=input.dossier_code,
            contact=input.contact.stored() if input.contact else service.Contact(),
            publish_consent=input.publish_consent,
        )
        return FeedbackSubmission(code=got.code, lookup_key=got.lookup_key, due_at=got.due_at)

    @strawberry.mutation(description="The citizen rates the answer once, 1 to 5 (no account).")
    async def rate_feedback_answer(
        self,
        info: strawberry.Info,
        code: str,
        lookup_key: str,
        rating: int,
        comment: str | None = None,
    ) -> PublicFeedback:
        resources = info.context.resources
        await public_limit.check(resources, client_address(info))
        return PublicFeedback.of(await service.rate(resources, code, lookup_key, rating, comment))

    @strawberry.mutation(description="Assign a feedback to an officer to answer.")
    async def assign_feedback(
        self, info: strawberry.Info, id: strawberry.ID, assignee: str
    ) -> FeedbackNode:
        row = await act_on_node(info, id, "Feedback", service.assign, assignee=assignee)
        return FeedbackNode.of(row)

    @strawberry.mutation(
        description="Answer a feedback; answered after its deadline, it counts as late. "
        "`publish`: on the province's public list (`publishedFeedback`), only if the citizen "
        "agreed (NO_PUBLISH_CONSENT otherwise)."
    )
    async def answer_feedback(
        self, info: strawberry.Info, id: strawberry.ID, answer: str, publish: bool = False
    ) -> FeedbackNode:
        row = await act_on_node(info, id, "Feedback", service.answer, text=answer, publish=publish)
        return FeedbackNode.of(row)

    set_feedback_answer_days = province_days(
        "A province's answer deadline in working days (its administrator): at most eiso's "
        "default, for feedback submitted from now on. Answers the days set.",
        service.set_answer_days,
    )
