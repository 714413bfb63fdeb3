"""The intake form of a procedure, generated from the pydantic models that validate its data:
the applicant (core/dossiers/applicant.py), the sector data (`Procedure.data_model`) and each
step's data (`Step.data_model`). A frontend builds its form from this, so what it asks is
exactly what the engine accepts.

Labels: a field's JSON Schema `title` is its Vietnamese label and `json_schema_extra`'s
`title_en` its English one (see docs/plugins.md). A model without them still gets labels: the
description's two halves around " / " (the modules' older "Tên / Name" style), else the
field's name. A choice's labels come from `json_schema_extra={"choices": {value: [vi, en]}}`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

from pydantic import BaseModel

# The JSON Schema keywords a form passes on as constraints.
CONSTRAINTS = (
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "multipleOf",
)
_FORMATS = {"date": "date", "date-time": "datetime", "email": "email", "uri": "url"}


@dataclasses.dataclass(frozen=True)
class Choice:
    value: Any
    label: str
    label_en: str


@dataclasses.dataclass(frozen=True)
class FormField:
    name: str  # the key of the data object, as the engine stores and names it in errors
    type: str  # string, integer, number, boolean, date, datetime, email, url, array, object
    item_type: str | None  # for an array: the type of its items
    required: bool
    label: str
    label_en: str
    description: str
    constraints: dict[str, Any]
    choices: tuple[Choice, ...]
    default: Any


@dataclasses.dataclass(frozen=True)
class Form:
    title: str
    title_en: str
    fields: tuple[FormField, ...]
    json_schema: dict[str, Any]  # the model's JSON Schema, titles in Vietnamese


def _halves(text: str) -> tuple[str, str]:
    vi, _, en = text.partition(" / ")
    return vi.strip(), en.strip()


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The property's own schema: `$ref`s followed, an optional's `null` branch dropped."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        prop = {**branches[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    for key in ("$ref",):
        if key in prop:
            target = defs[prop[key].rsplit("/", 1)[-1]]
            prop = {**target, **{k: v for k, v in prop.items() if k != key}}
    if "allOf" in prop and len(prop["allOf"]) == 1:
        prop = {
            **_resolve(prop["allOf"][0], defs),
            **{k: v for k, v in prop.items() if k != "allOf"},
        }
    return prop


def _type(prop: dict[str, Any]) -> str:
    if "enum" in prop and "type" not in prop:
        return "string"
    kind = str(prop.get("type", "object"))
    return _FORMATS.get(prop.get("format", ""), kind) if kind == "string" else kind


def _labels(name: str, info: Any, prop: dict[str, Any]) -> tuple[str, str, str]:
    """(Vietnamese label, English label, description) of one field."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    description = info.description or ""
    vi_half, en_half = _halves(description)
    plain = name.replace("_", " ")
    label = info.title or vi_half or plain
    label_en = str(extra.get("title_en") or en_half or plain)
    return label, label_en, description


def _choices(prop: dict[str, Any], extra: dict[str, Any]) -> tuple[Choice, ...]:
    named = extra.get("choices") or {}
    values = prop.get("enum") or ([prop["const"]] if "const" in prop else [])
    return tuple(Choice(v, *(named.get(str(v)) or (str(v), str(v)))) for v in values)


def _field(name: str, info: Any, prop: dict[str, Any], required: bool) -> FormField:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    label, label_en, description = _labels(name, info, prop)
    items = prop.get("items") or {}
    return FormField(
        name=name,
        type=_type(prop),
        item_type=_type(items) if prop.get("type") == "array" and items else None,
        required=required,
        label=label,
        label_en=label_en,
        description=description,
        constraints={k: prop[k] for k in CONSTRAINTS if k in prop}
        | {f"items.{k}": items[k] for k in CONSTRAINTS if k in items},
        choices=_choices(prop, extra) or _choices(items, extra),
        default=prop.get("default"),
    )


@functools.cache
def form_of(model: type[BaseModel], by_alias: bool = False) -> Form:
    """The form of `model` (computed once per model: models are classes of loaded modules).
    `by_alias`: fields named by their aliases (the applicant's camelCase GraphQL names)."""
    schema = model.model_json_schema(by_alias=by_alias)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    annotated = copy.deepcopy(schema)
    for key, info in model.model_fields.items():
        name = (info.alias or key) if by_alias else key
        raw = schema["properties"].get(name)
        if raw is None:
            continue
        one = _field(name, info, _resolve(raw, defs), name in required)
        fields.append(one)
        # Vietnamese titles in the JSON Schema, English next to them.
        annotated["properties"][name].update(title=one.label, title_en=one.label_en)
    doc = model.__doc__ or ""
    config_extra = model.model_config.get("json_schema_extra")
    vi_doc, en_doc = _halves(doc.strip().splitlines()[0] if doc.strip() else model.__name__)
    title = str(model.model_config.get("title") or vi_doc)
    title_en = str(
        (config_extra.get("title_en") if isinstance(config_extra, dict) else None)
        or en_doc
        or title
    )
    annotated.update(title=title, title_en=title_en)
    return Form(title, title_en, tuple(fields), annotated)
