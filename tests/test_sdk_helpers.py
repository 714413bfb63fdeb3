"""The SDK's declaration helpers (core API 1.4): `form_field` gives a data model's field the
intake form's labels, `ProcedureSummary` is a procedure as a module's `procedures` field lists
it, under the module's own Strawberry type name."""

from __future__ import annotations

import pydantic
import pytest
import strawberry

from eiso.core.sdk import (
    CORE_API_VERSION,
    LocalizedText,
    Procedure,
    ProcedureSummary,
    Step,
    TimeLimit,
    form_field,
)


class Parcel(pydantic.BaseModel):
    number: int = form_field("Số thửa", "Parcel number", ge=1)
    storeys: int = form_field("Số tầng", "Storeys", description="Số tầng (≥ 1) / Storeys", ge=1)
    owner_id: str = form_field(
        "Số định danh", "Personal id", json_schema_extra={"pattern": r"^\d{12}$"}
    )
    note: str = form_field("Ghi chú", "Note", default="", max_length=20)


def test_form_field_labels_and_constraints():
    properties = Parcel.model_json_schema()["properties"]
    assert properties["number"] == {
        "title": "Số thửa",
        "description": "Số thửa / Parcel number",
        "title_en": "Parcel number",
        "type": "integer",
        "minimum": 1,
    }
    assert properties["storeys"]["description"] == "Số tầng (≥ 1) / Storeys"
    # an extra dict adds to title_en
    assert properties["owner_id"]["title_en"] == "Personal id"
    assert properties["owner_id"]["pattern"] == r"^\d{12}$"
    assert properties["note"]["default"] == ""
    assert Parcel.model_json_schema()["required"] == ["number", "storeys", "owner_id"]
    with pytest.raises(pydantic.ValidationError):
        Parcel(number=0, storeys=1, owner_id="1" * 12)
    with pytest.raises(pydantic.ValidationError):
        Parcel(number=1, storeys=1, owner_id="1" * 12, note="x" * 21)


def procedure(code: str, days: int) -> Procedure:
    return Procedure(
        code=code,
        name=LocalizedText(vi=f"Thủ tục {code}", en=f"Procedure {code}"),
        sector="test",
        time_limit=TimeLimit(amount=days),
        steps=(
            Step(
                code="receive",
                name=LocalizedText(vi="Tiếp nhận", en="Receive"),
                responsible_role="officer",
                budget=TimeLimit(amount=days),
            ),
        ),
        result=LocalizedText(vi="Kết quả", en="Result"),
    )


@strawberry.type(description="Thủ tục thử / A test procedure")
class SampleProcedure(ProcedureSummary):
    pass


@strawberry.type
class SampleQuery:
    @strawberry.field
    def procedures(self) -> list[SampleProcedure]:
        return [SampleProcedure.of(p) for p in (procedure("1.1", 3), procedure("1.2", 15))]


def test_a_procedure_summary_under_the_modules_own_type_name():
    schema = strawberry.Schema(query=SampleQuery)
    sdl = schema.as_str()
    assert '"""Thủ tục thử / A test procedure"""\ntype SampleProcedure {' in sdl
    assert "ProcedureSummary" not in sdl
    result = schema.execute_sync("{ procedures { code name nameEn timeLimitDays } }")
    assert result.errors is None
    assert result.data == {
        "procedures": [
            {"code": "1.1", "name": "Thủ tục 1.1", "nameEn": "Procedure 1.1", "timeLimitDays": 3},
            {"code": "1.2", "name": "Thủ tục 1.2", "nameEn": "Procedure 1.2", "timeLimitDays": 15},
        ]
    }


def test_the_helpers_are_core_api_1_4():
    assert CORE_API_VERSION == "1.6"  # added in 1.4; 1.5 (RuleChange), 1.6 keep them
