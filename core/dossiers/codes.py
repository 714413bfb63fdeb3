"""Dossier codes (agency code-yymmdd-sequence, unique across the country) and lookup keys."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import Any

from sqlalchemy import (
    BigInteger,
    Insert,
    ScalarSelect,
    String,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.dossiers.models import Dossier, DossierCounter
from eiso.core.workdays import VN_TZ
from eiso.infra.ids import new_id
from eiso.infra.tables import dialect_insert


def hash_key(lookup_key: str) -> str:
    return hashlib.sha256(lookup_key.encode()).hexdigest()


def new_lookup_key() -> str:
    # Short enough to type from a slip, random enough not to guess (~50 bits).
    return secrets.token_hex(5).upper()


async def lock_counter(
    session: AsyncSession, province_id: int, agency_id: int, at: dt.datetime
) -> str:
    """Lock the agency's counter row for the local day of `at` (serialising its receipts until
    commit) and return that day's yymmdd."""
    day = local_day(at)
    await session.execute(
        dialect_insert(session, DossierCounter)
        .values(province_id=province_id, id=new_id(), agency_id=agency_id, day=day, last=0)
        # No target: the unique key is (agency_id, day), or on Citus (province_id, agency_id,
        # day) (infra/citus), and the row's new id never collides.
        .on_conflict_do_nothing()
    )
    # Held until commit: a concurrent receipt of the same agency waits here, then sees ours.
    # The province routes the locking read to one shard on Citus (which refuses FOR UPDATE
    # over several).
    await session.execute(
        select(col(DossierCounter.id))
        .where(
            col(DossierCounter.province_id) == province_id,
            col(DossierCounter.agency_id) == agency_id,
            col(DossierCounter.day) == day,
        )
        .with_for_update()
    )
    return day


def local_day(at: dt.datetime) -> str:
    return at.astimezone(VN_TZ).strftime("%y%m%d")


def code_of(agency_code: str, day: str, number: int) -> str:
    return f"{agency_code}-{day}-{number:04d}"


def book_year(received_at: dt.datetime) -> int:
    """The volume of the tracking book (form 07) a dossier received at `received_at` is
    entered in: the local calendar year (the book is kept per agency and year)."""
    return received_at.astimezone(VN_TZ).year


def book_start(received_at: dt.datetime) -> dt.datetime:
    """The first moment (UTC) of that volume: its dossiers are received from then on."""
    return dt.datetime(book_year(received_at), 1, 1, tzinfo=VN_TZ).astimezone(dt.UTC)


def earlier_in_book(prefix: str, start: str) -> ScalarSelect[Any]:
    """How many of the agency's dossiers precede one in its year's tracking book, as a Core
    subquery (PostgreSQL's driver path) bound as `<prefix>province_id`, `<prefix>agency_id`,
    `<prefix>received_at`, `<prefix>id` (the dossier's) and `start` (`book_start`)."""
    table = Dossier.__table__  # type: ignore[attr-defined]
    received_at = table.c.received_at
    at = bindparam(f"{prefix}received_at", type_=received_at.type)
    return (
        select(func.count())
        .select_from(table)
        .where(
            table.c.province_id == bindparam(f"{prefix}province_id", type_=BigInteger),
            table.c.agency_id == bindparam(f"{prefix}agency_id", type_=BigInteger),
            received_at >= bindparam(start, type_=received_at.type),
            table.c.appointment_at.is_not(None),
            (received_at < at)
            | ((received_at == at) & (table.c.id < bindparam(f"{prefix}id", type_=BigInteger))),
        )
        .scalar_subquery()
    )


@functools.lru_cache(maxsize=2)
def take_number(keyed: bool) -> Insert:
    """`lock_counter`, the idempotency check and `next_code` as one statement (PostgreSQL, not
    Citus, whose key is not (agency_id, day)): the agency's counter row of `day`, created or
    locked until commit, moved on by one unless a dossier of the agency already holds
    the idempotency key (a retry; `keyed`: the receipt has one). It answers the number taken,
    NULL for a retry (the caller answers with that dossier). Built once, its values bound
    (`number_parameters`).

    The check reads the statement's snapshot: when a twin request committed its dossier while
    this one waited for the row lock, the number is taken all the same and the dossier's
    INSERT meets the twin's unique key (the caller then answers with the twin's dossier); that
    race leaves one number unused."""
    table = DossierCounter.__table__  # type: ignore[attr-defined]
    agency_id = bindparam("n_agency_id", type_=BigInteger)
    retry = (
        exists().where(
            col(Dossier.agency_id) == agency_id,
            col(Dossier.idempotency_key) == bindparam("n_key", type_=String),
        )
        if keyed
        else literal(False)
    )
    step = case((retry, 0), else_=1)
    values = {
        "province_id": bindparam("n_province_id", type_=BigInteger),
        "id": bindparam("n_id", type_=BigInteger),
        "agency_id": agency_id,
        "day": bindparam("n_day", type_=String),
        "last": step,
    }
    return (
        postgresql.insert(table)
        .values(values)
        .on_conflict_do_update(
            index_elements=[table.c.agency_id, table.c.day], set_={"last": table.c.last + step}
        )
        .returning(case((retry, None), else_=table.c.last).label("number"))
    )


def number_parameters(
    province_id: int, agency_id: int, day: str, idempotency_key: str | None
) -> dict[str, Any]:
    """The values of `take_number(idempotency_key is not None)`."""
    found = {"n_province_id": province_id, "n_id": new_id(), "n_agency_id": agency_id, "n_day": day}
    if idempotency_key is not None:
        found["n_key"] = idempotency_key
    return found


async def next_code(
    session: AsyncSession, province_id: int, agency_id: int, agency_code: str, day: str
) -> str:
    result = await session.execute(
        update(DossierCounter)
        .where(
            col(DossierCounter.province_id) == province_id,
            col(DossierCounter.agency_id) == agency_id,
            col(DossierCounter.day) == day,
        )
        .values(last=col(DossierCounter.last) + 1)
        .returning(col(DossierCounter.last))
    )
    return code_of(agency_code, day, result.scalar_one())
