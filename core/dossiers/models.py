"""Tables of the dossier engine. `procedures` is global (the catalogue of the loaded modules);
adoptions, dossiers, their timeline and the per-day code counters belong to an agency.

A dossier belongs to the agency that received it; each of its steps (`dossier_steps`) belongs
to the agency that holds that step. The dossier's common part is shared with the agencies
of its steps (`Dossier.visible_to`); a step row, with its own sector data, is seen by its
agency only."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Index,
    String,
    UniqueConstraint,
    and_,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import relationship
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import Field, SQLModel, col

from eiso.infra.clock import utcnow
from eiso.infra.defaults import empty_dict, empty_list
from eiso.infra.index_conditions import in_subquery
from eiso.tenants.models import (
    ScopeIds,
    SharedTenantOwned,
    TenantOwned,
    agency_fk,
    child_fks,
    tenant_join,
)


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
    steps: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    components: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    fee: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # sdk.CountingRules as JSON: clock stops, extensions, supplements per stage
    counting: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    # sdk.RuleChange as JSON, oldest first: the rules that take over from a date (rules_at)
    revisions: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
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
    # Tightened counting rules (None: the procedure's own): an earlier cut-off "HH:MM" and
    # fewer supplement requests per stage; never looser (catalogue.adopt refuses it)
    cutoff: str | None = Field(default=None, max_length=8)
    supplements_per_stage: int | None = None
    # step code → unit id (as text: JSON keys)
    step_units: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    # step code → id of the agency (same province) that holds that step: cross-agency transfer
    step_agencies: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    adopted_at: dt.datetime = Field(default_factory=utcnow)


# The rows the late filter can match: late already, or a running clock (new, received, in
# progress, fee requested) that may pass its appointment. Migration 0520 repeats it.
CODE_FOLDED = "lower(code)"
HANDED_OVER = "from_agency_id <> agency_id"  # a step an agency received from another
LATE_INDEX_WHERE = "was_late OR status IN (1, 2, 4, 6)"


class Dossier(SharedTenantOwned, table=True):
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
        Index(
            "ix_dossiers_province_procedure", "province_id", "procedure_code", "received_at", "id"
        ),
        Index(
            "ix_dossiers_agency_late",
            "agency_id",
            "received_at",
            "id",
            postgresql_where=text(LATE_INDEX_WHERE),
            sqlite_where=text(LATE_INDEX_WHERE),
        ),
        Index(
            "ix_dossiers_province_late",
            "province_id",
            "received_at",
            "id",
            postgresql_where=text(LATE_INDEX_WHERE),
            sqlite_where=text(LATE_INDEX_WHERE),
        ),
        # The figures (core/qms/figures.py): finished by period (migration 0610_figures).
        Index("ix_dossiers_province_finished", "province_id", "finished_at"),
        Index("ix_dossiers_agency_finished", "agency_id", "finished_at"),
        # The code search (graphql/dossiers/page.py): a prefix range, leakproof under RLS; for
        # the nation, a province, an agency (migrations 0540, 0550).
        Index(
            "ix_dossiers_code_folded",
            "code_folded",
            postgresql_ops={"code_folded": "text_pattern_ops"},
        ),
        Index(
            "ix_dossiers_province_code",
            "province_id",
            "code_folded",
            postgresql_ops={"code_folded": "text_pattern_ops"},
        ),
        Index(
            "ix_dossiers_agency_code",
            "agency_id",
            "code_folded",
            postgresql_ops={"code_folded": "text_pattern_ops"},
        ),
    )

    # No index on agency_id alone: ix_dossiers_agency_received leads with it, and under RLS the
    # planner would pick the lone index and sort a whole agency instead of reading 51 rows.
    agency_id: int = Field(sa_type=BigInteger, index=False)
    code: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    # lower(code), computed by the database: what the code search compares (codes have no
    # diacritics: agency codes are ASCII)
    code_folded: str | None = Field(
        default=None, sa_column=Column(String(80), Computed(CODE_FOLDED), nullable=True)
    )
    lookup_hash: str = Field(max_length=64)  # sha256 of the citizen's lookup key
    procedure_code: str = Field(max_length=32, index=True)
    # Personal data: never public, never logged, never in the audit trail or events.
    applicant: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    sector_data: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    status: int = Field(default=1)
    current_step: int = 0
    # step code → agency id, copied from the adoption at receipt (absent: the receiving agency)
    step_agencies: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    # The agencies a step of it was handed over to (its steps with `handed_over`), kept by the
    # engine with the hand-over (`handed_to_of`): what the dossiers policy reads on Citus, which
    # refuses a policy that reads dossier_steps (infra/citus, migration 0899). bigint[] on
    # PostgreSQL, a JSON list on SQLite.
    handed_to: list = Field(
        default_factory=empty_list,
        sa_column=Column(ARRAY(BigInteger).with_variant(JSON(), "sqlite"), nullable=False),
    )
    # the adopted time limit at receipt: agencies of later steps cannot read the adoption
    time_limit_amount: int | None = None
    # the adoption's tightened cut-off and supplement limit at receipt (None: the procedure's)
    cutoff: str | None = Field(default=None, max_length=8)
    supplements_per_stage: int | None = None
    assignee: str | None = Field(default=None, max_length=200)
    received_at: dt.datetime = Field(default_factory=utcnow)
    appointment_at: dt.datetime | None = None
    # the start of the clock stop now open (the last of `pauses`), None when the clock runs
    paused_at: dt.datetime | None = None
    # [[stopped_at, resumed_at | null, why, agency_id], ...] ISO strings: the clock stood still
    # (why: "supplement", "status:6", "step:<code>"; agency_id: the stage that asked). Rows
    # written before issue 17 have the first two only: a supplement.
    pauses: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    # [{"code", "amount", "unit", "reason", "at"}, ...]: the lawful extensions recorded
    extensions: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    supplement_count: int = 0
    was_late: bool = False
    version: int = 1
    idempotency_key: str | None = Field(default=None, max_length=200)
    input_hash: str | None = Field(default=None, max_length=64)
    # Stamped by the engine when the dossier first reaches a finished status, so the figures
    # are plain SQL aggregates: when, how long in working days (resolved dossiers only: the
    # clock stopped for supplements excluded) and whether it met its appointment.
    finished_at: dt.datetime | None = None
    handling_days: float | None = None
    on_time: bool | None = None
    # The first moment it was overdue (the appointment an apology replaced): a backlog
    # dossier counts as late at a period end after this.
    late_since: dt.datetime | None = None
    # The apology slip (04), once per dossier; late: recorded after the close of the working
    # day before the deadline (Decree 61/2018/NĐ-CP art. 19).
    apology_at: dt.datetime | None = None
    apology_late: bool = False
    rating: int | None = None
    rating_comment: str | None = Field(default=None, max_length=2000)
    updated_at: dt.datetime = Field(default_factory=utcnow)

    def stamp(self, agency_id: int | None = None) -> dict[str, Any]:
        """The columns a row of this dossier starts with: its province, the agency that owns
        the row (`agency_id`; default the dossier's own) and its id (a step, a timeline row,
        a unique key, an attachment, an issued slip, and its outbox event's payload)."""
        return {
            "province_id": self.province_id,
            "agency_id": agency_id or self.agency_id,
            "dossier_id": self.id,
        }

    @classmethod
    def shared_with(cls, agency_ids: ScopeIds, province_ids: ScopeIds) -> ColumnElement[bool]:
        """The dossiers of other agencies handed over to these. An agency's first step of
        another's dossier always comes from another agency: the steps it holds with
        `handed_over` (partial index ix_dossier_steps_handed) name them; with the province,
        they are primary-key lookups, so this arm of `visible_to`'s OR has its own index
        (infra/index_conditions.py) and no query scans the table for it."""
        # The computed column is NULL only before the database fills it: a condition as it is.
        handed_over = cast("ColumnElement[bool]", col(DossierStep.handed_over))
        handed = select(col(DossierStep.dossier_id)).where(
            col(DossierStep.agency_id).in_(agency_ids), handed_over
        )
        named = isinstance(province_ids, BindParameter) or bool(province_ids)  # or a parameter
        if named:  # the sub-select names the provinces too (on Citus: routed to their shards)
            handed = handed.where(col(DossierStep.province_id).in_(province_ids))
        found: ColumnElement[bool] = in_subquery(col(cls.id), handed)
        if named:
            found = and_(col(cls.province_id).in_(province_ids), found)
        return and_(found, col(cls.agency_id).not_in(agency_ids))


class DossierStep(TenantOwned, table=True):
    """One step of a dossier, owned by the agency that holds it: created when the dossier
    reaches the step (at receipt, or handed over by the previous step's agency)."""

    __tablename__ = "dossier_steps"
    # Never read back `handed_over` after an insert (RETURNING): the agency handing a step
    # over may insert the receiver's row but not read it.
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012 - SQLAlchemy reads the class attribute
    __table_args__ = (
        *child_fks("dossier_steps", "dossier_id", "dossiers", "dossier"),
        UniqueConstraint(
            "province_id", "dossier_id", "step_index", name="uq_dossier_steps_dossier_index"
        ),
        # the steps handed over from another agency: what `Dossier.visible_to` looks up
        Index(
            "ix_dossier_steps_handed",
            "agency_id",
            "dossier_id",
            postgresql_where=text("handed_over"),
            sqlite_where=text("handed_over = 1"),
        ),
    )

    dossier_id: int = Field(sa_type=BigInteger)
    step_index: int
    step_code: str = Field(max_length=64)
    status: str = Field(default="active", max_length=16)  # active | done
    # the step's own sector data (validated by the step's model), seen by this agency only
    sector_data: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    from_agency_id: int | None = Field(default=None, sa_type=BigInteger)  # who handed it over
    # Computed by the database, so a reorganisation's new agency_id keeps it true; a column
    # (not the comparison) so PostgreSQL's statistics know how few steps it holds.
    handed_over: bool | None = Field(
        default=None, sa_column=Column(Boolean, Computed(HANDED_OVER), nullable=True)
    )
    started_at: dt.datetime = Field(default_factory=utcnow)
    completed_at: dt.datetime | None = None
    completed_by: str | None = Field(default=None, max_length=200)


class DossierEventRow(TenantOwned, table=True):
    """The dossier's timeline: one row per transition."""

    __tablename__ = "dossier_events"
    __table_args__ = (
        agency_fk("dossier_events"),
        Index("ix_dossier_events_dossier", "dossier_id", "at"),
    )

    dossier_id: int = Field(sa_type=BigInteger)
    at: dt.datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    from_status: int | None = None
    to_status: int
    note: str = Field(default="", max_length=2000)


class DossierKey(TenantOwned, table=True):
    """A value a live dossier holds unique at its agency (`UniqueField`): the folded value, so
    the database itself refuses a second one even when two receipts race. After a merge the
    new agency starts with no keys (names registered before the merge are not checked)."""

    __tablename__ = "dossier_keys"
    __table_args__ = (
        *child_fks("dossier_keys", "dossier_id", "dossiers", "dossier"),
        UniqueConstraint("agency_id", "namespace", "value", name="uq_dossier_keys_agency_value"),
        # A merge of agencies leaves the keys with the merged agencies: two communes may each
        # have registered the same name before, and a merge must not fail on that.
        {"info": {"keeps_agency": True}},
    )

    namespace: str = Field(max_length=64)
    value: str = Field(max_length=500)
    dossier_id: int = Field(sa_type=BigInteger)


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


class DossierAttachment(TenantOwned, table=True):
    """A file filed with a dossier for one of its procedure's components
    (core/dossiers/attachments.py); the bytes are in the file storage (infra/storage.py) under
    their sha256. It belongs to the dossier's agency, like the dossier."""

    __tablename__ = "dossier_attachments"
    __table_args__ = (
        *child_fks("dossier_attachments", "dossier_id", "dossiers", "dossier"),
        Index("ix_dossier_attachments_dossier", "dossier_id", "position"),
    )

    dossier_id: int = Field(sa_type=BigInteger)
    position: int  # the order they were filed in
    component_code: str = Field(max_length=64)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    uploaded_at: dt.datetime = Field(default_factory=utcnow)


def _add_dossier_relationship(
    model: type[DossierStep] | type[DossierKey] | type[DossierAttachment],
) -> None:
    """`model.dossier`, over the composite key: the engine sets `dossier_id` directly; the
    relationship lets a caller build a row with its dossier in one go (the isolation suite)."""
    inspect(model).add_property(
        "dossier",
        relationship(
            Dossier,
            primaryjoin=tenant_join(Dossier.id, model.dossier_id),
            foreign_keys=[col(model.dossier_id)],
        ),
    )


_add_dossier_relationship(DossierStep)
_add_dossier_relationship(DossierKey)
_add_dossier_relationship(DossierAttachment)
