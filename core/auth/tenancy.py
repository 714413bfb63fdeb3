"""The tenant an account or an OAuth client belongs to: named by code when a command creates
one, and the scope its tokens carry."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.errors import NotFound
from eiso.tenants.models import Agency, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import get_agency_by_code, get_province

T = TypeVar("T")


def _found(row: T | None, kind: str, kind_vi: str, code: str) -> T:
    if row is None:
        raise NotFound(
            f"{kind}: no {kind} with code {code!r}", f"{kind}: không có {kind_vi} mã {code!r}"
        )
    return row


async def agency_by_code(session: AsyncSession, code: str) -> Agency:
    return _found(await get_agency_by_code(session, code), "agency", "cơ quan", code)


async def province_by_code(session: AsyncSession, code: str) -> Province:
    return _found(await get_province(session, code), "province", "tỉnh", code)


def scope_of_ids(province_id: int | None, agency_id: int | None) -> TenantScope | None:
    """The scope of an account or client bound to an agency (its `agency_id`) or to a province
    (`province_id` only); None when it is bound to neither."""
    if agency_id is not None:
        return TenantScope.agencies([agency_id], [] if province_id is None else [province_id])
    if province_id is not None:
        return TenantScope.province(province_id)
    return None
