"""`ApplicantInput` and `Applicant`: the applicant's typed shape (core/dossiers/applicant.py
validates it and lists the same fields, labelled, in each procedure's form)."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry

from eiso.core.dossiers import applicant as core_applicant


def _field(vi: str, en: str, rule: str = "") -> Any:
    return strawberry.field(default=None, description=f"{vi} / {en}{rule}")


@strawberry.input(
    description="Người nộp hồ sơ / The applicant: personal data, never shown publicly, logged or "
    "audited. A full name or an organisation is required."
)
class ApplicantInput:
    full_name: str | None = _field("Họ và tên", "Full name")
    citizen_id: str | None = _field(
        "Số định danh cá nhân (CCCD)", "Personal id number", " (12 digits; 9 on an old card)"
    )
    phone: str | None = _field("Số điện thoại", "Phone")
    email: str | None = _field("Thư điện tử", "E-mail")
    address: str | None = _field("Địa chỉ", "Address")
    organisation: str | None = _field(
        "Tên tổ chức", "Organisation", " (an organisation files the dossier)"
    )
    tax_code: str | None = _field("Mã số thuế", "Tax code", " (10 digits, or 10-3)")
    representative: str | None = _field("Người đại diện theo pháp luật", "Legal representative")

    def stored(self) -> dict[str, Any]:
        """What the engine receives: the snake_case keys it stores, empty fields left out."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


@strawberry.type(description="Người nộp hồ sơ / The applicant, as stored.")
class Applicant:
    full_name: str | None = _field("Họ và tên", "Full name")
    citizen_id: str | None = _field("Số định danh cá nhân (CCCD)", "Personal id number")
    phone: str | None = _field("Số điện thoại", "Phone")
    email: str | None = _field("Thư điện tử", "E-mail")
    address: str | None = _field("Địa chỉ", "Address")
    organisation: str | None = _field("Tên tổ chức", "Organisation")
    tax_code: str | None = _field("Mã số thuế", "Tax code")
    representative: str | None = _field("Người đại diện theo pháp luật", "Legal representative")

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Applicant:
        """Read a stored applicant (older rows' synonyms understood)."""
        return cls(**core_applicant.read(stored))
