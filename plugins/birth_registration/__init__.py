"""Hộ tịch: đăng ký khai sinh; liên thông khai sinh – thường trú – thẻ BHYT cho trẻ dưới 6 tuổi.

Civil status: birth registration, and the interlinked procedure (Decree 63/2024/NĐ-CP):
birth registration → permanent residence → health insurance card for a child under six.
A bundled module coded against `eiso.core.sdk` only, exactly as a vendor's module.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum

import strawberry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

import eiso.core.sdk as sdk

NAME = "birth_registration"
SECTOR = "civil_status"
T = sdk.LocalizedText
CITIZEN_ID = re.compile(r"^\d{12}$")
CUTOFF = dt.time(15, 0)
# Agency kinds that own the steps of the interlinked procedure (Step.responsible_unit).
COMMUNE_COMMITTEE = "commune_people_committee"
COMMUNE_POLICE = "commune_police"
SOCIAL_INSURANCE = "social_insurance"


class Sex(str, Enum):
    """Giới tính / Sex."""

    male = "male"
    female = "female"


def _citizen_id(value: str) -> str:
    if not CITIZEN_ID.match(value):
        raise ValueError(
            "số định danh cá nhân phải gồm đúng 12 chữ số / a citizen id is exactly 12 digits"
        )
    return value


def _today() -> dt.date:
    return dt.date.today()


class BirthData(BaseModel):
    """Dữ liệu khai sinh của hồ sơ / The birth data a dossier carries."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    child_full_name: str = Field(
        min_length=1, max_length=200, description="Họ, chữ đệm, tên / Full name"
    )
    date_of_birth: dt.date = Field(description="Ngày sinh (không ở tương lai) / Date of birth")
    sex: Sex = Field(
        description="Giới tính / Sex",
        json_schema_extra={"choices": {"male": ["Nam", "Male"], "female": ["Nữ", "Female"]}},
    )
    place_of_birth: str = Field(
        min_length=1, max_length=500, description="Nơi sinh / Place of birth"
    )
    mother_full_name: str | None = Field(
        default=None, max_length=200, description="Họ tên mẹ / Mother"
    )
    mother_citizen_id: str | None = Field(default=None, description="Số định danh của mẹ (12 số)")
    father_full_name: str | None = Field(
        default=None, max_length=200, description="Họ tên cha / Father"
    )
    father_citizen_id: str | None = Field(default=None, description="Số định danh của cha (12 số)")

    @field_validator("mother_citizen_id", "father_citizen_id")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return None if value is None else _citizen_id(value)

    @field_validator("date_of_birth")
    @classmethod
    def _not_future(cls, value: dt.date) -> dt.date:
        if value > _today():
            raise ValueError(
                "ngày sinh không được ở tương lai / the date of birth is in the future"
            )
        return value

    @model_validator(mode="after")
    def _a_parent(self) -> BirthData:
        # A child of unknown father is registered with the mother only (and vice versa),
        # but a dossier names at least one parent, with a citizen id when a name is given.
        if not (self.mother_full_name or self.father_full_name):
            raise ValueError(
                "cần ít nhất họ tên cha hoặc mẹ / at least one parent's name is required"
            )
        for who in ("mother", "father"):
            if getattr(self, f"{who}_full_name") and not getattr(self, f"{who}_citizen_id"):
                raise ValueError(
                    f"thiếu số định danh của {'mẹ' if who == 'mother' else 'cha'} / "
                    f"{who}_citizen_id is required when {who}_full_name is given"
                )
        return self


class InterlinkedBirthData(BirthData):
    """Liên thông: trẻ phải dưới 6 tuổi / Interlinked: the child must be under six."""

    @field_validator("date_of_birth")
    @classmethod
    def _under_six(cls, value: dt.date) -> dt.date:
        today = _today()
        sixth = _add_years(value, 6)
        if sixth <= today:
            raise ValueError(
                "trẻ phải dưới 6 tuổi để cấp thẻ BHYT liên thông / "
                "the child must be under six for the interlinked procedure"
            )
        return value


def _not_future(value: dt.date) -> dt.date:
    if value > _today():
        raise ValueError("ngày không được ở tương lai / the date is in the future")
    return value


class _StepRecord(BaseModel):
    """What the birth and residence steps share: a 12-digit citizen id and a registration date
    not in the future."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("personal_id", "household_head_citizen_id", check_fields=False)
    @classmethod
    def _id(cls, value: str) -> str:
        return _citizen_id(value)

    @field_validator("registered_on", check_fields=False)
    @classmethod
    def _day(cls, value: dt.date) -> dt.date:
        return _not_future(value)


class BirthStepData(_StepRecord):
    """Bước khai sinh (UBND xã) / What the commune committee records: the register entry."""

    register_number: str = Field(
        min_length=1, max_length=50, description="Số đăng ký khai sinh / Register no."
    )
    personal_id: str = Field(
        description="Số định danh cá nhân cấp cho trẻ (12 số) / The child's personal id"
    )
    registered_on: dt.date = Field(description="Ngày đăng ký / Date registered")


class ResidenceStepData(_StepRecord):
    """Bước thường trú (Công an xã) / What the commune police records: the permanent residence."""

    permanent_address: str = Field(
        min_length=1, max_length=500, description="Nơi thường trú / Address"
    )
    household_head_citizen_id: str = Field(
        description="Số định danh chủ hộ (12 số) / Household head's id"
    )
    registered_on: dt.date = Field(description="Ngày đăng ký thường trú / Date registered")


INSURANCE_CARD = re.compile(r"^TE1\d{12}$")  # children under six: group TE, benefit level 1
SOCIAL_INSURANCE_CODE = re.compile(r"^\d{10}$")


class InsuranceCardData(BaseModel):
    """Bước thẻ BHYT (BHXH) / What the social insurance office records: the child's card."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    card_number: str = Field(description="Mã thẻ BHYT (TE1 + 12 số) / Card number")
    social_insurance_code: str = Field(description="Mã số BHXH (10 số) / Social insurance code")
    valid_from: dt.date = Field(description="Giá trị sử dụng từ / Valid from")
    valid_until: dt.date = Field(description="Đến (ngày trẻ đủ 72 tháng) / Until the child is six")

    @field_validator("card_number")
    @classmethod
    def _card(cls, value: str) -> str:
        if not INSURANCE_CARD.match(value):
            raise ValueError(
                "mã thẻ BHYT của trẻ dưới 6 tuổi là TE1 và 12 chữ số / "
                "a child's card number is TE1 followed by 12 digits"
            )
        return value

    @field_validator("social_insurance_code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not SOCIAL_INSURANCE_CODE.match(value):
            raise ValueError("mã số BHXH gồm đúng 10 chữ số / a social insurance code is 10 digits")
        return value

    @model_validator(mode="after")
    def _period(self) -> InsuranceCardData:
        if self.valid_until <= self.valid_from:
            raise ValueError(
                "valid_until phải sau valid_from / valid_until must be after valid_from"
            )
        return self


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


CIVIL_STATUS_LAW = sdk.LegalBasis(
    reference="60/2014/QH13",
    title="Luật Hộ tịch 2014 (sửa đổi)",
    valid_from=dt.date(2016, 1, 1),
    valid_until=dt.date(2027, 3, 1),
)
DECREE_123 = sdk.LegalBasis(
    reference="123/2015/NĐ-CP",
    title="Hướng dẫn Luật Hộ tịch",
    valid_from=dt.date(2016, 1, 1),
    valid_until=dt.date(2027, 3, 1),
)
DECREE_63 = sdk.LegalBasis(
    reference="63/2024/NĐ-CP",
    title="Thực hiện liên thông 02 nhóm thủ tục hành chính (Điều 7-8)",
    valid_from=dt.date(2024, 7, 25),
)

APPLICATION = sdk.DossierComponent(
    code="to_khai", name=T(vi="Tờ khai đăng ký khai sinh", en="Birth registration form")
)
BIRTH_PAPER = sdk.DossierComponent(
    code="giay_chung_sinh", name=T(vi="Giấy chứng sinh", en="Birth certificate from the hospital")
)
CERTIFICATE = T(vi="Giấy khai sinh", en="Birth certificate")


def _hours(n: int) -> sdk.TimeLimit:
    return sdk.TimeLimit(amount=n, unit="working_hours")


def _wd(n: int) -> sdk.TimeLimit:
    return sdk.TimeLimit(amount=n, unit="working_days")


def _interlinked_step(
    code: str, name: sdk.LocalizedText, unit: str, data_model: type[BaseModel]
) -> sdk.Step:
    """One agency's part of the interlinked procedure: its officer records `data_model`
    within one working day (8 working hours)."""
    return sdk.Step(
        code=code,
        name=name,
        responsible_role="officer",
        responsible_unit=unit,
        budget=_hours(8),
        data_model=data_model,
    )


PROCEDURES = (
    # "Same day" (Civil Status Law art. 16): the close of the working day it is received;
    # received after 15:00 → the next working day. +5 working days when the facts must be
    # verified (an extension the officer records, not a second procedure).
    sdk.Procedure(
        code="1.001193",
        sector=SECTOR,
        level="commune",
        legal_basis=(CIVIL_STATUS_LAW, DECREE_123),
        name=T(vi="Đăng ký khai sinh", en="Birth registration"),
        time_limit=sdk.TimeLimit(amount=0, unit="same_working_day", cutoff=CUTOFF),
        counting=sdk.CountingRules(
            extensions=(
                sdk.Extension(
                    code="verify_facts",
                    reason=T(
                        vi="Cần xác minh thông tin khai sinh", en="The birth facts need verifying"
                    ),
                    amount=5,
                ),
            ),
        ),
        components=(APPLICATION, BIRTH_PAPER),
        steps=(
            sdk.Step(
                code="receive",
                name=T(vi="Tiếp nhận, kiểm tra hồ sơ", en="Receive and check"),
                responsible_role="officer",
                responsible_unit=COMMUNE_COMMITTEE,
                budget=_hours(3),
            ),
            sdk.Step(
                code="record",
                name=T(
                    vi="Ghi Sổ hộ tịch, cấp số định danh",
                    en="Record in the civil register, personal id",
                ),
                responsible_role="officer",
                responsible_unit=COMMUNE_COMMITTEE,
                budget=_hours(3),
            ),
            sdk.Step(
                code="sign",
                name=T(vi="Ký Giấy khai sinh", en="Sign the birth certificate"),
                responsible_role="leader",
                responsible_unit=COMMUNE_COMMITTEE,
                budget=_hours(2),
            ),
        ),
        result=CERTIFICATE,
        fee=sdk.Fee(
            amount=0, note="Miễn lệ phí khi đăng ký đúng hạn / free when registered on time"
        ),
        data_model=BirthData,
    ),
    sdk.Procedure(
        code="LT-KS-TT-BHYT",
        sector=SECTOR,
        level="commune",
        legal_basis=(DECREE_63, CIVIL_STATUS_LAW),
        name=T(
            vi="Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ BHYT cho trẻ dưới 6 tuổi",
            en="Interlinked: birth, permanent residence and health insurance card (under six)",
        ),
        time_limit=sdk.TimeLimit(amount=3, unit="working_days", cutoff=CUTOFF),
        components=(
            APPLICATION,
            BIRTH_PAPER,
            sdk.DossierComponent(
                code="to_khai_cu_tru",
                name=T(vi="Tờ khai thay đổi thông tin cư trú", en="Residence change form"),
            ),
            sdk.DossierComponent(
                code="to_khai_bhyt",
                name=T(vi="Tờ khai tham gia BHYT", en="Health insurance declaration"),
            ),
        ),
        steps=(
            _interlinked_step(
                "birth",
                T(vi="Đăng ký khai sinh", en="Birth registration"),
                COMMUNE_COMMITTEE,
                BirthStepData,
            ),
            _interlinked_step(
                "residence",
                T(vi="Đăng ký thường trú", en="Permanent residence"),
                COMMUNE_POLICE,
                ResidenceStepData,
            ),
            _interlinked_step(
                "insurance_card",
                T(vi="Cấp thẻ BHYT", en="Health insurance card"),
                SOCIAL_INSURANCE,
                InsuranceCardData,
            ),
        ),
        result=T(
            vi="Giấy khai sinh, xác nhận thường trú, thẻ BHYT",
            en="Birth certificate, residence confirmation, health insurance card",
        ),
        fee=sdk.Fee(amount=0),
        data_model=InterlinkedBirthData,
    ),
)


@strawberry.type(description="Bước thủ tục / A procedure step")
class BirthRegistrationStep:
    code: str
    name: str
    agency_kind: str | None


@strawberry.type(description="Thủ tục hộ tịch / A civil status procedure")
class BirthRegistrationProcedure:
    code: str
    name: str
    name_en: str
    steps: list[BirthRegistrationStep]


@strawberry.type(description="Đăng ký khai sinh / Birth registration module")
class BirthRegistrationQuery:
    @strawberry.field(description="Các thủ tục của mô-đun / The module's procedures")
    def procedures(self) -> list[BirthRegistrationProcedure]:
        return [
            BirthRegistrationProcedure(
                code=p.code,
                name=p.name.vi,
                name_en=p.name.en,
                steps=[
                    BirthRegistrationStep(
                        code=s.code, name=s.name.vi, agency_kind=s.responsible_unit
                    )
                    for s in p.steps
                ],
            )
            for p in PROCEDURES
        ]


@sdk.hookimpl
def eiso_module() -> sdk.ModuleInfo:
    return sdk.ModuleInfo(
        name=NAME,
        title=T(vi="Đăng ký khai sinh", en="Birth registration"),
        version="0.2.0",
        sector=SECTOR,
        core_api=">=1.3,<2",
    )


@sdk.hookimpl
def eiso_procedures() -> list[sdk.Procedure]:
    return list(PROCEDURES)


@sdk.hookimpl
def eiso_graphql_query() -> type[BirthRegistrationQuery]:
    return BirthRegistrationQuery
