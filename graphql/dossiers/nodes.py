"""GraphQL types of procedures and dossiers. The applicant (personal data) is never exposed
here; officers read it through a dedicated, audited path (later issue)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import strawberry
from sqlalchemy import select
from sqlmodel import col
from strawberry.scalars import JSON

from eiso.core.dossiers.engine import overdue
from eiso.core.dossiers.models import Dossier, DossierStep, ProcedureRecord
from eiso.core.dossiers.slips import forms as slip_forms
from eiso.core.dossiers.statuses import Status
from eiso.core.global_ids import encode_id
from eiso.graphql.shared.enums import graphql_enum
from eiso.graphql.shared.node import Node
from eiso.infra.clock import aware, utcnow

if TYPE_CHECKING:  # to mypy the model's enum: the same values (the names differ in case)
    DossierStatus = Status
else:  # NEW, RECEIVED, ...: a node may hold the model's `Status` (serialized by its value)
    DossierStatus = graphql_enum(Status, "DossierStatus")
_STATUSES = {int(status): status for status in Status}


@strawberry.enum(name="DossierStepStatus")
class DossierStepStatus(enum.Enum):
    ACTIVE = "active"
    DONE = "done"


@strawberry.enum(
    name="DossierAction",
    description="What a move of a dossier did (its timeline row's and event's action).",
)
class DossierAction(enum.Enum):
    # Every action the engine records (core/dossiers/engine.py; a test compares the two).
    REGISTERED = "registered"
    RECEIVED = "received"
    REFUSED = "refused"
    ASSIGNED = "assigned"
    STEP_COMPLETED = "step_completed"
    HANDED_OVER = "handed_over"
    PROCESSED = "processed"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    SUPPLEMENT_RECEIVED = "supplement_received"
    FEE_REQUESTED = "fee_requested"
    FEE_PAID = "fee_paid"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    RETURNED = "returned"
    APOLOGY = "apology"


@strawberry.enum(name="TimeLimitUnit")
class TimeLimitUnit(enum.Enum):
    # The units a module may declare (core/plugins/declarations.py, TimeLimit.unit).
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    DAYS = "days"


@strawberry.enum(name="ProcedureLevel")
class ProcedureLevel(enum.Enum):
    # The levels a module may declare (core/plugins/declarations.py, Procedure.level).
    NATION = "nation"
    PROVINCE = "province"
    COMMUNE = "commune"


# A global id is GraphQL's ID (a str): typed so once, not with an ID() call per row of a page.
_encode_gid = cast("Callable[[str, int, int], strawberry.ID]", encode_id)


@strawberry.type
class ProcedureNode:
    row: strawberry.Private[ProcedureRecord]

    @strawberry.field
    def code(self) -> str:
        return self.row.code

    @strawberry.field
    def name_vi(self) -> str:
        return self.row.name_vi

    @strawberry.field
    def name_en(self) -> str:
        return self.row.name_en

    @strawberry.field
    def sector(self) -> str:
        return self.row.sector

    @strawberry.field
    def level(self) -> ProcedureLevel:
        return ProcedureLevel(self.row.level)

    @strawberry.field
    def time_limit(self) -> int:
        return self.row.time_limit_amount

    @strawberry.field
    def time_limit_unit(self) -> TimeLimitUnit:
        return TimeLimitUnit(self.row.time_limit_unit)

    @strawberry.field
    def step_codes(self) -> list[str]:
        return [s["code"] for s in self.row.steps]

    @strawberry.field
    def module(self) -> str:
        return self.row.module


@strawberry.type(
    name="Slip",
    description="A printable one-stop slip (Decision 09/2024, forms 01-05) the dossier has in "
    "its state.",
)
class SlipNode:
    form: strawberry.Private[slip_forms.SlipForm]
    dossier_gid: strawberry.Private[str]

    @strawberry.field(description="The form number, 1 to 5.")
    def number(self) -> int:
        return self.form.number

    @strawberry.field
    def title_vi(self) -> str:
        return self.form.title_vi

    @strawberry.field
    def title_en(self) -> str:
        return self.form.title_en

    @strawberry.field(description="GET with the same bearer token as /graphql.")
    def html_url(self) -> str:
        return slip_path(self.dossier_gid, self.form.number, "html")

    @strawberry.field(description="GET with the same bearer token as /graphql.")
    def pdf_url(self) -> str:
        return slip_path(self.dossier_gid, self.form.number, "pdf")


def slip_path(dossier_gid: str, number: int, fmt: str) -> str:
    """Where a dossier's slip downloads (in `fmt`: html or pdf)."""
    # Kept equal to the routes of core/http/downloads.py (a test fetches these URLs).
    return f"/dossiers/{dossier_gid}/slips/{number:02d}.{fmt}"


def _set_later() -> Any:
    # A plain field filled by __post_init__: Strawberry resolves plain fields by attribute,
    # much cheaper than one resolver call per field (a page shows ~400 of them). Strawberry's
    # overloads take init=False only with a resolver; a plain field takes it at run time.
    return strawberry.field(init=False, default=None)  # type: ignore[call-overload]


@strawberry.type
class DossierNode(Node):
    row: strawberry.Private[Dossier]  # or any row with the columns of graphql/dossiers/page.py
    id: strawberry.ID = _set_later()
    code: str = _set_later()
    procedure_code: str = _set_later()
    status: DossierStatus = _set_later()
    current_step: int = _set_later()
    assignee: str | None = _set_later()
    received_at: dt.datetime = _set_later()
    appointment_at: dt.datetime | None = _set_later()
    late: bool = _set_later()
    supplement_count: int = _set_later()
    version: int = _set_later()

    def __post_init__(self) -> None:
        self._fill(utcnow())

    @classmethod
    def of_rows(cls, rows: Iterable[Any], now: dt.datetime) -> list[DossierNode]:
        """Nodes for a page of rows (graphql/dossiers/page.py's, of its columns), without the
        dataclass `__init__` (a page builds 50)."""
        nodes = []
        for row in rows:
            node = cls.__new__(cls)
            node.row = row
            node._fill(now)
            nodes.append(node)
        return nodes

    def _fill(self, now: dt.datetime) -> None:
        row = self.row
        status, appointment_at = _STATUSES[row.status], row.appointment_at
        self.id = _encode_gid("Dossier", row.province_id, row.id)
        self.code, self.procedure_code, self.status = row.code, row.procedure_code, status
        self.current_step, self.assignee = row.current_step, row.assignee
        self.received_at = aware(row.received_at)
        self.appointment_at = appointment_at = aware(appointment_at) if appointment_at else None
        self.late = row.was_late or overdue(status, appointment_at, now)
        self.supplement_count, self.version = row.supplement_count, row.version

    @strawberry.field(
        description="The slips this dossier has in its state (01 and 05 from receipt, 02 after a "
        "supplement request, 03 when refused, 04 after an apology)."
    )
    def slips(self) -> list[SlipNode]:
        gid = encode_id("Dossier", self.row.province_id, self.row.id)
        return [SlipNode(form=f, dossier_gid=gid) for f in slip_forms.available(self.row)]

    @strawberry.field(
        description="The steps the caller's agency holds (with their own data); "
        "steps held by other agencies are not shown."
    )
    async def my_steps(self, info: strawberry.Info) -> list[DossierStepNode]:
        async with info.context.resources.session(info.context.principal.tenant) as session:
            rows = (
                (
                    await session.execute(
                        select(DossierStep)
                        .where(
                            col(DossierStep.province_id) == self.row.province_id,
                            col(DossierStep.dossier_id) == self.row.id,
                        )
                        .order_by(col(DossierStep.step_index))
                    )
                )
                .scalars()
                .all()
            )
        return [DossierStepNode(row=r) for r in rows]


@strawberry.type(description="One step of a dossier, held by one agency.")
class DossierStepNode:
    row: strawberry.Private[DossierStep]

    @strawberry.field
    def index(self) -> int:
        return self.row.step_index

    @strawberry.field
    def code(self) -> str:
        return self.row.step_code

    @strawberry.field
    def status(self) -> DossierStepStatus:
        return DossierStepStatus(self.row.status)

    @strawberry.field(description="The agency holding the step.")
    def agency_id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Agency", self.row.province_id, self.row.agency_id))

    @strawberry.field(description="The step's own sector data, recorded when it was completed.")
    def sector_data(self) -> JSON:
        return JSON(self.row.sector_data)

    @strawberry.field
    def started_at(self) -> dt.datetime:
        return aware(self.row.started_at)

    @strawberry.field
    def completed_at(self) -> dt.datetime | None:
        return aware(self.row.completed_at) if self.row.completed_at else None


@strawberry.type
class ReceivedDossier:
    dossier: DossierNode
    lookup_key: str | None = strawberry.field(
        description="Given once, on the first answer; eiso keeps only its hash."
    )
    replayed: bool
    receipt_slip_html: str | None = strawberry.field(
        default=None,
        description="Slip 01 (receipt and appointment) as HTML, printed with the lookup key: "
        "only on the first answer for a dossier received at the counter. Later prints of slip "
        "01 say the key is on the original.",
    )


@strawberry.type
class PublicEvent:
    at: dt.datetime
    action: DossierAction
    status: DossierStatus
    agency: str = strawberry.field(
        description="The agency that acted (one timeline across agencies)."
    )


@strawberry.type
class PublicDossier:
    code: str
    procedure_code: str
    status: DossierStatus
    received_at: dt.datetime
    appointment_at: dt.datetime | None
    late: bool
    timeline: list[PublicEvent]
