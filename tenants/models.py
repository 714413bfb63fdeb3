"""The tenant hierarchy: nation → province → agency → unit. The agency is the tenant."""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    and_,
    column,
    or_,
)
from sqlalchemy.sql.elements import BindParameter, ColumnClause, ColumnElement
from sqlmodel import Field, SQLModel, col

from eiso.infra.clock import utcnow
from eiso.infra.ids import new_id
from eiso.infra.text import fold


class AgencyKind(str, enum.Enum):
    department = "department"
    service_centre = "service_centre"
    people_committee = "people_committee"
    commune = "commune"
    ward = "ward"
    # Đặc khu: a commune-level unit for an island (e.g. Vân Đồn, Cô Tô in Quảng Ninh) since the
    # two-level local government of 1 July 2025; it adopts what communes and wards adopt.
    special_zone = "special_zone"
    other = "other"


# The kinds at the commune level (the people's committee of a commune, ward or special zone).
COMMUNE_LEVEL = frozenset({AgencyKind.commune, AgencyKind.ward, AgencyKind.special_zone})


class IsoStatus(str, enum.Enum):
    not_started = "not_started"
    building = "building"
    announced = "announced"
    to_be_reannounced = "to_be_reannounced"


class TenantStatus(str, enum.Enum):
    active = "active"
    merged = "merged"


class _MarkerColumn:
    """A column seen only on `TenantRow` itself, never by the tables that inherit it."""

    def __init__(self, name: str) -> None:
        self.column = column(name, BigInteger)

    def __get__(self, instance: object, owner: type) -> ColumnClause[int]:
        if owner is TenantRow:
            return self.column
        raise AttributeError(self.column.name)


class TenantRow:
    """The marker the session's scope criteria target (SQLAlchemy finds the tables through
    `__subclasses__`). Its columns only let the criteria lambda be analysed once."""

    if TYPE_CHECKING:  # the columns every tenant table has (`TenantOwned`)
        province_id: int
        agency_id: int
    else:
        province_id = _MarkerColumn("province_id")
        agency_id = _MarkerColumn("agency_id")


# Pydantic notices that the table columns replace TenantRow's marker columns; that is the intent.
warnings.filterwarnings(
    "ignore", r'Field name "\w+" in "\w+" shadows an attribute in parent "TenantRow"'
)


class TenantOwned(SQLModel, TenantRow):
    """Mixin for every tenant-owned table: keyed by (province_id, id), stamped with agency_id.

    `province_id` leads the primary key so a sharded PostgreSQL (Citus) can distribute every
    tenant table by it. The session adds the caller's scope to every statement on these models.
    """

    province_id: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(default_factory=new_id, sa_type=BigInteger, primary_key=True)
    agency_id: int = Field(sa_type=BigInteger, index=True)


class Authored(SQLModel):
    """Mixin for a record that names who created it and when (QMS records, calendar
    overrides): `created_by` is the principal's subject or the CLI actor."""

    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)


# The ids a scope condition compares with: the values themselves, or an expanding parameter
# that stands for them (`eiso.tenants.scope.bound_scope`).
ScopeIds = tuple[int, ...] | BindParameter[Any]


class SharedRow:
    """The marker of tenant tables whose rows their owner may share with other agencies (a
    dossier handed over to the agency of a later step). Under an agency scope the session
    shows the rows the agencies own or `shared_with` selects (`visible_to`)."""

    if TYPE_CHECKING:  # the columns every shared table has (`SharedTenantOwned`)
        province_id: int
        agency_id: int

    @classmethod
    def shared_with(cls, agency_ids: ScopeIds, province_ids: ScopeIds) -> ColumnElement[bool]:
        """The rows of other agencies shown to these agencies."""
        raise NotImplementedError

    @classmethod
    def visible_to(cls, agency_ids: ScopeIds, province_ids: ScopeIds) -> ColumnElement[bool]:
        return or_(col(cls.agency_id).in_(agency_ids), cls.shared_with(agency_ids, province_ids))


class SharedTenantOwned(SQLModel, SharedRow):
    """Like `TenantOwned` (same key and columns), for rows other agencies may be shown."""

    province_id: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(default_factory=new_id, sa_type=BigInteger, primary_key=True)
    agency_id: int = Field(sa_type=BigInteger, index=True)


# The composite province keys are DEFERRABLE INITIALLY IMMEDIATE: checked at the end of each
# statement as any key, but a province merge (tenants/reorganisation.py) defers them to its
# commit (`SET CONSTRAINTS ALL DEFERRED`) to move parent and child rows to the new
# `province_id` one table at a time (migration 0915_deferrable_keys; docs/operating.md,
# "Merges"). A migration that creates a tenant table declares its keys with `tenant_fk`.
DEFERRABLE_KEY: dict[str, Any] = {"deferrable": True, "initially": "IMMEDIATE"}


def tenant_fk(table: str, column: str, parent: str, name: str) -> ForeignKeyConstraint:
    """A composite foreign key to another tenant table: the database itself refuses a
    reference across provinces."""
    return ForeignKeyConstraint(
        ["province_id", column],
        [f"{parent}.province_id", f"{parent}.id"],
        name=f"fk_{table}_{name}",
        **DEFERRABLE_KEY,
    )


def tenant_join(key: Any, reference: Any) -> ColumnElement[bool]:
    """The join of a row to the row its `reference` column names (`key`: that row's id
    column), over the composite key `tenant_fk` declares: `province_id` too, so a join never
    pairs rows of two provinces and Citus keeps it inside one shard group."""
    return and_(
        col(key.class_.province_id) == col(reference.class_.province_id),
        col(key) == col(reference),
    )


def agency_fk(table: str) -> ForeignKeyConstraint:
    """The composite foreign key that keeps a row inside its agency's province."""
    return tenant_fk(table, "agency_id", "agencies", "agency")


def one_per_agency(table: str) -> tuple[ForeignKeyConstraint, UniqueConstraint]:
    """The keys of a table with one row per agency at most (`agency_fk`, and the agency unique
    in its province)."""
    return agency_fk(table), UniqueConstraint("province_id", "agency_id", name=f"uq_{table}_agency")


def one_per_agency_year(table: str) -> tuple[ForeignKeyConstraint, UniqueConstraint]:
    """The keys of a table with one row per agency and year at most (`agency_fk`, and the
    agency's year unique in its province): an audit programme, an inspection, a yearly report."""
    return agency_fk(table), UniqueConstraint(
        "province_id", "agency_id", "year", name=f"uq_{table}_year"
    )


def child_fks(
    table: str, column: str, parent: str, name: str
) -> tuple[ForeignKeyConstraint, ForeignKeyConstraint]:
    """The keys of a row that belongs to an agency and to a parent row (`column`): both in
    the row's province (`agency_fk`, then `tenant_fk`)."""
    return agency_fk(table), tenant_fk(table, column, parent, name)


def province_key() -> Any:
    """The `province_id` column of a province's own row (not an agency's): the leading part of
    its primary key, a reference to the province."""
    return Field(sa_column=Column(BigInteger, ForeignKey("provinces.id"), primary_key=True))


class Province(SQLModel, table=True):
    __tablename__ = "provinces"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    name: str = Field(max_length=200)
    name_folded: str = Field(default="", max_length=200, index=True)
    status: TenantStatus = Field(default=TenantStatus.active, sa_type=String(16))
    merged_into_id: int | None = Field(default=None, foreign_key="provinces.id")
    created_at: dt.datetime = Field(default_factory=utcnow)

    def refresh_folded(self) -> None:
        self.name_folded = fold(self.name)


class Agency(SQLModel, table=True):
    """A tenant. Its `id` is the `agency_id` every row it owns carries."""

    __tablename__ = "agencies"
    __table_args__ = (
        tenant_fk("agencies", "parent_id", "agencies", "parent"),
        Index("ix_agencies_province_folded", "province_id", "name_folded"),
        Index("ix_agencies_id", "id"),  # agency scope filters by id alone
    )

    province_id: int = Field(sa_type=BigInteger, primary_key=True, foreign_key="provinces.id")
    id: int = Field(default_factory=new_id, sa_type=BigInteger, primary_key=True)
    code: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    name: str = Field(max_length=300)
    name_folded: str = Field(default="", max_length=300)
    kind: AgencyKind = Field(sa_type=String(32))
    parent_id: int | None = Field(default=None, sa_type=BigInteger)
    iso_status: IsoStatus = Field(default=IsoStatus.not_started, sa_type=String(32))
    iso_status_since: dt.date | None = None
    status: TenantStatus = Field(default=TenantStatus.active, sa_type=String(16))
    merged_into_id: int | None = Field(default=None, sa_type=BigInteger)
    # The unit that receives dossiers and returns results for it, as the slips' header names
    # it; empty: `receiving_unit` derives it from the kind.
    receiving_unit_name: str | None = Field(default=None, max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow)

    @property
    def agency_id(self) -> int:
        return self.id

    def refresh_folded(self) -> None:
        self.name_folded = fold(self.name)


class Unit(TenantOwned, table=True):
    """A department inside an agency (phòng, bộ phận)."""

    __tablename__ = "units"
    __table_args__ = (agency_fk("units"),)

    code: str = Field(max_length=64)
    name: str = Field(max_length=300)


COMMITTEE = "Ủy ban nhân dân "


def receiving_unit(agency: Agency, province_name: str | None) -> str:
    """The name of the unit that receives the agency's dossiers (its one-stop department): the
    agency's own `receiving_unit_name`, else the public administrative service centre of its
    commune, ward or special zone, or of its province for a provincial agency (Decree
    118/2025/NĐ-CP), else "Bộ phận Một cửa" of the agency itself."""
    if agency.receiving_unit_name:
        return agency.receiving_unit_name
    kind = AgencyKind(agency.kind)
    if kind is AgencyKind.service_centre:
        return agency.name
    if kind in COMMUNE_LEVEL and agency.name.startswith(COMMITTEE):
        return "Trung tâm Phục vụ hành chính công " + agency.name.removeprefix(COMMITTEE)
    if kind in (AgencyKind.department, AgencyKind.people_committee) and province_name:
        return "Trung tâm Phục vụ hành chính công " + province_name[:1].lower() + province_name[1:]
    return f"Bộ phận Một cửa - {agency.name}"
