"""The bundled land_use_rights module: sector data, procedures, entry point, GraphQL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eiso.plugins import land_use_rights as mod
from tests.sector_support import (
    adopt,
    assert_imports_only_the_sdk,
    assert_loads_through_entry_point,
    assert_sector_error,
    assert_steps_add_up,
    enabled_vs_other,
    lifecycle,
    module_app,
    offices,
)

GOOD = {
    "parcel_number": 12,
    "map_sheet": 3,
    "area_m2": 120.5,
    "purpose": "ONT",
    "location": "Thôn 1, xã Tiên Yên",
}


def errors(**change) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        mod.ParcelData(**{**GOOD, **change})
    return caught.value.errors()


def test_good_parcel():
    assert mod.ParcelData(**GOOD).purpose is mod.LandUsePurpose.ONT


@pytest.mark.parametrize(
    "change, field",
    [
        ({"area_m2": 0}, "area_m2"),
        ({"area_m2": -5}, "area_m2"),
        ({"parcel_number": 0}, "parcel_number"),
        ({"map_sheet": 0}, "map_sheet"),
        ({"purpose": "XYZ"}, "purpose"),
        ({"location": "  "}, "location"),
    ],
)
def test_each_bad_field_is_named(change, field):
    assert [e["loc"] for e in errors(**change)] == [(field,)]


def test_procedures_and_codes():
    procedures = {p.code: p for p in mod.eiso_procedures()}
    assert {"1.013978", "1.012753"} <= procedures.keys()
    for procedure in procedures.values():
        assert_steps_add_up(procedure)
        assert procedure.data_model is mod.ParcelData
        assert all(b.valid_from for b in procedure.legal_basis)
    assert procedures["1.013978"].time_limit.amount == 20
    assert procedures["1.013978"].time_limit.unit == "working_days"
    assert set(mod.PURPOSE_NAMES) == set(mod.LandUsePurpose)


def test_loads_through_entry_point():
    assert_imports_only_the_sdk(mod)
    registry = assert_loads_through_entry_point("land_use_rights")
    assert registry.records["land_use_rights"].info.title.vi == "Đất đai"


async def test_query_only_for_the_enabling_province(resources, nation_session, callers):
    query = "{ landUseRights { procedures { code name } landUsePurposes { code name } } }"
    mine, other = await enabled_vs_other(
        resources, nation_session, callers, "land_use_rights", query
    )
    codes = [p["code"] for p in mine["data"]["landUseRights"]["procedures"]]
    assert "1.013978" in codes
    assert {"code": "ONT", "name": "Đất ở tại nông thôn"} in mine["data"]["landUseRights"][
        "landUsePurposes"
    ]
    assert other["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- through GraphQL, as a frontend would ------------------------------------------------------


@pytest.fixture
async def app(resources, callers):
    async with module_app(resources, callers, "land_use_rights") as application:
        yield application


async def test_each_procedure_through_its_lifecycle(app, resources, callers):
    (office,) = await offices(
        resources, callers, app, "land_use_rights", "Văn phòng đăng ký đất đai"
    )
    for procedure in mod.PROCEDURES:
        seen = await lifecycle(office, procedure.code, GOOD)
        assert seen["status"] == "RETURNED"
    body = await office("{ landUseRights { procedures { code } landUsePurposes { code } } }")
    module = body["data"]["landUseRights"]
    assert {p["code"] for p in module["procedures"]} == {p.code for p in mod.PROCEDURES}
    assert "ONT" in {p["code"] for p in module["landUsePurposes"]}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"area_m2": 0}, "area_m2"),
        ({"area_m2": -5}, "area_m2"),
        ({"parcel_number": 0}, "parcel_number"),
        ({"map_sheet": 0}, "map_sheet"),
        ({"purpose": "XYZ"}, "purpose"),
        ({"location": "  "}, "location"),
    ],
)
async def test_sector_errors_through_graphql(app, resources, callers, change, field):
    (office,) = await offices(resources, callers, app, "land_use_rights", "Văn phòng Lỗi")
    await adopt(office, "1.013978")
    await assert_sector_error(office, "1.013978", GOOD, change, field)
