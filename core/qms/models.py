"""Every QMS table, imported in one place for the metadata (the composition root imports it)."""

from sqlalchemy import and_
from sqlalchemy.orm import relationship

from eiso.core.qms.audits import AuditChecklistItem, AuditFinding, AuditPlan, AuditProgramme
from eiso.core.qms.conformity import ConformityAnnouncement, ReviewFlag
from eiso.core.qms.documents import Document, DocumentAcknowledgement, DocumentVersion
from eiso.core.qms.legal import LegalBasisVersion, ProcedureLegalBasis
from eiso.core.qms.management_review import ManagementReview, ReviewAction
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.risks import Risk

__all__ = [
    "AuditChecklistItem",
    "AuditFinding",
    "AuditPlan",
    "AuditProgramme",
    "ConformityAnnouncement",
    "Document",
    "DocumentAcknowledgement",
    "DocumentVersion",
    "LegalBasisVersion",
    "ManagementReview",
    "Nonconformity",
    "ProcedureLegalBasis",
    "ReviewAction",
    "ReviewFlag",
    "Risk",
]


def _parent(child, name: str, parent, column) -> None:
    """A many-to-one from a child row to its parent over the composite key. Services set the
    ids directly; the relationship lets a caller build a row with its parent in one go (the
    isolation suite's factories), the parent's id synced into the child at flush."""
    child.__mapper__.add_property(
        name,
        relationship(
            parent,
            primaryjoin=and_(parent.province_id == child.province_id, parent.id == column),
            foreign_keys=[column],
        ),
    )


_parent(DocumentVersion, "document", Document, DocumentVersion.document_id)
_parent(DocumentAcknowledgement, "version", DocumentVersion, DocumentAcknowledgement.version_id)
_parent(AuditPlan, "programme", AuditProgramme, AuditPlan.programme_id)
_parent(AuditChecklistItem, "plan", AuditPlan, AuditChecklistItem.plan_id)
_parent(AuditFinding, "plan", AuditPlan, AuditFinding.plan_id)
_parent(ReviewAction, "review", ManagementReview, ReviewAction.review_id)
