"""Issue 18: the tenant scope's criteria are built once per scope shape and reused, with the
ids bound per statement: two agencies' sessions, one after the other on the same compiled
statement, each see only their own rows."""

from __future__ import annotations

from sqlmodel import col, select

from eiso.tenants.models import AgencyKind, Unit
from eiso.tenants.scope import TenantScope, _criteria
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code


def test_scopes_of_one_shape_share_their_options():
    first = TenantScope.agencies([1], [2])
    assert _criteria(first) is _criteria(TenantScope.agencies([3, 4], [5]))
    assert _criteria(first) is not _criteria(TenantScope.agencies([1]))  # no provinces named
    assert _criteria(TenantScope.province(1)) is _criteria(TenantScope.province(2, 3))
    assert not _criteria(TenantScope.nation())


async def test_reused_criteria_bind_each_sessions_ids(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Thử Phạm Vi")
        agencies = [
            await ensure_agency(session, province, unique_code("A"), f"Xã {i}", AgencyKind.commune)
            for i in range(2)
        ]
        for agency in agencies:
            session.add(
                Unit(
                    province_id=province.id,
                    agency_id=agency.id,
                    code=f"U{agency.id}",
                    name="Bộ phận một cửa",
                )
            )
    statement = select(col(Unit.agency_id)).where(col(Unit.province_id) == province.id)
    for _ in range(2):  # the second round runs on the compiled statements of the first
        for agency in agencies:
            scope = TenantScope.agencies([agency.id], [province.id])
            async with resources.session(scope) as session:
                assert (await session.execute(statement)).scalars().all() == [agency.id]
    async with resources.session(TenantScope.province(province.id)) as session:
        seen = set((await session.execute(statement)).scalars())
    assert seen == {a.id for a in agencies}
