"""The audit trail: an append-only, tamper-evident hash chain per agency (the tenant).

Each entry stores the hash of the one before it in the same agency's chain and its own hash,
sha256 over a canonical JSON of its fields plus that previous hash. Changing or deleting a row
breaks the link that follows it, which `verify` finds; publishing the chain heads
(`chain_heads`) outside the database also exposes a rewrite of a whole chain.

Appends never fork a chain: one statement locks and reads the agency's head row (`head_lock`:
an upsert whose `ON CONFLICT DO UPDATE` takes the row lock and returns the committed head; it
creates the row on the agency's first entry). On PostgreSQL a concurrent append of the same
agency waits for that row lock and then reads the committed new head; SQLite has one writer at
a time, and a transaction that holds the write lock reads the latest data. `(agency_id, seq)`
is unique besides, so anything that slipped through would fail, never fork. A caller that
writes in batches (the dossier engine) sends `head_lock` inside its own first write and the
entry with the head's advance (`entry_after`, `advance`) together with its other rows.
On PostgreSQL the application role may only SELECT and INSERT entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, Required, TypedDict, Unpack

import orjson
from sqlalchemy import (
    CTE,
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Executable,
    Index,
    Select,
    UniqueConstraint,
    Update,
    bindparam,
    event,
    insert,
    literal,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.selectable import HasCTE
from sqlmodel import Field, col, select

from eiso.infra.clock import aware, utcnow
from eiso.infra.defaults import empty_dict
from eiso.infra.ids import new_id
from eiso.infra.tables import dialect_insert, new_row, table_of
from eiso.tenants.models import SharedTenantOwned, TenantOwned, agency_fk

GENESIS = "0" * 64
# Keys that would carry personal data: the audit trail must never hold it.
PERSONAL_KEYS = frozenset(
    {
        "applicant",
        "name",
        "full_name",
        "phone",
        "email",
        "address",
        "id_number",
        "citizen_id",
        "birth_date",
        "lookup_key",
    }
)


class AuditEntry(TenantOwned, table=True):
    __tablename__ = "audit_entries"
    __table_args__ = (
        agency_fk("audit_entries"),
        UniqueConstraint("agency_id", "seq", name="uq_audit_entries_agency_seq"),
        Index("ix_audit_entries_entity", "entity_type", "entity_id"),
        # A merge of agencies leaves each old agency's chain whole, under the old agency.
        {"info": {"keeps_agency": True}},
    )

    seq: int = Field(sa_type=BigInteger)
    at: dt.datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100)
    entity_type: str = Field(max_length=100)
    entity_id: str = Field(max_length=100)
    data: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(TenantOwned, table=True):
    """The last entry of one agency's chain; its `id` is the agency's id. Locking it
    serialises the appends of that agency."""

    __tablename__ = "audit_heads"
    __table_args__ = (agency_fk("audit_heads"), {"info": {"keeps_agency": True}})

    seq: int = Field(default=0, sa_type=BigInteger)
    hash: str = Field(default=GENESIS, max_length=64)


def _utc_text(moment: dt.datetime) -> str:
    return aware(moment).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_HASHED = ("id", "agency_id", "seq", "at", "actor", "action", "entity_type", "entity_id", "data")


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    return _digest({name: getattr(entry, name) for name in _HASHED}, prev_hash)


def _digest(fields: dict[str, Any], prev_hash: str, at_text: str | None = None) -> str:
    """sha256 over the canonical JSON of an entry's fields (a row's columns) and `prev_hash`
    (`at_text`: `at` already written as `_utc_text` does, for many entries of one moment)."""
    # The chain is the agency's: province_id is left out so that a merge of provinces can
    # re-home the chain (the only UPDATE the app role may make here) without breaking a link.
    canonical = orjson.dumps(
        {
            "id": fields["id"],
            "agency_id": fields["agency_id"],
            "seq": fields["seq"],
            "at": at_text or _utc_text(fields["at"]),
            "actor": fields["actor"],
            "action": fields["action"],
            "entity_type": fields["entity_type"],
            "entity_id": str(fields["entity_id"]),
            "data": fields["data"],
            "prev_hash": prev_hash,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def _check_no_personal_data(data: object, path: str = "data") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in PERSONAL_KEYS:
                raise ValueError(f"{path}.{key}: personal data must not enter the audit trail")
            _check_no_personal_data(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_no_personal_data(value, f"{path}[{i}]")


def head_lock(
    session: AsyncSession, province_id: int, agency_id: int, after: CTE | None = None
) -> Executable:
    """The statement that locks the agency's head row (creating it at genesis) and answers its
    (seq, hash): an upsert whose conflict branch rewrites nothing but takes the row lock, and
    whose RETURNING gives the committed head a concurrent append left. `after`: a statement
    (a CTE) that must write first, and whose first column is answered third; no row from it,
    no lock and no answer (the dossier engine's version-checked UPDATE)."""
    ids = literal(province_id, BigInteger), literal(agency_id, BigInteger)
    return _head_lock(dialect_insert(session, AuditHead), *ids, after=after)


def bound_head_lock(after: CTE) -> Executable:
    """`head_lock` on PostgreSQL with the head's ids bound as `head_province_id` and
    `head_agency_id`: a statement a caller builds once and runs with their values."""
    table = table_of(AuditHead)
    ids = (
        bindparam("head_province_id", type_=BigInteger),
        bindparam("head_agency_id", type_=BigInteger),
    )
    return _head_lock(postgresql.insert(table), *ids, after=after)


def head_lock_from(owners: Select[Any]) -> HasCTE:
    """`head_lock` (PostgreSQL) of the head each row of `owners` names (its province_id and
    agency_id columns, in that order), to run as a CTE after the statement that locks what
    must be locked first (the dossier engine's `load`): answers (seq, hash, agency_id)."""
    table = table_of(AuditHead)
    province_id, agency_id = owners.selected_columns
    genesis = owners.with_only_columns(
        province_id, agency_id, agency_id, literal(0, BigInteger), literal(GENESIS)
    )
    upsert = postgresql.insert(table).from_select(
        ["province_id", "id", "agency_id", "seq", "hash"], genesis
    )
    return upsert.on_conflict_do_update(
        index_elements=[table.c.province_id, table.c.id], set_={"seq": table.c.seq}
    ).returning(table.c.seq, table.c.hash, table.c.agency_id)


def _head_lock(
    insert: Any,
    province_id: ColumnElement[Any],
    agency_id: ColumnElement[Any],
    after: CTE | None,
) -> Executable:
    table = table_of(AuditHead)
    genesis: dict[str, ColumnElement[Any]] = {
        "province_id": province_id,
        "id": agency_id,
        "agency_id": agency_id,
        "seq": literal(0, BigInteger),
        "hash": literal(GENESIS),
    }
    if after is None:
        upsert = insert.values(genesis)
        answered: list[ColumnElement[Any]] = [table.c.seq, table.c.hash]
    else:
        chosen = sa_select(*genesis.values()).select_from(after)
        upsert = insert.from_select(list(genesis), chosen)
        answered = [table.c.seq, table.c.hash, select(after.c[0]).scalar_subquery()]
    return upsert.on_conflict_do_update(
        index_elements=[table.c.province_id, table.c.id], set_={"seq": table.c.seq}
    ).returning(*answered)


async def lock_head(session: AsyncSession, province_id: int, agency_id: int) -> tuple[int, str]:
    """Lock the agency's head for this transaction: its (seq, hash)."""
    seq, hash_ = (await session.execute(head_lock(session, province_id, agency_id))).one()
    return int(seq), str(hash_)


# Heads this transaction has locked, with their latest (seq, hash): while the lock is held no
# one else can move them, so a second append in the same transaction (a dossier move writes
# several) skips the upsert and the locking read. Forgotten whenever a transaction or savepoint
# ends, so a rollback never leaves a stale head behind.
_LOCKED_HEADS = "eiso.audit.locked_heads"


@event.listens_for(Session, "after_transaction_end")
def _forget_locked_heads(session: Session, transaction: SessionTransaction) -> None:
    # A flush's own subtransaction ends too: only a real transaction or a savepoint counts.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LOCKED_HEADS, None)


class NewEntry(TypedDict, total=False):
    """What an entry records (`append`, `entry_after`): the agency whose chain it joins, who
    did what to which entity, and the data (no personal data)."""

    province_id: Required[int]
    agency_id: Required[int]
    actor: Required[str]
    action: Required[str]
    entity_type: Required[str]
    entity_id: Required[object]
    data: dict | None


async def append(session: AsyncSession, **new: Unpack[NewEntry]) -> AuditEntry:
    """Append an entry to the agency's chain inside the caller's transaction: it commits or
    rolls back with the change it records."""
    chain = new["province_id"], new["agency_id"]
    heads = locked_heads(session)
    if chain not in heads:
        heads[chain] = await lock_head(session, *chain)
    entry = entry_after(heads[chain], **new)
    session.add(entry)
    await session.flush()
    await session.execute(advance(entry))
    heads[chain] = (entry.seq, entry.hash)
    return entry


def locked_heads(session: AsyncSession) -> dict[tuple[int, int], tuple[int, str]]:
    """The heads this transaction holds locked, with their latest (seq, hash)."""
    heads: dict[tuple[int, int], tuple[int, str]]
    heads = session.info.setdefault(_LOCKED_HEADS, {})
    return heads


def entry_after(
    head: tuple[int, str], *, at: dt.datetime | None = None, **new: Unpack[NewEntry]
) -> AuditEntry:
    """The entry that follows `head` (seq, hash) in the agency's chain, hashed, not yet added.
    The caller holds the head's lock and writes `advance(entry)` with it."""
    # what JSON will hand back, for the hash
    data = orjson.loads(orjson.dumps(new.get("data") or {}))
    _check_no_personal_data(data)
    seq, prev_hash = head
    entry = new_row(
        AuditEntry,
        province_id=new["province_id"],
        agency_id=new["agency_id"],
        seq=seq + 1,
        at=at or utcnow(),
        actor=new["actor"],
        action=new["action"],
        entity_type=new["entity_type"],
        entity_id=str(new["entity_id"]),
        data=data,
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = entry_hash(entry, prev_hash)
    return entry


def advance(entry: AuditEntry) -> Update:
    """The head's move to `entry` (the caller holds its lock)."""
    table = table_of(AuditHead)
    return (
        update(table)
        .where(table.c.province_id == entry.province_id, table.c.id == entry.agency_id)
        .values(seq=entry.seq, hash=entry.hash)
    )


async def append_row(
    session: AsyncSession,
    row: TenantOwned | SharedTenantOwned,
    actor: str,
    action: str,
    data: dict | None = None,
    *,
    about: tuple[str, object] | None = None,
) -> AuditEntry:
    """`append` the change of a tenant row in its agency's chain: about the row (its table's
    name and its id), or about the entity `about` names (type, id), e.g. the dossier a download
    of one of its attachments concerns."""
    entity_type, entity_id = about or (table_of(type(row)).name, row.id)
    return await append(
        session,
        province_id=row.province_id,
        agency_id=row.agency_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        data=data,
    )


async def lock_heads(
    session: AsyncSession, province_id: int, agency_ids: Sequence[int]
) -> dict[tuple[int, int], tuple[int, str]]:
    """`lock_head` for many agencies of a province at once: their head rows created where
    missing (one INSERT .. ON CONFLICT DO NOTHING of many rows), then locked and read in agency
    order (SELECT .. FOR UPDATE, which reads what a concurrent append committed; SQLite has one
    writer at a time). Their (seq, hash), remembered as this transaction's locked heads."""
    heads = locked_heads(session)
    wanted = sorted({a for a in agency_ids if (province_id, a) not in heads})
    if wanted:
        table = table_of(AuditHead)
        genesis = dialect_insert(session, AuditHead).on_conflict_do_nothing(
            index_elements=[table.c.province_id, table.c.id]
        )
        await session.execute(
            genesis,
            [
                {"province_id": province_id, "id": a, "agency_id": a, "seq": 0, "hash": GENESIS}
                for a in wanted
            ],
        )
        found = await session.execute(
            sa_select(table.c.id, table.c.seq, table.c.hash)
            .where(table.c.province_id == province_id, table.c.id.in_(wanted))
            .order_by(table.c.id)
            .with_for_update()
        )
        for agency_id, seq, hash_ in found.all():
            heads[province_id, int(agency_id)] = (int(seq), str(hash_))
    return {(province_id, a): heads[province_id, a] for a in agency_ids}


@dataclasses.dataclass(frozen=True)
class Change:
    """One change for `append_many`: the agency whose chain records it, the row's id, data."""

    agency_id: int
    entity_id: object
    data: dict | None = None


async def append_many(
    session: AsyncSession,
    *,
    province_id: int,
    actor: str,
    action: str,
    entity_type: str,
    changes: Sequence[Change],
) -> int:
    """`append` many changes of one province at once (a bulk adoption), in the caller's
    transaction: the heads of their agencies locked in one statement (`lock_heads`), each
    agency's entries chained in the order given and hashed exactly as `append` does, inserted
    in one statement, and each head advanced once. The number of entries."""
    if not changes:
        return 0
    heads = await lock_heads(session, province_id, [c.agency_id for c in changes])
    at = utcnow()
    at_text = _utc_text(at)
    rows = []
    for change in changes:
        data = orjson.loads(orjson.dumps(change.data or {}))  # what JSON will hand back
        _check_no_personal_data(data)
        seq, prev_hash = heads[province_id, change.agency_id]
        row: dict[str, Any] = {
            "province_id": province_id,
            "id": new_id(),
            "agency_id": change.agency_id,
            "seq": seq + 1,
            "at": at,
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(change.entity_id),
            "data": data,
            "prev_hash": prev_hash,
        }
        row["hash"] = _digest(row, prev_hash, at_text)
        heads[province_id, change.agency_id] = (row["seq"], row["hash"])
        rows.append(row)
    await session.execute(insert(table_of(AuditEntry)), rows)
    table = table_of(AuditHead)
    moved = (
        update(table)
        .where(table.c.province_id == bindparam("p"), table.c.id == bindparam("a"))
        .values(seq=bindparam("s"), hash=bindparam("h"))
    )
    await session.execute(
        moved,
        [{"p": p, "a": a, "s": seq, "h": hash_} for (p, a), (seq, hash_) in sorted(heads.items())],
    )
    locked_heads(session).update(heads)
    return len(rows)


@dataclasses.dataclass(frozen=True)
class Break:
    agency_id: int
    seq: int
    problem: str


@dataclasses.dataclass(frozen=True)
class ChainHead:
    province_id: int
    agency_id: int
    seq: int
    hash: str


async def chain_heads(session: AsyncSession) -> list[ChainHead]:
    """The head (seq, hash) of every chain the session's scope sees: publish these outside
    the database (print, mail, a notary) so a rewrite of a whole chain is detectable."""
    rows = (await session.execute(select(AuditHead).order_by(col(AuditHead.agency_id)))).scalars()
    return [ChainHead(h.province_id, h.agency_id, h.seq, h.hash) for h in rows]


async def _entries(session: AsyncSession, agency_id: int) -> AsyncIterator[AuditEntry]:
    statement = (
        select(AuditEntry)
        .where(AuditEntry.agency_id == agency_id)
        .order_by(col(AuditEntry.seq))
        .execution_options(yield_per=1000)
    )
    result = await session.stream(statement)
    async for entry in result.scalars():
        yield entry


async def verify_chain(session: AsyncSession, head: ChainHead) -> Break | None:
    """Walk one agency's chain; the first broken link, or None when it is intact."""
    expected_seq, prev_hash = 1, GENESIS
    async for entry in _entries(session, head.agency_id):
        if entry.seq != expected_seq:
            return Break(
                head.agency_id,
                expected_seq,
                f"entry {expected_seq} is missing (next is {entry.seq})",
            )
        if entry.prev_hash != prev_hash:
            return Break(
                head.agency_id, entry.seq, "prev_hash does not match the previous entry's hash"
            )
        if entry_hash(entry, prev_hash) != entry.hash:
            return Break(head.agency_id, entry.seq, "content does not match its hash (altered)")
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    if expected_seq - 1 != head.seq or prev_hash != head.hash:
        return Break(
            head.agency_id,
            expected_seq,
            f"chain ends at {expected_seq - 1} but the head says {head.seq}",
        )
    return None


async def verify(session: AsyncSession, agency_id: int | None = None) -> list[Break]:
    """Verify every chain the scope sees (or one agency's); the first break of each."""
    breaks = []
    for head in await chain_heads(session):
        if agency_id is not None and head.agency_id != agency_id:
            continue
        found = await verify_chain(session, head)
        if found:
            breaks.append(found)
    return breaks


async def check_published(session: AsyncSession, published: list[ChainHead]) -> list[Break]:
    """Compare heads published earlier (kept outside the database) with the chains now: the
    entry with each published seq must still carry the published hash. This catches a chain
    rewritten from scratch, which `verify` alone cannot."""
    breaks = []
    for head in published:
        if head.seq == 0:
            continue
        statement = select(AuditEntry.hash).where(
            AuditEntry.agency_id == head.agency_id, AuditEntry.seq == head.seq
        )
        found = (await session.execute(statement)).scalar_one_or_none()
        if found is None:
            breaks.append(Break(head.agency_id, head.seq, "a published entry is gone"))
        elif found != head.hash:
            breaks.append(
                Break(head.agency_id, head.seq, "the chain was rewritten since it was published")
            )
    return breaks
