"""The conformity announcement of each agency (Decision 19/2014/QĐ-TTg, Circular 26/2014/TT-BKHCN):
not started → building → announced (with the announcing decision's number and date); a legal
change that touches the agency's procedures or documents sends an announced agency to
"to be re-announced". The agency announces again once every review flag is cleared (announcing
with a flag open is refused with REVIEW_PENDING).

The status itself lives on the agency row (`Agency.iso_status`, which the tenants API already
shows); this table keeps the dates and the decision number, one row per agency.

Announcing also needs the QMS scope and the prerequisites of core/qms/prerequisites.py (every
unmet one listed in one PREREQUISITES_UNMET error); the announcement keeps the scope it
covers and is notified to the province's Department of Science and Technology (DOST) as an
outbox event (`TOPIC_ANNOUNCED`), which the province also sees in `provinceConformity`. A
change of scope (set anew, a procedure adopted outside it, a merge) sends an announced agency
to "to be re-announced" as a legal change does.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, String, Text, UniqueConstraint, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers.models import ProcedureAdoption
from eiso.core.errors import DomainError, NotFound
from eiso.core.qms import prerequisites, qms_scope
from eiso.core.qms.common import invalid_transition, record, require_role, require_text, value
from eiso.core.qms.qms_scope import ConformityScope
from eiso.infra import outbox
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.tenants.models import Agency, IsoStatus, TenantOwned, agency_fk, one_per_agency

FlagKind = enum.StrEnum("FlagKind", "procedure document")


# Why the flag was raised: the basis got a new version, or the version in force expired.
FlagCause = enum.StrEnum("FlagCause", "changed expired")


class ReviewFlag(TenantOwned, table=True):
    """A procedure or document of the agency to review because its legal basis changed or
    expired (`cause`)."""

    __tablename__ = "review_flags"
    __table_args__ = (
        agency_fk("review_flags"),
        UniqueConstraint(
            "province_id",
            "agency_id",
            "kind",
            "subject",
            "reference",
            "legal_version",
            "cause",
            name="uq_review_flags",
        ),
    )

    kind: FlagKind = Field(sa_type=String(16))
    subject: str = Field(max_length=64)  # the procedure code or the document id
    reference: str = Field(max_length=100)
    legal_version: int
    cause: FlagCause = Field(
        default=FlagCause.changed,
        sa_type=String(16),
        sa_column_kwargs={"server_default": "changed"},
    )
    raised_at: dt.datetime = Field(default_factory=utcnow)
    # The day the review is due: raised + the province's N working days (review_deadline.py);
    # None for flags raised before issue 20's deadline existed.
    due_on: dt.date | None = None
    reviewed_by: str | None = Field(default=None, max_length=200)
    reviewed_at: dt.datetime | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ConformityAnnouncement(TenantOwned, table=True):
    __tablename__ = "conformity_announcements"
    __table_args__ = (
        *one_per_agency("conformity_announcements"),
        # A merge leaves each merged agency its own record; the new agency gets one of its own
        # (after_merge) rather than several rows clashing on the unique key.
        {"info": {"keeps_agency": True}},
    )

    status: IsoStatus = Field(default=IsoStatus.not_started, sa_type=String(32))
    building_since: dt.date | None = None
    announced_on: dt.date | None = None
    decision_number: str | None = Field(default=None, max_length=100)
    reannounce_since: dt.date | None = None
    reannounce_reason: str | None = Field(default=None, max_length=300)
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    # The last announcement: who made it, the scope it covers, when the DOST was notified.
    announced_by: str | None = Field(default=None, max_length=200)
    announced_scope: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    dost_notified_at: dt.datetime | None = None
    notice_event_id: int | None = Field(default=None, sa_type=BigInteger)


KEEPERS = (Role.iso_secretary, Role.leader)


async def open_flags(session: AsyncSession, province_id: int, agency_id: int) -> int:
    return (
        await session.execute(
            select(func.count())
            .select_from(ReviewFlag)
            .where(
                ReviewFlag.province_id == province_id,
                ReviewFlag.agency_id == agency_id,
                col(ReviewFlag.reviewed_at).is_(None),
            )
        )
    ).scalar_one()


async def agency_row(session: AsyncSession, province_id: int, agency_id: int) -> Agency:
    """The agency row, or NOT_FOUND."""
    agency = await session.get(Agency, (province_id, agency_id))
    if agency is None:
        raise NotFound("no such agency", "không tìm thấy cơ quan")
    return agency


async def announcement(
    session: AsyncSession,
    province_id: int,
    agency_id: int,
    actor: str = "system",
    create: bool = True,
) -> ConformityAnnouncement | None:
    """The agency's announcement details; missing ones are created from the agency's status
    unless `create` is false."""
    if create:
        return await _current(session, province_id, agency_id, actor)
    return await find_one(
        session, ConformityAnnouncement, province_id=province_id, agency_id=agency_id
    )


async def _current(
    session: AsyncSession, province_id: int, agency_id: int, actor: str
) -> ConformityAnnouncement:
    row = await find_one(
        session, ConformityAnnouncement, province_id=province_id, agency_id=agency_id
    )
    if row is None:
        agency = await agency_row(session, province_id, agency_id)
        row = ConformityAnnouncement(
            province_id=province_id,
            agency_id=agency_id,
            status=agency.iso_status,
            building_since=agency.iso_status_since
            if value(agency.iso_status) == IsoStatus.building.value
            else None,
            updated_by=actor,
        )
        session.add(row)
    return row


async def _set(
    session: AsyncSession,
    row: ConformityAnnouncement,
    status: IsoStatus,
    actor: str,
    since: dt.date,
    data: dict[str, Any],
) -> ConformityAnnouncement:
    before = value(row.status)
    row.status, row.updated_by, row.updated_at = status, actor, utcnow()
    agency = await agency_row(session, row.province_id, row.agency_id)
    agency.iso_status, agency.iso_status_since = status, since
    session.add(agency)
    return await record(session, row, actor, f"conformity.{status.value}", {"from": before, **data})


async def start_building(
    session: AsyncSession, principal: Principal, province_id: int, agency_id: int, *, since: dt.date
) -> ConformityAnnouncement:
    require_role(principal, *KEEPERS)
    row = await _current(session, province_id, agency_id, principal.subject)
    if value(row.status) != IsoStatus.not_started.value:
        raise invalid_transition("conformity", row.status, IsoStatus.building.value)
    row.building_since = since
    return await _set(
        session, row, IsoStatus.building, principal.subject, since, {"since": since.isoformat()}
    )


async def announce(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    agency_id: int,
    *,
    decision_number: str,
    announced_on: dt.date,
) -> ConformityAnnouncement:
    """The leader announces conformity (first time, or again after a legal change)."""
    require_role(principal, Role.leader)
    row = await _current(session, province_id, agency_id, principal.subject)
    if value(row.status) not in (IsoStatus.building.value, IsoStatus.to_be_reannounced.value):
        raise invalid_transition("conformity", row.status, IsoStatus.announced.value)
    pending = await open_flags(session, province_id, agency_id)
    if pending:
        raise DomainError(
            f"{pending} procedure(s) or document(s) still await review after a legal change",
            f"còn {pending} thủ tục/tài liệu chưa rà soát sau khi văn bản pháp lý thay đổi",
            code="REVIEW_PENDING",
            pending=pending,
        )
    if row.building_since and announced_on < row.building_since:
        raise DomainError(
            "announcedOn is before the QMS was started",
            "ngày công bố trước ngày bắt đầu xây dựng",
            field="announcedOn",
        )
    decision = require_text(decision_number, "decisionNumber", 100)
    scope = await qms_scope.scope_of(session, province_id, agency_id)
    problems = await prerequisites.unmet(session, province_id, agency_id, scope, announced_on)
    if problems:
        raise DomainError(
            "prerequisites not met: " + "; ".join(p.message for p in problems),
            "chưa đủ điều kiện công bố: " + "; ".join(p.message_vi for p in problems),
            code="PREREQUISITES_UNMET",
            problems=[p.as_dict() for p in problems],
        )
    assert scope is not None  # SCOPE_NOT_SET otherwise
    again = value(row.status) == IsoStatus.to_be_reannounced.value
    row.decision_number, row.announced_on = decision, announced_on
    row.reannounce_since, row.reannounce_reason = None, None
    row.announced_by = principal.subject
    row.announced_scope = {"procedures": scope.procedures, "activities": scope.activities}
    await _set(
        session,
        row,
        IsoStatus.announced,
        principal.subject,
        announced_on,
        {"decision_number": decision, "announced_on": announced_on.isoformat()},
    )
    await _notify_dost(session, row, again)
    return row


TOPIC_ANNOUNCED = "qms.conformity.announced"


async def _notify_dost(session: AsyncSession, row: ConformityAnnouncement, again: bool) -> None:
    """The notice to the province's DOST (Circular 26/2014/TT-BKHCN): an outbox event in the
    announcement's transaction, its id and time kept on the announcement."""
    agency = await agency_row(session, row.province_id, row.agency_id)
    event = await outbox.add_event(
        session,
        TOPIC_ANNOUNCED,
        {
            "province_id": row.province_id,
            "agency_id": row.agency_id,
            "agency_code": agency.code,
            "decision_number": row.decision_number,
            "announced_on": row.announced_on.isoformat() if row.announced_on else None,
            "reannouncement": again,
            "scope": row.announced_scope,
            "recipient": "dost",
        },
        province_id=row.province_id,
        agency_id=row.agency_id,
    )
    row.notice_event_id, row.dost_notified_at = event.id, event.created_at
    session.add(row)


async def set_scope(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    agency_id: int,
    *,
    procedures: Sequence[str],
    activities: Sequence[str],
) -> ConformityScope:
    """The ISO secretary or leader sets the agency's QMS scope. A real change (not the same
    lists again) is a scope change: the audit and review must follow it, and an announced
    agency must re-announce."""
    require_role(principal, *KEEPERS)
    codes = await qms_scope.checked_procedures(session, agency_id, procedures)
    tasks = qms_scope.clean_activities(activities)
    if not codes:
        raise DomainError(
            "procedures: name at least one adopted procedure",
            "procedures: cần ít nhất một thủ tục cơ quan đã áp dụng",
            code="EMPTY_SCOPE",
            field="procedures",
        )
    row = await qms_scope.scope_of(session, province_id, agency_id)
    if row is not None and row.procedures == codes and row.activities == tasks:
        return row
    if row is None:
        row = ConformityScope(province_id=province_id, agency_id=agency_id, set_by="")
    row.activities, row.set_by, row.set_at = tasks, principal.subject, utcnow()
    qms_scope.changed(row, "phạm vi được xác định lại", codes)
    await record(
        session,
        row,
        principal.subject,
        "conformity.scope_set",
        {"procedures": codes, "activities": tasks},
    )
    await require_reannouncement(
        session, province_id, agency_id, principal.subject, "phạm vi áp dụng thay đổi"
    )
    return row


async def scope_changed(
    session: AsyncSession,
    province_id: int,
    agency_id: int,
    actor: str,
    reason: str,
    procedures: list[str] | None = None,
) -> None:
    """Something outside the scope mutation changed what the QMS covers (an adoption, a drop,
    a merge): record it on the scope and require re-announcement."""
    row = await qms_scope.scope_of(session, province_id, agency_id)
    if row is not None:
        await record(
            session,
            qms_scope.changed(row, reason, procedures),
            actor,
            "conformity.scope_changed",
            {"reason": reason, "procedures": row.procedures},
        )
    await require_reannouncement(session, province_id, agency_id, actor, reason)


async def after_adoption(session: AsyncSession, adoption: ProcedureAdoption, actor: str) -> None:
    """Adoption listener: a procedure adopted outside the agency's scope changes what its QMS
    must cover; re-adopting one inside the scope (new time limit, ...) does not."""
    row = await qms_scope.scope_of(session, adoption.province_id, adoption.agency_id)
    if row is not None and adoption.procedure_code in row.procedures:
        return
    await scope_changed(
        session,
        adoption.province_id,
        adoption.agency_id,
        actor,
        f"áp dụng thêm thủ tục {adoption.procedure_code}",
    )


async def procedure_dropped(
    session: AsyncSession, province_id: int, agency_id: int, procedure_code: str, actor: str
) -> None:
    """An adoption ended (catalogue.drop): the procedure leaves the scope and the agency must
    re-announce (Decision 19/2014/QĐ-TTg art. 4: the announcement covers the QMS's scope)."""
    row = await qms_scope.scope_of(session, province_id, agency_id)
    kept = [c for c in row.procedures if c != procedure_code] if row is not None else None
    await scope_changed(
        session, province_id, agency_id, actor, f"thôi áp dụng thủ tục {procedure_code}", kept
    )


async def after_drop(session: AsyncSession, adoption: ProcedureAdoption, actor: str) -> None:
    """Drop listener: the procedure leaves the scope; its open review flags close (there is
    nothing left to review: a flag would otherwise block the re-announcement for ever)."""
    flags = (
        (
            await session.execute(
                select(ReviewFlag).where(
                    ReviewFlag.province_id == adoption.province_id,
                    ReviewFlag.agency_id == adoption.agency_id,
                    ReviewFlag.kind == FlagKind.procedure,
                    ReviewFlag.subject == adoption.procedure_code,
                    col(ReviewFlag.reviewed_at).is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    for flag in flags:
        flag.reviewed_by, flag.reviewed_at = actor, utcnow()
        flag.note = "thôi áp dụng thủ tục"
        await record(session, flag, actor, "review_flag.clear", {"reason": "procedure.dropped"})
    await procedure_dropped(
        session, adoption.province_id, adoption.agency_id, adoption.procedure_code, actor
    )


async def require_reannouncement(
    session: AsyncSession, province_id: int, agency_id: int, actor: str, reason: str
) -> None:
    """A legal change touched an announced agency: back to "to be re-announced"."""
    row = await _current(session, province_id, agency_id, actor)
    if value(row.status) != IsoStatus.announced.value:
        return  # not announced yet: announcing waits for the review flags anyway
    today = utcnow().date()
    row.reannounce_since, row.reannounce_reason = today, reason[:300]
    await _set(session, row, IsoStatus.to_be_reannounced, actor, today, {"reason": reason[:300]})


async def after_merge(
    session: AsyncSession, province_id: int, new_id: int, old_ids: list[int], actor: str
) -> None:
    """Merge listener: the new agency's QMS covers the union of the merged agencies' scopes;
    if any of them had announced conformity, the new agency must re-announce (the merged
    documents and procedures are now one QMS), else it keeps building if any was."""
    olds = [
        await find_one(session, ConformityAnnouncement, province_id=province_id, agency_id=old)
        for old in old_ids
    ]
    scopes = [await qms_scope.scope_of(session, province_id, old) for old in old_ids]
    codes = ", ".join([(await agency_row(session, province_id, old)).code for old in old_ids])
    reason = f"sáp nhập cơ quan {codes}"[:300]
    kept = [row for row in scopes if row is not None]
    if kept:
        merged = ConformityScope(
            province_id=province_id,
            agency_id=new_id,
            procedures=sorted({c for row in kept for c in row.procedures}),
            activities=list(dict.fromkeys(a for row in kept for a in row.activities)),
            set_by=actor,
            change_reason=reason,
        )
        await record(session, merged, actor, "conformity.scope_merged", {"from": old_ids})
    statuses = {value(row.status) for row in olds if row is not None}
    started = [row.building_since for row in olds if row is not None and row.building_since]
    if not statuses & {IsoStatus.building.value, *_ANNOUNCED}:
        return
    row = await _current(session, province_id, new_id, actor)
    row.building_since = min(started) if started else utcnow().date()
    if statuses & _ANNOUNCED:
        today = utcnow().date()
        row.reannounce_since, row.reannounce_reason = today, reason
        await _set(session, row, IsoStatus.to_be_reannounced, actor, today, {"reason": reason})
    else:
        await _set(session, row, IsoStatus.building, actor, row.building_since, {"reason": reason})


_ANNOUNCED = {IsoStatus.announced.value, IsoStatus.to_be_reannounced.value}


async def province_progress(
    session: AsyncSession, province_id: int
) -> list[tuple[Agency, ConformityAnnouncement | None]]:
    """Every active agency of the province with its announcement details (the session's scope
    must cover the province)."""
    agencies = (
        (
            await session.execute(
                select(Agency)
                .where(Agency.province_id == province_id, Agency.status == "active")
                .order_by(Agency.code)
            )
        )
        .scalars()
        .all()
    )
    rows = {
        row.agency_id: row
        for row in (
            await session.execute(
                select(ConformityAnnouncement).where(
                    ConformityAnnouncement.province_id == province_id
                )
            )
        ).scalars()
    }
    return [(agency, rows.get(agency.id)) for agency in agencies]
