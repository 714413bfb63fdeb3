"""Province and agency records: create and look up, always inside the caller's scope."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.infra.db import find_one
from eiso.infra.ids import saved_id
from eiso.tenants.models import Agency, AgencyKind, Province


async def get_province(session: AsyncSession, code: str) -> Province | None:
    return await find_one(session, Province, code=code)


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
    return await find_one(session, Agency, code=code)


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
