"""Typed forms: each procedure publishes the form of its applicant, sector data and step data,
generated from the modules' pydantic models (names, types, required, constraints, choices,
labels in Vietnamese and English) and as JSON Schema; what the form says is what the engine
accepts (a JSON Schema validator agrees with the model on good and bad data)."""

from __future__ import annotations

import jsonschema
import pytest

from eiso.core.plugins.registry import PluginRegistry
from eiso.plugins import birth_registration, business_registration, construction_permits
from eiso.tenants.scope import TenantScope
from tests.test_dossier_graphql import Caller

MODULES = ["business_registration", "construction_permits", "birth_registration"]
FIELD = "name type itemType required label labelEn description constraints default"
FORM = (
    "query($code: String!) { procedure(code: $code) { code module form { "
    "applicant { title fields { name required label labelEn constraints } } "
    f"sector {{ title titleEn fields {{ {FIELD} choices {{ value label labelEn }} }} jsonSchema }} "
    f"steps {{ code nameVi form {{ fields {{ {FIELD} }} jsonSchema }} }} "
    "jsonSchema } } }"
)


@pytest.fixture
async def app(resources, callers):
    from eiso.core.app import create_app
    from eiso.core.dossiers import catalogue

    registry = PluginRegistry.load(MODULES)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry)
    application = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=registry
    )
    async with application.router.lifespan_context(application):
        yield application


class Forms:
    """`await forms[code]`: the answer to `procedure(code) { code module form {...} }`."""

    def __init__(self, app) -> None:
        self.ask = Caller(app, {})

    async def __getitem__(self, code: str) -> dict:
        body = await self.ask(FORM, {"code": code})
        assert "errors" not in body, body
        return body["data"]["procedure"]


@pytest.fixture
def forms(app) -> Forms:
    return Forms(app)


def _fields(section: dict) -> dict[str, dict]:
    return {f["name"]: f for f in section["fields"]}


async def test_business_registration_form(forms):
    code = business_registration.PROCEDURES[0].code
    form = (await forms[code])["form"]
    fields = _fields(form["sector"])
    assert list(fields) == list(business_registration.HouseholdBusinessData.model_fields)
    name = fields["business_name"]
    assert (name["type"], name["required"], name["label"], name["labelEn"]) == (
        "string",
        True,
        "Tên hộ kinh doanh",
        "Business name",
    )
    assert name["constraints"] == {"minLength": 1, "maxLength": 200}
    lines = fields["business_lines"]
    assert (lines["type"], lines["itemType"], lines["constraints"]) == (
        "array",
        "string",
        {"minItems": 1},
    )
    assert fields["capital_vnd"]["type"] == "integer"
    assert fields["capital_vnd"]["constraints"] == {"minimum": 0}
    assert fields["owner_citizen_id"]["constraints"] == {"pattern": r"^\d{12}$"}
    assert (
        form["sector"]["jsonSchema"]["properties"]["capital_vnd"]["title"] == "Vốn kinh doanh (VND)"
    )
    # The applicant's form is ApplicantInput's fields, labelled.
    applicant = _fields(form["applicant"])
    assert applicant["fullName"]["label"] == "Họ và tên"
    assert applicant["citizenId"]["label"] == "Số định danh cá nhân (CCCD)"
    assert applicant["citizenId"]["labelEn"] == "Personal id number"
    assert {"phone", "email", "address", "organisation", "taxCode"} <= set(applicant)


async def test_construction_permits_form(forms):
    for procedure in construction_permits.PROCEDURES:
        form = (await forms[procedure.code])["form"]
        fields = _fields(form["sector"])
        assert set(fields) == set(construction_permits.BuildingData.model_fields)
        assert all(f["required"] and f["label"] and f["labelEn"] for f in fields.values())
        assert fields["storeys"]["type"] == "integer"
        assert fields["storeys"]["constraints"] == {"minimum": 1}
        assert fields["height_m"]["type"] == "number"
        assert fields["height_m"]["constraints"] == {"exclusiveMinimum": 0}
        assert fields["height_m"]["label"] == "Chiều cao công trình (m)"
        assert [s["code"] for s in form["steps"]] == [s.code for s in procedure.steps]


async def test_choices_dates_and_step_forms(forms):
    code = birth_registration.PROCEDURES[0].code
    fields = _fields((await forms[code])["form"]["sector"])
    assert fields["sex"]["choices"] == [
        {"value": "male", "label": "Nam", "labelEn": "Male"},
        {"value": "female", "label": "Nữ", "labelEn": "Female"},
    ]
    assert fields["date_of_birth"]["type"] == "date" and fields["date_of_birth"]["required"]
    assert not fields["mother_full_name"]["required"]
    with_steps = [p for p in birth_registration.PROCEDURES if any(s.data_model for s in p.steps)]
    assert with_steps
    for procedure in with_steps:
        steps = {s["code"]: s for s in (await forms[procedure.code])["form"]["steps"]}
        for step in procedure.steps:
            if step.data_model is None:
                assert steps[step.code]["form"] is None
                continue
            names = [f["name"] for f in steps[step.code]["form"]["fields"]]
            assert names == list(step.data_model.model_fields)


@pytest.mark.parametrize(
    "module, good, bad",
    [
        (
            business_registration,
            {
                "business_name": "Hộ kinh doanh Tạp hóa An",
                "business_lines": ["Bán lẻ"],
                "capital_vnd": 50_000_000,
                "address": "Thôn 1",
                "owner_citizen_id": "001199012345",
            },
            {"capital_vnd": -1},
        ),
        (
            construction_permits,
            {
                "address": "Số 5 phố Hạ Long",
                "parcel_number": 7,
                "map_sheet": 2,
                "parcel_area_m2": 100,
                "footprint_m2": 80,
                "floor_area_m2": 240,
                "storeys": 3,
                "height_m": 11.5,
            },
            {"storeys": 0},
        ),
    ],
)
async def test_the_json_schema_accepts_what_the_model_accepts(forms, module, good, bad):
    code = module.PROCEDURES[0].code
    whole = (await forms[code])["form"]["jsonSchema"]
    model = module.PROCEDURES[0].data_model
    document = {"applicant": {"fullName": "Nguyễn Văn An"}, "sectorData": good}
    model.model_validate(good)
    jsonschema.validate(document, whole)
    wrong = {**document, "sectorData": {**good, **bad}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, whole)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "applicant": {"citizenId": "12"}}, whole)
