"""Đất đai: cấp Giấy chứng nhận quyền sử dụng đất lần đầu, đăng ký biến động.

Land: first issuance of the land-use rights certificate, registration of changes.
A bundled module coded against `eiso.core.sdk` only, exactly as a vendor's module.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from pydantic import BaseModel, ConfigDict, Field

import eiso.core.sdk as sdk

NAME = "land_use_rights"
SECTOR = "land"
T = sdk.LocalizedText


class LandUsePurpose(str, Enum):
    """Mã loại đất (Luật Đất đai 2024, Điều 9; ký hiệu theo quy định về bản đồ địa chính).

    Land use purpose codes (Land Law 2024 Art. 9; symbols of the cadastral-map rules)."""

    LUC = "LUC"  # đất chuyên trồng lúa
    LUK = "LUK"  # đất trồng lúa còn lại
    BHK = "BHK"  # đất bằng trồng cây hằng năm khác
    CLN = "CLN"  # đất trồng cây lâu năm
    RSX = "RSX"  # đất rừng sản xuất
    RPH = "RPH"  # đất rừng phòng hộ
    RDD = "RDD"  # đất rừng đặc dụng
    NTS = "NTS"  # đất nuôi trồng thủy sản
    LMU = "LMU"  # đất làm muối
    ONT = "ONT"  # đất ở tại nông thôn
    ODT = "ODT"  # đất ở tại đô thị
    TSC = "TSC"  # đất xây dựng trụ sở cơ quan
    SKC = "SKC"  # đất cơ sở sản xuất phi nông nghiệp
    TMD = "TMD"  # đất thương mại, dịch vụ
    SKK = "SKK"  # đất khu công nghiệp


PURPOSE_NAMES: dict[LandUsePurpose, sdk.LocalizedText] = {
    LandUsePurpose.LUC: T(vi="Đất chuyên trồng lúa", en="Specialised rice land"),
    LandUsePurpose.LUK: T(vi="Đất trồng lúa còn lại", en="Other rice land"),
    LandUsePurpose.BHK: T(vi="Đất bằng trồng cây hằng năm khác", en="Other annual crop land"),
    LandUsePurpose.CLN: T(vi="Đất trồng cây lâu năm", en="Perennial crop land"),
    LandUsePurpose.RSX: T(vi="Đất rừng sản xuất", en="Production forest land"),
    LandUsePurpose.RPH: T(vi="Đất rừng phòng hộ", en="Protection forest land"),
    LandUsePurpose.RDD: T(vi="Đất rừng đặc dụng", en="Special-use forest land"),
    LandUsePurpose.NTS: T(vi="Đất nuôi trồng thủy sản", en="Aquaculture land"),
    LandUsePurpose.LMU: T(vi="Đất làm muối", en="Salt-making land"),
    LandUsePurpose.ONT: T(vi="Đất ở tại nông thôn", en="Rural residential land"),
    LandUsePurpose.ODT: T(vi="Đất ở tại đô thị", en="Urban residential land"),
    LandUsePurpose.TSC: T(vi="Đất xây dựng trụ sở cơ quan", en="Agency office land"),
    LandUsePurpose.SKC: T(
        vi="Đất cơ sở sản xuất phi nông nghiệp", en="Non-agricultural production land"
    ),
    LandUsePurpose.TMD: T(vi="Đất thương mại, dịch vụ", en="Commercial and service land"),
    LandUsePurpose.SKK: T(vi="Đất khu công nghiệp", en="Industrial park land"),
}


class ParcelData(BaseModel):
    """Dữ liệu thửa đất của hồ sơ / The parcel data a land dossier carries."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    parcel_number: int = Field(ge=1, description="Số thửa / Parcel number")
    map_sheet: int = Field(ge=1, description="Số tờ bản đồ / Map sheet number")
    area_m2: float = Field(gt=0, description="Diện tích (m², > 0) / Area (m², > 0)")
    purpose: LandUsePurpose = sdk.form_field(
        "Mục đích sử dụng đất",
        "Land use purpose",
        # the intake form's choices, labelled (core/dossiers/forms.py)
        json_schema_extra={"choices": {c.value: [n.vi, n.en] for c, n in PURPOSE_NAMES.items()}},
    )
    location: str = Field(
        min_length=1, max_length=500, description="Địa chỉ thửa đất / Parcel location"
    )


LAND_LAW = sdk.LegalBasis(
    reference="31/2024/QH15", title="Luật Đất đai 2024", valid_from=dt.date(2024, 8, 1)
)
DECREE_151 = sdk.LegalBasis(
    reference="151/2025/NĐ-CP",
    title="Phân định thẩm quyền chính quyền địa phương 2 cấp, lĩnh vực đất đai",
    valid_from=dt.date(2025, 7, 1),
    valid_until=dt.date(2027, 3, 1),
)
DECREE_226 = sdk.LegalBasis(
    reference="226/2025/NĐ-CP",
    title="Sửa đổi Nghị định hướng dẫn Luật Đất đai",
    valid_from=dt.date(2025, 8, 15),
)
BASIS = (LAND_LAW, DECREE_151, DECREE_226)

COMPONENTS = (
    sdk.DossierComponent(
        code="don",
        name=T(
            vi="Đơn đăng ký đất đai, tài sản gắn liền với đất (Mẫu 04/ĐK)",
            en="Land registration application (form 04/ĐK)",
        ),
    ),
    sdk.DossierComponent(
        code="giay_to",
        name=T(
            vi="Giấy tờ về quyền sử dụng đất (nếu có)",
            en="Documents on the land-use right (if any)",
        ),
        required=False,
    ),
    sdk.DossierComponent(
        code="ban_do",
        name=T(
            vi="Mảnh trích đo bản đồ địa chính (nếu có)", en="Cadastral survey extract (if any)"
        ),
        required=False,
    ),
)


def _wd(n: int) -> sdk.TimeLimit:
    return sdk.TimeLimit(amount=n, unit="working_days")


def _step(
    code: str,
    name: sdk.LocalizedText,
    days: int = 1,
    unit: str = "service_centre",
    role: str = "officer",
) -> sdk.Step:
    """A step of `days` working days; by default one day of the service centre's officers
    (receiving, returning the result)."""
    return sdk.Step(
        code=code, name=name, responsible_role=role, responsible_unit=unit, budget=_wd(days)
    )


RECEIVE = T(vi="Tiếp nhận hồ sơ", en="Receive the dossier")
RETURN = T(vi="Trả kết quả", en="Return the result")
REGISTER = T(
    vi="Đăng ký, kiểm tra hiện trạng, niêm yết", en="Registration, site check, public posting"
)
SIGN = T(vi="Ký Giấy chứng nhận", en="Sign the certificate")


def _first_issuance_steps() -> tuple[sdk.Step, ...]:
    # Registration ≤ 17 working days + issuance ≤ 3 = 20 (Decree 151/2025).
    return (
        _step("receive", RECEIVE),
        _step("register", REGISTER, 16, "land_registration_office"),
        _step("sign", SIGN, 2, "commune_people_committee", "leader"),
        _step("return", RETURN),
    )


RECORD_CHANGE = T(vi="Xác nhận biến động", en="Record the change")
CERTIFICATE = T(
    vi="Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
    en="Certificate of land-use rights and ownership of assets attached to land",
)


# The time for financial obligations does not count (status 6 stops the clock); +10 working
# days in communes with difficult socio-economic conditions (Decree 151/2025/NĐ-CP as issue 17
# reports it; unverified, core/dossiers/README.md).
COUNTING = sdk.CountingRules(
    stop_statuses=(6,),
    extensions=(
        sdk.Extension(
            code="disadvantaged_commune",
            reason=T(
                vi="Xã có điều kiện kinh tế - xã hội khó khăn, đặc biệt khó khăn",
                en="Commune with difficult socio-economic conditions",
            ),
            amount=10,
        ),
    ),
)


def _first_issuance(code: str, name: sdk.LocalizedText, *, organisations: bool) -> sdk.Procedure:
    """First registration and certificate: the same process for households and individuals
    (at the commune) and for organisations (at the province)."""
    return sdk.Procedure(
        code=code,
        sector=SECTOR,
        level="province" if organisations else "commune",
        legal_basis=BASIS,
        name=name,
        time_limit=_wd(20),
        counting=COUNTING,
        components=COMPONENTS,
        steps=_first_issuance_steps(),
        result=CERTIFICATE,
        data_model=ParcelData,
    )


PROCEDURES = (
    _first_issuance(
        "1.013978",
        T(
            vi="Đăng ký đất đai, cấp Giấy chứng nhận lần đầu cho hộ gia đình, cá nhân",
            en="First land registration and certificate: households and individuals",
        ),
        organisations=False,
    ),
    _first_issuance(
        "1.012753",
        T(
            vi="Đăng ký đất đai, cấp Giấy chứng nhận lần đầu cho tổ chức",
            en="First land registration and certificate: organisations",
        ),
        organisations=True,
    ),
    # The national code of the change registration differs by case: verify before use.
    sdk.Procedure(
        code="LUR-BIEN-DONG",
        sector=SECTOR,
        level="commune",
        legal_basis=BASIS,
        name=T(
            vi="Đăng ký biến động đất đai, tài sản gắn liền với đất",
            en="Registration of changes to land and attached assets",
        ),
        time_limit=_wd(10),
        counting=COUNTING,
        components=(
            sdk.DossierComponent(
                code="don",
                name=T(
                    vi="Đơn đăng ký biến động (Mẫu 11/ĐK)", en="Change registration form (11/ĐK)"
                ),
            ),
            sdk.DossierComponent(
                code="gcn",
                name=T(vi="Bản gốc Giấy chứng nhận đã cấp", en="Original certificate issued"),
            ),
        ),
        steps=(
            _step("receive", RECEIVE),
            _step("register", RECORD_CHANGE, 8, "land_registration_office"),
            _step("return", RETURN),
        ),
        result=CERTIFICATE,
        data_model=ParcelData,
    ),
)


@strawberry.type(description="Thủ tục đất đai / A land procedure")
class LandUseRightsProcedure(sdk.ProcedureSummary):
    pass


@strawberry.type(description="Loại đất / A land use purpose")
class LandUsePurposeInfo:
    code: str
    name: str
    name_en: str


@strawberry.type(description="Đất đai / Land-use rights module")
class LandUseRightsQuery:
    @strawberry.field(description="Các thủ tục của mô-đun / The module's procedures")
    def procedures(self) -> list[LandUseRightsProcedure]:
        return [LandUseRightsProcedure.of(p) for p in PROCEDURES]

    @strawberry.field(description="Mã loại đất / Land use purpose codes")
    def land_use_purposes(self) -> list[LandUsePurposeInfo]:
        return [
            LandUsePurposeInfo(code=c.value, name=n.vi, name_en=n.en)
            for c, n in PURPOSE_NAMES.items()
        ]


@sdk.hookimpl
def eiso_module() -> sdk.ModuleInfo:
    return sdk.ModuleInfo(
        name=NAME,
        title=T(vi="Đất đai", en="Land-use rights"),
        version="0.1.0",
        sector=SECTOR,
        core_api=">=1.4,<2",
    )


@sdk.hookimpl
def eiso_procedures() -> list[sdk.Procedure]:
    return list(PROCEDURES)


@sdk.hookimpl
def eiso_graphql_query() -> type[LandUseRightsQuery]:
    return LandUseRightsQuery
