"""Slips as issued: a slip is issued when the event it records happens (its `records` action
in forms.py), dated by that event, with the facts it prints frozen (`content["facts"]`,
facts.freeze): the move renders nothing. The document is built from those facts at the
first print and kept with them (`content["document"]`), so every later print is the same
document, whoever prints it and whenever, and a later change of the agency, the province or
the procedure does not reach it. A row kept before the facts were holds the document itself.

The dossier domain announces each transition (core/dossiers/listeners.py); `after_transition`
issues the slips that transition records, in its transaction, for the timeline row the move
just wrote (`engine.recorded`); their rows go in one INSERT on the driver connection
(PostgreSQL), else with the move's last flush. A receipt's slips (01, 06) join the move's own
batch instead (`batched`, `listeners.on_batch`), their facts from what the receipt read
(`engine.receipt_read`): no round trip of their own. A slip without an
issued row
(a dossier moved before this existed, or by a process that did not import this package) is
issued at its first print, still dated by its event. The process control slip (06) is issued
at receipt too, but its rows are read from the timeline at each print: it grows by design.

Rows are owned by the agency that issues them (the one acting, within its own scope), so the
receiving agency and a partner of an interlinked dossier each keep their copy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import Field, col, select

from eiso.core.dossiers import engine, listeners
from eiso.core.dossiers.models import Dossier, DossierEventRow
from eiso.core.dossiers.slips import facts as dossier_facts
from eiso.core.dossiers.slips import forms
from eiso.core.dossiers.slips.documents import Document, build, from_content, to_content
from eiso.core.workdays import WorkingCalendar
from eiso.infra.clock import aware, utcnow
from eiso.infra.db import added
from eiso.infra.tables import new_row
from eiso.tenants.models import TenantOwned, agency_fk
from eiso.tenants.scope import scope_of


class IssuedSlip(TenantOwned, table=True):
    """One slip as issued: its form number, the timeline row it records, that row's moment
    and, for a frozen form, the document it printed (documents.to_content)."""

    __tablename__ = "issued_slips"
    __table_args__ = (
        agency_fk("issued_slips"),
        UniqueConstraint(
            "province_id",
            "agency_id",
            "dossier_id",
            "number",
            "event_id",
            name="uq_issued_slips_event",
        ),
        Index("ix_issued_slips_dossier", "dossier_id", "number"),
    )

    dossier_id: int = Field(sa_type=BigInteger)
    number: int
    event_id: int = Field(sa_type=BigInteger)
    issued_at: dt.datetime
    content: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow)


async def _event(
    session: AsyncSession, dossier: Dossier, form: forms.SlipForm
) -> DossierEventRow | None:
    """The timeline row the slip records: the last of its actions (the first for a receipt)."""
    rows = list(
        (
            await session.execute(
                select(DossierEventRow)
                .where(
                    DossierEventRow.dossier_id == dossier.id,
                    col(DossierEventRow.action).in_(form.records),
                )
                .order_by(col(DossierEventRow.at), col(DossierEventRow.id))
            )
        ).scalars()
    )
    if not rows:
        return None
    return rows[0] if form.number in (forms.RECEIPT, forms.CONTROL) else rows[-1]


def _owner(session: AsyncSession, dossier: Dossier, event: DossierEventRow) -> int:
    """The agency that keeps the copy: the event's, the dossier's, else the caller's own."""
    scope = scope_of(session.sync_session)
    for agency_id in (event.agency_id, dossier.agency_id):
        if scope.allows(dossier.province_id, agency_id):
            return agency_id
    return min(scope.agency_ids)


async def _kept(
    session: AsyncSession, dossier: Dossier, number: int, event: DossierEventRow, owner: int
) -> IssuedSlip | None:
    return (
        await session.execute(
            select(IssuedSlip).where(
                IssuedSlip.province_id == dossier.province_id,
                IssuedSlip.agency_id == owner,
                IssuedSlip.dossier_id == dossier.id,
                IssuedSlip.number == number,
                IssuedSlip.event_id == event.id,
            )
        )
    ).scalar_one_or_none()


async def _new(
    session: AsyncSession,
    dossier: Dossier,
    form: forms.SlipForm,
    event: DossierEventRow,
    calendar: WorkingCalendar | None,
    *,
    now: bool = False,
) -> IssuedSlip:
    """The slip issued for `event` (not added): for a frozen form, the facts it prints, frozen
    (facts.freeze; `now`: the receipt's, read in one statement, `facts.at_receipt`)."""
    content = None
    if _freezes(session, dossier, form):
        if now and form.number == forms.RECEIPT:
            facts = await dossier_facts.at_receipt(session, dossier, event)
        else:
            facts = await dossier_facts.load(
                session, dossier, calendar or WorkingCalendar(), number=form.number
            )
        content = {"facts": dossier_facts.freeze(facts, event)}
    return _row(session, dossier, form, event, content)


def _freezes(session: AsyncSession, dossier: Dossier, form: forms.SlipForm) -> bool:
    # A later stage of an interlinked dossier cannot read the receiving agency (its scope):
    # its slip is kept unfrozen and built at print, by an agency that can.
    return form.frozen and scope_of(session.sync_session).allows(
        dossier.province_id, dossier.agency_id
    )


def _row(
    session: AsyncSession,
    dossier: Dossier,
    form: forms.SlipForm,
    event: DossierEventRow,
    content: dict[str, Any] | None,
) -> IssuedSlip:
    return new_row(
        IssuedSlip,
        **dossier.stamp(_owner(session, dossier, event)),
        number=form.number,
        event_id=event.id,
        issued_at=aware(event.at),
        content=content,
    )


async def issue(
    session: AsyncSession,
    dossier: Dossier,
    number: int,
    calendar: WorkingCalendar | None = None,
) -> IssuedSlip | None:
    """The slip `number` as issued for its event: the one kept, or issued now (dated by the
    event, its facts frozen as the dossier is). None when it has no event yet."""
    form = forms.form(number)
    event = await _event(session, dossier, form)
    if event is None:
        return None
    found = await _kept(session, dossier, number, event, _owner(session, dossier, event))
    if found is not None:
        return found
    slip = await _new(session, dossier, form, event, calendar)
    return await added(session, slip)


ISSUED_BY: dict[str, list[int]] = {}
for _form in forms.FORMS.values():
    for _action in _form.records:
        ISSUED_BY.setdefault(_action, []).append(_form.number)


async def after_transition(
    session: AsyncSession,
    dossier: Dossier,
    *,
    action: str,
    from_status: int | None,
    actor: str,
) -> None:
    """Issue the slips this transition records, in its transaction: their rows with the facts
    they print (not the documents: those are built at the first print), sent with the move's
    last flush. The event is the timeline row the engine just wrote (`engine.recorded`)."""
    event = engine.recorded(session, dossier.id)
    if event is not None and event.id in session.info.get(_BATCHED, ()):
        return  # issued with the move's batch (`batched`)
    issued: list[IssuedSlip] = []
    for number in ISSUED_BY.get(action, ()):
        form = forms.FORMS[number]
        if not form.exists(dossier):
            continue
        if event is None or event.action not in form.records:
            await issue(session, dossier, number)
            continue
        issued.append(await _new(session, dossier, form, event, None, now=True))
    # One INSERT on the driver connection (PostgreSQL) rather than the move's last flush.
    if not await engine.insert_rows(session, issued):
        session.add_all(issued)


listeners.on_transition(after_transition)

# The timeline rows whose slips joined the move's batch in this transaction (`batched`).
_BATCHED = "eiso.slips.batched"


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_batched(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_BATCHED, None)


def batched(
    session: AsyncSession, dossier: Dossier, *, from_status: int | None
) -> listeners.Batched | None:
    """The slips a receipt issues (01 with its frozen facts, 06), as a write of the move's
    batch (PostgreSQL's driver path): the facts are what the receipt read
    (`engine.receipt_read`), so issuing them costs no round trip. Any other transition, or a
    receipt that did not read them (`engine.receive` called directly), issues its slips in
    `after_transition`."""
    event = engine.recorded(session, dossier.id)
    read = engine.receipt_read(session, dossier.id)
    if event is None or read is None:
        return None
    chosen = [forms.FORMS[n] for n in ISSUED_BY.get(event.action, ())]
    chosen = [form for form in chosen if form.exists(dossier) and event.action in form.records]
    if not chosen or any(f.frozen and f.number != forms.RECEIPT for f in chosen):
        return None  # a frozen slip other than 01 reads its facts (`dossier_facts.load`)
    rows = []
    for form in chosen:
        content = None
        if _freezes(session, dossier, form):
            facts = dossier_facts.of_receipt(dossier, event, read)
            content = {"facts": dossier_facts.freeze(facts, event)}
        rows.append(_row(session, dossier, form, event, content))
    statement, parameters = engine.batched_rows(session, rows, "issued_slips")
    session.info.setdefault(_BATCHED, set()).add(event.id)
    return listeners.Batched((statement,), parameters, lambda: None)


listeners.on_batch(batched)


def document(session: AsyncSession, slip: IssuedSlip, rebuilt: Document | None) -> Document:
    """What the issued slip prints: the document built from its frozen facts at the first
    print and kept from then on (so a reprint is the same document even after the builders
    change); a document kept whole before the facts were (content without "facts"); or (06, or
    a slip a later stage could not freeze) the one `rebuilt` from the timeline."""
    content = slip.content
    if content is None:
        assert rebuilt is not None  # a slip kept without content is rebuilt at each print
        return rebuilt
    if "facts" not in content:
        return from_content(content)
    if "document" in content:
        return from_content(content["document"])
    doc = build(dossier_facts.thaw(content["facts"]), forms.form(slip.number))
    if scope_of(session.sync_session).allows(slip.province_id, slip.agency_id):
        slip.content = {**content, "document": to_content(doc)}  # written with the print
    return doc
