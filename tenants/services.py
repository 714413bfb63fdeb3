"""Province and agency records: create and look up, always inside the caller's scope."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.infra.ids import saved_id
from eiso.tenants.models import Agency, AgencyKind, Province


async def get_province(session: AsyncSession, code: str) -> Province | None:
    return (
        await session.execute(select(Province).where(col(Province.code) == code))
    ).scalar_one_or_none()


async def ensure_province(session: AsyncSession, code: str, name: str) -> Province:
    """Create the province, or return the existing one with that code (idempotent)."""
    province = await get_province(session, code)
    if province is None:
        province = Province(code=code, name=name)
        province.refresh_folded()
        session.add(province)
        await session.flush()
    return province


async def get_agency_by_code(session: AsyncSession, code: str) -> Agency | None:
    return (
        await session.execute(select(Agency).where(col(Agency.code) == code))
    ).scalar_one_or_none()


async def ensure_agency(
    session: AsyncSession,
    province: Province,
    code: str,
    name: str,
    kind: AgencyKind,
    parent: Agency | None = None,
) -> Agency:
    agency = await get_agency_by_code(session, code)
    if agency is None:
        agency = Agency(
            province_id=saved_id(province),
            code=code,
            name=name,
            kind=kind,
            parent_id=parent.id if parent else None,
        )
        agency.refresh_folded()
        session.add(agency)
        await session.flush()
    return agency
