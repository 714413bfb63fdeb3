"""GraphQL types of the improvement loop: legal changes and the review flags they raise,
conformity announcements (per agency and across a province), management reviews and their
actions."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

import strawberry
from strawberry.scalars import JSON

from eiso.core.auth.rules import require_principal
from eiso.core.global_ids import encode_id
from eiso.core.qms import legal, prerequisites, qms_scope, review_deadline
from eiso.core.qms.common import value
from eiso.core.qms.conformity import ConformityAnnouncement, ReviewFlag
from eiso.core.qms.legal import FlagNotice, LegalBasisVersion
from eiso.core.qms.management_review import ManagementReview, ReviewAction
from eiso.core.qms.qms_scope import ConformityScope
from eiso.core.workdays import VN_TZ
from eiso.graphql.dossiers.nodes import RuleChangeNode
from eiso.graphql.shared.enums import (
    IsoStatus,
    ReviewActionStatus,
    ReviewFlagCause,
    ReviewFlagKind,
)
from eiso.graphql.shared.node import AgencyLine, Node, agency_line, node_of
from eiso.tenants.models import Agency


@strawberry.enum(name="LegalBasisSource", description="Who entered a legal basis version.")
class LegalBasisSource(enum.Enum):
    NATIONAL_ADMIN = "national_admin"  # recordLegalChange
    MODULE = "module"  # seen in a module's catalogue at sync


@strawberry.type
class LegalBasisVersionNode:
    reference: str
    version: int
    title: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    source: LegalBasisSource
    entered_at: dt.datetime

    @classmethod
    def of(cls, row: LegalBasisVersion) -> LegalBasisVersionNode:
        return node_of(cls, row)


@strawberry.type
class LegalChangeResult:
    version: LegalBasisVersionNode
    flagged: int = strawberry.field(description="Procedures and documents flagged for review.")


@strawberry.type
class ReviewFlagNode(Node):
    id: strawberry.ID
    kind: ReviewFlagKind
    subject: str = strawberry.field(description="The procedure code, or the document's global id.")
    reference: str
    legal_version: int
    cause: ReviewFlagCause = strawberry.field(
        description="CHANGED: the basis got this version; EXPIRED: this version, the one in "
        "force, passed its validUntil (hết hiệu lực)."
    )
    raised_at: dt.datetime
    due_on: dt.date | None = strawberry.field(
        description="The day the review is due: raised + the province's review deadline in "
        "working days (setReviewDeadlineDays; null for flags raised before deadlines existed)."
    )
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    flag: strawberry.Private[ReviewFlag]

    @strawberry.field(
        description="Still open after its due date (Vietnam's date): the sweep opens a "
        "nonconformity for it (source REVIEW_FLAG)."
    )
    def overdue(self) -> bool:
        return review_deadline.is_overdue(self.flag)

    known: strawberry.Private[FlagNotice | None]

    async def _notice(self, info: strawberry.Info) -> FlagNotice:
        if self.known is None:  # a single node (relay, a mutation): the page's are batched
            principal = require_principal(info.context.principal)
            async with info.context.resources.session(principal.tenant) as session:
                self.known = (await legal.notices(session, [self.flag]))[0]
        return self.known

    @strawberry.field(
        description='What the agency is told (thông báo), e.g. "Căn cứ pháp lý … hết hiệu lực '
        '…: cần rà soát thủ tục …" and, when the module declares it, the rules that take over '
        "and from which receipt date."
    )
    async def notice_vi(self, info: strawberry.Info) -> str:
        return (await self._notice(info)).text_vi

    @strawberry.field(description="The last day the flagged version is in force, if it has one.")
    async def valid_until(self, info: strawberry.Info) -> dt.date | None:
        return (await self._notice(info)).valid_until

    @strawberry.field(
        description="For a procedure: the rule change its module declares to take over from "
        "this basis (the successor basis, the new rules and their start date), if any."
    )
    async def successor(self, info: strawberry.Info) -> RuleChangeNode | None:
        change = (await self._notice(info)).successor
        return RuleChangeNode.of(change) if change is not None else None

    @classmethod
    def of(cls, row: ReviewFlag, notice: FlagNotice | None = None) -> ReviewFlagNode:
        subject = (
            row.subject
            if value(row.kind) == "procedure"
            else encode_id("Document", row.province_id, int(row.subject))
        )
        return node_of(cls, row, "ReviewFlag", subject=subject, flag=row, known=notice)


@strawberry.type(
    description="The QMS scope (phạm vi áp dụng): the procedures and activities it covers."
)
class ConformityScopeNode:
    procedures: list[str] = strawberry.field(description="Procedure codes, adopted by the agency.")
    activities: list[str]
    set_by: str
    set_at: dt.datetime
    changed_at: dt.datetime = strawberry.field(
        description="The last change of what the QMS covers (set anew, a procedure adopted "
        "outside it, a merge): the internal audit and management review must follow it."
    )
    change_reason: str

    @classmethod
    def of(cls, row: ConformityScope) -> ConformityScopeNode:
        return node_of(cls, row)


@strawberry.type(description="An unmet prerequisite of the announcement (PREREQUISITES_UNMET).")
class ConformityProblem:
    code: str = strawberry.field(
        description="SCOPE_NOT_SET, DOCUMENTS_NOT_EFFECTIVE, INTERNAL_AUDIT_MISSING or "
        "MANAGEMENT_REVIEW_MISSING."
    )
    message: str
    message_vi: str


@strawberry.type
class ConformityNode(AgencyLine):
    status: IsoStatus
    building_since: dt.date | None
    announced_on: dt.date | None
    decision_number: str | None
    reannounce_since: dt.date | None
    reannounce_reason: str | None
    announced_by: str | None
    announced_scope: JSON | None = strawberry.field(
        description="The scope the last announcement covers: {procedures, activities}."
    )
    dost_notified_at: dt.datetime | None = strawberry.field(
        description="When the last announcement was notified to the province's DOST."
    )
    scope: ConformityScopeNode | None
    keys: strawberry.Private[tuple[int, int]]

    @strawberry.field(
        description="What announceConformity would refuse now with PREREQUISITES_UNMET for an "
        "announcement dated `announcedOn` (default today, Vietnam time): every unmet "
        "prerequisite; empty when all are met."
    )
    async def prerequisites(
        self, info: strawberry.Info, announced_on: dt.date | None = None
    ) -> list[ConformityProblem]:
        principal = require_principal(info.context.principal)
        province_id, agency_id = self.keys
        day = announced_on or dt.datetime.now(VN_TZ).date()
        async with info.context.resources.session(principal.tenant) as session:
            scope = await qms_scope.scope_of(session, province_id, agency_id)
            found = await prerequisites.unmet(session, province_id, agency_id, scope, day)
        return [
            ConformityProblem(code=p.code, message=p.message, message_vi=p.message_vi)
            for p in found
        ]

    @classmethod
    def of(
        cls,
        agency: Agency,
        row: ConformityAnnouncement | None,
        scope: ConformityScope | None = None,
    ) -> ConformityNode:
        return cls(
            keys=(agency.province_id, agency.id),
            announced_by=row.announced_by if row else None,
            announced_scope=JSON(row.announced_scope) if row and row.announced_scope else None,
            dost_notified_at=row.dost_notified_at if row else None,
            scope=ConformityScopeNode.of(scope) if scope else None,
            **agency_line(agency.province_id, agency.id, agency.code, agency.name),
            status=IsoStatus(value(agency.iso_status)),
            building_since=row.building_since if row else None,
            announced_on=row.announced_on if row else None,
            decision_number=row.decision_number if row else None,
            reannounce_since=row.reannounce_since if row else None,
            reannounce_reason=row.reannounce_reason if row else None,
        )


@strawberry.type
class ConformityStatusCount:
    status: IsoStatus
    count: int


@strawberry.type
class ProvinceConformity:
    total: int
    counts: list[ConformityStatusCount]
    agencies: list[ConformityNode]


@strawberry.type
class ReviewActionNode(Node):
    id: strawberry.ID
    decision: str
    owner: str
    due_date: dt.date
    status: ReviewActionStatus
    result: str | None
    done_at: dt.datetime | None

    @classmethod
    def of(cls, row: ReviewAction) -> ReviewActionNode:
        return node_of(cls, row, "ReviewAction", status=ReviewActionStatus(value(row.status)))


@strawberry.type
class ManagementReviewNode(Node):
    id: strawberry.ID
    period_start: dt.date
    period_end: dt.date
    held_on: dt.date
    chaired_by: str
    risk_threshold: int
    inputs: JSON = strawberry.field(
        description="The compiled inputs (a snapshot): dossiers, feedback (ratings), "
        "feedback_petitions, audit_findings, nonconformities, risks_above_threshold."
    )
    conclusions: str
    actions: list[ReviewActionNode]

    @classmethod
    def of(
        cls, row: ManagementReview, actions: Iterable[ReviewAction] = ()
    ) -> ManagementReviewNode:
        return node_of(
            cls,
            row,
            "ManagementReview",
            inputs=JSON(row.inputs),
            actions=[ReviewActionNode.of(a) for a in actions],
        )
