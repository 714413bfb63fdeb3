"""Documented information (ISO 9001 clause 7.5): documents, their versions and read
acknowledgements, and the province's model set that agencies adopt and adapt.

Version life: draft → in_review → approved (by a leader) → effective → obsolete. A document has
at most one effective version: making a version effective obsoletes the one before.

The province's model set lives in these same tables, as documents flagged `is_model` owned by
the province's own agency (its People's Committee). Reusing the tables keeps one version
workflow and one audit chain for models; the composite keys keep an adoption inside its
province, and `model_version_id` on the adopted copy tells the province who adopted which
version with one indexed query.
"""

from __future__ import annotations

import datetime as dt
import enum
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any, Required, TypedDict, TypeVar, Unpack

from sqlalchemy import BigInteger, Index, Select, String, Text, UniqueConstraint, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select

from eiso.core.auth.models import User
from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import Conflict, DomainError, NotFound, member_of
from eiso.core.qms.common import (
    get_in_scope,
    invalid_transition,
    record,
    require_role,
    require_text,
    value,
)
from eiso.core.qms.storage import Storage
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.infra.ids import new_id
from eiso.tenants.models import (
    Agency,
    AgencyKind,
    Authored,
    TenantOwned,
    agency_fk,
    child_fks,
    tenant_join,
)

MAX_ATTACHMENT = 20_000_000  # bytes


# The code of an agency's ISO process document of a procedure: QT-<procedure code>
# (process_docs.py generates it; prerequisites.py requires it effective).
PROCESS_CODE_PREFIX = "QT-"


DocumentKind = enum.StrEnum(
    "DocumentKind",
    "policy objectives procedure form guideline external_legal",
)


VersionStatus = enum.StrEnum("VersionStatus", "draft in_review approved effective obsolete")


# The moves a version may make; anything else is INVALID_TRANSITION.
MOVES = {
    VersionStatus.draft: {VersionStatus.in_review},
    VersionStatus.in_review: {VersionStatus.approved, VersionStatus.draft},
    VersionStatus.approved: {VersionStatus.effective},
    VersionStatus.effective: {VersionStatus.obsolete},
    VersionStatus.obsolete: set(),
}
MAINTAINERS = (Role.iso_secretary, Role.leader, Role.province_admin)


class Document(TenantOwned, Authored, table=True):
    __tablename__ = "documents"
    __table_args__ = (
        agency_fk("documents"),
        UniqueConstraint("province_id", "agency_id", "code", name="uq_documents_agency_code"),
        Index("ix_documents_model_version", "province_id", "model_version_id"),
        Index("ix_documents_legal_reference", "legal_reference"),
    )

    kind: DocumentKind = Field(sa_type=String(32))
    code: str = Field(max_length=64)
    title: str = Field(max_length=300)
    is_model: bool = False
    # The model version this document was adopted from (same province), if any.
    model_version_id: int | None = Field(default=None, sa_type=BigInteger)
    # The legal basis the document rests on (its number): a new version flags it for review.
    legal_reference: str | None = Field(default=None, max_length=100)


class DocumentVersion(TenantOwned, Authored, table=True):
    __tablename__ = "document_versions"
    __table_args__ = (
        *child_fks("document_versions", "document_id", "documents", "document"),
        UniqueConstraint(
            "province_id", "document_id", "number", name="uq_document_versions_number"
        ),
    )

    document_id: int = Field(sa_type=BigInteger)
    number: int
    status: VersionStatus = Field(default=VersionStatus.draft, sa_type=String(16))
    summary: str = Field(default="", sa_type=Text)
    content: str = Field(default="", sa_type=Text)
    attachment_sha256: str | None = Field(default=None, max_length=64)
    attachment_name: str | None = Field(default=None, max_length=300)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: dt.datetime | None = None
    effective_at: dt.datetime | None = None
    obsolete_at: dt.datetime | None = None


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def with_effective_version(query: _Query, province_id: int) -> _Query:
    """`query` (over documents) joined with the effective version of each of the province's
    documents: those without one drop out (a document has at most one)."""
    return query.join(
        DocumentVersion,
        tenant_join(Document.id, DocumentVersion.document_id),
    ).where(
        col(Document.province_id) == province_id,
        col(DocumentVersion.status) == VersionStatus.effective.value,
    )


class DocumentAcknowledgement(TenantOwned, table=True):
    __tablename__ = "document_acknowledgements"
    __table_args__ = (
        *child_fks("document_acknowledgements", "version_id", "document_versions", "version"),
        UniqueConstraint(
            "province_id", "version_id", "subject", name="uq_document_acknowledgements"
        ),
    )

    version_id: int = Field(sa_type=BigInteger)
    subject: str = Field(max_length=200)
    at: dt.datetime = Field(default_factory=utcnow)


def _kind(value: str) -> DocumentKind:
    return member_of(
        DocumentKind,
        value,
        "kind",
        f"kind must be one of {[k.value for k in DocumentKind]}",
        "loại tài liệu không hợp lệ",
    )


class NewDocument(TypedDict, total=False):
    """What a new document is made of (`create_document`, `draft_rows`): its kind, code and
    title, and optionally its first version's content, whether it is one of the province's
    models, and its legal reference."""

    kind: Required[str]
    code: Required[str]
    title: Required[str]
    content: str
    is_model: bool
    legal_reference: str | None


async def create_document(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int,
    **new: Unpack[NewDocument],
) -> tuple[Document, DocumentVersion]:
    """A document with its first version as a draft."""
    require_role(principal, *MAINTAINERS)
    fields, first = draft_rows(
        principal.subject, province_id=province_id, agency_id=agency_id, **new
    )
    document = Document(**{**fields, "kind": DocumentKind(fields["kind"])})
    version = DocumentVersion(**{**first, "status": VersionStatus.draft})
    taken = await session.execute(
        select(Document.id).where(
            Document.province_id == province_id,
            Document.agency_id == agency_id,
            Document.code == document.code,
        )
    )
    if taken.first():
        raise Conflict(
            f"document code {document.code!r} is already used",
            f"mã tài liệu {document.code!r} đã được dùng",
            field="code",
        )
    session.add(document)
    session.add(version)
    await record(session, document, principal.subject, "document.create", created_data(fields))
    return document, version


def draft_rows(
    subject: str,
    *,
    province_id: int,
    agency_id: int,
    model_version_id: int | None = None,
    **new: Unpack[NewDocument],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns of a new document and of its first version (a draft), checked: for
    `create_document`, and for a bulk adoption that inserts many rows at once (building
    thousands of model objects costs more than inserting them)."""
    now = utcnow()
    document = {
        "province_id": province_id,
        "id": new_id(),
        "agency_id": agency_id,
        "kind": _kind(new["kind"]).value,
        "code": require_text(new["code"], "code", 64),
        "title": require_text(new["title"], "title", 300),
        "is_model": new.get("is_model", False),
        "model_version_id": model_version_id,
        "legal_reference": (new.get("legal_reference") or "").strip()[:100] or None,
        "created_by": subject,
        "created_at": now,
    }
    version = {
        "province_id": province_id,
        "id": new_id(),
        "agency_id": agency_id,
        "document_id": document["id"],
        "number": 1,
        "status": VersionStatus.draft.value,
        "content": new.get("content", ""),
        "created_by": subject,
        "created_at": now,
    }
    return document, version


def created_data(document: dict[str, Any]) -> dict[str, Any]:
    """The audit entry's data of a document's creation (`draft_rows`' document)."""
    return {"kind": document["kind"], "code": document["code"], "model": document["is_model"]}


async def new_version(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    document_id: int,
    *,
    content: str = "",
    summary: str = "",
) -> DocumentVersion:
    require_role(principal, *MAINTAINERS)
    document = await get_in_scope(session, Document, province_id, document_id, "document")
    last = (
        await session.execute(
            select(func.max(DocumentVersion.number)).where(
                DocumentVersion.province_id == province_id,
                DocumentVersion.document_id == document.id,
            )
        )
    ).scalar()
    version = DocumentVersion(
        province_id=province_id,
        agency_id=document.agency_id,
        document_id=document.id,
        number=(last or 0) + 1,
        content=content,
        summary=summary,
        created_by=principal.subject,
    )
    return await record(
        session, version, principal.subject, "document_version.create", {"number": version.number}
    )


async def attach(
    session: AsyncSession,
    principal: Principal,
    storage: Storage,
    province_id: int,
    version_id: int,
    filename: str,
    content: bytes,
) -> DocumentVersion:
    """Store the file and record its digest on a draft version (an approved text is frozen)."""
    require_role(principal, *MAINTAINERS)
    version = await get_in_scope(
        session, DocumentVersion, province_id, version_id, "document version"
    )
    if version.status != VersionStatus.draft:
        raise invalid_transition("document version", version.status, "attach")
    if len(content) > MAX_ATTACHMENT:
        raise DomainError("attachment too large", "tệp đính kèm quá lớn", field="content")
    version.attachment_name = require_text(filename, "filename", 300)
    version.attachment_sha256 = storage.put(content)
    return await record(
        session,
        version,
        principal.subject,
        "document_version.attach",
        {"sha256": version.attachment_sha256},
    )


async def attachment(
    session: AsyncSession, storage: Storage, province_id: int, version_id: int
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of a version's attached file, read in the session's
    scope like the `document` query (another agency's version is NOT_FOUND, as is a version
    with no file). The media type is the name's (a generic one when unknown): the file is
    saved, never shown in eiso's origin (core/http/downloads.py)."""
    version = await get_in_scope(
        session, DocumentVersion, province_id, version_id, "document version"
    )
    if not (version.attachment_sha256 and version.attachment_name):
        raise NotFound("the version has no attachment", "phiên bản không có tệp đính kèm")
    try:
        content = storage.get(version.attachment_sha256)
    except FileNotFoundError:  # recorded, but gone from the storage (restored elsewhere)
        raise NotFound("the attached file is missing", "không tìm thấy tệp đính kèm") from None
    media_type = mimetypes.guess_type(version.attachment_name)[0] or "application/octet-stream"
    return content, media_type, version.attachment_name


async def _move(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    version_id: int,
    target: VersionStatus,
    roles: tuple[Role, ...] = MAINTAINERS,
) -> DocumentVersion:
    require_role(principal, *roles)
    version = await get_in_scope(
        session, DocumentVersion, province_id, version_id, "document version"
    )
    if target not in MOVES[version.status]:
        raise invalid_transition("document version", version.status, target.value)
    now = utcnow()
    if target == VersionStatus.approved:
        version.approved_by, version.approved_at = principal.subject, now
    if target == VersionStatus.effective:
        # One effective version per document: the previous one becomes obsolete.
        previous = (
            (
                await session.execute(
                    select(DocumentVersion).where(
                        DocumentVersion.province_id == province_id,
                        DocumentVersion.document_id == version.document_id,
                        DocumentVersion.status == VersionStatus.effective,
                    )
                )
            )
            .scalars()
            .all()
        )
        for old in previous:
            old.status, old.obsolete_at = VersionStatus.obsolete, now
            await record(
                session, old, principal.subject, "document_version.obsolete", {"number": old.number}
            )
        version.effective_at = now
    if target == VersionStatus.obsolete:
        version.obsolete_at = now
    version.status = target
    return await record(
        session,
        version,
        principal.subject,
        f"document_version.{value(target)}",
        {"number": version.number},
    )


def _transition(
    target: VersionStatus, roles: tuple[Role, ...] = MAINTAINERS
) -> Callable[[AsyncSession, Principal, int, int], Awaitable[DocumentVersion]]:
    """The service `(session, principal, province_id, version_id)` that moves a version to
    `target` (`_move`), for `roles`."""

    async def move(
        session: AsyncSession, principal: Principal, province_id: int, version_id: int
    ) -> DocumentVersion:
        return await _move(session, principal, province_id, version_id, target, roles)

    return move


submit = _transition(VersionStatus.in_review)
# clause 7.5: approval by the agency's leader
approve = _transition(VersionStatus.approved, (Role.leader,))
reject = _transition(VersionStatus.draft, (Role.leader,))
make_effective = _transition(VersionStatus.effective)
withdraw = _transition(VersionStatus.obsolete)


async def acknowledge(
    session: AsyncSession, principal: Principal, province_id: int, version_id: int
) -> DocumentAcknowledgement:
    """A staff member confirms having read the effective version (idempotent)."""
    version = await get_in_scope(
        session, DocumentVersion, province_id, version_id, "document version"
    )
    if version.status != VersionStatus.effective:
        raise DomainError(
            "only the effective version can be acknowledged",
            "chỉ phiên bản đang hiệu lực mới được xác nhận đã đọc",
            code="INVALID_TRANSITION",
        )
    existing = await find_one(
        session,
        DocumentAcknowledgement,
        province_id=province_id,
        version_id=version.id,
        subject=principal.subject,
    )
    if existing:
        return existing
    ack = DocumentAcknowledgement(
        province_id=province_id,
        agency_id=version.agency_id,
        version_id=version.id,
        subject=principal.subject,
    )
    return await record(
        session, ack, principal.subject, "document.acknowledge", {"version_id": version.id}
    )


async def adopt_model(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    model_version_id: int,
    *,
    agency_id: int,
    code: str | None = None,
) -> tuple[Document, DocumentVersion]:
    """Copy an effective model version into the agency as a draft it then adapts; the copy keeps
    the link to the model version. The session needs the province in scope to read the model."""
    model_version = await get_in_scope(
        session, DocumentVersion, province_id, model_version_id, "model version"
    )
    model = await get_in_scope(
        session, Document, province_id, model_version.document_id, "model document"
    )
    if not model.is_model or model_version.status != VersionStatus.effective:
        raise DomainError(
            "only an effective version of a model document can be adopted",
            "chỉ phiên bản hiệu lực của tài liệu mẫu mới được áp dụng",
            field="modelVersionId",
        )
    document, version = await create_document(
        session,
        principal,
        province_id=province_id,
        agency_id=agency_id,
        kind=value(model.kind),
        code=code or model.code,
        title=model.title,
        content=model_version.content,
    )
    document.model_version_id, document.legal_reference = model_version.id, model.legal_reference
    version.attachment_sha256, version.attachment_name = (
        model_version.attachment_sha256,
        model_version.attachment_name,
    )
    session.add_all([document, version])
    await record(
        session,
        document,
        principal.subject,
        "document.adopt",
        {"model_version_id": model_version.id},
    )
    return document, version


async def adoptions(
    session: AsyncSession, province_id: int, model_document_id: int
) -> list[tuple[int, int, int]]:
    """(agency_id, document_id, model version number) of every adoption of a model document."""
    rows = await session.execute(
        select(Document.agency_id, Document.id, DocumentVersion.number)
        .join(
            DocumentVersion,
            tenant_join(DocumentVersion.id, Document.model_version_id),
        )
        .where(
            Document.province_id == province_id, DocumentVersion.document_id == model_document_id
        )
    )
    return [(agency, document, number) for agency, document, number in rows]


async def model_owner(session: AsyncSession, province_id: int) -> int:
    """The agency that owns the province's model set: its People's Committee (the one agency
    of kind people_committee at the top of the province)."""
    owner = (
        await session.execute(
            select(Agency.id)
            .where(
                Agency.province_id == province_id,
                Agency.kind == AgencyKind.people_committee.value,
                col(Agency.parent_id).is_(None),
                Agency.status == "active",
            )
            .order_by(Agency.code)
            .limit(1)
        )
    ).scalar_one_or_none()
    if owner is None:
        raise DomainError(
            "the province has no People's Committee agency to own its model set",
            "tỉnh chưa có Ủy ban nhân dân tỉnh để sở hữu bộ tài liệu mẫu",
            code="NO_MODEL_OWNER",
        )
    return owner


async def readers(
    session: AsyncSession, version: DocumentVersion
) -> list[tuple[str, str, dt.datetime | None]]:
    """(subject, name, acknowledged at) of each active staff member of the version's agency,
    those still to read it first (clause 7.3 awareness: who has not read it yet)."""
    staff = (
        await session.execute(
            select(User.id, User.display_name, User.username)
            .where(
                col(User.province_id) == version.province_id,
                col(User.agency_id) == version.agency_id,
                col(User.active).is_(True),
            )
            .order_by(col(User.username))
        )
    ).all()
    read = dict(
        (
            await session.execute(
                select(DocumentAcknowledgement.subject, DocumentAcknowledgement.at).where(
                    col(DocumentAcknowledgement.province_id) == version.province_id,
                    col(DocumentAcknowledgement.version_id) == version.id,
                )
            )
        ).all()
    )
    found = [(str(id), name or username, read.get(str(id))) for id, name, username in staff]
    return sorted(found, key=lambda reader: reader[2] is not None)
