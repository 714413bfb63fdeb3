"""Everything a slip prints, read in one go from the caller's tenant-scoped session: the
dossier, its agency and province, the receiving unit's name, the coordinating agencies, the
procedure, the timeline, the apology's dates (from the audit trail: the timeline row keeps
only the reason), the names behind actor ids and the dossier's place in the tracking book."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from sqlalchemy import BigInteger, Executable, Select, bindparam, literal
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from eiso.core.audit import AuditEntry
from eiso.core.auth.models import User
from eiso.core.dossiers import codes, engine
from eiso.core.dossiers.catalogue import find_adoption, read_procedure
from eiso.core.dossiers.models import Dossier, DossierEventRow, ProcedureRecord
from eiso.core.errors import NotFound
from eiso.core.workdays import WorkingCalendar
from eiso.infra import pg_driver
from eiso.infra.clock import aware
from eiso.infra.pg_begin import is_citus
from eiso.infra.tables import new_row, table_of
from eiso.tenants.models import Agency, AgencyKind, Province, Unit, receiving_unit

FROZEN = 1  # the version of the frozen facts' shape (`freeze`)


@dataclasses.dataclass
class Facts:
    dossier: Dossier
    agency: Agency
    province: Province | None
    procedure: ProcedureRecord
    events: list[DossierEventRow]
    calendar: WorkingCalendar
    names: dict[str, str]  # actor id → display name
    step_units: dict[str, str]  # step code → unit name
    apology: dict[str, Any] | None  # {"reason", "old_appointment", "new_appointment", "at"}
    lookup_key: str | None = None  # only at receipt time: eiso keeps its hash alone
    unit: str = ""  # the receiving unit (tenants.models.receiving_unit)
    coordinating: list[str] = dataclasses.field(default_factory=list)  # other agencies' names
    book: tuple[str, int] | None = None  # the tracking book's volume (the year) and number

    def event(self, action: str) -> DossierEventRow | None:
        """The last timeline row of this action."""
        found = [e for e in self.events if e.action == action]
        return found[-1] if found else None

    def name(self, actor: str | None) -> str:
        return self.names.get(actor or "", actor or "")


async def load_dossier(
    session: AsyncSession,
    *,
    province_id: int | None = None,
    dossier_id: int | None = None,
    code: str | None = None,
) -> Dossier:
    """By global id parts or by code; the session's scope hides other tenants' dossiers."""
    statement = select(Dossier)
    if code is not None:
        statement = statement.where(Dossier.code == code)
    else:
        statement = statement.where(Dossier.province_id == province_id, Dossier.id == dossier_id)
    dossier = (await session.execute(statement)).scalar_one_or_none()
    if dossier is None:
        raise NotFound(
            f"dossier {code or dossier_id} not found", f"không tìm thấy hồ sơ {code or dossier_id}"
        )
    return dossier


async def _names(session: AsyncSession, actors: set[str]) -> dict[str, str]:
    ids = {int(a) for a in actors if a.isdigit()}
    if not ids:
        return {}
    users = (await session.execute(select(User).where(col(User.id).in_(ids)))).scalars()
    return {str(u.id): u.display_name or u.username for u in users}


async def _step_units(session: AsyncSession, dossier: Dossier) -> dict[str, str]:
    adoption = await find_adoption(session, dossier.agency_id, dossier.procedure_code)
    chosen = {code: int(unit) for code, unit in (adoption.step_units if adoption else {}).items()}
    if not chosen:
        return {}
    units = (
        await session.execute(
            select(Unit).where(
                Unit.province_id == dossier.province_id, col(Unit.id).in_(set(chosen.values()))
            )
        )
    ).scalars()
    by_id = {u.id: u.name for u in units}
    return {code: by_id[unit] for code, unit in chosen.items() if unit in by_id}


async def _apology(session: AsyncSession, dossier: Dossier) -> dict[str, Any] | None:
    entry = (
        await session.execute(
            select(AuditEntry)
            .where(
                AuditEntry.agency_id == dossier.agency_id,
                AuditEntry.entity_type == "dossier",
                AuditEntry.entity_id == str(dossier.id),
                AuditEntry.action == "dossier.apology",
            )
            .order_by(col(AuditEntry.seq).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if entry is None:
        return None
    return {
        "old_appointment": dt.datetime.fromisoformat(entry.data["old_appointment"]),
        "new_appointment": dt.datetime.fromisoformat(entry.data["new_appointment"]),
        "at": aware(entry.at),
    }


async def _coordinating(session: AsyncSession, dossier: Dossier) -> list[str]:
    """The agencies of an interlinked dossier's steps other than the receiving one."""
    ids = {int(a) for a in (dossier.step_agencies or {}).values()} - {dossier.agency_id}
    if not ids:
        return []
    rows = await session.execute(
        select(Agency.name)
        .where(Agency.province_id == dossier.province_id, col(Agency.id).in_(ids))
        .order_by(col(Agency.name))
    )
    return list(rows.scalars())


def _book_year(dossier: Dossier) -> int:
    return codes.book_year(aware(dossier.received_at))


def _earlier_in_book(dossier: Dossier) -> Select[Any]:
    """How many of the agency's dossiers precede this one in its year's tracking book."""
    start = codes.book_start(aware(dossier.received_at))
    return (
        select(func.count())
        .select_from(Dossier)
        .where(
            Dossier.province_id == dossier.province_id,  # one shard on Citus
            Dossier.agency_id == dossier.agency_id,
            Dossier.received_at >= start,
            col(Dossier.appointment_at).is_not(None),
            (Dossier.received_at < dossier.received_at)
            | ((Dossier.received_at == dossier.received_at) & (Dossier.id < dossier.id)),
        )
    )


@functools.lru_cache(maxsize=2)
def _at_receipt_statement(officer: bool) -> Executable:
    """`at_receipt`'s read as Core with bound values (`f_*`), built once: the province's name,
    the officer's (`officer`: the actor is a user id), the dossier's place in the book
    (`_earlier_in_book`). The book's rows are the receiving agency's (its scope)."""
    users, provinces = table_of(User), table_of(Province)
    name = (
        sa_select(func.coalesce(func.nullif(users.c.display_name, ""), users.c.username))
        .where(users.c.id == bindparam("f_user_id", type_=users.c.id.type))
        .scalar_subquery()
        if officer
        else literal(None)
    )
    earlier = codes.earlier_in_book("f_", "f_start")
    province = (
        sa_select(provinces.c.name)
        .where(provinces.c.id == bindparam("f_province_id", type_=BigInteger))
        .scalar_subquery()
    )
    return sa_select(province, name, earlier)


async def book_place(session: AsyncSession, dossier: Dossier) -> tuple[str, int]:
    """The tracking book (form 07) is kept per agency and calendar year: the volume is the year
    of receipt, the number the dossier's rank among the agency's dossiers received that year."""
    earlier = await session.scalar(_earlier_in_book(dossier))
    return str(_book_year(dossier)), int(earlier or 0) + 1


async def load(
    session: AsyncSession,
    dossier: Dossier,
    calendar: WorkingCalendar,
    lookup_key: str | None = None,
    number: int | None = None,
) -> Facts:
    """The facts of every slip, or (`number`) only what that slip prints: issuing a slip in the
    engine's transaction reads no more than it needs."""
    wants = {1, 2, 3, 4, 5, 6} if number is None else {number}
    agency = (
        await session.execute(
            select(Agency).where(
                Agency.province_id == dossier.province_id, Agency.id == dossier.agency_id
            )
        )
    ).scalar_one()
    province = await session.get(Province, dossier.province_id)
    events = list(
        (
            await session.execute(
                select(DossierEventRow)
                .where(DossierEventRow.dossier_id == dossier.id)
                .order_by(col(DossierEventRow.at), col(DossierEventRow.id))
            )
        ).scalars()
    )
    actors = {e.actor for e in events} | ({dossier.assignee} if dossier.assignee else set())
    apology = await _apology(session, dossier) if 4 in wants else None
    if apology is not None:
        reason = [e.note for e in events if e.action == "apology"]
        apology["reason"] = reason[-1] if reason else ""
    return Facts(
        dossier=dossier,
        agency=agency,
        province=province,
        # Not catalogue.get_procedure: a procedure no module provides any more keeps its slips.
        procedure=(
            await session.execute(
                select(ProcedureRecord).where(ProcedureRecord.code == dossier.procedure_code)
            )
        ).scalar_one(),
        events=events,
        calendar=calendar,
        names=await _names(session, actors),
        step_units=await _step_units(session, dossier) if 6 in wants else {},
        apology=apology,
        lookup_key=lookup_key,
        unit=receiving_unit(agency, province.name if province else None),
        coordinating=await _coordinating(session, dossier) if 6 in wants else [],
        book=await book_place(session, dossier) if 1 in wants and dossier.appointment_at else None,
    )


async def at_receipt(session: AsyncSession, dossier: Dossier, event: DossierEventRow) -> Facts:
    """What slip 01 prints, read in the receipt's transaction with one statement: the agency
    and the procedure the receipt holds already (the session's identity map and catalogue
    cache), the province's name, the officer's name and the dossier's place in the tracking
    book (after the receipt took the agency's counter lock, so no concurrent receipt shares
    its number). On Citus, `load`'s separate reads (it plans them one by one)."""
    on_driver = await pg_driver.driver(session) is not None
    if not on_driver:
        connection = (await session.connection()).sync_connection
        if connection is not None and is_citus(connection):
            return await load(session, dossier, WorkingCalendar(), number=1)
    agency = await session.get(Agency, (dossier.province_id, dossier.agency_id))
    assert agency is not None  # the receiving agency, in the receiving agency's scope
    if on_driver:  # the same statement, built once with bound values (infra/pg_driver.py)
        start = codes.book_start(aware(dossier.received_at))
        parameters = {
            "f_province_id": dossier.province_id,
            "f_agency_id": dossier.agency_id,
            "f_start": start,
            "f_received_at": dossier.received_at,
            "f_id": dossier.id,
        }
        if event.actor.isdigit():
            parameters["f_user_id"] = int(event.actor)
        statement = _at_receipt_statement(event.actor.isdigit())
        province, name, earlier = (await pg_driver.run(session, statement, parameters))[0]
    else:
        officer = (
            select(func.coalesce(func.nullif(User.display_name, ""), User.username))
            .where(User.id == int(event.actor))
            .scalar_subquery()
            if event.actor.isdigit()
            else literal(None)
        )
        province, name, earlier = (
            await session.execute(
                select(
                    select(Province.name)
                    .where(Province.id == dossier.province_id)
                    .scalar_subquery(),
                    officer,
                    _earlier_in_book(dossier).scalar_subquery(),
                )
            )
        ).one()
    procedure = await read_procedure(session, dossier.procedure_code)
    earlier = int(earlier or 0) if dossier.appointment_at else None
    read = engine.ReceiptRead(agency, procedure, province, name, earlier)
    return of_receipt(dossier, event, read)


def of_receipt(dossier: Dossier, event: DossierEventRow, read: engine.ReceiptRead) -> Facts:
    """What slip 01 prints, from what the receipt read (`engine.receipt_read`, or
    `at_receipt`'s statement): no read of its own."""
    province = read.province
    return Facts(
        dossier=dossier,
        agency=read.agency,
        # new_row: the constructor's validation was a tenth of the slips' batched CPU
        province=new_row(Province, id=dossier.province_id, code="", name=province)
        if province
        else None,
        procedure=read.procedure,
        events=[event],
        calendar=WorkingCalendar(),
        names={event.actor: read.officer} if read.officer else {},
        step_units={},
        apology=None,
        unit=receiving_unit(read.agency, province),
        book=None
        if read.earlier_in_book is None
        else (str(_book_year(dossier)), read.earlier_in_book + 1),
    )


def _iso(at: dt.datetime | None) -> str | None:
    return aware(at).isoformat() if at is not None else None


def _at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def freeze(facts: Facts, event: DossierEventRow) -> dict[str, Any]:
    """What a slip recording `event` prints that could change later, as JSON: the dossier's
    applicant and dates, the agency's, the unit's and the province's names, the procedure's
    name, components and time limit, the event itself and its officer's name, the apology, the
    tracking book's place and the coordinating agencies. `thaw` gives the facts back; the slip
    is built from them at its first print (issued.py)."""
    d, p = facts.dossier, facts.procedure
    apology = facts.apology
    return {
        "v": FROZEN,
        "dossier": {
            "id": d.id,
            "province_id": d.province_id,
            "agency_id": d.agency_id,
            "code": d.code,
            "procedure_code": d.procedure_code,
            "applicant": d.applicant,
            "received_at": _iso(d.received_at),
            "appointment_at": _iso(d.appointment_at),
        },
        "agency": {
            "code": facts.agency.code,
            "kind": AgencyKind(facts.agency.kind).value,
            "name": facts.agency.name,
        },
        "province": facts.province.name if facts.province else None,
        "unit": facts.unit,
        "procedure": {
            "name_vi": p.name_vi,
            "components": p.components,
            "time_limit_amount": p.time_limit_amount,
            "time_limit_unit": p.time_limit_unit,
        },
        "event": {
            "id": event.id,
            "agency_id": event.agency_id,
            "at": _iso(event.at),
            "actor": event.actor,
            "action": event.action,
            "note": event.note,
        },
        "officer": facts.names.get(event.actor),
        "apology": None
        if apology is None
        else {
            "reason": apology.get("reason", ""),
            "old_appointment": _iso(apology["old_appointment"]),
            "new_appointment": _iso(apology["new_appointment"]),
            "at": _iso(apology["at"]),
        },
        "book": list(facts.book) if facts.book else None,
        "coordinating": facts.coordinating,
    }


def thaw(frozen: dict[str, Any]) -> Facts:
    """The facts `freeze` kept, as the slip builders read them (rows never added to a session)."""
    d, p, e = frozen["dossier"], frozen["procedure"], frozen["event"]
    dossier = Dossier(
        **{**d, "received_at": _at(d["received_at"]), "appointment_at": _at(d["appointment_at"])}
    )
    event = DossierEventRow(
        province_id=d["province_id"], dossier_id=d["id"], **{**e, "at": _at(e["at"])}
    )
    apology = frozen["apology"]
    return Facts(
        dossier=dossier,
        agency=Agency(province_id=d["province_id"], id=d["agency_id"], **frozen["agency"]),
        province=Province(id=d["province_id"], code="", name=frozen["province"])
        if frozen["province"] is not None
        else None,
        procedure=ProcedureRecord(code=d["procedure_code"], **p),
        events=[event],
        calendar=WorkingCalendar(),
        names={e["actor"]: frozen["officer"]} if frozen["officer"] else {},
        step_units={},
        apology=None
        if apology is None
        else {
            "reason": apology["reason"],
            **{k: _at(apology[k]) for k in ("old_appointment", "new_appointment", "at")},
        },
        unit=frozen["unit"],
        coordinating=list(frozen["coordinating"]),
        book=(frozen["book"][0], int(frozen["book"][1])) if frozen["book"] else None,
    )
