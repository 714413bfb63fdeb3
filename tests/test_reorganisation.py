"""Merging provinces and agencies keeps every row, records the merge, and says where rows came
from."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from eiso.tenants.models import Agency, AgencyKind, Province, Unit
from eiso.tenants.reorganisation import (
    AgencyLineage,
    Reorganisation,
    ReorganisationError,
    absorbed_agencies,
    merge_agencies,
    merge_provinces,
    origin_of,
)
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code


async def _province_with_communes(session, name: str, communes: int = 2):
    province = await ensure_province(session, unique_code("P"), name)
    root = await ensure_agency(
        session, province, unique_code("A"), f"UBND {name}", AgencyKind.people_committee
    )
    made = []
    for index in range(communes):
        agency = await ensure_agency(
            session, province, unique_code("A"), f"Xã {index}", AgencyKind.commune, root
        )
        session.add(
            Unit(
                province_id=province.id,
                agency_id=agency.id,
                code="TN",
                name=f"Bộ phận một cửa {index}",
            )
        )
        made.append(agency)
    return province, root, made


async def test_merge_provinces_moves_agencies_and_rows(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        a, _, _ = await _province_with_communes(session, "Tỉnh Tuyên Quang")
        b, b_root, b_communes = await _province_with_communes(session, "Tỉnh Hà Giang")
    async with resources.session(TenantScope.nation()) as session, session.begin():
        record = await merge_provinces(session, a.code, b.code, by="national-admin")
    async with resources.session(TenantScope.province(a.id)) as session:
        codes = set((await session.execute(select(Agency.code))).scalars())
        assert {b_root.code, *(c.code for c in b_communes)} <= codes
        units = (await session.execute(select(func.count()).select_from(Unit))).scalar_one()
        assert units == 4  # A's two and B's two
        moved = (
            await session.execute(select(Agency).where(Agency.code == b_communes[0].code))
        ).scalar_one()
        assert (moved.id, moved.parent_id) == (
            b_communes[0].id,
            b_root.id,
        )  # ids and hierarchy kept
    async with resources.session(TenantScope.province(b.id)) as session:
        assert (await session.execute(select(Unit))).first() is None
    async with resources.session(TenantScope.nation()) as session:
        gone = await session.get(Province, b.id)
        assert (gone.status, gone.merged_into_id) == ("merged", a.id)
        saved = await session.get(Reorganisation, record.id)
        assert (saved.kind, saved.from_codes, saved.into_code, saved.done_by) == (
            "merge_provinces",
            [b.code],
            a.code,
            "national-admin",
        )
        lineage = (
            (
                await session.execute(
                    select(AgencyLineage).where(AgencyLineage.reorganisation_id == record.id)
                )
            )
            .scalars()
            .all()
        )
        assert {(row.from_province_id, row.into_province_id) for row in lineage} == {(b.id, a.id)}
        assert len(lineage) == 3
    async with resources.session(TenantScope.nation()) as session:
        with pytest.raises(ReorganisationError) as error:
            await merge_provinces(session, a.code, b.code, by="x")
        assert error.value.code == "CONFLICT"


async def test_merge_communes_into_a_new_one(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province, root, communes = await _province_with_communes(session, "Tỉnh Quảng Ninh", 3)
        child = await ensure_agency(
            session, province, unique_code("A"), "Trạm y tế", AgencyKind.other, communes[0]
        )
        units = {
            u.agency_id: u.id
            for u in (
                await session.execute(select(Unit).where(Unit.province_id == province.id))
            ).scalars()
        }
    new_code = unique_code("A")
    async with resources.session(TenantScope.nation()) as session, session.begin():
        new, record = await merge_agencies(
            session,
            province.code,
            [c.code for c in communes[:2]],
            code=new_code,
            name="Xã Tiên Yên",
            by="province-admin",
            parent_code=root.code,
        )
    async with resources.session(TenantScope.agencies([new.id], [province.id])) as session:
        mine = set((await session.execute(select(Unit.id))).scalars())
        assert mine == {
            units[communes[0].id],
            units[communes[1].id],
        }  # the new tenant's figures include theirs
        assert await origin_of(session, "units", province.id, units[communes[0].id]) == [
            communes[0].id
        ]
    async with resources.session(TenantScope.nation()) as session:
        olds = (
            (await session.execute(select(Agency).where(Agency.id.in_([c.id for c in communes]))))
            .scalars()
            .all()
        )
        state = {a.id: (a.status, a.merged_into_id) for a in olds}
        assert state[communes[0].id] == ("merged", new.id) and state[communes[2].id] == (
            "active",
            None,
        )
        assert (await session.get(Agency, (province.id, child.id))).parent_id == new.id
        assert await absorbed_agencies(session, province.id, new.id) == {
            (province.id, communes[0].id),
            (province.id, communes[1].id),
        }
        assert (await session.get(Reorganisation, record.id)).kind == "merge_agencies"
        assert (await session.get(Agency, (province.id, new.id))).name_folded == "xa tien yen"


@pytest.mark.parametrize(
    "problem, code", [("missing", "NOT_FOUND"), ("one", "BAD_INPUT"), ("taken", "CONFLICT")]
)
async def test_bad_agency_merges_change_nothing(resources, problem, code):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province, root, communes = await _province_with_communes(session, "Tỉnh Thử")
    from_codes = {
        "missing": [communes[0].code, "NOPE"],
        "one": [communes[0].code],
        "taken": [c.code for c in communes],
    }[problem]
    new_code = root.code if problem == "taken" else unique_code("A")
    async with resources.session(TenantScope.nation()) as session:
        with pytest.raises(ReorganisationError) as error:
            async with session.begin():
                await merge_agencies(
                    session, province.code, from_codes, code=new_code, name="X", by="x"
                )
        assert error.value.code == code
    async with resources.session(TenantScope.nation()) as session:
        assert (await session.get(Agency, (province.id, communes[0].id))).status == "active"


async def test_a_merge_needs_the_nation_scope(resources):
    async with resources.session(TenantScope.province(1)) as session:
        with pytest.raises(ReorganisationError):
            await merge_provinces(session, "A", "B", by="x")


async def _audited(session, agency, n: int) -> None:
    from eiso.core import audit

    for i in range(n):
        await audit.append(
            session,
            province_id=agency.province_id,
            agency_id=agency.id,
            actor="officer",
            action="test",
            entity_type="probe",
            entity_id=i,
        )


async def test_audit_chains_survive_both_kinds_of_merge(resources):
    """Province merge re-homes each chain; agency merge leaves each old chain whole."""
    from eiso.core import audit

    async with resources.session(TenantScope.nation()) as session, session.begin():
        a, _, a_communes = await _province_with_communes(session, "Tỉnh Lào Cai")
        b, _, b_communes = await _province_with_communes(session, "Tỉnh Yên Bái")
        for agency in (*a_communes, *b_communes):
            await _audited(session, agency, 3)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await merge_provinces(session, a.code, b.code, by="national-admin")
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await merge_agencies(
            session,
            a.code,
            [c.code for c in (*a_communes, *b_communes)],
            code=unique_code("N"),
            name="Xã Hợp Nhất",
            kind=AgencyKind.commune,
            by="admin",
        )
    async with resources.session(TenantScope.province(a.id)) as session:
        heads = {h.agency_id: h for h in await audit.chain_heads(session)}
        for agency in (*a_communes, *b_communes):
            assert heads[agency.id].seq == 3
        assert await audit.verify(session) == []


async def merge_two(resources, province_code: str, first, second, name: str):
    """`first` and `second` merged into a new agency `name` (the national administrator)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        new, _ = await merge_agencies(
            session,
            province_code,
            [first.code, second.code],
            code=unique_code("A"),
            name=name,
            by="national-admin",
        )
    return new


async def test_merged_communes_that_adopted_one_procedure_keep_one_adoption(resources):
    """The first agency named keeps its adoption of a procedure both adopted; the other's
    stays with it (merged); adoptions only one had move."""
    from eiso.core.dossiers import catalogue
    from eiso.core.dossiers.models import ProcedureAdoption
    from tests.test_procedures import registry_with
    from tests.test_qms_loop import adopt_in

    both, only = unique_code("9."), unique_code("9.")
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry_with(both, only))
        province, _root, (first, second) = await _province_with_communes(session, "Tỉnh Lào Cai", 2)
    await adopt_in(resources, first, both)
    await adopt_in(resources, second, both, only)
    columns = (ProcedureAdoption.id, ProcedureAdoption.agency_id, ProcedureAdoption.procedure_code)

    async def adoptions() -> dict[int, tuple[int, str]]:
        async with resources.session(TenantScope.nation()) as session:
            found = await session.execute(
                select(*columns).where(ProcedureAdoption.procedure_code.in_([both, only]))
            )
            return {row.id: (row.agency_id, row.procedure_code) for row in found}

    before = {place: row_id for row_id, place in (await adoptions()).items()}
    new = await merge_two(resources, province.code, first, second, "Xã Bảo Thắng")
    assert await adoptions() == {
        before[(first.id, both)]: (new.id, both),
        before[(second.id, only)]: (new.id, only),
        before[(second.id, both)]: (second.id, both),
    }
