"""The web room's test support: two provinces, each with an agency that adopted a procedure of a
test module (legal basis, fee, components and a form with a choice), (the fixtures of
conftest.py build them), and the steps a citizen takes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import re
from decimal import Decimal
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from eiso.core.dossiers import catalogue, engine, service
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.declarations import (
    DossierComponent,
    Fee,
    LegalBasis,
    LocalizedText,
    ModuleInfo,
    Procedure,
    TimeLimit,
    hookimpl,
)
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.workdays import WorkingCalendar
from eiso.tenants.models import Agency, AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_dossier_engine import _step as step  # the engine tests' two-step process

AXE = pathlib.Path(__file__).parents[1] / "clients" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROC = unique_code("9.")  # procedure codes are global; tests share one database
CHILD = "Trần Minh Khôi"
APPLICANT = "Nguyễn Thị Hoa"
CITIZEN_ID = "001190012345"


class Birth(BaseModel):
    child_name: str = Field(
        min_length=1, title="Họ và tên trẻ", json_schema_extra={"title_en": "Child's name"}
    )
    birth_date: dt.date = Field(title="Ngày sinh", json_schema_extra={"title_en": "Date of birth"})
    sex: Literal["nam", "nu"] = Field(
        title="Giới tính",
        json_schema_extra={
            "title_en": "Sex",
            "choices": {"nam": ["Nam", "Male"], "nu": ["Nữ", "Female"]},
        },
    )
    weight_grams: int = Field(
        ge=300, le=9000, title="Cân nặng (gam)", json_schema_extra={"title_en": "Weight (grams)"}
    )


class WebGateway(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https://\S+$", title="Địa chỉ cổng kết nối")
    token: SecretStr | None = Field(default=None, title="Mã truy cập")


class WebSettings(BaseModel):
    """The test module's settings: the console's settings form is generated from them."""

    model_config = ConfigDict(extra="forbid")

    office: str = Field(default="Bộ phận Một cửa", min_length=1, title="Tên bộ phận")
    days: int = Field(default=3, ge=1, le=30, title="Số ngày nhắc hạn")
    channel: Literal["sms", "email"] = Field(default="sms", title="Kênh gửi")
    gateway: WebGateway | None = Field(default=None, title="Cổng kết nối")


class WebProc:
    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name="web_test",
            title=LocalizedText(vi="Hộ tịch thử (web)", en="Test civil status (web)"),
            version="1.0",
            sector="ho_tich",
            config_model=WebSettings,
        )

    @hookimpl
    def eiso_procedures(self):
        return [
            Procedure(
                code=PROC,
                name=LocalizedText(vi="Đăng ký khai sinh thử", en="Test birth registration"),
                sector="ho_tich",
                legal_basis=(
                    LegalBasis(reference="Luật Hộ tịch 2014", title="Luật số 60/2014/QH13"),
                ),
                time_limit=TimeLimit(amount=3),
                components=(
                    DossierComponent(
                        code="tk",
                        name=LocalizedText(
                            vi="Tờ khai đăng ký khai sinh", en="Birth registration form"
                        ),
                    ),
                    DossierComponent(
                        code="gcs",
                        name=LocalizedText(
                            vi="Giấy chứng sinh", en="Birth certificate from the hospital"
                        ),
                    ),
                ),
                fee=Fee(amount=Decimal("50000"), note="miễn cho trẻ đăng ký đúng hạn"),
                result=LocalizedText(vi="Giấy khai sinh", en="Birth certificate"),
                steps=(step("review", "Thẩm định"), step("sign", "Ký duyệt")),
                data_model=Birth,
            )
        ]


REGISTRY = PluginRegistry.load(None, [PluginSource.of("web_test", WebProc())])
GOOD_FORM = {
    "applicant.fullName": APPLICANT,
    "applicant.citizenId": CITIZEN_ID,
    "applicant.phone": "0912345678",
    "sector.child_name": CHILD,
    "sector.birth_date": "2026-11-01",
    "sector.sex": "nu",
    "sector.weight_grams": "3200",
}


@dataclasses.dataclass(frozen=True)
class Place:
    province_code: str
    province_name: str
    agency: Agency


async def place(resources, province_name: str, agency_name: str) -> Place:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("W"), province_name)
        agency = await ensure_agency(
            session, province, unique_code("A"), agency_name, AgencyKind.commune
        )
    scope = TenantScope.agencies([agency.id], [agency.province_id])
    async with resources.session(scope) as session, session.begin():
        await catalogue.adopt(
            session,
            province_id=agency.province_id,
            agency_id=agency.id,
            procedure_code=PROC,
            actor="leader-1",
        )
        # A province receives dossiers only of the modules it switched on (MODULE_DISABLED).
        await set_module(session, agency.province_id, "web_test", True, by="test")
    return Place(province.code, province_name, agency)


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


async def submit(
    web: httpx.AsyncClient, where: Place, form: dict[str, str] | None = None
) -> httpx.Response:
    page = await web.get(f"/tinh/{where.province_code}/thu-tuc/{PROC}")
    assert page.status_code == 200, page.text
    agency = re.search(r'<option value="([^"]+)" selected>', page.text)
    assert agency
    body = {"csrf_token": token_of(page.text), "agency": agency.group(1), **(form or GOOD_FORM)}
    return await web.post(f"/tinh/{where.province_code}/thu-tuc/{PROC}", data=body)


def keys_of(html: str) -> tuple[str, str]:
    code = re.search(r'id="dossier-code">([^<]+)<', html)
    key = re.search(r'id="lookup-key">([^<]+)<', html)
    assert code and key, html
    return code.group(1), key.group(1)


async def returned(resources, where: Place, code: str) -> None:
    """Drive the dossier of `code` to returned, as its agency's officers would."""
    from sqlmodel import select

    from eiso.core.dossiers.models import Dossier

    scope = TenantScope.agencies([where.agency.id], [where.agency.province_id])
    async with resources.session(scope) as session:
        dossier = (await session.execute(select(Dossier).where(Dossier.code == code))).scalar_one()
    calendar = WorkingCalendar()
    # One received at the counter is accepted already; one filed online is accepted first.
    accepting = [] if engine.accepted(dossier) else [(engine.accept, {"calendar": calendar})]
    moves = [
        *accepting,
        (engine.assign, {"assignee": "officer-2"}),
        (engine.complete_step, {}),
        (engine.complete_step, {}),
        (engine.return_result, {}),
    ]
    for move, kwargs in moves:
        dossier = await service.act(
            resources, scope, dossier.id, dossier.version, move, actor="officer-1", **kwargs
        )
