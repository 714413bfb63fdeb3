"""Nonconformities the dossier engine raises by itself (ISO 9001 clause 8.7): "independent of
the participants' subjective will", nobody has to remember to file them.

Causes, one nonconformity per dossier per cause and agency (a unique index on (province,
agency, dossier code, cause) holds it even under concurrent requests; each agency's stage of an
interlinked dossier has its own):

- `overdue`: the dossier passed its appointment. Raised when the apology slip (slip 04) is
  recorded, by any move of a dossier past its deadline (the engine marks it late and never
  refuses the move, issue 17) and by the sweep `eiso qms sweep-overdue` for dossiers nobody
  touched.
- `late_apology`: the apology slip was recorded after the close of the working day before the
  deadline (Decree 61/2018/NĐ-CP art. 19: "chậm nhất 01 ngày trước ngày hết hạn").
- `refused_after_acceptance`: an accepted dossier (received, in progress, waiting for a
  supplement or for the fee) is stopped (status 8, "dừng xử lý") on the agency's decision.
  Not counted: a stop at the applicant's own request (`stopped_on_request`), refusing a
  dossier before acceptance (3: an online dossier, or at the counter) and a withdrawal (7,
  the citizen's own choice).
- `second_supplement`: an officer asks for one supplement more than the procedure allows the
  stage (SUPPLEMENT_ALREADY_USED). The refusal rolls the move back, so the nonconformity is
  written in a separate transaction that survives it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core.dossiers.models import Dossier, ProcedureRecord
from eiso.core.dossiers.statuses import FINISHED, Status
from eiso.core.qms.common import record
from eiso.core.qms.nonconformities import NcSource, Nonconformity, raised_for
from eiso.infra.clock import aware, utcnow
from eiso.infra.db import add_in_savepoint, find_one
from eiso.tenants.scope import scope_of

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from eiso.core.dossiers.listeners import Refusal
    from eiso.core.resources import Resources
    from eiso.tenants.scope import TenantScope

OVERDUE, REFUSED, SECOND_SUPPLEMENT = "overdue", "refused_after_acceptance", "second_supplement"
LATE_APOLOGY = "late_apology"
ACCEPTED = frozenset(
    {
        Status.received,
        Status.in_progress,
        Status.supplement_requested,
        Status.financial_obligation_requested,
    }
)
# The engine's refusal codes that still leave a nonconformity behind.
REFUSAL_CAUSES = {"SUPPLEMENT_ALREADY_USED": SECOND_SUPPLEMENT}
TITLES = {
    OVERDUE: ("Hồ sơ {code} quá hạn giải quyết", "Dossier {code} is overdue"),
    REFUSED: (
        "Hồ sơ {code} bị dừng xử lý sau khi đã tiếp nhận",
        "Dossier {code} stopped after acceptance",
    ),
    SECOND_SUPPLEMENT: (
        "Hồ sơ {code} bị yêu cầu bổ sung quá số lần cho phép",
        "Dossier {code}: more supplements requested than allowed",
    ),
    LATE_APOLOGY: (
        "Hồ sơ {code}: phiếu xin lỗi lập muộn (sau 01 ngày làm việc trước hạn)",
        "Dossier {code}: apology slip recorded late (less than one working day before the "
        "deadline)",
    ),
}


class DossierFacts(Protocol):
    """What a nonconformity records of its dossier: a `Dossier`, or a row of these columns
    (the sweep reads only those)."""

    @property
    def province_id(self) -> int: ...
    @property
    def agency_id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def procedure_code(self) -> str: ...
    @property
    def current_step(self) -> int: ...
    @property
    def assignee(self) -> str | None: ...


# The steps of each procedure (its code → the steps of the catalogue), read once per sweep.
StepCache = dict[str, list[dict[str, Any]]]


def cause_of(action: str, from_status: int | None) -> str | None:
    """The cause a committed transition raises by its action, if any."""
    if action == "apology":
        return OVERDUE
    if action == "stopped" and from_status is not None and Status(from_status) in ACCEPTED:
        return REFUSED
    return None


def causes_of(dossier: Dossier, action: str, from_status: int | None) -> list[str]:
    """Every cause a committed transition raises: by its action, a late apology, and a
    dossier the engine found past its deadline (`was_late`)."""
    found = [c for c in (cause_of(action, from_status),) if c]
    if action == "apology" and dossier.apology_late:
        found.append(LATE_APOLOGY)
    if dossier.was_late and OVERDUE not in found:
        found.append(OVERDUE)
    return found


async def after_transition(
    session: AsyncSession, dossier: Dossier, *, action: str, from_status: int | None, actor: str
) -> Nonconformity | None:
    """Hears every transition of the engine, in the transition's transaction."""
    raised = None
    for cause in causes_of(dossier, action, from_status):
        raised = await raise_for(session, dossier, cause, actor)
    return raised


async def _step_name(
    session: AsyncSession, dossier: DossierFacts, cache: StepCache | None = None
) -> str | None:
    if cache is not None and dossier.procedure_code in cache:
        steps = cache[dossier.procedure_code]
    else:
        steps = (
            await session.execute(
                select(ProcedureRecord.steps).where(ProcedureRecord.code == dossier.procedure_code)
            )
        ).scalar_one_or_none() or []
        if cache is not None:
            cache[dossier.procedure_code] = steps
    if not 0 <= dossier.current_step < len(steps):
        return None
    step = steps[dossier.current_step]
    return f"{step['code']} {step['name']['vi']}"[:100]


async def existing(
    session: AsyncSession, dossier: DossierFacts, cause: str
) -> Nonconformity | None:
    return await find_one(
        session,
        Nonconformity,
        province_id=dossier.province_id,
        source_ref=dossier.code,
        cause=cause,
    )


def _owner(session: AsyncSession, dossier: DossierFacts) -> int:
    """The agency the nonconformity belongs to: the dossier's, or the agency of a later stage
    of an interlinked dossier acting on it (its scope cannot write the receiving agency's)."""
    scope = scope_of(session.sync_session)
    if not scope.allows(dossier.province_id, dossier.agency_id) and len(scope.agency_ids) == 1:
        return next(iter(scope.agency_ids))
    return dossier.agency_id


async def raise_for(
    session: AsyncSession,
    dossier: DossierFacts,
    cause: str,
    actor: str,
    *,
    steps: StepCache | None = None,
    known_new: bool = False,
) -> Nonconformity:
    """The dossier's nonconformity for `cause`, created once (idempotent). `dossier` may be a
    row of its columns (the sweep reads only those)."""
    found = None if known_new else await existing(session, dossier, cause)  # the sweep anti-joined
    if found is not None:
        return found
    vi, en = (text.format(code=dossier.code) for text in TITLES[cause])
    nc = Nonconformity(
        province_id=dossier.province_id,
        agency_id=_owner(session, dossier),
        title=vi[:300],
        description=en,
        source=NcSource.dossier,
        source_ref=dossier.code,
        cause=cause,
        procedure_code=dossier.procedure_code,
        step=await _step_name(session, dossier, steps),
        officer=(dossier.assignee or actor)[:200],
        raised_by="system",
    )
    conflict = await add_in_savepoint(session, nc)
    if conflict is not None:  # a concurrent twin won the unique index: keep its row
        twin = await existing(session, dossier, cause)
        if twin is None:  # refused for another reason than the twin's unique key
            raise conflict
        return twin
    return await record(
        session,
        nc,
        actor,
        "nonconformity.raise",
        {
            "source": "dossier",
            "cause": cause,
            "dossier": dossier.code,
            "procedure_code": dossier.procedure_code,
        },
    )


async def after_refusal(resources: Resources, scope: TenantScope, refusal: Refusal) -> None:
    """A move the engine refused (its transaction rolled back) that is itself a nonconformity:
    record it in a transaction of its own."""
    cause = REFUSAL_CAUSES.get(refusal.code)
    if cause is None:
        return
    async with resources.session(scope) as session, session.begin():
        key: list[ColumnElement[bool]] = [col(Dossier.id) == refusal.dossier_id]
        if refusal.province_id:
            key.append(col(Dossier.province_id) == refusal.province_id)
        dossier = (await session.execute(select(Dossier).where(*key))).scalar_one_or_none()
        if dossier is not None:
            await raise_for(session, dossier, cause, refusal.actor)


async def sweep_overdue(session: AsyncSession, now: dt.datetime | None = None) -> dict[str, int]:
    """Raise the `overdue` nonconformity of every open dossier past its appointment that has
    none yet (the clock stands still while a supplement is awaited). Idempotent."""
    now = now or utcnow()
    open_statuses = [
        int(s) for s in Status if s not in FINISHED and s != Status.supplement_requested
    ]
    have_nc = raised_for(col(Dossier.province_id), col(Dossier.code), OVERDUE)
    # Only the columns a nonconformity needs (no applicant data); the appointment is compared
    # in Python with the engine's own reading of it (SQLite keeps naive datetimes).
    columns = (
        col(Dossier.province_id),
        col(Dossier.agency_id),
        col(Dossier.code),
        col(Dossier.procedure_code),
        col(Dossier.current_step),
        col(Dossier.assignee),
        col(Dossier.appointment_at),
    )
    statement = (
        sqlalchemy.select(*columns)  # sqlmodel's select types four columns at the most
        .where(
            col(Dossier.status).in_(open_statuses),
            col(Dossier.appointment_at).is_not(None),
            ~have_nc,
        )
        .order_by(col(Dossier.province_id), col(Dossier.id))
    )
    raised = checked = 0
    steps: StepCache = {}
    for dossier in (await session.execute(statement)).all():
        checked += 1
        if aware(dossier.appointment_at) < now:
            await raise_for(session, dossier, OVERDUE, "system", steps=steps, known_new=True)
            raised += 1
    return {"checked": checked, "raised": raised}
