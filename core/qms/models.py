"""Every QMS table, imported in one place for the metadata (the composition root imports it)."""

from sqlalchemy import inspect
from sqlalchemy.orm import Mapped, relationship
from sqlmodel import col

from eiso.core.qms.application import QmsProfile, SteeringMeeting, SteeringMember, TrainingRecord
from eiso.core.qms.audits import AuditChecklistItem, AuditFinding, AuditPlan, AuditProgramme
from eiso.core.qms.conformity import ConformityAnnouncement, ReviewFlag
from eiso.core.qms.documents import Document, DocumentAcknowledgement, DocumentVersion
from eiso.core.qms.inspections import (
    Inspection,
    InspectionChecklist,
    InspectionFinding,
    InspectionPlan,
)
from eiso.core.qms.legal import LegalBasisVersion, ProcedureLegalBasis
from eiso.core.qms.management_review import ManagementReview, ReviewAction
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.process_docs import ProcessDocumentSource
from eiso.core.qms.qms_scope import ConformityScope
from eiso.core.qms.review_deadline import ReviewDeadlineSetting
from eiso.core.qms.risks import Risk
from eiso.tenants.models import TenantOwned, tenant_join

__all__ = [
    "AuditChecklistItem",
    "AuditFinding",
    "AuditPlan",
    "AuditProgramme",
    "ConformityAnnouncement",
    "ConformityScope",
    "Document",
    "DocumentAcknowledgement",
    "DocumentVersion",
    "Inspection",
    "InspectionChecklist",
    "InspectionFinding",
    "InspectionPlan",
    "LegalBasisVersion",
    "ManagementReview",
    "Nonconformity",
    "ProcedureLegalBasis",
    "ProcessDocumentSource",
    "QmsProfile",
    "ReviewAction",
    "ReviewDeadlineSetting",
    "ReviewFlag",
    "Risk",
    "SteeringMeeting",
    "SteeringMember",
    "TrainingRecord",
]


def _parent(
    child: type[TenantOwned], name: str, parent: type[TenantOwned], column: Mapped[int]
) -> None:
    """A many-to-one from a child row to its parent over the composite key. Services set the
    ids directly; the relationship lets a caller build a row with its parent in one go (the
    isolation suite's factories), the parent's id synced into the child at flush."""
    inspect(child).add_property(
        name,
        relationship(
            parent,
            primaryjoin=tenant_join(parent.id, column),
            foreign_keys=[column],
        ),
    )


_parent(DocumentVersion, "document", Document, col(DocumentVersion.document_id))
_parent(
    DocumentAcknowledgement, "version", DocumentVersion, col(DocumentAcknowledgement.version_id)
)
_parent(AuditPlan, "programme", AuditProgramme, col(AuditPlan.programme_id))
_parent(AuditChecklistItem, "plan", AuditPlan, col(AuditChecklistItem.plan_id))
_parent(AuditFinding, "plan", AuditPlan, col(AuditFinding.plan_id))
_parent(InspectionFinding, "inspection", Inspection, col(InspectionFinding.inspection_id))
_parent(ReviewAction, "review", ManagementReview, col(ReviewAction.review_id))
_parent(ProcessDocumentSource, "version", DocumentVersion, col(ProcessDocumentSource.version_id))
