"""How an agency applies its QMS, and the province's ISO steering committee (Decision
19/2014/QĐ-TTg; docs/qms.md cites the rules, core/qms/README.md lists what is unverified).

- `QmsProfile`: an agency's standard (TCVN ISO 9001:2008 or 9001:2015, with the date of the
  upgrade to 2015) and whether its QMS is applied on paper or electronically.
- `TrainingRecord`: training and competence (ISO 9001 clause 7.2): who, what training, when,
  and the evidence (a document code or an attachment's reference).
- `SteeringMember`, `SteeringMeeting`: the province's ISO steering committee (province rows,
  seen by the province, its agencies and the nation): members with their role in the
  committee and their agency; meetings with their minutes and decisions.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, Column, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, NotFound, member_of
from eiso.core.qms.common import get_in_scope, record, require_role, require_text
from eiso.core.qms.inspections import require_inspector
from eiso.infra.clock import utcnow
from eiso.infra.db import added
from eiso.infra.ids import new_id
from eiso.tenants.models import (
    Agency,
    Authored,
    TenantOwned,
    agency_fk,
    one_per_agency,
    province_key,
)

KEEPERS = (Role.iso_secretary, Role.leader)


def not_in_future(day: dt.date, field: str) -> None:
    if day > utcnow().date():
        raise DomainError(
            f"{field}: not in the future", f"{field}: không được sau ngày hôm nay", field=field
        )


class Standard(str, enum.Enum):
    iso_9001_2008 = "TCVN ISO 9001:2008"
    iso_9001_2015 = "TCVN ISO 9001:2015"


Medium = enum.StrEnum("Medium", "paper electronic")


# -- the agency's QMS profile -------------------------------------------------------------------


class QmsProfile(TenantOwned, table=True):
    __tablename__ = "qms_profiles"
    __table_args__ = (*one_per_agency("qms_profiles"),)

    standard: Standard = Field(default=Standard.iso_9001_2015, sa_type=String(32))
    upgraded_on: dt.date | None = None
    medium: Medium = Field(default=Medium.paper, sa_type=String(16))
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


async def profile(session: AsyncSession, province_id: int, agency_id: int) -> QmsProfile | None:
    statement = select(QmsProfile).where(
        col(QmsProfile.province_id) == province_id, col(QmsProfile.agency_id) == agency_id
    )
    return (await session.execute(statement)).scalars().first()


async def set_profile(
    session: AsyncSession,
    who: Principal,
    *,
    province_id: int,
    agency_id: int,
    standard: str,
    medium: str,
    upgraded_on: dt.date | None = None,
) -> QmsProfile:
    """The agency's ISO secretary or leader. A 2015 QMS needs the day it was upgraded (or
    built) on; a 2008 QMS has none."""
    require_role(who, *KEEPERS)
    edition = member_of(
        Standard,
        standard,
        "standard",
        "standard: TCVN ISO 9001:2008 or TCVN ISO 9001:2015",
        "standard: TCVN ISO 9001:2008 hoặc TCVN ISO 9001:2015",
    )
    kind = member_of(
        Medium, medium, "medium", "medium: paper or electronic", "medium: paper hoặc electronic"
    )
    if edition == Standard.iso_9001_2015 and upgraded_on is None:
        raise DomainError(
            "upgradedOn: the day the QMS moved to TCVN ISO 9001:2015",
            "upgradedOn: cần ngày chuyển đổi sang TCVN ISO 9001:2015",
            field="upgradedOn",
        )
    if edition == Standard.iso_9001_2008 and upgraded_on is not None:
        raise DomainError(
            "upgradedOn: only for a TCVN ISO 9001:2015 QMS",
            "upgradedOn: chỉ ghi khi đã áp dụng TCVN ISO 9001:2015",
            field="upgradedOn",
        )
    if upgraded_on is not None:
        not_in_future(upgraded_on, "upgradedOn")
    row = await profile(session, province_id, agency_id) or QmsProfile(
        province_id=province_id, agency_id=agency_id, updated_by=who.subject
    )
    row.standard, row.medium, row.upgraded_on = edition, kind, upgraded_on
    row.updated_by, row.updated_at = who.subject, utcnow()
    return await record(
        session, row, who.subject, "qms_profile.set", {"standard": edition.value, "medium": kind}
    )


# -- training and competence (7.2) --------------------------------------------------------------


class TrainingRecord(TenantOwned, Authored, table=True):
    __tablename__ = "training_records"
    __table_args__ = (agency_fk("training_records"),)

    person: str = Field(max_length=200)
    position: str = Field(default="", max_length=200)
    training: str = Field(max_length=500)
    provider: str = Field(default="", max_length=300)
    held_on: dt.date
    # A document code of the agency's register or an attachment reference (sha256, URL).
    evidence: str = Field(max_length=500)


async def record_training(
    session: AsyncSession,
    who: Principal,
    *,
    province_id: int,
    agency_id: int,
    person: str,
    training: str,
    held_on: dt.date,
    evidence: str,
    position: str = "",
    provider: str = "",
) -> TrainingRecord:
    require_role(who, *KEEPERS)
    not_in_future(held_on, "heldOn")
    row = TrainingRecord(
        province_id=province_id,
        agency_id=agency_id,
        person=require_text(person, "person", 200),
        position=(position or "").strip()[:200],
        training=require_text(training, "training", 500),
        provider=(provider or "").strip()[:300],
        held_on=held_on,
        evidence=require_text(evidence, "evidence", 500),
        created_by=who.subject,
    )
    return await record(session, row, who.subject, "training.record")


async def trainings(
    session: AsyncSession, province_id: int, agency_id: int | None = None
) -> list[TrainingRecord]:
    """The records the session's scope shows, newest first (one agency's with `agency_id`)."""
    statement = select(TrainingRecord).where(col(TrainingRecord.province_id) == province_id)
    if agency_id is not None:
        statement = statement.where(col(TrainingRecord.agency_id) == agency_id)
    statement = statement.order_by(col(TrainingRecord.held_on).desc(), col(TrainingRecord.id))
    return list((await session.execute(statement)).scalars())


async def delete_training(
    session: AsyncSession, who: Principal, province_id: int, row_id: int
) -> TrainingRecord:
    require_role(who, *KEEPERS)
    row = await get_in_scope(session, TrainingRecord, province_id, row_id, "hồ sơ đào tạo")
    await record(session, row, who.subject, "training.delete", {"person": row.person})
    await session.delete(row)
    await session.flush()
    return row


# -- the province's ISO steering committee ------------------------------------------------------


class SteeringMember(SQLModel, table=True):
    __tablename__ = "steering_members"

    province_id: int = province_key()
    id: int = Field(default_factory=new_id, sa_type=BigInteger, primary_key=True)
    person: str = Field(max_length=200)
    committee_role: str = Field(max_length=200)  # Trưởng ban, Phó Trưởng ban, Thành viên…
    agency_id: int | None = Field(default=None, sa_type=BigInteger)
    since: dt.date
    until: dt.date | None = None
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class SteeringMeeting(Authored, table=True):
    __tablename__ = "steering_meetings"

    province_id: int = province_key()
    id: int = Field(default_factory=new_id, sa_type=BigInteger, primary_key=True)
    held_on: dt.date
    minutes: str = Field(sa_type=Text)
    decisions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


async def add_member(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    *,
    person: str,
    committee_role: str,
    since: dt.date,
    agency_id: int | None = None,
) -> SteeringMember:
    """The province's administrators; the member's agency must be one of the province's."""
    require_inspector(who, province_id)
    if agency_id is not None and await session.get(Agency, (province_id, agency_id)) is None:
        raise NotFound("no such agency", "không tìm thấy cơ quan")
    row = SteeringMember(
        province_id=province_id,
        person=require_text(person, "person", 200),
        committee_role=require_text(committee_role, "committeeRole", 200),
        agency_id=agency_id,
        since=since,
        updated_by=who.subject,
    )
    return await added(session, row)


async def end_membership(
    session: AsyncSession, who: Principal, province_id: int, member_id: int, until: dt.date
) -> SteeringMember:
    require_inspector(who, province_id)
    row = await session.get(SteeringMember, (province_id, member_id))
    if row is None:
        raise NotFound("no such committee member", "không tìm thấy thành viên ban chỉ đạo")
    if until < row.since:
        raise DomainError(
            "until: not before the member joined",
            "until: không được trước ngày bắt đầu tham gia",
            field="until",
        )
    row.until, row.updated_by, row.updated_at = until, who.subject, utcnow()
    return await added(session, row)


async def members(session: AsyncSession, province_id: int) -> list[SteeringMember]:
    return await _committee_rows(
        session, SteeringMember, province_id, col(SteeringMember.since), col(SteeringMember.id)
    )


_Row = TypeVar("_Row", SteeringMember, SteeringMeeting)


async def _committee_rows(
    session: AsyncSession, model: type[_Row], province_id: int, *order: Any
) -> list[_Row]:
    """The committee's rows of `model` (members or meetings) in the province, in `order`."""
    statement = select(model).where(col(model.province_id) == province_id).order_by(*order)
    return list((await session.execute(statement)).scalars())


async def record_meeting(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    *,
    held_on: dt.date,
    minutes: str,
    decisions: list[str],
) -> SteeringMeeting:
    require_inspector(who, province_id)
    not_in_future(held_on, "heldOn")
    cleaned = [
        require_text(text, f"decisions.{index}", 2000) for index, text in enumerate(decisions)
    ]
    row = SteeringMeeting(
        province_id=province_id,
        held_on=held_on,
        minutes=require_text(minutes, "minutes", 50_000),
        decisions=cleaned,
        created_by=who.subject,
    )
    return await added(session, row)


async def meetings(session: AsyncSession, province_id: int) -> list[SteeringMeeting]:
    return await _committee_rows(
        session,
        SteeringMeeting,
        province_id,
        col(SteeringMeeting.held_on).desc(),
        col(SteeringMeeting.id),
    )
