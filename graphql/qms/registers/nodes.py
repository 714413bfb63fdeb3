"""QMS GraphQL types, built from rows; ids are typed global ids."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING

import strawberry

from eiso.core.global_ids import encode_id
from eiso.core.qms import audits, documents, nonconformities
from eiso.core.qms.audits import AuditFinding, AuditPlan, AuditProgramme
from eiso.core.qms.common import value
from eiso.core.qms.documents import Document, DocumentVersion
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.risks import Risk
from eiso.graphql.shared.enums import graphql_enum
from eiso.graphql.shared.node import Node

if TYPE_CHECKING:  # to mypy the models' enums: the same values (the names differ in case)
    DocumentKind = documents.DocumentKind
    DocumentVersionStatus = documents.VersionStatus
    NonconformitySource = nonconformities.NcSource
    NonconformityStatus = nonconformities.NcStatus
    FindingKind = audits.FindingKind
else:
    DocumentKind = graphql_enum(documents.DocumentKind, "DocumentKind")
    DocumentVersionStatus = graphql_enum(documents.VersionStatus, "DocumentVersionStatus")
    NonconformitySource = graphql_enum(nonconformities.NcSource, "NonconformitySource")
    NonconformityStatus = graphql_enum(nonconformities.NcStatus, "NonconformityStatus")
    FindingKind = graphql_enum(audits.FindingKind, "FindingKind")


@strawberry.enum(name="NonconformityCause")
class NonconformityCause(enum.Enum):
    # The causes of core/qms/dossier_ncs.py.
    OVERDUE = "overdue"
    REFUSED_AFTER_ACCEPTANCE = "refused_after_acceptance"
    SECOND_SUPPLEMENT = "second_supplement"
    LATE_APOLOGY = "late_apology"


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

    @classmethod
    def of(cls, row: DocumentVersion) -> DocumentVersionNode:
        return cls(
            id=strawberry.ID(encode_id("DocumentVersion", row.province_id, row.id)),
            number=row.number,
            status=DocumentVersionStatus(value(row.status)),
            summary=row.summary,
            attachment_name=row.attachment_name,
            attachment_sha256=row.attachment_sha256,
            approved_by=row.approved_by,
            approved_at=row.approved_at,
            effective_at=row.effective_at,
        )


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
        return cls(
            id=strawberry.ID(encode_id("Document", row.province_id, row.id)),
            kind=DocumentKind(value(row.kind)),
            code=row.code,
            title=row.title,
            is_model=row.is_model,
            legal_reference=row.legal_reference,
            versions=[DocumentVersionNode.of(v) for v in versions],
        )


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
        return cls(
            id=strawberry.ID(encode_id("Nonconformity", row.province_id, row.id)),
            title=row.title,
            description=row.description,
            source=NonconformitySource(value(row.source)),
            source_ref=row.source_ref,
            cause=NonconformityCause(row.cause) if row.cause else None,
            procedure_code=row.procedure_code,
            step=row.step,
            officer=row.officer,
            status=NonconformityStatus(value(row.status)),
            root_cause=row.root_cause,
            corrective_action=row.corrective_action,
            owner=row.owner,
            due_date=row.due_date,
            effectiveness_result=row.effectiveness_result,
            effective=row.effective,
            checked_by=row.checked_by,
            checked_at=row.checked_at,
            raised_at=row.raised_at,
        )


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
        return cls(
            id=strawberry.ID(encode_id("Risk", row.province_id, row.id)),
            title=row.title,
            likelihood=row.likelihood,
            impact=row.impact,
            level=row.level,
            treatment=row.treatment,
            owner=row.owner,
            review_date=row.review_date,
        )


@strawberry.type
class AuditPlanNode(Node):
    id: strawberry.ID
    date: dt.date
    scope: str
    auditors: list[str]

    @classmethod
    def of(cls, row: AuditPlan) -> AuditPlanNode:
        return cls(
            id=strawberry.ID(encode_id("AuditPlan", row.province_id, row.id)),
            date=row.date,
            scope=row.scope,
            auditors=list(row.auditors),
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
        return cls(
            id=strawberry.ID(encode_id("AuditFinding", row.province_id, row.id)),
            clause=row.clause,
            kind=FindingKind(value(row.kind)),
            description=row.description,
            nonconformity_id=nc,
        )


@strawberry.type
class AuditProgrammeNode(Node):
    id: strawberry.ID
    year: int
    title: str
    plans: list[AuditPlanNode]

    @classmethod
    def of(cls, row: AuditProgramme, plans: Iterable[AuditPlan] = ()) -> AuditProgrammeNode:
        return cls(
            id=strawberry.ID(encode_id("AuditProgramme", row.province_id, row.id)),
            year=row.year,
            title=row.title,
            plans=[AuditPlanNode.of(p) for p in plans],
        )


@strawberry.type
class AdoptionNode:
    agency_id: strawberry.ID
    document_id: strawberry.ID
    model_version_number: int


@strawberry.input
class ChecklistItemInput:
    clause: str
    question: str
