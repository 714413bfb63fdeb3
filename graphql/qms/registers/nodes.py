"""QMS GraphQL types, built from rows; ids are typed global ids."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any

import strawberry
from sqlmodel import col, select

from eiso.core.auth.rules import require_principal
from eiso.core.global_ids import encode_id
from eiso.core.qms import documents
from eiso.core.qms.audits import AuditChecklistItem, AuditFinding, AuditPlan, AuditProgramme
from eiso.core.qms.documents import Document, DocumentVersion
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.risks import Risk
from eiso.graphql.shared.enums import (
    DocumentKind,
    DocumentVersionStatus,
    FindingKind,
    NonconformitySource,
    NonconformityStatus,
)
from eiso.graphql.shared.node import Node, node_of


@strawberry.enum(name="NonconformityCause")
class NonconformityCause(enum.Enum):
    # The causes of core/qms/dossier_ncs.py.
    OVERDUE = "overdue"
    REFUSED_AFTER_ACCEPTANCE = "refused_after_acceptance"
    SECOND_SUPPLEMENT = "second_supplement"
    LATE_APOLOGY = "late_apology"


@strawberry.type
class DocumentReaderNode:
    """A staff member of the document's agency and whether they read the version."""

    subject: str
    name: str
    acknowledged_at: dt.datetime | None = strawberry.field(
        description="When they confirmed having read it; empty: still pending."
    )


@strawberry.type
class DocumentVersionNode(Node):
    id: strawberry.ID
    number: int
    status: DocumentVersionStatus
    summary: str
    attachment_name: str | None
    attachment_sha256: str | None
    approved_by: str | None
    approved_at: dt.datetime | None
    effective_at: dt.datetime | None
    version_row: strawberry.Private[DocumentVersion]

    @classmethod
    def of(cls, row: DocumentVersion) -> DocumentVersionNode:
        return node_of(cls, row, "DocumentVersion", version_row=row)

    @strawberry.field(
        description="The active staff of the version's agency, each with when they "
        "acknowledged it (empty: still pending), those pending first."
    )
    async def readers(self, info: strawberry.Info) -> list[DocumentReaderNode]:
        principal = require_principal(info.context.principal)
        async with info.context.resources.session(principal.tenant) as session:
            found = await documents.readers(session, self.version_row)
        return [
            DocumentReaderNode(subject=subject, name=name, acknowledged_at=at)
            for subject, name, at in found
        ]


@strawberry.type
class DocumentNode(Node):
    id: strawberry.ID
    kind: DocumentKind
    code: str
    title: str
    is_model: bool
    legal_reference: str | None
    versions: list[DocumentVersionNode]

    @classmethod
    def of(cls, row: Document, versions: Iterable[DocumentVersion] = ()) -> DocumentNode:
        return node_of(cls, row, "Document", versions=[DocumentVersionNode.of(v) for v in versions])


@strawberry.type
class NonconformityNode(Node):
    id: strawberry.ID
    title: str
    description: str
    source: NonconformitySource
    source_ref: str | None = strawberry.field(
        description="The finding, complaint or dossier code it came from."
    )
    cause: NonconformityCause | None = strawberry.field(
        description="Why the dossier engine raised it (dossier nonconformities only)."
    )
    procedure_code: str | None
    step: str | None
    officer: str | None
    status: NonconformityStatus
    root_cause: str | None
    corrective_action: str | None
    owner: str | None
    due_date: dt.date | None
    effectiveness_result: str | None
    effective: bool | None
    checked_by: str | None
    checked_at: dt.datetime | None
    raised_at: dt.datetime

    @classmethod
    def of(cls, row: Nonconformity) -> NonconformityNode:
        return node_of(cls, row, "Nonconformity")


@strawberry.type
class RiskNode(Node):
    id: strawberry.ID
    title: str
    likelihood: int
    impact: int
    level: int
    treatment: str
    owner: str
    review_date: dt.date

    @classmethod
    def of(cls, row: Risk) -> RiskNode:
        return node_of(cls, row, "Risk")


@strawberry.type(description="A question of an audit plan's checklist, by ISO 9001 clause.")
class ChecklistItemNode:
    clause: str
    question: str


@strawberry.type
class AuditPlanNode(Node):
    id: strawberry.ID
    date: dt.date
    scope: str
    auditors: list[str]
    keys: strawberry.Private[tuple[int, int]]

    async def _children(
        self, info: strawberry.Info, model: type[AuditChecklistItem] | type[AuditFinding]
    ) -> list[Any]:
        principal = require_principal(info.context.principal)
        province_id, plan_id = self.keys
        async with info.context.resources.session(principal.tenant) as session:
            found = await session.execute(
                select(model)
                .where(col(model.province_id) == province_id, col(model.plan_id) == plan_id)
                .order_by(col(model.clause), col(model.id))
            )
            return list(found.scalars())

    @strawberry.field(description="The plan's checklist, by clause.")
    async def checklist(self, info: strawberry.Info) -> list[ChecklistItemNode]:
        rows = await self._children(info, AuditChecklistItem)
        return [ChecklistItemNode(clause=r.clause, question=r.question) for r in rows]

    @strawberry.field(description="The findings recorded in the audit, by clause.")
    async def findings(self, info: strawberry.Info) -> list[AuditFindingNode]:
        return [AuditFindingNode.of(r) for r in await self._children(info, AuditFinding)]

    @classmethod
    def of(cls, row: AuditPlan) -> AuditPlanNode:
        return node_of(
            cls, row, "AuditPlan", auditors=list(row.auditors), keys=(row.province_id, row.id)
        )


@strawberry.type
class AuditFindingNode(Node):
    id: strawberry.ID
    clause: str
    kind: FindingKind
    description: str
    nonconformity_id: strawberry.ID | None

    @classmethod
    def of(cls, row: AuditFinding) -> AuditFindingNode:
        nc = (
            strawberry.ID(encode_id("Nonconformity", row.province_id, row.nonconformity_id))
            if row.nonconformity_id
            else None
        )
        return node_of(cls, row, "AuditFinding", nonconformity_id=nc)


@strawberry.type
class AuditProgrammeNode(Node):
    id: strawberry.ID
    year: int
    title: str
    plans: list[AuditPlanNode]

    @classmethod
    def of(cls, row: AuditProgramme, plans: Iterable[AuditPlan] = ()) -> AuditProgrammeNode:
        return node_of(cls, row, "AuditProgramme", plans=[AuditPlanNode.of(p) for p in plans])


@strawberry.type
class AdoptionNode:
    agency_id: strawberry.ID
    document_id: strawberry.ID
    model_version_number: int


@strawberry.input
class ChecklistItemInput:
    clause: str
    question: str
