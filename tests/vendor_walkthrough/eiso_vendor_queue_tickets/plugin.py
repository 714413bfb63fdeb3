"""Queue tickets: each dossier of this module's procedure received by an agency takes the
province's next ticket number, kept in the module's store; frontends read the count and a
dossier's ticket, and a leader or the province administrator resets the count.

Written against `eiso.core.sdk` only, following docs/plugins.md."""

from __future__ import annotations

import strawberry
from pydantic import BaseModel

from eiso.core.errors import Forbidden
from eiso.core.sdk import (
    Caller,
    DossierEvent,
    LegalBasis,
    LocalizedText,
    ModuleInfo,
    Procedure,
    ProcedureSummary,
    Role,
    Step,
    TimeLimit,
    form_field,
    hookimpl,
    module_store,
)

NAME = "queue_tickets"
SECTOR = "queue_tickets"
PROCEDURE_CODE = "QUEUE-TICKETS-01"
ISSUED = "issued"  # the province's counter of tickets given


class QueueTicketData(BaseModel):
    counter: int = form_field("Quầy tiếp nhận", "Service counter", ge=1, le=99)


# code, Vietnamese and English names, responsible role, budget in working hours
STEPS = (
    ("receive", "Tiếp nhận", "Receive", "officer", 2),
    ("decide", "Trả số", "Give the ticket", "leader", 6),
)
PROCEDURES = (
    Procedure(
        code=PROCEDURE_CODE,
        name=LocalizedText(vi="Cấp số thứ tự tiếp nhận", en="Queue ticket"),
        sector=SECTOR,
        level="commune",
        legal_basis=(LegalBasis(reference="61/2018/NĐ-CP", title="Một cửa, một cửa liên thông"),),
        time_limit=TimeLimit(amount=1, unit="working_days"),
        steps=tuple(
            Step(
                code=code,
                name=LocalizedText(vi=vi, en=en),
                responsible_role=role,
                budget=TimeLimit(amount=hours, unit="working_hours"),
            )
            for code, vi, en, role, hours in STEPS
        ),
        result=LocalizedText(vi="Số thứ tự", en="Queue ticket"),
        data_model=QueueTicketData,
    ),
)


@hookimpl
def eiso_module() -> ModuleInfo:
    title = LocalizedText(vi="Số thứ tự tiếp nhận (mẫu)", en="Queue tickets (sample)")
    return ModuleInfo(name=NAME, title=title, version="0.1.0", sector=SECTOR, core_api=">=1.4,<2")


@hookimpl
def eiso_procedures() -> list[Procedure]:
    return list(PROCEDURES)


@hookimpl
async def eiso_on_dossier_event(event: DossierEvent) -> None:
    """Only this module's dossiers reach it (no `dossier_events="all"`)."""
    if event.action != "received":
        return
    store = module_store(event, NAME)  # the event's province
    if not await store.add_once(f"event:{event.outbox_id}"):
        return  # a redelivery: the ticket was given
    number = await store.incr(ISSUED)
    await store.set(f"ticket:{event.dossier_code}", number)


@strawberry.type(
    description="Thủ tục của mô-đun số thứ tự / A procedure of the queue tickets module"
)
class QueueTicketsProcedure(ProcedureSummary):
    pass


def count(value: object) -> int:
    return value if isinstance(value, int) else 0


@strawberry.type
class QueueTicketsQuery:
    @strawberry.field(description="Các thủ tục của mô-đun / The module's procedures")
    def procedures(self) -> list[QueueTicketsProcedure]:
        return [QueueTicketsProcedure.of(p) for p in PROCEDURES]

    @strawberry.field(description="Số vé đã cấp trong tỉnh / Tickets given in the province")
    async def issued(self, info: strawberry.Info[Caller, None]) -> int:
        return count(await module_store(info.context, NAME).get(ISSUED, 0))

    @strawberry.field(description="Số thứ tự của một hồ sơ / A dossier's ticket number")
    async def ticket(self, info: strawberry.Info[Caller, None], dossier_code: str) -> int | None:
        value = await module_store(info.context, NAME).get(f"ticket:{dossier_code}")
        return value if isinstance(value, int) else None


@strawberry.type
class QueueTicketsMutation:
    @strawberry.mutation(description="Đặt lại bộ đếm / Reset the province's counter")
    async def reset(self, info: strawberry.Info[Caller, None]) -> int:
        principal = info.context.principal
        if principal is None or not principal.has_role(Role.leader, Role.province_admin):
            raise Forbidden(
                "Only a leader or the province administrator may reset the counter",
                "Chỉ lãnh đạo hoặc quản trị tỉnh được đặt lại bộ đếm",
            )
        store = module_store(info.context, NAME)
        before = count(await store.get(ISSUED, 0))
        await store.set(ISSUED, 0)
        return before


@hookimpl
def eiso_graphql_query() -> type:
    return QueueTicketsQuery


@hookimpl
def eiso_graphql_mutation() -> type:
    return QueueTicketsMutation
