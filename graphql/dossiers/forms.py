"""`Procedure.form`: the intake form a frontend builds from the module's pydantic models
(core/dossiers/forms.py): the applicant, the sector data, each step's data; fields with their
types, constraints, choices and labels in Vietnamese and English, and as JSON Schema."""

from __future__ import annotations

from typing import Any

import strawberry
from pydantic import BaseModel
from strawberry.scalars import JSON

from eiso.core.dossiers import forms
from eiso.core.dossiers.applicant import Applicant
from eiso.core.plugins.declarations import Procedure


def procedure_of(info: strawberry.Info, procedure_code: str) -> Procedure | None:
    """The loaded module's declaration of the procedure (None: no loaded module has it)."""
    state = getattr(getattr(info.context.request, "app", None), "state", None)
    registry = getattr(state, "plugins", None)
    for procedure in registry.procedures() if registry else ():
        if procedure.code == procedure_code:
            return procedure
    return None


@strawberry.type(description="One of a field's allowed values.")
class FormChoice:
    value: JSON
    label: str = strawberry.field(description="Nhãn tiếng Việt / Vietnamese label.")
    label_en: str


@strawberry.type(description="One field of a form, generated from the module's pydantic model.")
class FormField:
    row: strawberry.Private[forms.FormField]

    @strawberry.field(description="The key in the data object (as errors name it).")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(
        description="string, integer, number, boolean, date, datetime, email, url, array or object."
    )
    def type(self) -> str:
        return self.row.type

    @strawberry.field(description="For an array: the type of its items.")
    def item_type(self) -> str | None:
        return self.row.item_type

    @strawberry.field
    def required(self) -> bool:
        return self.row.required

    @strawberry.field(description="Nhãn tiếng Việt / Vietnamese label.")
    def label(self) -> str:
        return self.row.label

    @strawberry.field(description="English label.")
    def label_en(self) -> str:
        return self.row.label_en

    @strawberry.field
    def description(self) -> str:
        return self.row.description

    @strawberry.field(
        description="JSON Schema constraints: minLength, maxLength, pattern, minimum, maximum, "
        "exclusiveMinimum, exclusiveMaximum, minItems, maxItems, multipleOf (items.* for an "
        "array's items)."
    )
    def constraints(self) -> JSON:
        return JSON(self.row.constraints)

    @strawberry.field(description="The allowed values, when the field has a fixed set.")
    def choices(self) -> list[FormChoice]:
        return [
            FormChoice(value=c.value, label=c.label, label_en=c.label_en) for c in self.row.choices
        ]

    @strawberry.field
    def default(self) -> JSON | None:
        return self.row.default


@strawberry.type(
    description="The fields of one data object (applicant, sector data, a step's data)."
)
class FormSection:
    form: strawberry.Private[forms.Form]

    @strawberry.field
    def title(self) -> str:
        return self.form.title

    @strawberry.field
    def title_en(self) -> str:
        return self.form.title_en

    @strawberry.field
    def fields(self) -> list[FormField]:
        return [FormField(row=f) for f in self.form.fields]

    @strawberry.field(
        description="The model's JSON Schema: `title` Vietnamese, `title_en` English."
    )
    def json_schema(self) -> JSON:
        return JSON(self.form.json_schema)


@strawberry.type(description="The form of one step's own data, filled by the agency holding it.")
class StepForm:
    code: str
    name_vi: str
    name_en: str
    form: FormSection | None = strawberry.field(
        description="Null when the step records no data of its own."
    )


def _section(model: type[BaseModel] | None, by_alias: bool = False) -> FormSection | None:
    return FormSection(form=forms.form_of(model, by_alias)) if model else None


@strawberry.type(
    description="The intake form of a procedure: what `receiveDossier` (applicant, sectorData) "
    "and `completeStep` (stepData) accept."
)
class ProcedureForm:
    procedure: strawberry.Private[Procedure]

    @strawberry.field(description="The applicant (`ApplicantInput`; field names as in GraphQL).")
    def applicant(self) -> FormSection:
        section = _section(Applicant, by_alias=True)
        assert section is not None  # a model is given
        return section

    @strawberry.field(description="The sector data (`sectorData`); null when free-form.")
    def sector(self) -> FormSection | None:
        return _section(self.procedure.data_model)

    @strawberry.field(description="Each step's own data (`completeStep(stepData)`).")
    def steps(self) -> list[StepForm]:
        return [
            StepForm(code=s.code, name_vi=s.name.vi, name_en=s.name.en, form=_section(s.data_model))
            for s in self.procedure.steps
        ]

    @strawberry.field(
        description="The whole form as one JSON Schema object: properties applicant, "
        "sectorData and stepData (step code → schema)."
    )
    def json_schema(self) -> JSON:
        return JSON(whole_schema(self.procedure))


def whole_schema(procedure: Procedure) -> dict[str, Any]:
    sector = procedure.data_model
    steps = {
        s.code: forms.form_of(s.data_model).json_schema for s in procedure.steps if s.data_model
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": procedure.name.vi,
        "title_en": procedure.name.en,
        "type": "object",
        "required": ["applicant", "sectorData"],
        "properties": {
            "applicant": forms.form_of(Applicant, True).json_schema,
            "sectorData": forms.form_of(sector).json_schema if sector else {"type": "object"},
            "stepData": {"type": "object", "properties": steps},
        },
    }
