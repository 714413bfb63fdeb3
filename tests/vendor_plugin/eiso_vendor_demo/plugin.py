"""The module: one procedure, a query namespace, one mutation, and a dossier event listener."""

from __future__ import annotations

import strawberry
from pydantic import BaseModel, Field

from eiso.core.sdk import (
    DossierEvent,
    LegalBasis,
    LocalizedText,
    ModuleInfo,
    Procedure,
    Step,
    TimeLimit,
    hookimpl,
)

NAME = "vendor_demo"
# What the listener heard; a real module would send an SMS or call an external system.
EVENTS: list[DossierEvent] = []


class HouseholdBusinessData(BaseModel):
    """The sector data a dossier of this procedure carries."""

    business_name: str = Field(min_length=1, max_length=200)
    owner_name: str
    capital_vnd: int = Field(ge=0)


@strawberry.type
class VendorDemoQuery:
    @strawberry.field(description="Is this household business name free in the commune?")
    def name_available(self, name: str) -> bool:
        return not name.casefold().startswith("hộ kinh doanh đã có")

    @strawberry.field
    def greeting(self) -> str:
        return "Xin chào từ mô-đun mẫu"


@strawberry.type
class VendorDemoMutation:
    @strawberry.mutation(description="Reserve a household business name.")
    def reserve_name(self, name: str) -> str:
        return f"Đã giữ tên: {name}"


@hookimpl
def eiso_module() -> ModuleInfo:
    return ModuleInfo(
        name=NAME,
        title=LocalizedText(vi="Đăng ký hộ kinh doanh (mẫu)", en="Household business (sample)"),
        version="0.3.0",
        sector="business_registration",
        core_api=">=1.3,<2",
        # Like an SMS notifier, it listens to every dossier of the provinces that enabled it,
        # not only those of its own procedure (the default, "own").
        dossier_events="all",
    )


@hookimpl
def eiso_procedures() -> list[Procedure]:
    return [
        Procedure(
            code="1.001612",
            name=LocalizedText(
                vi="Đăng ký thành lập hộ kinh doanh", en="Household business registration"
            ),
            sector="business_registration",
            level="commune",
            legal_basis=(LegalBasis(reference="168/2025/NĐ-CP"),),
            time_limit=TimeLimit(amount=3, unit="working_days"),
            steps=(
                Step(
                    code="receive",
                    name=LocalizedText(vi="Tiếp nhận", en="Receive"),
                    responsible_role="officer",
                    budget=TimeLimit(amount=4, unit="working_hours"),
                ),
                Step(
                    code="decide",
                    name=LocalizedText(vi="Cấp giấy", en="Issue"),
                    responsible_role="leader",
                    budget=TimeLimit(amount=2),
                ),
            ),
            result=LocalizedText(
                vi="Giấy chứng nhận đăng ký hộ kinh doanh",
                en="Household business registration certificate",
            ),
            data_model=HouseholdBusinessData,
        )
    ]


@hookimpl
def eiso_graphql_query():
    return VendorDemoQuery


@hookimpl
def eiso_graphql_mutation():
    return VendorDemoMutation


@hookimpl
async def eiso_on_dossier_event(event: DossierEvent) -> None:
    EVENTS.append(event)
