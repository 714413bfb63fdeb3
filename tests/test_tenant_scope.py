"""The tenant scope: the ORM filters every statement, and PostgreSQL's RLS does the same for raw
SQL through the application's connection."""

import pytest
from sqlalchemy import func, select, text

from eiso.tenants.models import Agency, AgencyKind, Unit
from eiso.tenants.scope import TenantScope, TenantScopeError
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code


@pytest.fixture
async def two_tenants(resources):
    """Two provinces, one agency each, with one unit each."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        made = []
        for _ in range(2):
            province = await ensure_province(session, unique_code("P"), "Tỉnh Thử")
            agency = await ensure_agency(
                session, province, unique_code("A"), "Ủy ban nhân dân xã Thử", AgencyKind.commune
            )
            unit = Unit(
                province_id=province.id, agency_id=agency.id, code="TN", name="Bộ phận một cửa"
            )
            session.add(unit)
            made.append((province.id, agency.id, unit.id))
    return made


async def _unit_ids(resources, scope):
    async with resources.session(scope) as session:
        return set((await session.execute(select(Unit.id))).scalars())


async def test_agency_scope_sees_only_its_rows(resources, two_tenants):
    (p1, a1, u1), (p2, _, u2) = two_tenants
    seen = await _unit_ids(resources, TenantScope.agencies([a1], [p1]))
    assert u1 in seen and u2 not in seen
    seen = await _unit_ids(resources, TenantScope.province(p2))
    assert u2 in seen and u1 not in seen
    assert {u1, u2} <= await _unit_ids(resources, TenantScope.nation())


async def test_get_by_primary_key_of_another_tenant_finds_nothing(resources, two_tenants):
    (p1, a1, _), (p2, _, u2) = two_tenants
    async with resources.session(TenantScope.agencies([a1], [p1])) as session:
        found = await session.execute(select(Unit).where(Unit.province_id == p2, Unit.id == u2))
        assert found.scalar_one_or_none() is None
        agencies = set((await session.execute(select(Agency.id))).scalars())
        assert agencies == {a1}


async def test_update_and_delete_stay_in_scope(resources, two_tenants):
    (p1, a1, _), (_, _, u2) = two_tenants
    from sqlalchemy import delete, update

    async with resources.session(TenantScope.agencies([a1], [p1])) as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == u2).values(name="hijacked"))
        await session.execute(delete(Unit).where(Unit.id == u2))
    async with resources.session(TenantScope.nation()) as session:
        unit = (await session.execute(select(Unit).where(Unit.id == u2))).scalar_one()
        assert unit.name == "Bộ phận một cửa"


async def test_writing_outside_the_scope_is_refused(resources, two_tenants):
    (p1, a1, _), (p2, a2, _) = two_tenants
    async with resources.session(TenantScope.agencies([a1], [p1])) as session:
        session.add(Unit(province_id=p2, agency_id=a2, code="X", name="intruder"))
        with pytest.raises(TenantScopeError):
            await session.flush()


async def test_no_scope_fails_closed(resources):
    async with resources.sessionmaker() as session:
        with pytest.raises(TenantScopeError):
            await session.execute(select(Unit))


@pytest.mark.only_backend("postgresql+redis")
async def test_raw_sql_through_the_app_connection_sees_only_the_scope(resources, two_tenants):
    """RLS: with no ORM filter at all, PostgreSQL still hides other tenants' rows."""
    (p1, a1, u1), (_, _, u2) = two_tenants
    async with resources.session(TenantScope.agencies([a1], [p1])) as session:
        rows = set((await session.execute(text("select id from units"))).scalars())
        assert u1 in rows and u2 not in rows
        count = (await session.execute(text("select count(*) from agencies"))).scalar_one()
        assert count == 1
    # No scope at all: nothing is visible.
    async with resources.engine.connect() as connection:
        assert (await connection.execute(text("select count(*) from units"))).scalar_one() == 0


@pytest.mark.only_backend("postgresql+redis")
async def test_app_role_neither_owns_nor_bypasses(resources):
    async with resources.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "select r.rolsuper, r.rolbypassrls, t.tableowner = current_user"
                    " from pg_roles r, pg_tables t"
                    " where r.rolname = current_user and t.tablename = 'units'"
                )
            )
        ).one()
    assert tuple(row) == (False, False, False)


async def test_scope_switch_in_one_process_is_not_cached(resources, two_tenants):
    """The loader-criteria lambda is cached; each session must still get its own ids."""
    (p1, a1, u1), (p2, a2, u2) = two_tenants
    for _ in range(3):
        assert u2 not in await _unit_ids(resources, TenantScope.agencies([a1], [p1]))
        assert u1 not in await _unit_ids(resources, TenantScope.agencies([a2], [p2]))
    async with resources.session(TenantScope.agencies([a1], [p1])) as session:
        assert (await session.execute(select(func.count()).select_from(Unit))).scalar_one() == 1
