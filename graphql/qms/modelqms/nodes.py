"""The model QMS's, the process documents' and the public conformity's GraphQL types."""

from __future__ import annotations

import datetime as dt

import strawberry

from eiso.core.global_ids import encode_id
from eiso.core.qms.announcement_form import STATUS_VI, PublicConformity
from eiso.core.qms.common import value
from eiso.core.qms.documents import DocumentVersion
from eiso.core.qms.model_qms import AdoptionReport
from eiso.core.qms.model_qms_data import SOURCE, Template
from eiso.core.qms.process_docs import ProcessDocumentSource
from eiso.graphql.shared.enums import DocumentVersionStatus
from eiso.graphql.shared.node import AgencyLine, agency_line, node_of


@strawberry.type(description="A document of the model QMS eiso ships (Decision 101/QĐ-BKHCN).")
class ModelQmsTemplate:
    code: str
    kind: str
    title: str
    clauses: str = strawberry.field(description="The TCVN ISO 9001:2015 clauses it answers.")
    content: str = strawberry.field(description="`{agency}` stands for the agency's name.")
    source: str

    @classmethod
    def of(cls, item: Template) -> ModelQmsTemplate:
        return node_of(cls, item, source=SOURCE)


@strawberry.type(description="What one bulk adoption of the model QMS did.")
class ModelQmsAdoption:
    agencies: int
    created: int
    skipped: int = strawberry.field(
        description="Documents an agency already had (same code): left alone."
    )
    document_ids: list[strawberry.ID]

    @classmethod
    def of(cls, province_id: int, report: AdoptionReport) -> ModelQmsAdoption:
        return cls(
            agencies=report.agencies,
            created=report.created,
            skipped=report.skipped,
            document_ids=[
                strawberry.ID(encode_id("Document", province_id, d)) for _, d in report.documents
            ],
        )


@strawberry.type(description="A generated version of a procedure's ISO process document.")
class ProcessDocumentVersion:
    version_id: strawberry.ID
    document_id: strawberry.ID
    number: int
    status: DocumentVersionStatus
    generated_at: dt.datetime
    html_url: str = strawberry.field(description="GET with the bearer token: the HTML.")
    pdf_url: str

    @classmethod
    def of(cls, source: ProcessDocumentSource, version: DocumentVersion) -> ProcessDocumentVersion:
        version_id = encode_id("DocumentVersion", version.province_id, version.id)
        return cls(
            version_id=strawberry.ID(version_id),
            document_id=strawberry.ID(
                encode_id("Document", source.province_id, source.document_id)
            ),
            number=version.number,
            status=DocumentVersionStatus(value(version.status)),
            generated_at=source.generated_at,
            html_url=f"/process-documents/{version_id}.html",
            pdf_url=f"/process-documents/{version_id}.pdf",
        )


@strawberry.type(description="A procedure in an announced QMS scope.")
class ScopeProcedure:
    code: str
    name: str


@strawberry.type(
    description="An agency's conformity with TCVN ISO 9001:2015, as the public sees it."
)
class PublicConformityNode(AgencyLine):
    status: str = strawberry.field(
        description="not_started, building, announced, to_be_reannounced."
    )
    status_vi: str
    decision_number: str | None
    announced_on: dt.date | None
    procedures: list[ScopeProcedure]
    activities: list[str]
    html_url: str | None = strawberry.field(description="The announcing decision (public).")
    pdf_url: str | None

    @classmethod
    def of(cls, item: PublicConformity) -> PublicConformityNode:
        agency = item.agency
        head = agency_line(agency.province_id, agency.id, agency.code, agency.name)
        agency_id = head["agency_id"]
        announced = item.decision_number is not None
        return cls(
            **head,
            status=item.status,
            status_vi=STATUS_VI.get(item.status, item.status),
            decision_number=item.decision_number,
            announced_on=item.announced_on,
            procedures=[ScopeProcedure(code=c, name=n) for c, n in item.procedures],
            activities=item.activities,
            html_url=f"/conformity-announcements/{agency_id}.html" if announced else None,
            pdf_url=f"/conformity-announcements/{agency_id}.pdf" if announced else None,
        )
