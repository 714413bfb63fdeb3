"""Reorganisation: merging provinces (B into A) and merging agencies (communes into a new one).

Nothing is deleted that holds data: rows move, and each move is recorded. A merge runs in one
transaction (the caller's), under the nation's scope, and writes a `reorganisations` row
(kind, from, into, who, when). `agency_lineage` maps every old agency to the one that absorbed
it, so figures can be added up through it; `reorganised_rows` keeps, for every re-pointed row
of an agency merge, the agency it came from.

Moving agencies between provinces changes their primary key (province_id leads it) while
tenant rows point at them through composite foreign keys. The agencies are copied into the new
province under their own ids, children are re-pointed, and the old copies are deleted. Rows of
tenant tables that reference each other (a dossier's steps, a document's versions) move one
table at a time, which breaks their composite keys until the last table moved: the merge
defers every key to its commit, where they hold again. On PostgreSQL `SET CONSTRAINTS ALL
DEFERRED` does so, the composite province keys being DEFERRABLE INITIALLY IMMEDIATE
(tenants/models.py `tenant_fk`, migration 0915_deferrable_keys); on SQLite `PRAGMA
defer_foreign_keys`, which holds until the transaction ends, so it is set once the merge's
first write has begun the transaction (before it, the pysqlite driver runs in autocommit and
the pragma would end with its own statement). On Citus the merge is refused (`_refuse_on_citus`).
Where each works: docs/operating.md, "Merges".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    String,
    Table,
    UniqueConstraint,
    and_,
    case,
    delete,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.infra.ids import saved_id
from eiso.infra.pg_begin import is_citus
from eiso.infra.tables import table_of
from eiso.infra.text import fold
from eiso.tenants.models import Agency, AgencyKind, Province, TenantStatus
from eiso.tenants.scope import scope_of


class Reorganisation(SQLModel, table=True):
    """One merge: what was merged into what, by whom and when."""

    __tablename__ = "reorganisations"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32))  # merge_provinces | merge_agencies
    from_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    into_code: str = Field(max_length=64)
    into_province_id: int = Field(sa_type=BigInteger)
    into_agency_id: int | None = Field(default=None, sa_type=BigInteger)
    done_by: str = Field(max_length=200)
    done_at: dt.datetime = Field(default_factory=utcnow)


class AgencyLineage(SQLModel, table=True):
    """Old agency → the agency that absorbed it (the same id in another province for a
    province merge, a new agency for an agency merge)."""

    __tablename__ = "agency_lineage"
    __table_args__ = (
        Index("ix_agency_lineage_into", "into_province_id", "into_agency_id"),
        Index("ix_agency_lineage_from", "from_province_id", "from_agency_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reorganisation_id: int = Field(foreign_key="reorganisations.id")
    from_province_id: int = Field(sa_type=BigInteger)
    from_agency_id: int = Field(sa_type=BigInteger)
    into_province_id: int = Field(sa_type=BigInteger)
    into_agency_id: int = Field(sa_type=BigInteger)


class ReorganisedRow(SQLModel, table=True):
    """Where one tenant row came from when an agency merge re-pointed it."""

    __tablename__ = "reorganised_rows"
    __table_args__ = (Index("ix_reorganised_rows_row", "table_name", "province_id", "row_id"),)

    id: int | None = Field(default=None, primary_key=True)
    reorganisation_id: int = Field(foreign_key="reorganisations.id", index=True)
    table_name: str = Field(max_length=64)
    province_id: int = Field(sa_type=BigInteger)
    row_id: int = Field(sa_type=BigInteger)
    from_agency_id: int = Field(sa_type=BigInteger)


class ReorganisationError(ValueError):
    """A merge that cannot run; nothing was changed. `code` is NOT_FOUND, CONFLICT or BAD_INPUT
    (the same codes as eiso.core.errors, which this room may not import)."""

    def __init__(self, code: str, message: str, message_vi: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_vi = code, message, message_vi


def DomainError(message: str, message_vi: str) -> ReorganisationError:  # noqa: N802
    return ReorganisationError("BAD_INPUT", message, message_vi)


def NotFound(message: str, message_vi: str) -> ReorganisationError:  # noqa: N802
    return ReorganisationError("NOT_FOUND", message, message_vi)


def Conflict(message: str, message_vi: str) -> ReorganisationError:  # noqa: N802
    return ReorganisationError("CONFLICT", message, message_vi)


# Called at the end of an agency merge, in its transaction: (session, province_id, new agency
# id, merged agency ids, by). Rooms above tenants (the QMS: conformity) register here, since
# this room imports none of them.
AgenciesMerged = Callable[[AsyncSession, int, int, list[int], str], Awaitable[None]]
_merged_listeners: list[AgenciesMerged] = []


# Called during a province merge, in its transaction, once the tenant rows moved: (session, into
# province id, from province id). Tables keyed otherwise than by `id` (the QMS's figure
# rollups) move their own rows here.
ProvincesMerged = Callable[[AsyncSession, int, int], Awaitable[None]]
_province_listeners: list[ProvincesMerged] = []


def on_provinces_merged(listener: ProvincesMerged) -> ProvincesMerged:
    if listener not in _province_listeners:
        _province_listeners.append(listener)
    return listener


def on_agencies_merged(listener: AgenciesMerged) -> AgenciesMerged:
    if listener not in _merged_listeners:
        _merged_listeners.append(listener)
    return listener


def tenant_tables(*, moving_agency: bool = False) -> list[Table]:
    """Every table that carries (province_id, agency_id) besides agencies itself. When rows
    change agency, tables marked `info={"keeps_agency": True}` (the audit chains, which are
    per agency and append-only) stay with the old agency, which is kept as merged."""
    return [
        table
        for table in SQLModel.metadata.sorted_tables
        if {"province_id", "agency_id", "id"} <= set(table.c.keys())
        and table.name != "agencies"
        and not (moving_agency and table.info.get("keeps_agency"))
    ]


def _require_nation(session: AsyncSession) -> None:
    if scope_of(session.sync_session).kind != "nation":
        raise DomainError(
            "a reorganisation needs the nation's scope", "tái tổ chức cần phạm vi toàn quốc"
        )


async def _defer_foreign_keys(session: AsyncSession) -> None:
    """Every foreign key checked at commit, for the rest of the transaction (which a write
    must have begun: see the module's docstring)."""
    dialect = session.get_bind().dialect.name
    await session.execute(
        text(
            "SET CONSTRAINTS ALL DEFERRED"
            if dialect == "postgresql"
            else "PRAGMA defer_foreign_keys = ON"
        )
    )


async def _province(session: AsyncSession, code: str) -> Province:
    row = await find_one(session, Province, code=code)
    if row is None:
        raise NotFound(f"no province with code {code!r}", f"không tìm thấy tỉnh có mã {code!r}")
    return row


async def merge_provinces(
    session: AsyncSession,
    into_code: str,
    from_code: str,
    *,
    by: str,
    effective: dt.datetime | None = None,
) -> Reorganisation:
    """Province `from_code` (B) joins `into_code` (A): its agencies and every row they own move to
    A, keeping their ids; B stays as a record with status merged. `effective`: when the merge
    took effect, if not now (the record is never updated afterwards)."""
    _require_nation(session)
    await _refuse_on_citus(session)
    into, source = await _province(session, into_code), await _province(session, from_code)
    if (
        into.id == source.id
        or source.status == TenantStatus.merged
        or into.status == TenantStatus.merged
    ):
        raise Conflict(
            f"cannot merge {from_code} into {into_code}",
            f"không thể sáp nhập {from_code} vào {into_code}",
        )
    into_id, source_id = saved_id(into), saved_id(source)
    agencies = table_of(Agency)
    moving = [
        dict(row)
        for row in (
            await session.execute(select(agencies).where(agencies.c.province_id == source_id))
        ).mappings()
    ]
    record = Reorganisation(
        kind="merge_provinces",
        from_codes=[from_code],
        into_code=into_code,
        into_province_id=into_id,
        done_by=by,
        done_at=effective or utcnow(),
    )
    session.add(record)
    await session.flush()  # the first write: on SQLite it begins the transaction
    await _defer_foreign_keys(session)
    if moving:
        # Free the codes (unique), copy under A with the same ids, re-point children, drop the old.
        await session.execute(
            update(agencies)
            .where(agencies.c.province_id == source_id)
            .values(code=literal("~") + agencies.c.id.cast(String))
        )
        await session.execute(
            insert(agencies), [{**row, "province_id": into_id} for row in _parents_first(moving)]
        )
        for table in tenant_tables():
            await session.execute(
                update(table).where(table.c.province_id == source_id).values(province_id=into_id)
            )
        for listener in _province_listeners:
            await listener(session, into_id, source_id)
        await session.execute(delete(agencies).where(agencies.c.province_id == source_id))
        # Earlier merges' records follow the rows to their new province.
        await session.execute(
            update(table_of(ReorganisedRow))
            .where(col(ReorganisedRow.province_id) == source_id)
            .values(province_id=into_id)
        )
        await session.execute(
            update(table_of(AgencyLineage))
            .where(col(AgencyLineage.into_province_id) == source_id)
            .values(into_province_id=into_id)
        )
        await session.execute(
            insert(table_of(AgencyLineage)),
            [
                {
                    "reorganisation_id": record.id,
                    "from_province_id": source_id,
                    "from_agency_id": row["id"],
                    "into_province_id": into_id,
                    "into_agency_id": row["id"],
                }
                for row in moving
            ],
        )
    source.status, source.merged_into_id = TenantStatus.merged, into_id
    await session.flush()
    return record


async def _sequential_on_citus(session: AsyncSession) -> None:
    """On Citus, one connection per worker for the rest of the transaction: the merge reads
    every shard (the new code is checked across provinces) before it writes the reference
    tables (`reorganisations`, the lineage), which Citus refuses after a parallel read."""
    connection = (await session.connection()).sync_connection
    if connection is not None and is_citus(connection):
        await session.execute(text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))


async def _refuse_on_citus(session: AsyncSession) -> None:
    """A province merge re-keys every row of B under A's `province_id`, the distribution
    column on Citus, which refuses to change it in place (docs/operating.md, "Citus")."""
    connection = (await session.connection()).sync_connection
    if connection is not None and is_citus(connection):
        raise DomainError(
            "province merges are not supported on Citus: they change the distribution column "
            "(province_id) of every row; merge on a single-node copy, then load it into Citus",
            "không hỗ trợ sáp nhập tỉnh trên Citus: việc này đổi cột phân tán (province_id) của "
            "mọi dòng dữ liệu; hãy sáp nhập trên bản sao một máy chủ rồi nạp lại vào Citus",
        )


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import graphlib

    ids = {row["id"]: row for row in rows}
    order = graphlib.TopologicalSorter(
        {row["id"]: [row["parent_id"]] if row["parent_id"] in ids else [] for row in rows}
    ).static_order()
    return [ids[agency_id] for agency_id in order]


async def merge_agencies(
    session: AsyncSession,
    province_code: str,
    from_codes: list[str],
    *,
    code: str,
    name: str,
    by: str,
    kind: AgencyKind = AgencyKind.commune,
    parent_code: str | None = None,
) -> tuple[Agency, Reorganisation]:
    """Several agencies of one province become one new agency (the 2025 commune merges): every
    row they own is re-pointed to it, with its origin recorded; the old ones stay, merged."""
    _require_nation(session)
    await _sequential_on_citus(session)
    province = await _province(session, province_code)
    province_id = saved_id(province)
    if len(set(from_codes)) < 2:
        raise DomainError(
            "name at least two agencies to merge", "cần ít nhất hai cơ quan để sáp nhập"
        )
    olds = list(
        (
            await session.execute(
                select(Agency).where(
                    col(Agency.province_id) == province_id, col(Agency.code).in_(from_codes)
                )
            )
        ).scalars()
    )
    missing = sorted(set(from_codes) - {agency.code for agency in olds})
    if missing:
        raise NotFound(
            f"no agency {', '.join(missing)} in province {province_code}",
            f"không tìm thấy cơ quan {', '.join(missing)} trong tỉnh {province_code}",
        )
    if any(agency.status == TenantStatus.merged for agency in olds):
        raise Conflict("an agency named was already merged", "có cơ quan đã được sáp nhập trước đó")
    if (await session.execute(select(col(Agency.id)).where(col(Agency.code) == code))).first():
        raise Conflict(f"code {code!r} is already used", f"mã {code!r} đã được sử dụng")
    parent_id = None
    if parent_code:
        parent = await find_one(session, Agency, province_id=province_id, code=parent_code)
        if parent is None:
            raise NotFound(
                f"unknown parent_code {parent_code!r}",
                f"không tìm thấy cơ quan cấp trên {parent_code!r}",
            )
        parent_id = parent.id
    new = Agency(
        province_id=province_id,
        code=code,
        name=name,
        name_folded=fold(name),
        kind=kind,
        parent_id=parent_id,
    )
    session.add(new)
    record = Reorganisation(
        kind="merge_agencies",
        from_codes=sorted(from_codes),
        into_code=code,
        into_province_id=province_id,
        into_agency_id=new.id,
        done_by=by,
    )
    session.add(record)
    await session.flush()
    # in the order named: the first agency's row wins where only one may move (`_staying`)
    by_code = {agency.code: saved_id(agency) for agency in olds}
    old_ids = [by_code[agency_code] for agency_code in dict.fromkeys(from_codes)]
    origins = table_of(ReorganisedRow)
    staying: dict[str, set[int]] = {}
    for table in tenant_tables(moving_agency=True):
        staying[table.name] = await _staying(session, table, province_id, old_ids, staying)
        of_olds = and_(
            table.c.province_id == province_id,
            table.c.agency_id.in_(old_ids),
            table.c.id.not_in(staying[table.name]),
        )
        moved = select(
            literal(record.id),
            literal(table.name),
            table.c.province_id,
            table.c.id,
            table.c.agency_id,
        ).where(of_olds)
        await session.execute(
            insert(origins).from_select(
                ["reorganisation_id", "table_name", "province_id", "row_id", "from_agency_id"],
                moved,
            )
        )
        await session.execute(update(table).where(of_olds).values(agency_id=new.id))
    agencies = table_of(Agency)
    await session.execute(
        update(agencies)
        .where(agencies.c.province_id == province_id, agencies.c.parent_id.in_(old_ids))
        .values(parent_id=new.id)
    )
    await session.execute(
        update(agencies)
        .where(agencies.c.province_id == province_id, agencies.c.id.in_(old_ids))
        .values(status=TenantStatus.merged.value, merged_into_id=new.id)
    )
    await session.execute(
        insert(table_of(AgencyLineage)),
        [
            {
                "reorganisation_id": record.id,
                "from_province_id": province_id,
                "from_agency_id": old_id,
                "into_province_id": province_id,
                "into_agency_id": new.id,
            }
            for old_id in old_ids
        ],
    )
    await session.flush()
    for listener in _merged_listeners:
        await listener(session, province_id, saved_id(new), old_ids, by)
    return new, record


def _agency_keys(table: Table) -> list[list[Column[Any]]]:
    """The table's unique keys that include the agency: the columns besides it."""
    keys = [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
    keys += [i.columns for i in table.indexes if i.unique]
    return [
        [c for c in key if c.name not in ("province_id", "agency_id")]
        for key in keys
        if "agency_id" in key
    ]


async def _staying(
    session: AsyncSession,
    table: Table,
    province_id: int,
    old_ids: list[int],
    staying: dict[str, set[int]],
) -> set[int]:
    """The rows of `table` that stay with their merged agency: those whose key, unique per
    agency, a row of an agency named before theirs also has (two communes that adopted the same
    procedure: the new agency keeps the first's adoption), and the rows under a parent row that
    stays (`staying`: the tables before this one, parents first)."""
    ids: set[int] = set()
    ranks = {agency_id: n for n, agency_id in enumerate(old_ids)}
    for key in _agency_keys(table):
        earlier = table.alias("earlier")
        clash = (
            select(earlier.c.id)
            .where(
                earlier.c.province_id == province_id,
                earlier.c.agency_id.in_(old_ids),
                case(ranks, value=earlier.c.agency_id) < case(ranks, value=table.c.agency_id),
                *(earlier.c[c.name] == c for c in key),
            )
            .exists()
        )
        found = await session.execute(
            select(table.c.id).where(
                table.c.province_id == province_id, table.c.agency_id.in_(old_ids), clash
            )
        )
        ids.update(found.scalars())
    for fk in table.foreign_key_constraints:
        parent_ids = staying.get(fk.referred_table.name)
        column = next((c for c in fk.columns if c.name != "province_id"), None)
        if parent_ids and column is not None and column.name != "agency_id":
            found = await session.execute(
                select(table.c.id).where(table.c.province_id == province_id, column.in_(parent_ids))
            )
            ids.update(found.scalars())
    return ids


async def absorbed_agencies(
    session: AsyncSession, province_id: int, agency_id: int
) -> set[tuple[int, int]]:
    """Every (province_id, agency_id) that was merged, directly or not, into this agency: the
    keys to add up a tenant's figures kept under its predecessors' ids."""
    found: set[tuple[int, int]] = set()
    frontier = {(province_id, agency_id)}
    lineage = table_of(AgencyLineage)
    while frontier:
        rows = (
            await session.execute(
                select(lineage.c.from_province_id, lineage.c.from_agency_id).where(
                    lineage.c.into_agency_id.in_({key[1] for key in frontier})
                )
            )
        ).all()
        frontier = {tuple(row) for row in rows} - found - {(province_id, agency_id)}
        found |= frontier
    return found


async def origin_of(
    session: AsyncSession, table_name: str, province_id: int, row_id: int
) -> list[int]:
    """The agencies a row belonged to before each agency merge, oldest first."""
    rows = await session.execute(
        select(col(ReorganisedRow.from_agency_id))
        .where(
            col(ReorganisedRow.table_name) == table_name,
            col(ReorganisedRow.province_id) == province_id,
            col(ReorganisedRow.row_id) == row_id,
        )
        .order_by(col(ReorganisedRow.id))
    )
    return list(rows.scalars())
