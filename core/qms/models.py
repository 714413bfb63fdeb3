"""Every QMS table, imported in one place for the metadata (the composition root imports it)."""

from sqlalchemy import and_
from sqlalchemy.orm import relationship
from sqlalchemy.orm.attributes import set_attribute

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


def isolation_factories() -> dict:
    """One unsaved row of every QMS table for the isolation suite; a child row brings its own
    parents (through the relationships above), so each factory stands alone."""
    import datetime as dt
    import itertools

    from eiso.infra.ids import new_id

    years = itertools.count(1000)  # unique per agency: the programme is one per year

    def doc(p, a):
        return Document(
            province_id=p,
            agency_id=a,
            kind="policy",
            code=f"CS-{new_id()}",
            title="Chính sách chất lượng",
            created_by="probe",
        )

    def version(p, a):
        row = DocumentVersion(
            province_id=p, agency_id=a, document_id=0, number=1, created_by="probe"
        )
        set_attribute(row, "document", doc(p, a))
        return row

    def ack(p, a):
        row = DocumentAcknowledgement(province_id=p, agency_id=a, version_id=0, subject="probe")
        set_attribute(row, "version", version(p, a))
        return row

    def programme(p, a):
        return AuditProgramme(
            province_id=p, agency_id=a, year=next(years), title="Chương trình", created_by="probe"
        )

    def plan(p, a):
        row = AuditPlan(
            province_id=p,
            agency_id=a,
            programme_id=0,
            date=dt.date(2026, 6, 1),
            scope="Toàn bộ",
            auditors=["Nguyễn Văn An"],
            created_by="probe",
        )
        set_attribute(row, "programme", programme(p, a))
        return row

    def item(p, a):
        row = AuditChecklistItem(
            province_id=p, agency_id=a, plan_id=0, clause="7.5.2", question="?"
        )
        set_attribute(row, "plan", plan(p, a))
        return row

    def finding(p, a):
        row = AuditFinding(
            province_id=p,
            agency_id=a,
            plan_id=0,
            clause="7.5.2",
            kind="observation",
            description="d",
            recorded_by="probe",
        )
        set_attribute(row, "plan", plan(p, a))
        return row

    def review(p, a):
        return ManagementReview(
            province_id=p,
            agency_id=a,
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 6, 30),
            held_on=dt.date(2026, 7, 1),
            chaired_by="Chủ tịch",
            created_by="probe",
        )

    def review_action(p, a):
        row = ReviewAction(
            province_id=p,
            agency_id=a,
            review_id=0,
            decision="Bổ sung nhân lực",
            owner="Văn phòng",
            due_date=dt.date(2026, 9, 1),
            created_by="probe",
        )
        set_attribute(row, "review", review(p, a))
        return row

    return {
        ManagementReview: review,
        ReviewAction: review_action,
        ReviewFlag: lambda p, a: ReviewFlag(
            province_id=p,
            agency_id=a,
            kind="procedure",
            subject="1.000001",
            reference=f"probe-{new_id()}",
            legal_version=1,
        ),
        ConformityAnnouncement: lambda p, a: ConformityAnnouncement(
            province_id=p, agency_id=a, updated_by="probe"
        ),
        Document: doc,
        DocumentVersion: version,
        DocumentAcknowledgement: ack,
        Nonconformity: lambda p, a: Nonconformity(
            province_id=p, agency_id=a, title="Trễ hẹn", raised_by="probe"
        ),
        Risk: lambda p, a: Risk(
            province_id=p,
            agency_id=a,
            title="Mất dữ liệu",
            likelihood=2,
            impact=3,
            level=6,
            owner="Văn phòng",
            review_date=dt.date(2026, 12, 1),
            created_by="probe",
        ),
        AuditProgramme: programme,
        AuditPlan: plan,
        AuditChecklistItem: item,
        AuditFinding: finding,
    }
