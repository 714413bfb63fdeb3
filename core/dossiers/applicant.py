"""The applicant of a dossier (personal data: never public, logged, audited or in events):
one typed shape for every procedure, with Vietnamese and English labels that the intake form
(`Procedure.form.applicant`) publishes. Stored as a JSON object with these snake_case keys;
older rows may carry `name`, `organization` or `id_number`, which `read` still understands."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from eiso.core.errors import DomainError


def _label(vi: str, en: str, **more: Any) -> Any:
    """A field labelled in Vietnamese (the JSON Schema `title`) and English (`title_en`)."""
    return Field(default=None, title=vi, json_schema_extra={"title_en": en}, **more)


CITIZEN_ID = r"^(\d{9}|\d{12})$"  # CCCD / personal id: 12 digits (9 on an old identity card)
PHONE = r"^\+?[0-9][0-9 .-]{6,18}[0-9]$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Applicant(BaseModel):
    """Người nộp hồ sơ / The applicant: a person (full name) or an organisation (its name)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        alias_generator=to_camel,
        populate_by_name=True,
        title="Người nộp hồ sơ",
        # `_named` below, in JSON Schema (the aliases: the form names fields as GraphQL does)
        json_schema_extra={
            "title_en": "Applicant",
            "anyOf": [{"required": ["fullName"]}, {"required": ["organisation"]}],
        },
    )

    full_name: str | None = _label("Họ và tên", "Full name", min_length=1, max_length=200)
    citizen_id: str | None = _label(
        "Số định danh cá nhân (CCCD)", "Personal id number", pattern=CITIZEN_ID
    )
    phone: str | None = _label("Số điện thoại", "Phone", pattern=PHONE)
    email: str | None = _label("Thư điện tử", "E-mail", max_length=254, pattern=EMAIL)
    address: str | None = _label("Địa chỉ", "Address", max_length=500)
    organisation: str | None = _label("Tên tổ chức", "Organisation", min_length=1, max_length=300)
    tax_code: str | None = _label("Mã số thuế", "Tax code", pattern=r"^\d{10}(-\d{3})?$")
    representative: str | None = _label(
        "Người đại diện theo pháp luật", "Legal representative", max_length=200
    )

    @model_validator(mode="after")
    def _named(self) -> Applicant:
        if not (self.full_name or self.organisation):
            raise ValueError("a full name or an organisation is required")
        return self


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """The applicant as stored (snake_case keys, empty fields left out), or BAD_INPUT naming
    the first wrong field (`applicant.citizenId`)."""
    try:
        return Applicant.model_validate(data).model_dump(exclude_none=True)
    except ValidationError as error:
        first = error.errors()[0]
        # named as GraphQL names it (the alias), whichever spelling came in
        fields = Applicant.model_fields
        path = ".".join(str(fields[p].alias if p in fields else p) for p in first["loc"])
        field = f"applicant.{path}" if path else "applicant.fullName"
        raise DomainError(
            f"{field}: {first['msg']}",
            f"{field}: thông tin người nộp hồ sơ không hợp lệ ({_vi(first['type'])})",
            code="BAD_INPUT",
            field=field,
        ) from None


def _vi(kind: str) -> str:
    return {
        "string_pattern_mismatch": "sai định dạng",
        "string_too_long": "quá dài",
        "string_too_short": "không được để trống",
        "extra_forbidden": "trường không được hỗ trợ",
        "value_error": "cần họ và tên hoặc tên tổ chức",
    }.get(kind, "giá trị không hợp lệ")


_LEGACY = {"name": "full_name", "organization": "organisation", "id_number": "citizen_id"}


def read(stored: dict[str, Any] | None) -> dict[str, Any]:
    """A stored applicant in today's keys (older rows' synonyms mapped), unknown keys left out."""
    stored = stored or {}
    known = set(Applicant.model_fields)
    out = {k: v for k, v in stored.items() if k in known}
    for old, new in _LEGACY.items():
        if stored.get(old) and not out.get(new):
            out[new] = stored[old]
    return {k: str(v) for k, v in out.items() if v not in (None, "")}


def display_name(stored: dict[str, Any] | None) -> str:
    """The name a slip prints: the person, else the organisation."""
    a = read(stored)
    return a.get("full_name") or a.get("organisation") or ""
