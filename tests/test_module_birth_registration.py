"""The bundled birth_registration module: sector data, interlinked steps, entry point, GraphQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from eiso.plugins import birth_registration as mod
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

TODAY = dt.date.today()
GOOD = {
    "child_full_name": "Nguyễn Thị An",
    "date_of_birth": TODAY - dt.timedelta(days=10),
    "sex": "female",
    "place_of_birth": "Bệnh viện Bãi Cháy",
    "mother_full_name": "Trần Thị Bình",
    "mother_citizen_id": "022195000111",
    "father_full_name": "Nguyễn Văn Cường",
    "father_citizen_id": "022190000222",
}


def errors(model=mod.BirthData, **change) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        model(**{**GOOD, **change})
    return caught.value.errors()


def test_good_birth():
    assert mod.BirthData(**GOOD).sex is mod.Sex.female
    assert mod.BirthData(**{**GOOD, "father_full_name": None, "father_citizen_id": None})


@pytest.mark.parametrize(
    "change, field",
    [
        ({"date_of_birth": TODAY + dt.timedelta(days=1)}, "date_of_birth"),
        ({"mother_citizen_id": "12345678901"}, "mother_citizen_id"),
        ({"father_citizen_id": "1234567890123"}, "father_citizen_id"),
        ({"sex": "x"}, "sex"),
        ({"child_full_name": ""}, "child_full_name"),
        ({"place_of_birth": ""}, "place_of_birth"),
    ],
)
def test_each_bad_field_is_named(change, field):
    assert [e["loc"] for e in errors(**change)] == [(field,)]


def test_future_birth_message_is_bilingual():
    (error,) = errors(date_of_birth=TODAY + dt.timedelta(days=1))
    assert "tương lai" in error["msg"] and "in the future" in error["msg"]


def test_a_named_parent_needs_a_citizen_id():
    (error,) = errors(mother_citizen_id=None)
    assert "mother_citizen_id is required" in error["msg"]
    (error,) = errors(mother_full_name=None, father_full_name=None)
    assert "at least one parent" in error["msg"]


def test_interlinked_needs_a_child_under_six():
    assert mod.InterlinkedBirthData(**GOOD)
    (error,) = errors(mod.InterlinkedBirthData, date_of_birth=TODAY.replace(year=TODAY.year - 7))
    assert error["loc"] == ("date_of_birth",) and "under six" in error["msg"]


def test_procedures_cutoff_and_three_agencies():
    procedures = {p.code: p for p in mod.eiso_procedures()}
    birth = procedures["1.001193"]
    assert birth.time_limit.cutoff == dt.time(15, 0)
    assert (birth.time_limit.unit, birth.time_limit.amount) == ("same_working_day", 0)
    [verify] = birth.counting.extensions
    assert (verify.code, verify.amount, verify.unit) == ("verify_facts", 5, "working_days")
    assert birth.fee.amount == 0
    linked = procedures["LT-KS-TT-BHYT"]
    assert [s.responsible_unit for s in linked.steps] == [
        "commune_people_committee",
        "commune_police",
        "social_insurance",
    ]
    assert any(b.reference == "63/2024/NĐ-CP" for b in linked.legal_basis)
    for procedure in procedures.values():
        assert_steps_add_up(procedure)


def test_loads_through_entry_point():
    assert_imports_only_the_sdk(mod)
    assert_loads_through_entry_point("birth_registration")


def test_plugins_list_shows_all_four_loaded():
    eiso = Path(sys.executable).with_name("eiso")
    result = subprocess.run(
        [str(eiso), "plugins", "list"],
        capture_output=True,
        text=True,
        check=False,
        env={"EISO_PLUGINS": ",".join(NAMES), "COLUMNS": "200", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if any(n in line for n in NAMES)]
    assert len(rows) == 4 and all("loaded" in row for row in rows), result.stdout


NAMES = ["land_use_rights", "construction_permits", "business_registration", "birth_registration"]


async def test_query_only_for_the_enabling_province(resources, nation_session, callers):
    query = "{ birthRegistration { procedures { code steps { code agencyKind } } } }"
    mine, other = await enabled_vs_other(
        resources, nation_session, callers, "birth_registration", query
    )
    codes = {p["code"]: p for p in mine["data"]["birthRegistration"]["procedures"]}
    assert [s["agencyKind"] for s in codes["LT-KS-TT-BHYT"]["steps"]][1] == "commune_police"
    assert other["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- through GraphQL, as a frontend would ------------------------------------------------------

STEP_DATA = {
    "birth": {
        "register_number": "KS-01",
        "personal_id": "022326000777",
        "registered_on": str(TODAY),
    },
    "residence": {
        "permanent_address": "Tổ 5, phường Hà Lầm",
        "household_head_citizen_id": "022190000333",
        "registered_on": str(TODAY),
    },
    "insurance_card": {
        "card_number": "TE1220123456789",
        "social_insurance_code": "2201234567",
        "valid_from": str(TODAY),
        "valid_until": str(TODAY.replace(year=TODAY.year + 6)),
    },
}
WIRE = {**GOOD, "date_of_birth": str(GOOD["date_of_birth"])}


@pytest.fixture
async def app(resources, callers):
    async with module_app(resources, callers, "birth_registration") as application:
        yield application


async def test_each_procedure_through_its_lifecycle(app, resources, callers):
    """Both procedures at one agency (the interlinked one with no step mapped elsewhere: the
    receiving agency holds every step; tests/test_transfer.py hands it across three)."""
    (office,) = await offices(resources, callers, app, "birth_registration", "UBND xã Bãi Cháy")
    for procedure in mod.PROCEDURES:
        seen = await lifecycle(office, procedure.code, WIRE, STEP_DATA)
        assert seen["status"] == "RETURNED" and "Nguyễn Thị An" not in str(seen)
    body = await office("{ birthRegistration { procedures { code steps { code agencyKind } } } }")
    assert {p["code"] for p in body["data"]["birthRegistration"]["procedures"]} == {
        "1.001193",
        "LT-KS-TT-BHYT",
    }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"date_of_birth": str(TODAY + dt.timedelta(days=1))}, "date_of_birth"),
        ({"mother_citizen_id": "12345678901"}, "mother_citizen_id"),
        ({"father_citizen_id": "1234567890123"}, "father_citizen_id"),
        ({"sex": "x"}, "sex"),
        ({"child_full_name": ""}, "child_full_name"),
        ({"place_of_birth": ""}, "place_of_birth"),
    ],
)
async def test_sector_errors_through_graphql(app, resources, callers, change, field):
    (office,) = await offices(resources, callers, app, "birth_registration", "UBND xã Lỗi")
    await adopt(office, "1.001193")
    await assert_sector_error(office, "1.001193", WIRE, change, field)


@pytest.mark.parametrize(
    "model, data, change, field",
    [
        (mod.BirthStepData, STEP_DATA["birth"], {"personal_id": "0223260007"}, "personal_id"),
        (
            mod.BirthStepData,
            STEP_DATA["birth"],
            {"registered_on": TODAY + dt.timedelta(days=1)},
            "registered_on",
        ),
        (
            mod.ResidenceStepData,
            STEP_DATA["residence"],
            {"household_head_citizen_id": "x" * 12},
            "household_head_citizen_id",
        ),
        (
            mod.ResidenceStepData,
            STEP_DATA["residence"],
            {"permanent_address": ""},
            "permanent_address",
        ),
        (
            mod.InsuranceCardData,
            STEP_DATA["insurance_card"],
            {"card_number": "TE12201234567"},
            "card_number",
        ),
        (
            mod.InsuranceCardData,
            STEP_DATA["insurance_card"],
            {"social_insurance_code": "220123456"},
            "social_insurance_code",
        ),
    ],
)
def test_each_bad_step_field_is_named(model, data, change, field):
    with pytest.raises(ValidationError) as caught:
        model(**{**data, **change})
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_the_interlinked_steps_carry_their_data_models():
    linked = {p.code: p for p in mod.PROCEDURES}["LT-KS-TT-BHYT"]
    assert [s.data_model for s in linked.steps] == [
        mod.BirthStepData,
        mod.ResidenceStepData,
        mod.InsuranceCardData,
    ]
