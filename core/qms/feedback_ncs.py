"""Nonconformities from citizens' feedback and petitions (ISO 9001 clauses 8.7 and 10.2): a
feedback not answered by its deadline (still open past it, or answered late) opens one
nonconformity in the agency's register, raised by the sweep `eiso qms sweep-overdue` like the
dossiers' (core/qms/dossier_ncs.py). One per feedback: the unique index on (province, agency,
source_ref = the feedback's code, cause) holds it; the sweep is idempotent."""

from __future__ import annotations

import datetime as dt

import sqlalchemy
from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.feedback.models import Feedback
from eiso.core.feedback.rules import OPEN
from eiso.core.qms.nonconformities import NcSource, Nonconformity, raise_once, raised_for
from eiso.infra.clock import aware, utcnow

OVERDUE = "overdue"  # the same cause as a dossier past its appointment
TITLE_VI = "Phản ánh, kiến nghị {code} không được trả lời đúng hạn"
TITLE_EN = "Feedback or petition {code} was not answered by its deadline"


async def sweep_overdue(session: AsyncSession, now: dt.datetime | None = None) -> dict[str, int]:
    """Raise the `overdue` nonconformity of every feedback answered late or still open past its
    deadline that has none yet. Reads no contact data and no text of the feedback."""
    now = now or utcnow()
    have_nc = raised_for(col(Feedback.province_id), col(Feedback.code), OVERDUE)
    statement = (
        sqlalchemy.select(
            col(Feedback.province_id),
            col(Feedback.agency_id),
            col(Feedback.code),
            col(Feedback.procedure_code),
            col(Feedback.assignee),
            col(Feedback.state),
            col(Feedback.due_at),
        )
        .where(
            or_(col(Feedback.on_time).is_(False), col(Feedback.state).in_([s.value for s in OPEN])),
            ~have_nc,
        )
        .order_by(col(Feedback.province_id), col(Feedback.id))
    )
    raised = checked = 0
    for row in (await session.execute(statement)).all():
        checked += 1
        # An open one is compared with the deadline here (SQLite keeps naive datetimes).
        if row.state in {s.value for s in OPEN} and aware(row.due_at) >= now:
            continue
        nc = Nonconformity(
            province_id=row.province_id,
            agency_id=row.agency_id,
            title=TITLE_VI.format(code=row.code),
            description=TITLE_EN.format(code=row.code),
            source=NcSource.feedback,
            source_ref=row.code,
            cause=OVERDUE,
            procedure_code=row.procedure_code,
            officer=row.assignee,
            raised_by="system",
        )
        data = {"source": "feedback", "cause": OVERDUE, "feedback": row.code}
        raised += await raise_once(session, nc, data)
    return {"checked": checked, "raised": raised}
