"""GraphQL types of procedures and dossiers. The applicant (personal data) is never exposed
here; officers read it through a dedicated, audited path (later issue)."""

from __future__ import annotations

import datetime as dt

import strawberry

from eiso.core.dossiers.engine import _aware, is_overdue
from eiso.core.dossiers.models import Dossier, ProcedureRecord
from eiso.core.dossiers.statuses import Status
from eiso.graphql.tenants.ids import encode_id
from eiso.tenants.models import utcnow

DossierStatus = strawberry.enum(Status, name="DossierStatus")


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
    def level(self) -> str:
        return self.row.level

    @strawberry.field
    def time_limit(self) -> int:
        return self.row.time_limit_amount

    @strawberry.field
    def time_limit_unit(self) -> str:
        return self.row.time_limit_unit

    @strawberry.field
    def step_codes(self) -> list[str]:
        return [s["code"] for s in self.row.steps]

    @strawberry.field
    def module(self) -> str:
        return self.row.module


def _set_later():
    # A plain field filled by __post_init__: Strawberry resolves plain fields by attribute,
    # much cheaper than one resolver call per field (a page shows ~400 of them).
    return strawberry.field(init=False, default=None)


@strawberry.type
class DossierNode:
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
        row = self.row
        self.id = strawberry.ID(encode_id("Dossier", row.province_id, row.id))
        self.code, self.procedure_code, self.status = row.code, row.procedure_code, Status(row.status)
        self.current_step, self.assignee = row.current_step, row.assignee
        self.received_at = _aware(row.received_at)
        self.appointment_at = _aware(row.appointment_at) if row.appointment_at else None
        self.late = row.was_late or is_overdue(row, utcnow())
        self.supplement_count, self.version = row.supplement_count, row.version


@strawberry.type
class ReceivedDossier:
    dossier: DossierNode
    lookup_key: str | None = strawberry.field(description="Given once, on the first answer; eiso keeps only its hash.")
    replayed: bool


@strawberry.type
class PublicEvent:
    at: dt.datetime
    action: str
    status: DossierStatus


@strawberry.type
class PublicDossier:
    code: str
    procedure_code: str
    status: DossierStatus
    received_at: dt.datetime
    appointment_at: dt.datetime | None
    late: bool
    timeline: list[PublicEvent]
