"""A province tightens a procedure's counting rules through its agencies' adoptions (issue 17):
an earlier cut-off moves the appointment, a lower supplement limit refuses the extra request;
loosening is refused (COUNTING_LOOSER); another agency's adoption keeps the procedure's rules."""

from __future__ import annotations

import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue, engine
from eiso.core.dossiers.models import ProcedureAdoption
from eiso.core.plugins.activation import set_module
from eiso.infra.clock import aware
from eiso.infra.db import find_one
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_counting_engine import CAL, CUT, REGISTRY, act, at, refused, scope


@pytest.fixture
async def agencies(resources):
    """Two communes of one province, both adopting CUT as the procedure declares it."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Thắt Chặt")
        made = [
            await ensure_agency(session, province, unique_code("A"), name, AgencyKind.commune)
            for name in ("UBND xã Chặt", "UBND xã Thường")
        ]
        await set_module(session, province.id, "test_counting", True, by="test")
    for agency in made:
        await adopt(resources, agency)
    return made


async def adopt(resources, agency, **tightened) -> ProcedureAdoption:
    async with resources.session(scope(agency)) as session, session.begin():
        return await catalogue.adopt(
            session,
            province_id=agency.province_id,
            agency_id=agency.id,
            procedure_code=CUT,
            actor="leader-1",
            **tightened,
        )


async def receive(resources, agency, now):
    async with resources.session(scope(agency)) as session, session.begin():
        got = await engine.receive(
            session,
            agency=agency,
            procedure_code=CUT,
            applicant={"full_name": "Phạm Thị Lan", "phone": "0912345678"},
            sector_data={},
            actor="officer-1",
            calendar=CAL,
            now=now,
        )
    return got.dossier


async def test_loosening_is_refused(resources, agencies):
    first, _ = agencies
    for tightened, code in (
        ({"cutoff": "16:00"}, "COUNTING_LOOSER"),
        ({"supplements_per_stage": 3}, "COUNTING_LOOSER"),
        ({"supplements_per_stage": 0}, "BAD_INPUT"),
        ({"cutoff": "3pm"}, "BAD_INPUT"),
    ):
        error = await refused(adopt(resources, first, **tightened))
        assert error.code == code, tightened
        assert error.message_vi and error.details["field"] in ("cutoff", "supplementsPerStage")
    assert "thắt chặt" in (await refused(adopt(resources, first, cutoff="15:01"))).message_vi
    # the procedure's own values are not looser: accepted, kept as given
    row = await adopt(resources, first, cutoff="15:00", supplements_per_stage=2)
    assert (row.cutoff, row.supplements_per_stage) == ("15:00", 2)


async def test_an_earlier_cutoff_moves_the_appointment_of_that_agency_only(resources, agencies):
    first, second = agencies
    row = await adopt(resources, first, cutoff="14:00", supplements_per_stage=1)
    assert (row.cutoff, row.supplements_per_stage) == ("14:00", 1)
    # Tue 1 Dec 14:30: after the first agency's 14:00, before the procedure's 15:00
    tight = await receive(resources, first, at(12, 1, 14, 30))
    usual = await receive(resources, second, at(12, 1, 14, 30))
    assert aware(tight.appointment_at) == at(12, 7, 17)  # counted from Wed: Mon 7 Dec
    assert aware(usual.appointment_at) == at(12, 4, 17)  # counted from Tue: Fri 4 Dec
    assert (tight.cutoff, tight.supplements_per_stage) == ("14:00", 1)
    async with resources.session(scope(second)) as session:
        other = await find_one(session, ProcedureAdoption, agency_id=second.id, procedure_code=CUT)
    assert other is not None and (other.cutoff, other.supplements_per_stage) == (None, None)
    # a clock stop and its resumption recompute the appointment with the same cut-off
    tight = await act(
        resources, first, tight, engine.request_supplement, reason="Thiếu", now=at(12, 2)
    )
    tight = await act(
        resources, first, tight, engine.supplement_received, calendar=CAL, now=at(12, 3)
    )
    assert aware(tight.appointment_at) == at(12, 8, 17)  # one working day stood still


async def test_a_lower_supplement_limit_refuses_the_second_request(resources, agencies):
    first, second = agencies
    await adopt(resources, first, supplements_per_stage=1)
    dossiers = [await receive(resources, agency, at(12, 1)) for agency in (first, second)]
    for agency, d in zip((first, second), dossiers, strict=True):
        d = await act(resources, agency, d, engine.request_supplement, reason="1", now=at(12, 2))
        d = await act(resources, agency, d, engine.supplement_received, calendar=CAL, now=at(12, 3))
        extra = act(resources, agency, d, engine.request_supplement, reason="2", now=at(12, 3))
        if agency is first:
            error = await refused(extra)
            assert error.code == "SUPPLEMENT_ALREADY_USED" and error.details["limit"] == 1
        else:  # the procedure's two
            assert (await extra).status == 5


async def test_adopt_procedure_through_graphql(client, callers, agencies):
    first, _ = agencies
    officer = Principal(
        f"officer-{first.code}",
        scope(first),
        frozenset({Role.officer}),
        province_id=first.province_id,
        agency_id=first.id,
    )
    query = (
        "mutation($c: String!, $t: String, $s: Int) { adoptProcedure(procedureCode: $c, "
        "cutoff: $t, supplementsPerStage: $s) { code } }"
    )

    async def call(variables: dict) -> dict:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": {"c": CUT, **variables}},
            headers=callers.issue(officer),
        )
        return response.json()

    body = await call({"t": "16:00"})
    assert body["errors"][0]["extensions"]["code"] == "COUNTING_LOOSER"
    assert body["errors"][0]["extensions"]["message_vi"].startswith("cutoff: 16:00 muộn hơn")
    body = await call({"t": "14:00", "s": 1})
    assert body["data"]["adoptProcedure"]["code"] == CUT
