"""Đăng ký kinh doanh: đăng ký thành lập và thay đổi hộ kinh doanh.

Business registration: household business registration and changes.
A bundled module coded against `eiso.core.sdk` only, exactly as a vendor's module.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

import strawberry
from pydantic import BaseModel, ConfigDict, field_validator

import eiso.core.sdk as sdk

NAME = "business_registration"
SECTOR = "business_registration"
T = sdk.LocalizedText
PREFIX = "Hộ kinh doanh"
CITIZEN_ID = re.compile(r"^\d{12}$")


def name_key(name: str) -> str:
    """Khoá so trùng tên: bỏ dấu, không phân biệt hoa thường, gộp khoảng trắng.

    The key two household business names collide on within a commune: case, diacritics
    (đ → d included) and runs of spaces are ignored. The uniqueness check in the database
    compares these keys."""
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(bare.casefold().split())


_PREFIX_KEY = name_key(PREFIX)


def check_name(name: str) -> str:
    """The name must be "Hộ kinh doanh" followed by a proper name (Decree 168/2025)."""
    name = " ".join(name.split())
    if not name.startswith(PREFIX + " "):
        raise ValueError(
            f'tên phải bắt đầu bằng "{PREFIX}" và một tên riêng / '
            f'the name must start with "{PREFIX}" followed by a proper name'
        )
    proper = name[len(PREFIX) :].strip()
    if not any(c.isalnum() for c in proper):
        raise ValueError(
            'thiếu tên riêng sau "Hộ kinh doanh" / a proper name must follow the prefix'
        )
    return name


class HouseholdBusinessData(BaseModel):
    """Dữ liệu hộ kinh doanh của hồ sơ / The household business data a dossier carries."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The intake form's labels: Vietnamese, English (docs/plugins.md).
    business_name: str = sdk.form_field(
        "Tên hộ kinh doanh",
        "Business name",
        description='Tên hộ kinh doanh ("Hộ kinh doanh" + tên riêng) / Name ("Hộ kinh doanh" '
        "and a proper name)",
        min_length=1,
        max_length=200,
    )
    business_lines: list[str] = sdk.form_field(
        "Ngành, nghề kinh doanh", "Lines of business", min_length=1
    )
    capital_vnd: int = sdk.form_field(
        "Vốn kinh doanh (VND)",
        "Capital (VND)",
        description="Vốn kinh doanh (VND, ≥ 0) / Capital (VND, ≥ 0)",
        ge=0,
    )
    address: str = sdk.form_field(
        "Địa điểm kinh doanh", "Business address", min_length=1, max_length=500
    )
    owner_citizen_id: str = sdk.form_field(
        "Số định danh cá nhân của chủ hộ",
        "Owner's personal id number",
        description="Số định danh cá nhân của chủ hộ (12 chữ số) / Owner's citizen id (12 digits)",
        # the field validator checks it; the form shows the rule
        json_schema_extra={"pattern": r"^\d{12}$"},
    )

    @field_validator("business_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("business_lines")
    @classmethod
    def _lines(cls, value: list[str]) -> list[str]:
        lines = [line.strip() for line in value]
        if any(not line for line in lines):
            raise ValueError("ngành nghề không được để trống / a line of business is empty")
        return lines

    @field_validator("owner_citizen_id")
    @classmethod
    def _citizen_id(cls, value: str) -> str:
        if not CITIZEN_ID.match(value):
            raise ValueError(
                "số định danh cá nhân phải gồm đúng 12 chữ số / a citizen id is exactly 12 digits"
            )
        return value


DECREE_168 = sdk.LegalBasis(
    reference="168/2025/NĐ-CP",
    title="Nghị định về đăng ký doanh nghiệp",
    valid_from=dt.date(2025, 7, 1),
)
CIRCULAR_68 = sdk.LegalBasis(
    reference="68/2025/TT-BTC",
    title="Biểu mẫu đăng ký doanh nghiệp, hộ kinh doanh",
    valid_from=dt.date(2025, 7, 1),
)
BASIS = (DECREE_168, CIRCULAR_68)
# An online dossier received in the last office hour counts from the next working day.
LAST_HOUR = dt.time(16, 0)


def _steps() -> tuple[sdk.Step, ...]:
    """Each step: one working day (8 office hours) of the business registration office."""
    return tuple(
        sdk.Step(
            code=code,
            name=T(vi=vi, en=en),
            responsible_role=role,
            responsible_unit="business_registration_office",
            budget=sdk.TimeLimit(amount=8, unit="working_hours"),
        )
        for code, role, vi, en in (
            ("receive", "officer", "Tiếp nhận hồ sơ", "Receive the dossier"),
            (
                "check",
                "officer",
                "Kiểm tra tính hợp lệ, tên hộ kinh doanh",
                "Check validity and the business name",
            ),
            ("issue", "leader", "Cấp giấy chứng nhận", "Issue the certificate"),
        )
    )


CERTIFICATE = T(
    vi="Giấy chứng nhận đăng ký hộ kinh doanh", en="Household business registration certificate"
)
APPLICATION = sdk.DossierComponent(
    code="giay_de_nghi",
    name=T(vi="Giấy đề nghị đăng ký hộ kinh doanh", en="Registration application"),
)

# Decree 168/2025/NĐ-CP: a household business may not take the proper name of one already
# registered in the same commune (the commune level registers household businesses since
# 1 July 2025). eiso holds the name for every live registration dossier of the commune.
UNIQUE_NAME = sdk.UniqueField(
    field="business_name",
    namespace="household_business_name",
    error_code="BUSINESS_NAME_TAKEN",
    message=T(
        vi="tên hộ kinh doanh đã được đăng ký trong xã (không phân biệt hoa thường, dấu)",
        en="a household business of this commune already has this name"
        " (case and diacritics ignored)",
    ),
)

# Both registrations: the commune, 3 working days, the same steps, certificate and data.
_registration = functools.partial(
    sdk.Procedure,
    sector=SECTOR,
    level="commune",
    legal_basis=BASIS,
    time_limit=sdk.TimeLimit(amount=3, unit="working_days", cutoff=LAST_HOUR),
    steps=_steps(),
    result=CERTIFICATE,
    data_model=HouseholdBusinessData,
)

PROCEDURES = (
    _registration(
        code="1.001612",
        name=T(vi="Đăng ký thành lập hộ kinh doanh", en="Household business registration"),
        components=(
            APPLICATION,
            sdk.DossierComponent(
                code="uy_quyen",
                name=T(
                    vi="Biên bản họp thành viên hộ gia đình (nếu hộ gia đình đăng ký)",
                    en="Minutes of the household members (family registration)",
                ),
                required=False,
            ),
        ),
        unique_fields=(UNIQUE_NAME,),
    ),
    # National code 2.000720 ("Đăng ký thay đổi nội dung đăng ký hộ kinh doanh"): README.
    _registration(
        code="2.000720",
        name=T(
            vi="Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
            en="Change of household business registration details",
        ),
        components=(
            sdk.DossierComponent(
                code="thong_bao",
                name=T(
                    vi="Thông báo thay đổi nội dung đăng ký hộ kinh doanh",
                    en="Notice of changed registration details",
                ),
            ),
        ),
    ),
)


@strawberry.type(description="Thủ tục đăng ký hộ kinh doanh / A business registration procedure")
class BusinessRegistrationProcedure(sdk.ProcedureSummary):
    pass


@strawberry.type(description="Đăng ký kinh doanh / Business registration module")
class BusinessRegistrationQuery:
    @strawberry.field(description="Các thủ tục của mô-đun / The module's procedures")
    def procedures(self) -> list[BusinessRegistrationProcedure]:
        return [BusinessRegistrationProcedure.of(p) for p in PROCEDURES]

    @strawberry.field(
        description="Tên có đúng mẫu không; trùng tên trong xã được kiểm tra khi tiếp nhận "
        "(BUSINESS_NAME_TAKEN) / Is the name well-formed; the commune's uniqueness "
        "is checked on receipt (BUSINESS_NAME_TAKEN)"
    )
    def name_available(self, name: str) -> bool:
        try:
            check_name(name)
        except ValueError:
            return False
        return name_key(name) != _PREFIX_KEY

    @strawberry.field(description="Khoá so trùng tên / The name's comparison key")
    def name_key(self, name: str) -> str:
        return name_key(name)


@sdk.hookimpl
def eiso_module() -> sdk.ModuleInfo:
    return sdk.ModuleInfo(
        name=NAME,
        title=T(vi="Đăng ký hộ kinh doanh", en="Household business registration"),
        version="0.3.0",
        sector=SECTOR,
        core_api=">=1.4,<2",
    )


@sdk.hookimpl
def eiso_procedures() -> list[sdk.Procedure]:
    return list(PROCEDURES)


@sdk.hookimpl
def eiso_graphql_query() -> type[BusinessRegistrationQuery]:
    return BusinessRegistrationQuery
