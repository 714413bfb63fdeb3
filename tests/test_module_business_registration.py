"""The bundled business_registration module: sector data, name key, entry point, GraphQL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eiso.plugins import business_registration as mod
from tests.sector_support import (
    adopt,
    assert_imports_only_the_sdk,
    assert_loads_through_entry_point,
    assert_sector_error,
    assert_steps_add_up,
    enabled_vs_other,
    error_of,
    lifecycle,
    module_app,
    move,
    offices,
    receive,
)

GOOD = {
    "business_name": "Hộ kinh doanh Hoa Sen",
    "business_lines": ["Bán lẻ thực phẩm"],
    "capital_vnd": 50_000_000,
    "address": "Số 1 phố Phố Hiến",
    "owner_citizen_id": "034095001234",
}


def errors(**change) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        mod.HouseholdBusinessData(**{**GOOD, **change})
    return caught.value.errors()


def test_good_business():
    assert mod.HouseholdBusinessData(**GOOD).capital_vnd == 50_000_000


@pytest.mark.parametrize(
    "change, field",
    [
        ({"owner_citizen_id": "03409500123"}, "owner_citizen_id"),
        ({"owner_citizen_id": "0340950012345"}, "owner_citizen_id"),
        ({"owner_citizen_id": "03409500123a"}, "owner_citizen_id"),
        ({"business_lines": []}, "business_lines"),
        ({"business_lines": [" "]}, "business_lines"),
        ({"capital_vnd": -1}, "capital_vnd"),
        ({"address": ""}, "address"),
        ({"business_name": "Cửa hàng Hoa Sen"}, "business_name"),
        ({"business_name": "Hộ kinh doanh"}, "business_name"),
        ({"business_name": "Hộ kinh doanh  ..."}, "business_name"),
    ],
)
def test_each_bad_field_is_named(change, field):
    assert [e["loc"] for e in errors(**change)] == [(field,)]


def test_citizen_id_message_is_bilingual():
    (error,) = errors(owner_citizen_id="123")
    assert "12 chữ số" in error["msg"] and "exactly 12 digits" in error["msg"]


def test_name_key_folds_case_diacritics_and_spaces():
    assert (
        mod.name_key("Hộ kinh doanh  Đồng Tâm")
        == mod.name_key("HỘ KINH DOANH dong tam")
        == "ho kinh doanh dong tam"
    )
    assert mod.name_key("Hộ kinh doanh Hoà") == mod.name_key(
        "Hộ kinh doanh Hòa"
    )  # NFC vs NFD accents
    assert mod.name_key("Hộ kinh doanh An") != mod.name_key("Hộ kinh doanh Ân Khang")


def test_procedures_add_up():
    procedures = {p.code: p for p in mod.eiso_procedures()}
    assert "1.001612" in procedures
    assert procedures["1.001612"].time_limit.amount == 3
    for procedure in procedures.values():
        assert_steps_add_up(procedure)


def test_loads_through_entry_point():
    assert_imports_only_the_sdk(mod)
    assert_loads_through_entry_point("business_registration")


async def test_query_only_for_the_enabling_province(resources, nation_session, callers):
    query = (
        '{ businessRegistration { ok: nameAvailable(name: "Hộ kinh doanh Hoa Sen") '
        'bad: nameAvailable(name: "Hoa Sen") procedures { code } } }'
    )
    mine, other = await enabled_vs_other(
        resources, nation_session, callers, "business_registration", query
    )
    answer = mine["data"]["businessRegistration"]
    assert answer["ok"] is True and answer["bad"] is False
    assert {"code": "1.001612"} in answer["procedures"]
    assert other["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- through GraphQL, as a frontend would ------------------------------------------------------


@pytest.fixture
async def app(resources, callers):
    async with module_app(resources, callers, "business_registration") as application:
        yield application


async def test_each_procedure_through_its_lifecycle(app, resources, callers):
    (office,) = await offices(resources, callers, app, "business_registration", "UBND xã Tiên Lữ")
    for number, procedure in enumerate(mod.PROCEDURES):
        data = {**GOOD, "business_name": f"Hộ kinh doanh Vòng Đời {number}"}
        seen = await lifecycle(office, procedure.code, data)
        assert seen["status"] == "RETURNED" and "034095001234" not in str(seen)
    body = await office(
        "{ businessRegistration { procedures { code timeLimitDays }"
        ' nameAvailable(name: "Hộ kinh doanh Hoa Sen") nameKey(name: "Hộ kinh doanh HOA  Sến") } }'
    )
    module = body["data"]["businessRegistration"]
    assert {p["code"] for p in module["procedures"]} == {"1.001612", "2.000720"}
    assert module["nameAvailable"] is True and module["nameKey"] == "ho kinh doanh hoa sen"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"owner_citizen_id": "03409500123"}, "owner_citizen_id"),
        ({"capital_vnd": -1}, "capital_vnd"),
        ({"business_lines": []}, "business_lines"),
        ({"address": ""}, "address"),
        ({"business_name": "Cửa hàng Hoa Sen"}, "business_name"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_sector_errors_through_graphql(app, resources, callers, change, field):
    (office,) = await offices(resources, callers, app, "business_registration", "UBND xã Lỗi")
    await adopt(office, "1.001612")
    await assert_sector_error(office, "1.001612", GOOD, change, field)


async def test_business_name_is_unique_within_the_commune(app, resources, callers):
    """Decree 168/2025: no two household businesses of a commune share a name; case, diacritics
    and spaces do not make a name different. Another commune may use it; a withdrawn dossier
    frees it; the change procedure does not reserve names."""
    commune, other = await offices(
        resources, callers, app, "business_registration", "UBND xã Hoa", "UBND xã Sen"
    )
    for office in (commune, other):
        for code in ("1.001612", "2.000720"):
            await adopt(office, code)
    first = (await receive(commune, "1.001612", GOOD))["data"]["receiveDossier"]["dossier"]
    for clash in ("Hộ kinh doanh Hoa Sen", "Hộ kinh doanh HOA   sen", "Hộ kinh doanh Hòa Sến"):
        body = await receive(commune, "1.001612", {**GOOD, "business_name": clash})
        assert error_of(body) == ("BUSINESS_NAME_TAKEN", "sectorData.business_name"), body
        assert "đã được đăng ký trong xã" in body["errors"][0]["extensions"]["message_vi"]
        assert "already has this name" in body["errors"][0]["message"]
    assert "errors" not in await receive(
        commune, "1.001612", {**GOOD, "business_name": "Hộ kinh doanh Hoa Sen 2"}
    )
    assert "errors" not in await receive(other, "1.001612", GOOD)
    assert "errors" not in await receive(commune, "2.000720", GOOD)
    listed = await commune(
        '{ dossiers(filter: {procedureCode: "1.001612"}, first: 10) { totalCount } }'
    )
    assert listed["data"]["dossiers"]["totalCount"] == 2  # the refused receipts stored nothing
    withdrawn = await move(commune, first, "withdrawDossier", ', reason: "Công dân rút hồ sơ"')
    assert withdrawn["status"] == "WITHDRAWN"
    assert "errors" not in await receive(
        commune, "1.001612", {**GOOD, "business_name": "Hộ kinh doanh HOA SEN"}
    )
