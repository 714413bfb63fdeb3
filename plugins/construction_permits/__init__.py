"""Xây dựng: cấp, điều chỉnh, gia hạn, cấp lại giấy phép xây dựng.

Construction: issue, amend, extend and re-issue construction permits.
A bundled module coded against `eiso.core.sdk` only, exactly as a vendor's module.
"""

from __future__ import annotations

import datetime as dt

import strawberry
from pydantic import BaseModel, ConfigDict, model_validator

import eiso.core.sdk as sdk

NAME = "construction_permits"
SECTOR = "construction"
T = sdk.LocalizedText
# A storey of a house is at least ~2 m and rarely above 6 m: outside that the figures
# contradict each other (a typo in height or storeys), so the dossier is refused.
MIN_STOREY_HEIGHT_M = 2.0
MAX_STOREY_HEIGHT_M = 6.0


class BuildingData(BaseModel):
    """Dữ liệu công trình của hồ sơ / The building data a permit dossier carries."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The intake form's labels: Vietnamese, English (docs/plugins.md).
    address: str = sdk.form_field(
        "Địa chỉ công trình",
        "Building address",
        description="Địa chỉ công trình / Address",
        min_length=1,
        max_length=500,
    )
    parcel_number: int = sdk.form_field("Số thửa", "Parcel number", ge=1)
    map_sheet: int = sdk.form_field("Số tờ bản đồ", "Map sheet number", ge=1)
    parcel_area_m2: float = sdk.form_field("Diện tích thửa đất (m²)", "Parcel area (m²)", gt=0)
    footprint_m2: float = sdk.form_field(
        "Diện tích xây dựng tầng 1 (m²)",
        "Footprint (m²)",
        description="Diện tích xây dựng tầng 1, không lớn hơn diện tích thửa đất / Footprint, "
        "at most the parcel area (m²)",
        gt=0,
    )
    floor_area_m2: float = sdk.form_field(
        "Tổng diện tích sàn (m²)",
        "Total floor area (m²)",
        description="Tổng diện tích sàn, không lớn hơn diện tích xây dựng × số tầng / Total "
        "floor area, at most footprint × storeys (m²)",
        gt=0,
    )
    storeys: int = sdk.form_field(
        "Số tầng", "Storeys", description="Số tầng (≥ 1) / Storeys (≥ 1)", ge=1
    )
    height_m: float = sdk.form_field("Chiều cao công trình (m)", "Height (m)", gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> BuildingData:
        if self.footprint_m2 > self.parcel_area_m2:
            raise ValueError(
                "diện tích xây dựng lớn hơn diện tích thửa đất / "
                "footprint_m2 exceeds parcel_area_m2"
            )
        if self.floor_area_m2 > self.footprint_m2 * self.storeys:
            raise ValueError(
                "tổng diện tích sàn lớn hơn diện tích xây dựng × số tầng / "
                "floor_area_m2 exceeds footprint_m2 × storeys"
            )
        per_storey = self.height_m / self.storeys
        if not MIN_STOREY_HEIGHT_M <= per_storey <= MAX_STOREY_HEIGHT_M:
            raise ValueError(
                f"chiều cao không khớp số tầng ({per_storey:.1f} m/tầng, cho phép "
                f"{MIN_STOREY_HEIGHT_M}-{MAX_STOREY_HEIGHT_M}) / height_m does not "
                f"match storeys ({per_storey:.1f} m per storey)"
            )
        return self


# The law in force in 2026 (README: each fact with its source, and what is unverified). The
# 2014 Construction Law (50/2014/QH13, amended by 62/2020/QH14) and Decree 175/2024/NĐ-CP
# applied until 30 June 2026; the procedures no longer rest on them.
CONSTRUCTION_LAW = sdk.LegalBasis(
    reference="Luật Xây dựng 2025",
    title="Luật Xây dựng (sửa đổi), Quốc hội thông qua ngày 10/12/2025",
    valid_from=dt.date(2026, 7, 1),
)
DECREE_217 = sdk.LegalBasis(
    reference="217/2026/NĐ-CP",
    title="Quy định chi tiết một số điều của Luật Xây dựng về quản lý hoạt động xây dựng",
    valid_from=dt.date(2026, 7, 1),
)
DECREE_140 = sdk.LegalBasis(
    reference="140/2025/NĐ-CP",
    title="Phân định thẩm quyền chính quyền địa phương 2 cấp, lĩnh vực xây dựng",
    valid_from=dt.date(2025, 7, 1),
    valid_until=dt.date(2027, 3, 1),
)
BASIS = (CONSTRUCTION_LAW, DECREE_217, DECREE_140)


def _days(n: int) -> sdk.TimeLimit:
    # Permit limits in days, not working days (the 2014 law's Art. 102; the 2026 limits could
    # not be verified, README): calendar days as the Civil Code counts them (arts. 147-148).
    return sdk.TimeLimit(amount=n, unit="calendar_days")


# The licensing body may send a second written notice to supplement the dossier (2014 law
# Art. 102 cl. 1 as amended by 62/2020/QH14; unverified for the 2026 law, README): two
# requests per stage.
COUNTING = sdk.CountingRules(supplements_per_stage=2)


def _at_service_centre(code: str, name: sdk.LocalizedText) -> sdk.Step:
    """A one-day step of the service centre's officers: receiving, returning the result."""
    return sdk.Step(
        code=code,
        name=name,
        responsible_role="officer",
        responsible_unit="service_centre",
        budget=_days(1),
    )


RETURN = T(vi="Trả kết quả", en="Return the result")


def _steps(total: int) -> tuple[sdk.Step, ...]:
    appraise = 7  # appraisal within 7 working days (counted here in days of the total)
    return (
        _at_service_centre("receive", T(vi="Tiếp nhận, kiểm tra hồ sơ", en="Receive and check")),
        sdk.Step(
            code="appraise",
            name=T(
                vi="Thẩm định hồ sơ, kiểm tra thực địa", en="Appraise the dossier, site inspection"
            ),
            responsible_role="officer",
            responsible_unit="economic_infrastructure_office",
            budget=_days(appraise),
        ),
        sdk.Step(
            code="decide",
            name=T(vi="Xem xét, ký giấy phép", en="Review and sign the permit"),
            responsible_role="leader",
            responsible_unit="commune_people_committee",
            budget=_days(total - 1 - appraise - 1),
        ),
        _at_service_centre("return", RETURN),
    )


def _short_steps(total: int) -> tuple[sdk.Step, ...]:
    return (
        _at_service_centre("receive", T(vi="Tiếp nhận hồ sơ", en="Receive the dossier")),
        sdk.Step(
            code="review",
            name=T(vi="Xem xét, ký", en="Review and sign"),
            responsible_role="leader",
            responsible_unit="commune_people_committee",
            budget=_days(total - 2),
        ),
        _at_service_centre("return", RETURN),
    )


APPLICATION = sdk.DossierComponent(
    code="don", name=T(vi="Đơn đề nghị cấp giấy phép xây dựng", en="Permit application")
)
LAND_PAPERS = sdk.DossierComponent(
    code="dat", name=T(vi="Giấy tờ chứng minh quyền sử dụng đất", en="Proof of the land-use right")
)
DRAWINGS = sdk.DossierComponent(
    code="ban_ve", name=T(vi="Bản vẽ thiết kế xây dựng", en="Design drawings"), copies=2
)
OLD_PERMIT = sdk.DossierComponent(
    code="gp_cu", name=T(vi="Bản chính giấy phép xây dựng đã cấp", en="Original permit issued")
)
PERMIT = T(vi="Giấy phép xây dựng", en="Construction permit")


def _procedure(
    code: str,
    vi: str,
    en: str,
    total: int,
    components: tuple[sdk.DossierComponent, ...],
    steps: tuple[sdk.Step, ...],
) -> sdk.Procedure:
    return sdk.Procedure(
        code=code,
        name=T(vi=vi, en=en),
        sector=SECTOR,
        level="commune",
        legal_basis=BASIS,
        time_limit=_days(total),
        counting=COUNTING,
        components=components,
        steps=steps,
        result=PERMIT,
        data_model=BuildingData,
    )


RETURNED = 10  # the national status "result returned"

PROCEDURES = (
    _procedure(
        "1.013225",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "New construction permit: individual house",
        15,
        (APPLICATION, LAND_PAPERS, DRAWINGS),
        _steps(15),
    ),
    # Local code: the national record 1.013225 covers grade III-IV works and individual houses
    # alike; eiso keeps the works apart for their 20-day limit (README).
    _procedure(
        "CP-CONG-TRINH",
        "Cấp giấy phép xây dựng mới đối với công trình khác",
        "New construction permit: other works",
        20,
        (APPLICATION, LAND_PAPERS, DRAWINGS),
        _steps(20),
    ),
    _procedure(
        "1.013226",
        "Cấp điều chỉnh giấy phép xây dựng",
        "Amendment of a construction permit",
        15,
        (APPLICATION, OLD_PERMIT, DRAWINGS),
        _steps(15),
    ),
    _procedure(
        "1.013227",
        "Gia hạn giấy phép xây dựng",
        "Extension of a construction permit",
        5,
        (APPLICATION, OLD_PERMIT),
        _short_steps(5),
    ),
    _procedure(
        "1.013228",
        "Cấp lại giấy phép xây dựng",
        "Re-issue of a construction permit",
        5,
        (APPLICATION, OLD_PERMIT),
        _short_steps(5),
    ),
    _procedure(
        "1.013229",
        "Cấp giấy phép sửa chữa, cải tạo công trình",
        "Permit for repair or renovation",
        15,
        (APPLICATION, LAND_PAPERS, DRAWINGS),
        _steps(15),
    ),
)


@strawberry.type(description="Thủ tục cấp phép xây dựng / A construction permit procedure")
class ConstructionPermitProcedure(sdk.ProcedureSummary):
    pass


@strawberry.type(description="Giấy phép xây dựng đã cấp / A construction permit issued")
class IssuedPermit:
    dossier_code: str
    procedure_code: str
    address: str
    parcel_number: int
    map_sheet: int
    storeys: int
    floor_area_m2: float
    height_m: float
    issued_at: dt.datetime
    returned: bool = strawberry.field(description="Đã trả cho người dân / handed to the applicant")


@strawberry.type(description="Cấp phép xây dựng / Construction permits module")
class ConstructionPermitsQuery:
    @strawberry.field(description="Các thủ tục của mô-đun / The module's procedures")
    def procedures(self) -> list[ConstructionPermitProcedure]:
        return [ConstructionPermitProcedure.of(p) for p in PROCEDURES]

    @strawberry.field(
        description="Sổ theo dõi giấy phép xây dựng đã cấp của cơ quan (mới nhất trước) / "
        "The agency's register of construction permits issued, newest first"
    )
    async def issued_permits(self, info: strawberry.Info, first: int = 50) -> list[IssuedPermit]:
        records = await sdk.finished_dossiers(
            info.context, [p.code for p in PROCEDURES], first=first
        )
        return [
            IssuedPermit(
                dossier_code=r.code,
                procedure_code=r.procedure_code,
                address=r.sector_data["address"],
                parcel_number=r.sector_data["parcel_number"],
                map_sheet=r.sector_data["map_sheet"],
                storeys=r.sector_data["storeys"],
                floor_area_m2=r.sector_data["floor_area_m2"],
                height_m=r.sector_data["height_m"],
                issued_at=r.finished_at,
                returned=r.status == RETURNED,
            )
            for r in records
        ]


@sdk.hookimpl
def eiso_module() -> sdk.ModuleInfo:
    return sdk.ModuleInfo(
        name=NAME,
        title=T(vi="Cấp phép xây dựng", en="Construction permits"),
        version="0.3.0",
        sector=SECTOR,
        core_api=">=1.4,<2",
    )


@sdk.hookimpl
def eiso_procedures() -> list[sdk.Procedure]:
    return list(PROCEDURES)


@sdk.hookimpl
def eiso_graphql_query() -> type[ConstructionPermitsQuery]:
    return ConstructionPermitsQuery
