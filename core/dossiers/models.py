"""Tables of the dossier engine. `procedures` is global (the catalogue of the loaded modules);
adoptions, dossiers, their timeline and the per-day code counters belong to an agency."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from eiso.tenants.models import TenantOwned, agency_fk, utcnow


class ProcedureRecord(SQLModel, table=True):
    __tablename__ = "procedures"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    name_vi: str = Field(max_length=500)
    name_en: str = Field(max_length=500)
    sector: str = Field(max_length=100)
    level: str = Field(max_length=16)
    time_limit_amount: int
    time_limit_unit: str = Field(max_length=16)
    cutoff: str | None = Field(default=None, max_length=8)  # "HH:MM" local time
    steps: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    components: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fee: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    module: str = Field(max_length=63)
    active: bool = True
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ProcedureAdoption(TenantOwned, table=True):
    __tablename__ = "procedure_adoptions"
    __table_args__ = (
        agency_fk("procedure_adoptions"),
        UniqueConstraint("agency_id", "procedure_code", name="uq_procedure_adoptions_agency_code"),
    )

    procedure_code: str = Field(max_length=32)
    time_limit_amount: int
    # step code → unit id (as text: JSON keys)
    step_units: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    adopted_at: dt.datetime = Field(default_factory=utcnow)


# The rows the late filter can match: late already, or a running clock (new, received, in
# progress, fee requested) that may pass its appointment. Migration 0520 repeats it.
LATE_INDEX_WHERE = "was_late OR status IN (1, 2, 4, 6)"


class Dossier(TenantOwned, table=True):
    __tablename__ = "dossiers"
    __table_args__ = (
        agency_fk("dossiers"),
        UniqueConstraint("agency_id", "idempotency_key", name="uq_dossiers_agency_idempotency"),
        Index("ix_dossiers_agency_status", "agency_id", "status", "received_at"),
        # The `dossiers` page (graphql/dossiers/page.py): latest first, keyset on (received_at, id).
        Index("ix_dossiers_agency_received", "agency_id", "received_at", "id"),
        Index("ix_dossiers_province_received", "province_id", "received_at", "id"),
        Index("ix_dossiers_province_status", "province_id", "status", "received_at", "id"),
        Index("ix_dossiers_agency_procedure", "agency_id", "procedure_code", "received_at", "id"),
        Index("ix_dossiers_province_procedure", "province_id", "procedure_code", "received_at", "id"),
        Index("ix_dossiers_agency_late", "agency_id", "received_at", "id",
              postgresql_where=text(LATE_INDEX_WHERE), sqlite_where=text(LATE_INDEX_WHERE)),
        Index("ix_dossiers_province_late", "province_id", "received_at", "id",
              postgresql_where=text(LATE_INDEX_WHERE), sqlite_where=text(LATE_INDEX_WHERE)),
    )

    # No index on agency_id alone: ix_dossiers_agency_received leads with it, and under RLS the
    # planner would pick the lone index and sort a whole agency instead of reading 51 rows.
    agency_id: int = Field(sa_type=BigInteger, index=False)
    code: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    lookup_hash: str = Field(max_length=64)  # sha256 of the citizen's lookup key
    procedure_code: str = Field(max_length=32, index=True)
    # Personal data: never public, never logged, never in the audit trail or events.
    applicant: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sector_data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: int = Field(default=1)
    current_step: int = 0
    assignee: str | None = Field(default=None, max_length=200)
    received_at: dt.datetime = Field(default_factory=utcnow)
    appointment_at: dt.datetime | None = None
    paused_at: dt.datetime | None = None
    # [[paused_at, resumed_at], ...] ISO strings: the clock stopped for a supplement
    pauses: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    supplement_count: int = 0
    was_late: bool = False
    version: int = 1
    idempotency_key: str | None = Field(default=None, max_length=200)
    input_hash: str | None = Field(default=None, max_length=64)
    rating: int | None = None
    rating_comment: str | None = Field(default=None, max_length=2000)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class DossierEventRow(TenantOwned, table=True):
    """The dossier's timeline: one row per transition."""

    __tablename__ = "dossier_events"
    __table_args__ = (agency_fk("dossier_events"), Index("ix_dossier_events_dossier", "dossier_id", "at"))

    dossier_id: int = Field(sa_type=BigInteger)
    at: dt.datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    from_status: int | None = None
    to_status: int
    note: str = Field(default="", max_length=2000)


class DossierCounter(TenantOwned, table=True):
    """The last sequence number of an agency's dossier codes on one day; its row lock
    serialises the receipts of that agency so codes never collide."""

    __tablename__ = "dossier_counters"
    __table_args__ = (
        agency_fk("dossier_counters"),
        UniqueConstraint("agency_id", "day", name="uq_dossier_counters_agency_day"),
    )

    day: str = Field(max_length=6)  # yymmdd
    last: int = 0
