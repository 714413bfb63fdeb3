"""One unsaved row of every QMS table, for the isolation suite (tests/test_isolation.py)."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm.attributes import set_attribute

from eiso.core.qms.models import (
    AuditChecklistItem,
    AuditFinding,
    AuditPlan,
    AuditProgramme,
    ConformityAnnouncement,
    ConformityScope,
    Document,
    DocumentAcknowledgement,
    DocumentVersion,
    Inspection,
    InspectionFinding,
    ManagementReview,
    Nonconformity,
    ProcessDocumentSource,
    QmsProfile,
    ReviewAction,
    ReviewFlag,
    Risk,
    TrainingRecord,
)
from eiso.infra.ids import new_id


def isolation_factories() -> dict:
    """One unsaved row of every QMS table for the isolation suite; a child row brings its own
    parents (through the relationships core/qms/models.py adds), so each factory stands alone."""
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

    def process_source(p, a):
        row = ProcessDocumentSource(
            province_id=p,
            agency_id=a,
            document_id=0,
            version_id=0,
            procedure_code="1.000001",
            digest="probe",
            spec={"title": "Quy trình thử"},
        )
        set_attribute(row, "version", version(p, a))
        return row

    def inspection(p, a):
        return Inspection(
            province_id=p,
            agency_id=a,
            year=next(years),
            planned_on=dt.date(2026, 3, 2),
            conclusion=f"Kết luận kiểm tra {new_id()}",
            updated_by="probe",
        )

    def inspection_finding(p, a):
        row = InspectionFinding(
            province_id=p,
            agency_id=a,
            inspection_id=0,
            item_code="KT-09",
            description=f"Phát hiện {new_id()}",
            nonconformity_id=0,
            created_by="probe",
        )
        set_attribute(row, "inspection", inspection(p, a))
        return row

    return {
        ProcessDocumentSource: process_source,
        Inspection: inspection,
        InspectionFinding: inspection_finding,
        QmsProfile: lambda p, a: QmsProfile(province_id=p, agency_id=a, updated_by="probe"),
        TrainingRecord: lambda p, a: TrainingRecord(
            province_id=p,
            agency_id=a,
            person=f"Cán bộ {new_id()}",
            training="ISO 9001:2015",
            held_on=dt.date(2026, 2, 3),
            evidence="GCN-1",
            created_by="probe",
        ),
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
        ConformityScope: lambda p, a: ConformityScope(
            province_id=p, agency_id=a, procedures=["1.000001"], set_by="probe"
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
