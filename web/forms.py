"""The intake form of a procedure as HTML inputs, and the posted values back as the data the
engine takes. The fields come from the procedure's form definition (GraphQL
`procedure { form }`, core/dossiers/forms.py); the engine validates what is sent and names
the field it refuses, which the page shows next to that input."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# The HTML input of each form type (a field with choices is a select, a boolean a checkbox).
INPUT_TYPES = {
    "string": "text",
    "email": "email",
    "url": "url",
    "date": "date",
    "datetime": "datetime-local",
    "integer": "number",
    "number": "number",
}


def input_name(section: str, field: Mapping[str, Any]) -> str:
    return f"{section}.{field['name']}"


def _typed(kind: str | None, raw: str) -> Any:
    """A posted text as the field's type; text the type refuses is sent as it is, so the
    engine answers BAD_INPUT naming the field."""
    if kind == "integer":
        with contextlib.suppress(ValueError):
            return int(raw)
    elif kind == "number":
        with contextlib.suppress(ValueError):
            return float(raw)
    elif kind == "object":
        with contextlib.suppress(ValueError):
            return json.loads(raw)
    return raw


def _value(field: Mapping[str, Any], raw: str) -> Any:
    for choice in field.get("choices") or ():
        if str(choice["value"]) == raw:
            return choice["value"]
    if field["type"] == "array":
        return [
            _typed(field.get("itemType"), line.strip()) for line in raw.splitlines() if line.strip()
        ]
    return _typed(field["type"], raw.strip())


def posted(
    fields: Iterable[Mapping[str, Any]], form: Mapping[str, Any], section: str
) -> dict[str, Any]:
    """The values of a section's fields in a posted form (empty inputs left out)."""
    values: dict[str, Any] = {}
    for field in fields:
        raw = form.get(input_name(section, field))
        if field["type"] == "boolean":
            if raw is not None or field["required"]:
                values[field["name"]] = raw is not None
            continue
        if not isinstance(raw, str) or not raw.strip():
            continue
        values[field["name"]] = _value(field, raw)
    return values


def field_of_error(field: str | None, sections: Mapping[str, Iterable[Mapping[str, Any]]]) -> str:
    """The input an error's `field` names ("applicant.citizenId", "sectorData.area", "area"),
    or "" when it names none of the form's."""
    if not field:
        return ""
    tail = field.split(".")[-1]
    for section, fields in sections.items():
        for item in fields:
            if item["name"] == tail:
                return input_name(section, item)
    return ""
