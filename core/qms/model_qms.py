"""The model QMS of Decision 101/QĐ-BKHCN as a province's model set, adopted in bulk.

- `install`: the province administrator copies eiso's shipped set (model_qms_data.py) into the
  province's model documents (`is_model`, owned by its People's Committee) as drafts, which the
  province adapts and makes effective through the documents workflow (documents.py).
- `adopt`: one call for a list of agencies, or every active agency of a kind, of the
  province: each gets each document of the set as a draft of its own register (the province's
  effective model text where there is one, linked to that model version; else the shipped
  text), which its leader then approves as any document. All or nothing: a bad agency id, an
  agency of another province, an empty selection refuse the whole call and change nothing. A
  document code the agency already has is left alone (counted as skipped), so the call can be
  repeated after new agencies are onboarded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, member_of
from eiso.core.qms import documents
from eiso.core.qms.common import require_role, value
from eiso.core.qms.documents import Document, DocumentVersion
from eiso.core.qms.model_qms_data import TEMPLATES, Template
from eiso.infra.tables import table_of
from eiso.tenants.models import Agency, AgencyKind
from eiso.tenants.scope import TenantScopeError, scope_of

MAX_AGENCIES = 500  # one call; a province has at most a few hundred agencies


@dataclasses.dataclass
class AdoptionReport:
    agencies: int = 0
    created: int = 0
    skipped: int = 0
    # (agency id, document id) of each document created
    documents: list[tuple[int, int]] = dataclasses.field(default_factory=list)


def _bad(field: str, en: str, vi: str) -> DomainError:
    return DomainError(f"{field}: {en}", f"{field}: {vi}", code="BAD_INPUT", field=field)


def chosen_templates(codes: Sequence[str] | None) -> list[Template]:
    if not codes:
        return list(TEMPLATES)
    known = {t.code: t for t in TEMPLATES}
    for index, code in enumerate(codes):
        if code not in known:
            raise _bad(
                f"codes[{index}]",
                f"{code!r} is not a document of the model QMS ({', '.join(known)})",
                f"{code!r} không thuộc bộ tài liệu mẫu ({', '.join(known)})",
            )
    return [known[c] for c in dict.fromkeys(codes)]


async def install(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    codes: Sequence[str] | None = None,
) -> list[tuple[Document, DocumentVersion]]:
    """The shipped set (or its `codes`) as the province's model documents (drafts); codes
    already there stay."""
    require_role(principal, Role.province_admin)
    items = chosen_templates(codes)
    owner = await documents.model_owner(session, province_id)
    taken = set(
        (
            await session.execute(
                select(Document.code).where(
                    col(Document.province_id) == province_id, col(Document.agency_id) == owner
                )
            )
        ).scalars()
    )
    created = []
    for item in items:
        if item.code in taken:
            continue
        created.append(
            await documents.create_document(
                session,
                principal,
                province_id=province_id,
                agency_id=owner,
                kind=item.kind,
                code=item.code,
                title=item.title,
                content=item.content,
                is_model=True,
                legal_reference="101/QĐ-BKHCN",
            )
        )
    return created


async def agencies_of(
    session: AsyncSession,
    province_id: int,
    agency_ids: Sequence[int] | None,
    kind: str | None,
) -> list[Agency]:
    """The active agencies of the province named by `agency_ids` (each checked: the field at
    fault is `agencyIds[i]`) or of `kind`; exactly one of the two."""
    if (agency_ids is None) == (kind is None):
        raise _bad(
            "agencyIds",
            "give either agencyIds or agencyKind",
            "cần chọn danh sách cơ quan (agencyIds) hoặc loại cơ quan (agencyKind)",
        )
    query = select(Agency).where(
        col(Agency.province_id) == province_id, col(Agency.status) == "active"
    )
    if kind is not None:
        member_of(
            AgencyKind,
            kind,
            "agencyKind",
            f"agencyKind: {kind!r} is not a kind of agency",
            f"agencyKind: {kind!r} không phải loại cơ quan",
        )
        found = list((await session.execute(query.where(col(Agency.kind) == kind))).scalars())
        if not found:
            raise _bad(
                "agencyKind",
                f"the province has no active agency of kind {kind!r}",
                f"tỉnh không có cơ quan loại {kind!r} đang hoạt động",
            )
        return sorted(found, key=lambda a: a.code)
    assert agency_ids is not None
    if not agency_ids:
        raise _bad("agencyIds", "the list is empty", "danh sách cơ quan trống")
    if len(agency_ids) > MAX_AGENCIES:
        raise _bad(
            "agencyIds",
            f"at most {MAX_AGENCIES} agencies a call",
            f"tối đa {MAX_AGENCIES} cơ quan mỗi lần",
        )
    rows = {
        a.id: a
        for a in (await session.execute(query.where(col(Agency.id).in_(agency_ids)))).scalars()
    }
    for index, agency_id in enumerate(agency_ids):
        if agency_id not in rows:
            # The same answer for another province's agency and one that does not exist.
            field = f"agencyIds[{index}]"
            raise DomainError(
                f"{field}: not an active agency of this province",
                f"{field}: không phải cơ quan đang hoạt động của tỉnh",
                code="AGENCY_NOT_FOUND",
                field=field,
            )
    return [rows[i] for i in dict.fromkeys(agency_ids)]


async def _province_models(
    session: AsyncSession, province_id: int, codes: set[str]
) -> dict[str, tuple[Document, DocumentVersion]]:
    """The province's effective model version of each code of the set, where there is one."""
    rows = await session.execute(
        documents.with_effective_version(select(Document, DocumentVersion), province_id).where(
            col(Document.is_model).is_(True), col(Document.code).in_(codes)
        )
    )
    return {document.code: (document, version) for document, version in rows.all()}


async def adopt(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    *,
    agency_ids: Sequence[int] | None = None,
    agency_kind: str | None = None,
    codes: Sequence[str] | None = None,
) -> AdoptionReport:
    """Each chosen agency gets each chosen document of the set as a draft (module docstring)."""
    require_role(principal, Role.province_admin)
    items = chosen_templates(codes)
    agencies = await agencies_of(session, province_id, agency_ids, agency_kind)
    models = await _province_models(session, province_id, {t.code for t in items})
    ids = [a.id for a in agencies]
    taken = set(
        (
            await session.execute(
                select(Document.agency_id, Document.code).where(
                    col(Document.province_id) == province_id,
                    col(Document.agency_id).in_(ids),
                    col(Document.code).in_([t.code for t in items]),
                )
            )
        ).all()
    )
    report = AdoptionReport(agencies=len(agencies))
    # Set-based: the rows of every document and version inserted in one statement each, and
    # their audit entries appended to all the agencies' chains at once (audit.append_many).
    # A bulk insert skips the session's check of each new row against the caller's scope
    # (tenants/scope.py), so it is made here; PostgreSQL's row-level security checks again.
    allowed = scope_of(session.sync_session)
    made: list[dict] = []
    firsts: list[dict] = []
    for agency in agencies:
        if not allowed.allows(province_id, agency.id):
            raise TenantScopeError(f"agency {agency.id} is outside the caller's scope")
        for item in items:
            if (agency.id, item.code) in taken:
                report.skipped += 1
                continue
            model = models.get(item.code)
            text = model[1].content if model else item.content
            document, first = documents.draft_rows(
                principal.subject,
                province_id=province_id,
                agency_id=agency.id,
                kind=value(model[0].kind) if model else item.kind,
                code=item.code,
                title=model[0].title if model else item.title,
                content=text.replace("{agency}", agency.name),
                legal_reference=model[0].legal_reference if model else "101/QĐ-BKHCN",
                model_version_id=model[1].id if model else None,
            )
            made.append(document)
            firsts.append(first)
            report.documents.append((agency.id, document["id"]))
    report.created = len(made)
    if made:
        await session.execute(insert(Document), made)
        await session.execute(insert(DocumentVersion), firsts)
        await audit.append_many(
            session,
            province_id=province_id,
            actor=principal.subject,
            action="document.create",
            entity_type=table_of(Document).name,
            changes=[
                audit.Change(d["agency_id"], d["id"], documents.created_data(d)) for d in made
            ],
        )
    return report
