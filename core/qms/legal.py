"""Legal bases and their versions (Decision 19/2014/QĐ-TTg: keep the legal basis of every
procedure current). When a legal basis gets a new version, every procedure an agency adopted
and every QMS document built on it is flagged for review, and the agency's conformity
announcement goes back to "to be re-announced" until the flags are cleared.

A new version comes from the national administrator (`record_change`) or from a module update
seen at catalogue sync (`sync_from_procedures`: a procedure's `LegalBasis` whose title or
validity dates changed). The legal bases and the procedure → basis links are global reference
data like the procedure catalogue; review flags belong to the agency.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Index, Text, UniqueConstraint, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers.models import ProcedureAdoption, ProcedureRecord
from eiso.core.errors import DomainError, NotFound
from eiso.core.qms import conformity, review_deadline
from eiso.core.qms.common import record, require_role, require_text, value
from eiso.core.qms.conformity import FlagCause, FlagKind, ReviewFlag
from eiso.core.qms.documents import Document
from eiso.core.workdays import VN_TZ
from eiso.infra.clock import utcnow
from eiso.infra.db import added, find_one

if TYPE_CHECKING:
    from eiso.core.plugins.declarations import LegalBasis, Procedure


class LegalBasisVersion(SQLModel, table=True):
    """One version of a legal basis (global): the latest number is the one in force."""

    __tablename__ = "legal_basis_versions"
    __table_args__ = (UniqueConstraint("reference", "version", name="uq_legal_basis_versions"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=100)  # the document number, e.g. "151/2025/NĐ-CP"
    version: int
    title: str = Field(default="", max_length=500)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    note: str = Field(default="", sa_type=Text)
    source: str = Field(max_length=16)  # "national_admin" or "module" (seen at catalogue sync)
    entered_by: str = Field(max_length=200)
    entered_at: dt.datetime = Field(default_factory=utcnow)


class ProcedureLegalBasis(SQLModel, table=True):
    """Which procedure rests on which legal basis (global, synced from the modules)."""

    __tablename__ = "procedure_legal_bases"
    __table_args__ = (
        UniqueConstraint("procedure_code", "reference", name="uq_procedure_legal_bases"),
        Index("ix_procedure_legal_bases_reference", "reference"),
    )

    id: int | None = Field(default=None, primary_key=True)
    procedure_code: str = Field(max_length=32)
    reference: str = Field(max_length=100)


async def latest(session: AsyncSession, reference: str) -> LegalBasisVersion | None:
    return (
        await session.execute(
            select(LegalBasisVersion)
            .where(LegalBasisVersion.reference == reference)
            .order_by(col(LegalBasisVersion.version).desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _dates(valid_from: dt.date | None, valid_until: dt.date | None) -> None:
    if valid_from and valid_until and valid_until < valid_from:
        raise DomainError(
            "validUntil is before validFrom",
            "ngày hết hiệu lực trước ngày có hiệu lực",
            field="validUntil",
        )


async def _new_version(
    session: AsyncSession,
    reference: str,
    *,
    title: str,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    note: str,
    source: str,
    actor: str,
) -> LegalBasisVersion:
    before = await latest(session, reference)
    row = LegalBasisVersion(
        reference=reference,
        version=(before.version if before else 0) + 1,
        title=title,
        valid_from=valid_from,
        valid_until=valid_until,
        note=note,
        source=source,
        entered_by=actor,
    )
    return await added(session, row)


async def _flag(
    session: AsyncSession,
    agency_ids: dict[int, int],
    kind: FlagKind,
    subject: str,
    basis: LegalBasisVersion,
    agency_id: int,
    actor: str,
    cause: FlagCause,
) -> bool:
    """Raise one flag; False when the same flag (cause included) was raised before."""
    province_id = agency_ids[agency_id]
    flag = ReviewFlag(
        province_id=province_id,
        agency_id=agency_id,
        kind=kind,
        subject=subject,
        reference=basis.reference,
        legal_version=basis.version,
        cause=cause,
    )
    key = ("province_id", "agency_id", "kind", "subject", "reference", "legal_version", "cause")
    if await find_one(session, ReviewFlag, **{k: getattr(flag, k) for k in key}) is not None:
        return False
    flag.due_on = await review_deadline.due_on(session, province_id, flag.raised_at)
    await record(
        session,
        flag,
        actor,
        "review_flag.raise",
        {
            "kind": kind.value,
            "subject": subject,
            "reference": basis.reference,
            "legal_version": basis.version,
            "cause": cause.value,
        },
    )
    return True


async def _raise(
    session: AsyncSession,
    basis: LegalBasisVersion,
    adoptions: Sequence[ProcedureAdoption],
    docs: Sequence[Document],
    actor: str,
    cause: FlagCause,
) -> int:
    """Flag the adoptions and documents for `basis`; each agency that got a new flag goes back
    to "to be re-announced". Returns the number of flags raised."""
    provinces = {row.agency_id: row.province_id for row in [*adoptions, *docs]}
    subjects = [(FlagKind.procedure, a.procedure_code, a.agency_id) for a in adoptions]
    subjects += [(FlagKind.document, str(d.id), d.agency_id) for d in docs]
    flagged: set[int] = set()
    raised = 0
    for kind, subject, agency_id in subjects:
        if await _flag(session, provinces, kind, subject, basis, agency_id, actor, cause):
            flagged.add(agency_id)
            raised += 1
    reason = f"{basis.reference} v{basis.version}"
    if cause is FlagCause.expired:
        reason += f" hết hiệu lực {basis.valid_until:%d/%m/%Y}"
    for agency_id in flagged:
        await conformity.require_reannouncement(
            session, provinces[agency_id], agency_id, actor, reason
        )
    return raised


async def flag_dependants(
    session: AsyncSession,
    basis: LegalBasisVersion,
    actor: str,
    cause: FlagCause = FlagCause.changed,
) -> int:
    """Flag every adopted procedure and every document resting on `basis` (the session must
    see every tenant: the nation's scope); a flag raised before for the same version and cause
    is not raised again. Returns the number of flags raised."""
    codes = list(
        (
            await session.execute(
                select(ProcedureLegalBasis.procedure_code).where(
                    ProcedureLegalBasis.reference == basis.reference
                )
            )
        ).scalars()
    )
    adoptions = (
        (
            await session.execute(
                select(ProcedureAdoption).where(col(ProcedureAdoption.procedure_code).in_(codes))
            )
        )
        .scalars()
        .all()
        if codes
        else []
    )
    docs = (
        (await session.execute(select(Document).where(Document.legal_reference == basis.reference)))
        .scalars()
        .all()
    )
    return await _raise(session, basis, adoptions, docs, actor, cause)


def _today() -> dt.date:
    return utcnow().astimezone(VN_TZ).date()  # validity dates are Vietnam's dates


async def expired_bases(
    session: AsyncSession, today: dt.date, procedure_code: str | None = None
) -> Sequence[LegalBasisVersion]:
    """The legal bases (all, or those of one procedure) whose version in force (the latest)
    has a `valid_until` before `today`."""
    versions = select(
        LegalBasisVersion.reference, func.max(LegalBasisVersion.version).label("version")
    )
    if procedure_code is not None:
        versions = versions.where(
            col(LegalBasisVersion.reference).in_(
                select(ProcedureLegalBasis.reference).where(
                    ProcedureLegalBasis.procedure_code == procedure_code
                )
            )
        )
    newest = versions.group_by(col(LegalBasisVersion.reference)).subquery()
    return (
        (
            await session.execute(
                select(LegalBasisVersion)
                .join(
                    newest,
                    (col(LegalBasisVersion.reference) == newest.c.reference)
                    & (col(LegalBasisVersion.version) == newest.c.version),
                )
                .where(col(LegalBasisVersion.valid_until) < today)
                .order_by(col(LegalBasisVersion.reference))
            )
        )
        .scalars()
        .all()
    )


async def sweep_expired(
    session: AsyncSession, actor: str = "catalogue", today: dt.date | None = None
) -> dict[str, int]:
    """Flag for review what rests on a legal basis that is no longer in force (nation's scope;
    idempotent: each version's expiry is flagged once per procedure or document). Run at every
    catalogue sync and by `eiso procedures review-sweep` (daily: a date passing changes nothing
    in the catalogue). Returns {"expired": bases found, "flagged": flags raised}."""
    bases = await expired_bases(session, today or _today())
    flagged = 0
    for basis in bases:
        flagged += await flag_dependants(session, basis, actor, FlagCause.expired)
    return {"expired": len(bases), "flagged": flagged}


def successor(revisions: Sequence[dict], reference: str, until: dt.date | None) -> dict | None:
    """The rule change (`sdk.RuleChange` as the catalogue keeps it) that takes over from the
    basis `reference`: the first that does not rest on it and starts after its `until` (any
    such one when the basis has no end date)."""
    for change in revisions:
        start = dt.date.fromisoformat(change["effective_from"])
        bases = {b["reference"] for b in change.get("legal_basis", ())}
        if reference not in bases and (until is None or start > until):
            return change
    return None


@dataclasses.dataclass(frozen=True)
class FlagNotice:
    """What the agency is told with a review flag: the version's end date, the rule change
    that takes over (for a procedure whose module declares one) and the sentence to show."""

    valid_until: dt.date | None
    successor: dict | None
    text_vi: str


def notice_of(
    flag: ReviewFlag, basis: LegalBasisVersion | None, procedure: ProcedureRecord | None
) -> FlagNotice:
    until = basis.valid_until if basis else None
    change = successor(procedure.revisions or [], flag.reference, until) if procedure else None
    what = f"thủ tục {flag.subject}" if value(flag.kind) == "procedure" else "tài liệu"
    if value(flag.cause) == "expired" and until is not None:
        head = (
            f"Căn cứ pháp lý {flag.reference} hết hiệu lực (hiệu lực đến hết ngày {until:%d/%m/%Y})"
        )
    else:
        head = f"Căn cứ pháp lý {flag.reference} đã thay đổi (phiên bản {flag.legal_version})"
    text = f"{head}: cần rà soát {what}."
    if change is not None:
        refs = ", ".join(b["reference"] for b in change.get("legal_basis", ())) or "quy định mới"
        start = dt.date.fromisoformat(change["effective_from"])
        text += (
            f" Quy định mới theo {refs} áp dụng cho hồ sơ tiếp nhận từ ngày {start:%d/%m/%Y};"
            " hồ sơ tiếp nhận trước ngày đó giữ quy định cũ."
        )
    return FlagNotice(until, change, text)


async def notices(session: AsyncSession, flags: Sequence[ReviewFlag]) -> list[FlagNotice]:
    """`notice_of` each flag (two queries for the page: the versions and the procedures)."""
    references = {f.reference for f in flags}
    versions = {
        (row.reference, row.version): row
        for row in (
            await session.execute(
                select(LegalBasisVersion).where(col(LegalBasisVersion.reference).in_(references))
            )
        ).scalars()
    }
    codes = {f.subject for f in flags if value(f.kind) == "procedure"}
    procedures = {
        row.code: row
        for row in (
            await session.execute(
                select(ProcedureRecord).where(col(ProcedureRecord.code).in_(codes))
            )
        ).scalars()
    }
    return [
        notice_of(f, versions.get((f.reference, f.legal_version)), procedures.get(f.subject))
        for f in flags
    ]


async def record_change(
    session: AsyncSession,
    principal: Principal,
    *,
    reference: str,
    title: str = "",
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    note: str = "",
) -> tuple[LegalBasisVersion, int]:
    """The national administrator enters a new version of a legal basis."""
    require_role(principal, Role.national_admin)
    reference = require_text(reference, "reference", 100)
    _dates(valid_from, valid_until)
    basis = await _new_version(
        session,
        reference,
        title=title[:500],
        valid_from=valid_from,
        valid_until=valid_until,
        note=note,
        source="national_admin",
        actor=principal.subject,
    )
    return basis, await flag_dependants(session, basis, principal.subject)


async def after_adoption(session: AsyncSession, adoption: ProcedureAdoption, actor: str) -> None:
    """An agency adopts a procedure that rests on an expired basis: flag it now rather than at
    the next sweep (the adoption's own transaction and scope)."""
    for basis in await expired_bases(session, _today(), adoption.procedure_code):
        await _raise(session, basis, [adoption], [], actor, FlagCause.expired)


async def sync_from_procedures(session: AsyncSession, procedures: Sequence[Procedure]) -> int:
    """At catalogue sync: link each procedure to its legal bases; a basis seen for the first
    time becomes version 1; one whose title or dates the module changed gets a new version and
    flags its dependants. Returns the number of new versions."""
    links = {
        (row.procedure_code, row.reference)
        for row in (await session.execute(select(ProcedureLegalBasis))).scalars()
    }
    changed: dict[str, LegalBasis] = {}
    for procedure in procedures:
        successors = (b for change in procedure.revisions for b in change.legal_basis)
        for basis in (*procedure.legal_basis, *successors):
            if (procedure.code, basis.reference) not in links:
                session.add(
                    ProcedureLegalBasis(procedure_code=procedure.code, reference=basis.reference)
                )
                links.add((procedure.code, basis.reference))
            changed.setdefault(basis.reference, basis)
    await session.flush()
    versions = 0
    for reference, basis in changed.items():
        before = await latest(session, reference)
        facts = (basis.title[:500], basis.valid_from, basis.valid_until)
        if before is not None and (before.title, before.valid_from, before.valid_until) == facts:
            continue
        row = await _new_version(
            session,
            reference,
            title=facts[0],
            valid_from=basis.valid_from,
            valid_until=basis.valid_until,
            note="",
            source="module",
            actor="catalogue",
        )
        versions += 1
        if before is not None:
            await flag_dependants(session, row, "catalogue")
    await sweep_expired(session)
    return versions


async def _clear(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    agency_id: int,
    kind: FlagKind,
    subject: str,
    note: str,
) -> Sequence[ReviewFlag]:
    flags = (
        (
            await session.execute(
                select(ReviewFlag).where(
                    ReviewFlag.province_id == province_id,
                    ReviewFlag.agency_id == agency_id,
                    ReviewFlag.kind == kind,
                    ReviewFlag.subject == subject,
                    col(ReviewFlag.reviewed_at).is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    if not flags:
        raise NotFound(
            f"no open review flag for this {kind.value}",
            "không có yêu cầu rà soát nào đang mở cho đối tượng này",
            code="NO_REVIEW_PENDING",
        )
    now = utcnow()
    for flag in flags:
        flag.reviewed_by, flag.reviewed_at, flag.note = principal.subject, now, note or None
        await record(
            session,
            flag,
            principal.subject,
            "review_flag.clear",
            {"kind": kind.value, "subject": subject, "reference": flag.reference},
        )
    return flags


REVIEWERS = (Role.iso_secretary, Role.leader)


async def review_procedure(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int,
    procedure_code: str,
    note: str = "",
) -> Sequence[ReviewFlag]:
    require_role(principal, *REVIEWERS)
    return await _clear(
        session, principal, province_id, agency_id, FlagKind.procedure, procedure_code, note
    )


async def review_document(
    session: AsyncSession, principal: Principal, province_id: int, document_id: int, note: str = ""
) -> Sequence[ReviewFlag]:
    require_role(principal, *REVIEWERS)
    document = await session.get(Document, (province_id, document_id))
    if document is None:
        raise NotFound("no such document", "không tìm thấy tài liệu")
    return await _clear(
        session,
        principal,
        province_id,
        document.agency_id,
        FlagKind.document,
        str(document.id),
        note,
    )
