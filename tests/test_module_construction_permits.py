"""The bundled construction_permits module: sector data, procedures, entry point, GraphQL."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from eiso.core.auth.principal import Role
from eiso.core.sdk import finished_dossiers
from eiso.plugins import construction_permits as mod
from tests.sector_support import (
    adopt,
    assert_imports_only_the_sdk,
    assert_loads_through_entry_point,
    assert_sector_error,
    assert_steps_add_up,
    codes,
    enabled_vs_other,
    error_of,
    lifecycle,
    module_app,
    offices,
    post,
    receive,
)

GOOD = {
    "address": "Số 5 phố Hạ Long",
    "parcel_number": 7,
    "map_sheet": 2,
    "parcel_area_m2": 100,
    "footprint_m2": 80,
    "floor_area_m2": 240,
    "storeys": 3,
    "height_m": 11.5,
}


def errors(**change) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        mod.BuildingData(**{**GOOD, **change})
    return caught.value.errors()


def test_good_building():
    assert mod.BuildingData(**GOOD).storeys == 3


@pytest.mark.parametrize(
    "change, field",
    [
        ({"storeys": 0}, "storeys"),
        ({"floor_area_m2": 0}, "floor_area_m2"),
        ({"height_m": 0}, "height_m"),
        ({"parcel_area_m2": -1}, "parcel_area_m2"),
        ({"address": ""}, "address"),
    ],
)
def test_each_bad_field_is_named(change, field):
    assert [e["loc"] for e in errors(**change)] == [(field,)]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"footprint_m2": 120}, "footprint_m2 exceeds parcel_area_m2"),
        ({"floor_area_m2": 300}, "floor_area_m2 exceeds footprint_m2 × storeys"),
        ({"height_m": 40}, "height_m does not match storeys"),
        ({"height_m": 3}, "height_m does not match storeys"),
    ],
)
def test_inconsistent_figures_are_clear(change, words):
    (error,) = errors(**change)
    assert words in error["msg"] and "/" in error["msg"]  # Vietnamese / English


def test_procedures_in_days_add_up():
    procedures = {p.code: p for p in mod.eiso_procedures()}
    assert {"1.013225", "1.013226", "1.013227", "1.013228", "1.013229"} <= procedures.keys()
    assert procedures["1.013225"].time_limit.model_dump() == {
        "amount": 15,
        "unit": "calendar_days",
        "cutoff": None,
    }
    assert procedures["CP-CONG-TRINH"].time_limit.amount == 20
    for procedure in procedures.values():
        assert_steps_add_up(procedure)


def test_loads_through_entry_point():
    assert_imports_only_the_sdk(mod)
    assert_loads_through_entry_point("construction_permits")


async def test_query_only_for_the_enabling_province(resources, nation_session, callers):
    query = "{ constructionPermits { procedures { code timeLimitDays } } }"
    mine, other = await enabled_vs_other(
        resources, nation_session, callers, "construction_permits", query
    )
    assert {"code": "1.013225", "timeLimitDays": 15} in mine["data"]["constructionPermits"][
        "procedures"
    ]
    assert other["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- through GraphQL, as a frontend would ------------------------------------------------------


@pytest.fixture
async def app(resources, callers):
    async with module_app(resources, callers, "construction_permits") as application:
        yield application


async def test_each_procedure_through_its_lifecycle(app, resources, callers):
    (office,) = await offices(
        resources, callers, app, "construction_permits", "UBND phường Hồng Gai"
    )
    for procedure in mod.PROCEDURES:
        seen = await lifecycle(office, procedure.code, GOOD)
        assert seen["status"] == "RETURNED" and seen["timeline"][0]["agency"] == office.agency.name
    body = await office("{ constructionPermits { procedures { code } } }")
    assert {p["code"] for p in body["data"]["constructionPermits"]["procedures"]} == {
        p.code for p in mod.PROCEDURES
    }
    register = (
        "{ constructionPermits { issuedPermits(first: 10) { procedureCode address storeys "
        "returned } } }"
    )
    issued = (await office(register))["data"]["constructionPermits"]["issuedPermits"]
    assert [p["procedureCode"] for p in issued] == [p.code for p in reversed(mod.PROCEDURES)]
    assert all(
        p["returned"] and p["address"] == GOOD["address"] and p["storeys"] == 3 for p in issued
    )


async def test_the_register_shows_only_my_agencys_finished_permits(app, resources, callers):
    mine, other = await offices(
        resources, callers, app, "construction_permits", "UBND phường A", "UBND phường B"
    )
    await lifecycle(mine, "1.013225", GOOD)
    await adopt(mine, "1.013227")
    await receive(
        mine, "1.013227", {**GOOD, "address": "Chưa xong"}
    )  # received, not finished: not listed
    register = "{ constructionPermits { issuedPermits { dossierCode address issuedAt } } }"
    issued = (await mine(register))["data"]["constructionPermits"]["issuedPermits"]
    assert [p["address"] for p in issued] == [GOOD["address"]]
    assert (await other(register))["data"]["constructionPermits"]["issuedPermits"] == []
    # The same register under the one naming rule (a root field, no namespace).
    flat = "{ constructionPermitsIssuedPermits { dossierCode address issuedAt } }"
    assert (await mine(flat))["data"]["constructionPermitsIssuedPermits"] == issued
    assert (await other(flat))["data"]["constructionPermitsIssuedPermits"] == []
    assert error_of(
        await mine("{ constructionPermits { issuedPermits(first: 0) { address } } }")
    ) == ("BAD_INPUT", "first")
    assert codes(await post(app, register)) == [
        "GRAPHQL_VALIDATION_FAILED"
    ]  # anonymous: no province, no module
    auditor = dataclasses.replace(mine.principal, roles=frozenset({Role.auditor}))
    assert codes(await post(app, register, callers.issue(auditor))) == [
        "FORBIDDEN"
    ]  # the `dossiers` rule
    # The SDK's reader takes the caller (a resolver's info.context); a Strawberry info, which
    # modules written for core API 1.1 pass, still works.
    caller = SimpleNamespace(principal=mine.principal, resources=resources)
    for given in (caller, SimpleNamespace(context=caller)):
        records = await finished_dossiers(given, ["1.013225", "1.013227"])
        assert [r.sector_data["address"] for r in records] == [GOOD["address"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"storeys": 0}, "storeys"),
        ({"floor_area_m2": 0}, "floor_area_m2"),
        ({"height_m": 0}, "height_m"),
        ({"parcel_area_m2": -1}, "parcel_area_m2"),
        ({"footprint_m2": 0}, "footprint_m2"),
        ({"address": ""}, "address"),
        ({"parcel_number": 0}, "parcel_number"),
    ],
)
async def test_sector_errors_through_graphql(app, resources, callers, change, field):
    (office,) = await offices(resources, callers, app, "construction_permits", "UBND phường Lỗi")
    await adopt(office, "1.013225")
    await assert_sector_error(office, "1.013225", GOOD, change, field)


async def test_inconsistent_figures_through_graphql(app, resources, callers):
    """A rule across fields (footprint within the parcel) names the data as a whole."""
    (office,) = await offices(
        resources, callers, app, "construction_permits", "UBND phường Nhất quán"
    )
    await adopt(office, "1.013225")
    body = await receive(office, "1.013225", {**GOOD, "footprint_m2": 120})
    assert error_of(body)[
        0
    ] == "INVALID_SECTOR_DATA" and "footprint_m2 exceeds parcel_area_m2" in str(body)
