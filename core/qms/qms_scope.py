"""The QMS scope of an agency (phạm vi áp dụng HTQLCL, Decision 19/2014/QĐ-TTg Art. 2; the
scope stated in the announcing decision, Circular 26/2014/TT-BKHCN): the administrative
procedures the QMS covers, chosen from those the agency adopted, and the other activities it
covers (internal administration, ...).

`changed_at` is the last change of what the QMS must cover: the scope set anew, a procedure
adopted outside it or dropped from it, a merge of agencies. The internal audit and the
management review that an announcement needs must come after it (core/qms/prerequisites.py).

One row per agency. A merge of agencies leaves the rows with the merged agencies (`keeps_agency`)
and gives the new agency the union of their scopes (core/qms/conformity.py `after_merge`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import JSON, Column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, select

from eiso.core.dossiers.models import ProcedureAdoption, ProcedureRecord
from eiso.core.errors import DomainError
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.tenants.models import TenantOwned, one_per_agency

MAX_ACTIVITIES = 50
MAX_ACTIVITY = 300
MAX_PROCEDURES = 1000


class ConformityScope(TenantOwned, table=True):
    __tablename__ = "conformity_scopes"
    __table_args__ = (
        *one_per_agency("conformity_scopes"),
        # A merge must not clash on the unique agency key: the new agency gets its own row.
        {"info": {"keeps_agency": True}},
    )

    procedures: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    activities: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    set_by: str = Field(max_length=200)
    set_at: dt.datetime = Field(default_factory=utcnow)
    changed_at: dt.datetime = Field(default_factory=utcnow)
    change_reason: str = Field(default="", max_length=300)


async def scope_of(
    session: AsyncSession, province_id: int, agency_id: int
) -> ConformityScope | None:
    return await find_one(session, ConformityScope, province_id=province_id, agency_id=agency_id)


async def scopes_of_province(session: AsyncSession, province_id: int) -> dict[int, ConformityScope]:
    """Every agency's scope in the province, by agency id (one query)."""
    rows = await session.execute(
        select(ConformityScope).where(col(ConformityScope.province_id) == province_id)
    )
    return {row.agency_id: row for row in rows.scalars()}


def clean_activities(activities: Sequence[str]) -> list[str]:
    """The activities trimmed, without blanks or repeats (order kept); BAD_INPUT when too many
    or too long."""
    cleaned = list(dict.fromkeys(a.strip() for a in activities if a and a.strip()))
    if len(cleaned) > MAX_ACTIVITIES:
        raise DomainError(
            f"activities: at most {MAX_ACTIVITIES}",
            f"activities: tối đa {MAX_ACTIVITIES} hoạt động",
            field="activities",
        )
    for i, activity in enumerate(cleaned):
        if len(activity) > MAX_ACTIVITY:
            raise DomainError(
                f"activities.{i}: longer than {MAX_ACTIVITY} characters",
                f"activities.{i}: dài quá {MAX_ACTIVITY} ký tự",
                field=f"activities.{i}",
            )
    return cleaned


async def checked_procedures(
    session: AsyncSession, agency_id: int, codes: Sequence[str]
) -> list[str]:
    """The codes, sorted and without repeats, each a procedure of the catalogue
    (UNKNOWN_PROCEDURE) that the agency adopted (PROCEDURE_NOT_ADOPTED)."""
    wanted = sorted({code.strip() for code in codes if code and code.strip()})
    if len(wanted) > MAX_PROCEDURES:
        raise DomainError(
            f"procedures: at most {MAX_PROCEDURES}",
            f"procedures: tối đa {MAX_PROCEDURES} thủ tục",
            field="procedures",
        )
    known = set(
        (
            await session.execute(
                select(col(ProcedureRecord.code)).where(col(ProcedureRecord.code).in_(wanted))
            )
        ).scalars()
    )
    _all_in(
        wanted,
        known,
        "no such procedure ",
        "không có thủ tục ",
        error_code="UNKNOWN_PROCEDURE",
    )
    _all_in(
        wanted,
        await adopted_codes(session, agency_id, wanted),
        "not adopted by this agency: ",
        "cơ quan chưa áp dụng thủ tục ",
        error_code="PROCEDURE_NOT_ADOPTED",
    )
    return wanted


def _all_in(wanted: list[str], found: set[str], en: str, vi: str, *, error_code: str) -> None:
    """`error_code` naming the procedures of `wanted` not `found` (`en`, `vi`: what they
    are)."""
    missing = [procedure for procedure in wanted if procedure not in found]
    if missing:
        raise DomainError(
            f"procedures: {en}{', '.join(missing)}",
            f"procedures: {vi}{', '.join(missing)}",
            code=error_code,
            field="procedures",
            procedures=missing,
        )


async def adopted_codes(
    session: AsyncSession, agency_id: int, among: Iterable[str] | None = None
) -> set[str]:
    """The procedure codes the agency adopted (`among` those given, if any)."""
    query = select(col(ProcedureAdoption.procedure_code)).where(
        col(ProcedureAdoption.agency_id) == agency_id
    )
    if among is not None:
        query = query.where(col(ProcedureAdoption.procedure_code).in_(list(among)))
    return set((await session.execute(query)).scalars())


def changed(
    row: ConformityScope, reason: str, procedures: list[str] | None = None
) -> ConformityScope:
    """Mark what the QMS covers as changed now (and replace its procedures if given)."""
    if procedures is not None:
        row.procedures = procedures
    row.changed_at, row.change_reason = utcnow(), reason[:300]
    return row
