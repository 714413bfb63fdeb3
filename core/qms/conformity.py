"""The conformity announcement of each agency (Decision 19/2014/QĐ-TTg, Circular 26/2014/TT-BKHCN):
not started → building → announced (with the announcing decision's number and date); a legal
change that touches the agency's procedures or documents sends an announced agency to
"to be re-announced". The agency announces again once every review flag is cleared (announcing
with a flag open is refused with REVIEW_PENDING).

The status itself lives on the agency row (`Agency.iso_status`, which the tenants API already
shows); this table keeps the dates and the decision number, one row per agency.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Column, String, Text, UniqueConstraint, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, NotFound
from eiso.core.qms.common import invalid_transition, record, require_role, require_text, value
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.tenants.models import Agency, IsoStatus, TenantOwned, agency_fk


class FlagKind(str, enum.Enum):
    procedure = "procedure"
    document = "document"


class FlagCause(str, enum.Enum):
    """Why the flag was raised: the basis got a new version, or the version in force expired."""

    changed = "changed"
    expired = "expired"


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
    reviewed_by: str | None = Field(default=None, max_length=200)
    reviewed_at: dt.datetime | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ConformityAnnouncement(TenantOwned, table=True):
    __tablename__ = "conformity_announcements"
    __table_args__ = (
        agency_fk("conformity_announcements"),
        UniqueConstraint("province_id", "agency_id", name="uq_conformity_announcements_agency"),
    )

    status: IsoStatus = Field(default=IsoStatus.not_started, sa_type=String(32))
    building_since: dt.date | None = None
    announced_on: dt.date | None = None
    decision_number: str | None = Field(default=None, max_length=100)
    reannounce_since: dt.date | None = None
    reannounce_reason: str | None = Field(default=None, max_length=300)
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


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
    row.decision_number = require_text(decision_number, "decisionNumber", 100)
    row.announced_on, row.reannounce_since, row.reannounce_reason = announced_on, None, None
    return await _set(
        session,
        row,
        IsoStatus.announced,
        principal.subject,
        announced_on,
        {"decision_number": row.decision_number, "announced_on": announced_on.isoformat()},
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
