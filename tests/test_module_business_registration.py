"""The bundled business_registration module: sector data, name key, entry point, GraphQL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eiso.plugins import business_registration as mod
from tests.sector_support import (
    assert_imports_only_the_sdk,
    assert_loads_through_entry_point,
    assert_steps_add_up,
    enabled_vs_other,
)

GOOD = {"business_name": "Hộ kinh doanh Hoa Sen", "business_lines": ["Bán lẻ thực phẩm"], "capital_vnd": 50_000_000,
            "address": "Số 1 phố Phố Hiến", "owner_citizen_id": "034095001234"}


def errors(**change) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        mod.HouseholdBusinessData(**{**GOOD, **change})
    return caught.value.errors()


def test_good_business():
    assert mod.HouseholdBusinessData(**GOOD).capital_vnd == 50_000_000


@pytest.mark.parametrize("change, field", [
    ({"owner_citizen_id": "03409500123"}, "owner_citizen_id"),
    ({"owner_citizen_id": "0340950012345"}, "owner_citizen_id"),
    ({"owner_citizen_id": "03409500123a"}, "owner_citizen_id"),
    ({"business_lines": []}, "business_lines"), ({"business_lines": [" "]}, "business_lines"),
    ({"capital_vnd": -1}, "capital_vnd"), ({"address": ""}, "address"),
    ({"business_name": "Cửa hàng Hoa Sen"}, "business_name"),
    ({"business_name": "Hộ kinh doanh"}, "business_name"),
    ({"business_name": "Hộ kinh doanh  ..."}, "business_name"),
])
def test_each_bad_field_is_named(change, field):
    assert [e["loc"] for e in errors(**change)] == [(field,)]


def test_citizen_id_message_is_bilingual():
    (error,) = errors(owner_citizen_id="123")
    assert "12 chữ số" in error["msg"] and "exactly 12 digits" in error["msg"]


def test_name_key_folds_case_diacritics_and_spaces():
    assert mod.name_key("Hộ kinh doanh  Đồng Tâm") == mod.name_key("HỘ KINH DOANH dong tam") == "ho kinh doanh dong tam"
    assert mod.name_key("Hộ kinh doanh Hoà") == mod.name_key("Hộ kinh doanh Hòa")  # NFC vs NFD accents
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
    query = ('{ businessRegistration { ok: nameAvailable(name: "Hộ kinh doanh Hoa Sen") '
             'bad: nameAvailable(name: "Hoa Sen") procedures { code } } }')
    mine, other = await enabled_vs_other(resources, nation_session, callers, "business_registration", query)
    answer = mine["data"]["businessRegistration"]
    assert answer["ok"] is True and answer["bad"] is False
    assert {"code": "1.001612"} in answer["procedures"]
    assert other["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
