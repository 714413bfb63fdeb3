"""GraphQL for the rest of the improvement loop: legal changes and the review flags they raise,
conformity announcements (per agency and across a province), management reviews and their
actions. Resolvers stay thin: the rules are in core/qms."""

from __future__ import annotations

import datetime as dt

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON

from eiso.core.auth.rules import require_principal, require_province_admin
from eiso.core.errors import DomainError, Forbidden, NotFound
from eiso.core.qms import conformity, legal
from eiso.core.qms import management_review as reviews
from eiso.core.qms.common import value
from eiso.graphql.auth.permissions import guard
from eiso.graphql.connections import Connection
from eiso.graphql.qms.mutations import _agency_of, _in_tx
from eiso.graphql.qms.queries import page
from eiso.graphql.tenants.ids import decode_id, encode_id
from eiso.tenants.models import Agency, IsoStatus
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import get_province

# --- nodes --------------------------------------------------------------------------------------


@strawberry.type
class LegalBasisVersionNode:
    reference: str
    version: int
    title: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    source: str
    entered_at: dt.datetime

    @classmethod
    def of(cls, row) -> LegalBasisVersionNode:
        return cls(
            reference=row.reference,
            version=row.version,
            title=row.title,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            source=row.source,
            entered_at=row.entered_at,
        )


@strawberry.type
class LegalChangeResult:
    version: LegalBasisVersionNode
    flagged: int = strawberry.field(description="Procedures and documents flagged for review.")


@strawberry.type
class ReviewFlagNode:
    id: strawberry.ID
    kind: str = strawberry.field(description="procedure or document")
    subject: str = strawberry.field(description="The procedure code, or the document's global id.")
    reference: str
    legal_version: int
    raised_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None

    @classmethod
    def of(cls, row) -> ReviewFlagNode:
        subject = (
            row.subject
            if value(row.kind) == "procedure"
            else encode_id("Document", row.province_id, int(row.subject))
        )
        return cls(
            id=strawberry.ID(encode_id("ReviewFlag", row.province_id, row.id)),
            kind=value(row.kind),
            subject=subject,
            reference=row.reference,
            legal_version=row.legal_version,
            raised_at=row.raised_at,
            reviewed_by=row.reviewed_by,
            reviewed_at=row.reviewed_at,
        )


@strawberry.type
class ConformityNode:
    agency_id: strawberry.ID
    agency_code: str
    agency_name: str
    status: str = strawberry.field(
        description="not_started, building, announced or to_be_reannounced"
    )
    building_since: dt.date | None
    announced_on: dt.date | None
    decision_number: str | None
    reannounce_since: dt.date | None
    reannounce_reason: str | None

    @classmethod
    def of(cls, agency, row) -> ConformityNode:
        return cls(
            agency_id=strawberry.ID(encode_id("Agency", agency.province_id, agency.id)),
            agency_code=agency.code,
            agency_name=agency.name,
            status=value(agency.iso_status),
            building_since=row.building_since if row else None,
            announced_on=row.announced_on if row else None,
            decision_number=row.decision_number if row else None,
            reannounce_since=row.reannounce_since if row else None,
            reannounce_reason=row.reannounce_reason if row else None,
        )


@strawberry.type
class ConformityStatusCount:
    status: str
    count: int


@strawberry.type
class ProvinceConformity:
    total: int
    counts: list[ConformityStatusCount]
    agencies: list[ConformityNode]


@strawberry.type
class ReviewActionNode:
    id: strawberry.ID
    decision: str
    owner: str
    due_date: dt.date
    status: str
    result: str | None
    done_at: dt.datetime | None

    @classmethod
    def of(cls, row) -> ReviewActionNode:
        return cls(
            id=strawberry.ID(encode_id("ReviewAction", row.province_id, row.id)),
            decision=row.decision,
            owner=row.owner,
            due_date=row.due_date,
            status=value(row.status),
            result=row.result,
            done_at=row.done_at,
        )


@strawberry.type
class ManagementReviewNode:
    id: strawberry.ID
    period_start: dt.date
    period_end: dt.date
    held_on: dt.date
    chaired_by: str
    risk_threshold: int
    inputs: JSON = strawberry.field(
        description="The compiled inputs (a snapshot): dossiers, feedback, "
        "audit_findings, nonconformities, risks_above_threshold."
    )
    conclusions: str
    actions: list[ReviewActionNode]

    @classmethod
    def of(cls, row, actions=()) -> ManagementReviewNode:
        return cls(
            id=strawberry.ID(encode_id("ManagementReview", row.province_id, row.id)),
            period_start=row.period_start,
            period_end=row.period_end,
            held_on=row.held_on,
            chaired_by=row.chaired_by,
            risk_threshold=row.risk_threshold,
            inputs=row.inputs,
            conclusions=row.conclusions,
            actions=[ReviewActionNode.of(a) for a in actions],
        )


async def _review_node(session, row) -> ManagementReviewNode:
    found = await reviews.actions_of(session, [(row.province_id, row.id)])
    return ManagementReviewNode.of(row, found.get((row.province_id, row.id), []))


# --- queries ------------------------------------------------------------------------------------


@strawberry.type
class ImprovementQuery:
    @strawberry.field(
        description="Procedures and documents flagged for review after a legal change.",
        extensions=guard("reviewFlags"),
    )
    async def review_flags(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        open_only: bool = True,
    ) -> Connection[ReviewFlagNode]:
        async def make(session, rows):
            return [ReviewFlagNode.of(row) for row in rows]

        where = (conformity.ReviewFlag.reviewed_at.is_(None),) if open_only else ()
        return await page(info, conformity.ReviewFlag, first, after, make, where)

    @strawberry.field(
        description="The versions of a legal basis (by its number), newest first.",
        extensions=guard("legalBasisVersions"),
    )
    async def legal_basis_versions(
        self, info: strawberry.Info, reference: str
    ) -> list[LegalBasisVersionNode]:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            rows = (
                (
                    await session.execute(
                        select(legal.LegalBasisVersion)
                        .where(legal.LegalBasisVersion.reference == reference)
                        .order_by(legal.LegalBasisVersion.version.desc())
                    )
                )
                .scalars()
                .all()
            )
        return [LegalBasisVersionNode.of(row) for row in rows]

    @strawberry.field(
        description="The caller's agency's conformity announcement.", extensions=guard("conformity")
    )
    async def conformity(self, info: strawberry.Info) -> ConformityNode:
        principal = require_principal(info.context.principal)
        province_id, agency_id = _agency_of(principal)
        async with info.context.resources.session(principal.tenant) as session:
            agency = await session.get(Agency, (province_id, agency_id))
            if agency is None:
                raise NotFound("no such agency", "không tìm thấy cơ quan")
            row = await conformity.announcement(session, province_id, agency_id, create=False)
            return ConformityNode.of(agency, row)

    @strawberry.field(
        description="The province's progress: how many agencies are at each conformity status, "
        "and each agency's details. A national administrator names the province.",
        extensions=guard("provinceConformity"),
    )
    async def province_conformity(
        self, info: strawberry.Info, province_code: str | None = None
    ) -> ProvinceConformity:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            if province_code is not None:
                province = await get_province(session, province_code)
                province_id = province.id if province else None
            else:
                province_id = principal.province_id
            if province_id is None:
                raise DomainError(
                    "provinceCode: required", "provinceCode: bắt buộc", field="provinceCode"
                )
            require_province_admin(principal, province_id)
            rows = await conformity.province_progress(session, province_id)
        nodes = [ConformityNode.of(agency, row) for agency, row in rows]
        counts = [
            ConformityStatusCount(
                status=s.value, count=sum(1 for n in nodes if n.status == s.value)
            )
            for s in IsoStatus
        ]
        return ProvinceConformity(total=len(nodes), counts=counts, agencies=nodes)

    @strawberry.field(
        description="Management reviews (newest first) with their actions.",
        extensions=guard("managementReviews"),
    )
    async def management_reviews(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[ManagementReviewNode]:
        async def make(session, rows):
            found = await reviews.actions_of(session, [(row.province_id, row.id) for row in rows])
            return [
                ManagementReviewNode.of(row, found.get((row.province_id, row.id), []))
                for row in rows
            ]

        return await page(info, reviews.ManagementReview, first, after, make)


# --- mutations ----------------------------------------------------------------------------------


@strawberry.type
class ImprovementMutation:
    @strawberry.mutation(
        description="Enter a new version of a legal basis (national administrator): every "
        "procedure and document resting on it is flagged for review, and announced "
        "agencies go back to to_be_reannounced.",
        extensions=guard("recordLegalChange"),
    )
    async def record_legal_change(
        self,
        info: strawberry.Info,
        reference: str,
        title: str = "",
        valid_from: dt.date | None = None,
        valid_until: dt.date | None = None,
        note: str = "",
    ) -> LegalChangeResult:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(TenantScope.nation()) as session, session.begin():
            if principal.tenant.kind != "nation":
                raise Forbidden(
                    "only the national level enters legal changes",
                    "chỉ cấp trung ương nhập thay đổi văn bản pháp lý",
                )
            row, flagged = await legal.record_change(
                session,
                principal,
                reference=reference,
                title=title,
                valid_from=valid_from,
                valid_until=valid_until,
                note=note,
            )
            return LegalChangeResult(version=LegalBasisVersionNode.of(row), flagged=flagged)

    @strawberry.mutation(
        description="Confirm the caller's agency reviewed a procedure after a legal change "
        "(clears its open flags; NO_REVIEW_PENDING when none).",
        extensions=guard("reviewProcedure"),
    )
    async def review_procedure(
        self, info: strawberry.Info, procedure_code: str, note: str = ""
    ) -> list[ReviewFlagNode]:
        async def work(session, who):
            province_id, agency_id = _agency_of(who)
            return await legal.review_procedure(
                session,
                who,
                province_id=province_id,
                agency_id=agency_id,
                procedure_code=procedure_code,
                note=note,
            )

        return [ReviewFlagNode.of(row) for row in await _in_tx(info, work)]

    @strawberry.mutation(
        description="Confirm a document was reviewed after a legal change.",
        extensions=guard("reviewDocument"),
    )
    async def review_document(
        self, info: strawberry.Info, id: strawberry.ID, note: str = ""
    ) -> list[ReviewFlagNode]:
        province_id, row_id = decode_id(id, "Document")
        rows = await _in_tx(
            info, lambda s, who: legal.review_document(s, who, province_id, row_id, note=note)
        )
        return [ReviewFlagNode.of(row) for row in rows]

    @strawberry.mutation(
        description="The agency starts building its QMS (not_started → building).",
        extensions=guard("startConformityBuilding"),
    )
    async def start_conformity_building(
        self, info: strawberry.Info, since: dt.date
    ) -> ConformityNode:
        return await _conformity(
            info, lambda s, who, p, a: conformity.start_building(s, who, p, a, since=since)
        )

    @strawberry.mutation(
        description="The leader announces conformity with the announcing decision's number "
        "(REVIEW_PENDING while a legal change awaits review).",
        extensions=guard("announceConformity"),
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
        "agency's figures, audits, feedback, nonconformities and risks.",
        extensions=guard("holdManagementReview"),
    )
    async def hold_management_review(
        self,
        info: strawberry.Info,
        period_start: dt.date,
        period_end: dt.date,
        held_on: dt.date,
        chaired_by: str,
        conclusions: str = "",
        risk_threshold: int = reviews.DEFAULT_RISK_THRESHOLD,
    ) -> ManagementReviewNode:
        async def work(session, who):
            province_id, agency_id = _agency_of(who)
            row = await reviews.hold_review(
                session,
                who,
                province_id=province_id,
                agency_id=agency_id,
                period_start=period_start,
                period_end=period_end,
                held_on=held_on,
                chaired_by=chaired_by,
                risk_threshold=risk_threshold,
                conclusions=conclusions,
            )
            return ManagementReviewNode.of(row)

        return await _in_tx(info, work)

    @strawberry.mutation(
        description="A decision of a management review becomes an action with owner and due date.",
        extensions=guard("addReviewAction"),
    )
    async def add_review_action(
        self,
        info: strawberry.Info,
        review_id: strawberry.ID,
        decision: str,
        owner: str,
        due_date: dt.date,
    ) -> ManagementReviewNode:
        province_id, row_id = decode_id(review_id, "ManagementReview")

        async def work(session, who):
            await reviews.add_action(
                session, who, province_id, row_id, decision=decision, owner=owner, due_date=due_date
            )
            return await _review_node(
                session, await session.get(reviews.ManagementReview, (province_id, row_id))
            )

        return await _in_tx(info, work)

    @strawberry.mutation(
        description="Mark a review action done, with its result.",
        extensions=guard("completeReviewAction"),
    )
    async def complete_review_action(
        self, info: strawberry.Info, id: strawberry.ID, result: str
    ) -> ReviewActionNode:
        province_id, row_id = decode_id(id, "ReviewAction")
        return ReviewActionNode.of(
            await _in_tx(
                info,
                lambda s, who: reviews.complete_action(s, who, province_id, row_id, result=result),
            )
        )


async def _conformity(info: strawberry.Info, change) -> ConformityNode:
    async def work(session, who):
        province_id, agency_id = _agency_of(who)
        row = await change(session, who, province_id, agency_id)
        return ConformityNode.of(await session.get(Agency, (province_id, agency_id)), row)

    return await _in_tx(info, work)
