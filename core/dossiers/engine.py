"""The dossier engine: every status change goes through `_move`, which checks the table of
allowed moves, the overdue rule and the expected version, and in the same transaction writes
the timeline row, the audit entry and the outbox event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.dossiers import applicant as applicant_form
from eiso.core.dossiers import catalogue, codes, listeners
from eiso.core.dossiers.models import (
    Dossier,
    DossierEventRow,
    DossierKey,
    DossierStep,
    ProcedureRecord,
)
from eiso.core.dossiers.statuses import ALLOWED, CLOCK_RUNS, FINISHED, Status
from eiso.core.errors import Conflict, DomainError, NotFound
from eiso.core.plugins.declarations import UniqueField
from eiso.core.workdays import WorkingCalendar
from eiso.infra import outbox
from eiso.infra.clock import aware, utcnow
from eiso.infra.db import add_in_savepoint, find_one
from eiso.infra.text import fold
from eiso.tenants.models import Agency
from eiso.tenants.scope import grant_handover, scope_of

TOPIC = "dossier"
CITIZEN = "citizen"  # the actor of a move the citizen makes through the portal (no account)
MAX_IDEMPOTENCY_KEY = 128  # the column holds 200; a client key is a UUID or alike


@dataclasses.dataclass
class Received:
    dossier: Dossier
    lookup_key: str | None  # only on the first answer: eiso keeps only its hash
    replayed: bool = False


def _not_found(dossier_id: object) -> NotFound:
    return NotFound(f"dossier {dossier_id} not found", f"không tìm thấy hồ sơ {dossier_id}")


def is_overdue(dossier: Dossier, now: dt.datetime) -> bool:
    appointment_at = dossier.appointment_at
    return overdue(Status(dossier.status), aware(appointment_at) if appointment_at else None, now)


def overdue(status: Status, appointment_at: dt.datetime | None, now: dt.datetime) -> bool:
    """The clock runs and the (aware) appointment has passed."""
    return status in CLOCK_RUNS and appointment_at is not None and now > appointment_at


def validate_sector_data(
    model: type[BaseModel] | None, data: dict[str, Any], prefix: str = "sectorData"
) -> dict[str, Any]:
    if model is None:
        return data
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as error:
        problems = [
            {"field": ".".join([prefix, *(str(p) for p in e["loc"])]), "message": e["msg"]}
            for e in error.errors()
        ]
        first = problems[0]
        raise DomainError(
            f"{first['field']}: {first['message']}",
            f"{first['field']}: dữ liệu chuyên ngành không hợp lệ ({first['message']})",
            code="INVALID_SECTOR_DATA",
            field=first["field"],
            problems=problems,
        ) from None


def _input_hash(
    procedure_code: str, applicant: dict[str, Any], sector_data: dict[str, Any], online: bool
) -> str:
    body = orjson.dumps(
        [procedure_code, applicant, sector_data, online], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(body).hexdigest()


def appointment(
    calendar: WorkingCalendar,
    procedure: ProcedureRecord,
    amount: int,
    received_at: dt.datetime,
    pauses: list[list[str]] | None = None,
) -> dt.datetime | None:
    cutoff = dt.time.fromisoformat(procedure.cutoff) if procedure.cutoff else None
    spans = [
        (dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b) if b else None)
        for a, b in (pauses or [])
    ]
    if procedure.time_limit_unit == "working_hours":
        return _utc(calendar.appointment(received_at, hours=amount, cutoff=cutoff, pauses=spans))
    if procedure.time_limit_unit == "working_days":
        return _utc(calendar.appointment(received_at, days=amount, cutoff=cutoff, pauses=spans))
    # calendar days: the paused time is simply added
    paused = sum(((b or a) - a for a, b in spans), dt.timedelta())
    return _utc(received_at + dt.timedelta(days=amount) + paused)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite keeps a datetime's wall-clock digits and drops its zone: store UTC only, so
    # what is read back (naive, taken as UTC) is the same moment.
    return moment.astimezone(dt.UTC) if moment is not None and moment.tzinfo else moment


async def _record(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    action: str,
    from_status: int | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    agency_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """The timeline row, the audit entry and the outbox event of one transition, all three
    owned by the acting agency (`agency_id`: the holder of the step; default the owner), dated
    `now` (when the move happened; the audit entry keeps the moment it was written). Then its
    listeners hear of it, in the same transaction (core/dossiers/listeners.py)."""
    now = _utc(now) or utcnow()
    agency_id = agency_id or dossier.agency_id
    session.add(
        DossierEventRow(
            province_id=dossier.province_id,
            agency_id=agency_id,
            dossier_id=dossier.id,
            at=now,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=dossier.status,
            note=note,
        )
    )
    facts = {
        "code": dossier.code,
        "procedure": dossier.procedure_code,
        "from": from_status,
        "to": dossier.status,
        "step": dossier.current_step,
        "version": dossier.version,
        **(data or {}),
    }
    await audit.append(
        session,
        province_id=dossier.province_id,
        agency_id=agency_id,
        actor=actor,
        action=f"dossier.{action}",
        entity_type="dossier",
        entity_id=dossier.id,
        data=facts,
    )
    await outbox.add_event(
        session,
        TOPIC,
        {
            "province_id": dossier.province_id,
            "agency_id": agency_id,
            "dossier_id": dossier.id,
            "dossier_code": dossier.code,
            "procedure_code": dossier.procedure_code,
            "from_status": from_status,
            "to_status": dossier.status,
            "action": action,
            "actor": actor,
            "at": now.isoformat(),
        },
        province_id=dossier.province_id,
        agency_id=agency_id,
    )
    await listeners.transitioned(
        session, dossier, action=action, from_status=from_status, actor=actor
    )
    await session.flush()


# -- receipt --------------------------------------------------------------------------------


async def receive(
    session: AsyncSession,
    *,
    agency: Agency,
    procedure_code: str,
    applicant: dict[str, Any],
    sector_data: dict[str, Any],
    actor: str,
    calendar: WorkingCalendar,
    data_model: type[BaseModel] | None = None,
    unique_fields: tuple[UniqueField, ...] = (),
    idempotency_key: str | None = None,
    online: bool = False,
    now: dt.datetime | None = None,
) -> Received:
    """Receive a dossier at the counter (status received, with its appointment) or register
    one filed online (status new, to be accepted or refused)."""
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise DomainError(
            f"idempotencyKey: at most {MAX_IDEMPOTENCY_KEY} characters",
            f"idempotencyKey: tối đa {MAX_IDEMPOTENCY_KEY} ký tự",
            code="BAD_INPUT",
            field="idempotencyKey",
        )
    now = _utc(now) or utcnow()
    procedure = await catalogue.get_procedure(session, procedure_code)
    adoption = await catalogue.adoption_of(session, agency.id, procedure_code)
    if not isinstance(applicant, dict) or not applicant:
        raise DomainError(
            "applicant: required", "applicant: bắt buộc", code="BAD_INPUT", field="applicant"
        )
    applicant = applicant_form.clean(applicant)
    clean = validate_sector_data(data_model, sector_data)
    digest = _input_hash(procedure_code, applicant, clean, online)
    day = await codes.lock_counter(session, agency.province_id, agency.id, now)
    if idempotency_key:
        earlier = await _by_key(session, agency.id, idempotency_key)
        if earlier is not None:
            return _replay(earlier, digest)  # a retry of a receipt made: still its dossier
    await catalogue.require_module_enabled(session, procedure, agency.province_id)
    code = await codes.next_code(session, agency.id, agency.code, day)
    key = codes.new_lookup_key()
    dossier = Dossier(
        province_id=agency.province_id,
        agency_id=agency.id,
        code=code,
        lookup_hash=codes.hash_key(key),
        procedure_code=procedure_code,
        applicant=applicant,
        sector_data=clean,
        status=Status.new if online else Status.received,
        received_at=now,
        appointment_at=None
        if online
        else appointment(calendar, procedure, adoption.time_limit_amount, now),
        idempotency_key=idempotency_key,
        input_hash=digest if idempotency_key else None,
        step_agencies=dict(adoption.step_agencies or {}),
        time_limit_amount=adoption.time_limit_amount,
    )
    conflict = await add_in_savepoint(session, dossier)
    if conflict is not None:
        # A concurrent identical request won the unique (agency, key) race: answer with its dossier.
        earlier = await _by_key(session, agency.id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise conflict
        return _replay(earlier, digest)
    await _hold_keys(session, dossier, unique_fields)
    await _open_step(session, dossier, procedure, 0, from_agency_id=None, at=now)
    await _record(
        session,
        dossier,
        actor=actor,
        action="registered" if online else "received",
        from_status=None,
        now=now,
    )
    return Received(dossier, key)


async def _hold_keys(
    session: AsyncSession, dossier: Dossier, unique_fields: tuple[UniqueField, ...]
) -> None:
    """The dossier's unique values (`sdk.UniqueField`), folded (case, diacritics, spaces): a
    value a live dossier of the agency already holds answers the field's error code. The
    unique index decides, so two receipts racing for one name cannot both win."""
    for unique in unique_fields:
        value = dossier.sector_data.get(unique.field)
        if value in (None, ""):
            continue
        key = DossierKey(
            province_id=dossier.province_id,
            agency_id=dossier.agency_id,
            namespace=unique.namespace,
            value=fold(str(value))[:500],
            dossier_id=dossier.id,
        )
        if await add_in_savepoint(session, key) is not None:
            field = f"sectorData.{unique.field}"
            raise DomainError(
                f"{field}: {unique.message.en}",
                f"{field}: {unique.message.vi}",
                code=unique.error_code,
                field=field,
            ) from None


# Finished without a result: the dossier's unique values are free again.
_RELEASING = frozenset({Status.not_received, Status.withdrawn, Status.stopped})


async def _release_keys(session: AsyncSession, dossier: Dossier) -> None:
    await session.execute(
        delete(DossierKey).where(
            col(DossierKey.province_id) == dossier.province_id,
            col(DossierKey.dossier_id) == dossier.id,
        )
    )


# -- steps and the agencies holding them -------------------------------------------------------


async def _open_step(
    session: AsyncSession,
    dossier: Dossier,
    procedure: ProcedureRecord,
    index: int,
    *,
    from_agency_id: int | None,
    to_agency_id: int | None = None,
    at: dt.datetime | None = None,
) -> DossierStep:
    """The dossier reaches step `index`: its row, owned by the agency that holds the step (the
    first step: the receiving agency; later ones: the adoption's map, else the agency the
    handover names, else the receiving agency)."""
    code = procedure.steps[index]["code"]
    # The first step is always the receiving agency's (the adoption cannot map it elsewhere).
    agency_id = (
        dossier.agency_id
        if index == 0
        else int(dossier.step_agencies.get(code) or to_agency_id or dossier.agency_id)
    )
    step = DossierStep(
        province_id=dossier.province_id,
        agency_id=agency_id,
        dossier_id=dossier.id,
        step_index=index,
        step_code=code,
        from_agency_id=from_agency_id,
        started_at=at or utcnow(),
    )
    if not scope_of(session.sync_session).allows(step.province_id, agency_id):
        grant_handover(session, step)  # the sender creates the receiver's step, cannot read it back
    session.add(step)
    await session.flush()
    return step


def _not_your_step(dossier: Dossier) -> DomainError:
    return DomainError(
        f"dossier {dossier.code} is at a step another agency holds: only that agency acts on it",
        f"hồ sơ {dossier.code} đang ở bước do cơ quan khác xử lý: chỉ cơ quan đó được thao tác",
        code="NOT_YOUR_STEP",
    )


async def current_step_row(session: AsyncSession, dossier: Dossier) -> DossierStep:
    """The row of the step the dossier is at, when the caller's agency holds it (the scope
    hides other agencies' steps): anyone else gets NOT_YOUR_STEP."""
    step = await find_one(
        session,
        DossierStep,
        province_id=dossier.province_id,
        dossier_id=dossier.id,
        step_index=dossier.current_step,
    )
    if step is None:
        raise _not_your_step(dossier)
    return step


async def _acting_agency(session: AsyncSession, dossier: Dossier, owner_move: bool) -> int:
    if owner_move:  # the receiving agency returns the result (one-stop shop)
        if not scope_of(session.sync_session).allows(dossier.province_id, dossier.agency_id):
            raise _not_your_step(dossier)
        return dossier.agency_id
    return (await current_step_row(session, dossier)).agency_id


async def _by_key(session: AsyncSession, agency_id: int, key: str) -> Dossier | None:
    return await find_one(session, Dossier, agency_id=agency_id, idempotency_key=key)


def _replay(earlier: Dossier, digest: str) -> Received:
    if earlier.input_hash != digest:
        raise DomainError(
            "idempotencyKey: already used for a different dossier",
            "idempotencyKey: khóa đã dùng cho một hồ sơ khác",
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )
    return Received(earlier, None, replayed=True)


# -- moves ------------------------------------------------------------------------------------


async def load(
    session: AsyncSession,
    dossier_id: int,
    expected_version: int | None = None,
    province_id: int | None = None,
) -> Dossier:
    """The dossier, its version bumped atomically when `expected_version` is given: a stale
    version (another officer acted first) is a CONFLICT and changes nothing."""
    # The bump and the check are one UPDATE: of two officers acting at once, one wins.
    key = [col(Dossier.id) == dossier_id]
    if province_id is not None:  # from a global id: the whole primary key
        key.append(col(Dossier.province_id) == province_id)
    statement = update(Dossier).where(*key)
    if expected_version is not None:
        statement = statement.where(col(Dossier.version) == expected_version)
    # An UPDATE answers a CursorResult (AsyncSession.execute is typed with the plain Result).
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            statement.values(
                version=col(Dossier.version) + 1, updated_at=utcnow()
            ).execution_options(synchronize_session=False)
        ),
    )
    dossier = (
        await session.execute(select(Dossier).where(*key).execution_options(populate_existing=True))
    ).scalar_one_or_none()
    if dossier is None:
        raise _not_found(dossier_id)
    if expected_version is not None and result.rowcount != 1:
        raise Conflict(
            f"dossier {dossier.code} changed: version {dossier.version}, not {expected_version}; "
            "reload it",
            f"hồ sơ {dossier.code} đã thay đổi (phiên bản {dossier.version}); hãy tải lại",
            code="CONFLICT",
            version=dossier.version,
        )
    return dossier


def _invalid(current: Status, to: Status) -> DomainError:
    return DomainError(
        f"a dossier cannot move from {current.name} to {to.name}",
        f"hồ sơ không thể chuyển từ trạng thái {current.name} sang {to.name}",
        code="INVALID_TRANSITION",
        **{"from": current.name, "to": to.name},
    )


def accepted(dossier: Dossier) -> bool:
    """Received (at the counter, or an online dossier accepted): only then has it an
    appointment. A dossier filed online and not yet accepted has none, whatever its status
    (new, waiting for a supplement asked before acceptance, refused or withdrawn)."""
    return dossier.appointment_at is not None


def handling_supplements(dossier: Dossier) -> int:
    """Supplements asked after acceptance: each stopped the clock (a pause, closed or open)."""
    return len(dossier.pauses) + (dossier.paused_at is not None)


def _check_move(
    dossier: Dossier, to: Status, now: dt.datetime, only_from: Status | None = None
) -> None:
    """`only_from`: a move that makes sense from one status only (a supplement arrives only
    when one was requested) even where the table allows that target from elsewhere."""
    current = Status(dossier.status)
    if to not in ALLOWED[current] or (only_from is not None and current != only_from):
        raise _invalid(current, to)
    if is_overdue(dossier, now):
        dossier.was_late = True
        raise DomainError(
            f"dossier {dossier.code} is overdue: record an apology slip with a new appointment "
            "first",
            f"hồ sơ {dossier.code} đã quá hạn: cần lập phiếu xin lỗi và hẹn lại ngày trả kết quả",
            code="APOLOGY_REQUIRED",
        )


async def _move(
    session: AsyncSession,
    dossier: Dossier,
    to: Status,
    *,
    actor: str,
    action: str,
    note: str = "",
    now: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    agency_id: int | None = None,
    owner_move: bool = False,
    calendar: WorkingCalendar | None = None,
) -> Dossier:
    """`agency_id`: the acting agency when the caller already checked it; else the holder of
    the current step (or the receiving agency for an `owner_move`) must be in the scope."""
    now = _utc(now) or utcnow()
    agency_id = agency_id or await _acting_agency(session, dossier, owner_move)
    _check_move(dossier, to, now)
    before = dossier.status
    dossier.status = int(to)
    dossier.updated_at = now
    if to in FINISHED and dossier.finished_at is None:
        await _stamp_finished(session, dossier, to, now, calendar)
    session.add(dossier)
    if to in _RELEASING:
        await _release_keys(session, dossier)
    await _record(
        session,
        dossier,
        actor=actor,
        action=action,
        from_status=before,
        note=note,
        data=data,
        agency_id=agency_id,
        now=now,
    )
    return dossier


async def _time_limit(session: AsyncSession, dossier: Dossier) -> int:
    # Kept on the dossier at receipt: the agencies of later steps cannot read the adoption.
    if dossier.time_limit_amount is not None:
        return dossier.time_limit_amount
    return (
        await catalogue.adoption_of(session, dossier.agency_id, dossier.procedure_code)
    ).time_limit_amount


async def _stamp_finished(
    session: AsyncSession,
    dossier: Dossier,
    to: Status,
    now: dt.datetime,
    calendar: WorkingCalendar | None,
) -> None:
    """What the figures aggregate, fixed once when the dossier first finishes: the moment, and
    for a resolved dossier (processed) its handling time in working days without the time the
    clock stood still, and whether it met its appointment."""
    dossier.finished_at = now.astimezone(dt.UTC)  # SQLite keeps the wall time without its offset
    if to != Status.processed:
        return  # refused, withdrawn or stopped: closed, but not resolved
    if calendar is None:
        from eiso.core.settings import get_settings
        from eiso.core.workdays.overrides import load_calendar

        calendar = await load_calendar(session, get_settings())
    procedure = await catalogue.get_procedure(session, dossier.procedure_code)
    cutoff = dt.time.fromisoformat(procedure.cutoff) if procedure.cutoff else None
    start = calendar.counting_start(aware(dossier.received_at), cutoff)
    worked = calendar.working_time_between(start, now)
    for paused, resumed in dossier.pauses:
        if resumed:
            worked -= calendar.working_time_between(
                dt.datetime.fromisoformat(paused), dt.datetime.fromisoformat(resumed)
            )
    per_day = calendar.office_hours.per_day
    dossier.handling_days = round(max(worked, dt.timedelta()) / per_day, 4)
    dossier.on_time = (
        not dossier.was_late
        and dossier.appointment_at is not None
        and now <= aware(dossier.appointment_at)
    )


def _reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            f"{field}: a reason is required",
            f"{field}: bắt buộc ghi lý do",
            code="BAD_INPUT",
            field=field,
        )
    return reason


Schedule = Callable[[AsyncSession, Dossier, WorkingCalendar, dt.datetime], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class ClockMove:
    """A move to `to` (timeline action `action`) that sets the appointment on the working
    `calendar`: `schedule` checks the move and stamps the dossier (receipt starts the clock, a
    supplement received resumes it)."""

    to: Status
    action: str
    schedule: Schedule

    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        calendar: WorkingCalendar,
        now: dt.datetime | None = None,
    ) -> Dossier:
        now = _utc(now) or utcnow()
        await self.schedule(session, dossier, calendar, now)
        return await _move(session, dossier, self.to, actor=actor, action=self.action, now=now)


async def _start_clock(
    session: AsyncSession, dossier: Dossier, calendar: WorkingCalendar, now: dt.datetime
) -> None:
    """An online dossier (new) is received: its clock starts now, and it has its receipt slip
    (01) and process control slip (05) from now on."""
    procedure = await catalogue.get_procedure(session, dossier.procedure_code)
    amount = await _time_limit(session, dossier)
    _check_move(dossier, Status.received, now)
    dossier.received_at = now
    dossier.appointment_at = appointment(calendar, procedure, amount, now)


accept = ClockMove(Status.received, "received", _start_clock)


@dataclasses.dataclass(frozen=True)
class Move:
    """A move to `to`, its timeline row's action `action`, that needs nothing but the
    transition table and, where set, the status `only_from` (see `_check_move`).
    `owner_move`: the receiving agency acts, not the holder of the current step."""

    to: Status
    action: str
    only_from: Status | None = None
    owner_move: bool = False

    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        note: str = "",
        now: dt.datetime | None = None,
    ) -> Dossier:
        if self.only_from is not None:
            _check_move(dossier, self.to, now or utcnow(), only_from=self.only_from)
        return await _move(
            session,
            dossier,
            self.to,
            actor=actor,
            action=self.action,
            note=note,
            now=now,
            owner_move=self.owner_move,
        )


@dataclasses.dataclass(frozen=True)
class ReasonedMove:
    """A move to `to` that the officer must give a reason for (refuse, withdraw, stop, request
    a supplement): the reason is the timeline row's note, `action` its action. `prepare`
    checks and stamps what the move needs beyond the transition table, before the reason."""

    to: Status
    action: str
    prepare: Callable[[Dossier, dt.datetime], None] | None = None

    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        actor: str,
        reason: str,
        now: dt.datetime | None = None,
    ) -> Dossier:
        now = _utc(now) or utcnow()
        if self.prepare is not None:
            self.prepare(dossier, now)
        note = _reason(reason)
        return await _move(
            session, dossier, self.to, actor=actor, action=self.action, note=note, now=now
        )


refuse = ReasonedMove(Status.not_received, "refused")


async def assign(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    assignee: str,
    now: dt.datetime | None = None,
) -> Dossier:
    if not (assignee or "").strip():
        raise DomainError(
            "assignee: required", "assignee: bắt buộc", code="BAD_INPUT", field="assignee"
        )
    dossier.assignee = assignee.strip()
    return await _move(
        session, dossier, Status.in_progress, actor=actor, action="assigned", now=now
    )


async def complete_step(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    note: str = "",
    now: dt.datetime | None = None,
    step_data: dict[str, Any] | None = None,
    step_models: dict[str, type[BaseModel]] | None = None,
    to_agency_id: int | None = None,
    calendar: WorkingCalendar | None = None,
) -> Dossier:
    """The current step is done, with the step's own data (validated by the step's model and
    kept on the step's row): on to the next step, handed over to the agency that holds it, or
    processed after the last. Only the agency holding the current step completes it. The
    calendar measures the handling time at the end (the stored one is loaded when none is
    given)."""
    now = now or utcnow()
    procedure = await catalogue.get_procedure(session, dossier.procedure_code)
    step = await current_step_row(session, dossier)
    last = len(procedure.steps) - 1
    target = Status.processed if dossier.current_step >= last else Status.in_progress
    _check_move(dossier, target, now)
    model = (step_models or {}).get(step.step_code)
    if step_data is not None or model is not None:
        step.sector_data = validate_sector_data(model, step_data or {}, prefix="stepData")
    step.status, step.completed_at, step.completed_by = "done", now, actor
    session.add(step)
    if target is Status.processed:
        return await _move(
            session,
            dossier,
            Status.processed,
            actor=actor,
            action="processed",
            note=note,
            now=now,
            agency_id=step.agency_id,
            calendar=calendar,
        )
    dossier.current_step += 1
    following = await _open_step(
        session,
        dossier,
        procedure,
        dossier.current_step,
        from_agency_id=step.agency_id,
        to_agency_id=to_agency_id,
        at=now,
    )
    handed = following.agency_id != step.agency_id
    if handed:
        dossier.assignee = None  # the receiving agency assigns its own officer
    return await _move(
        session,
        dossier,
        Status.in_progress,
        actor=actor,
        action="handed_over" if handed else "step_completed",
        note=note,
        now=now,
        agency_id=step.agency_id,
        data={"to_agency": following.agency_id} if handed else None,
    )


def _first_supplement(dossier: Dossier, now: dt.datetime) -> None:
    """Once before acceptance (an online dossier checked at intake: no clock runs yet) and
    once after it (the clock stands still from now until the supplement arrives)."""
    _check_move(dossier, Status.supplement_requested, now)
    handling = handling_supplements(dossier)
    asked = handling if accepted(dossier) else dossier.supplement_count - handling
    if asked >= 1:
        raise DomainError(
            f"dossier {dossier.code}: a supplement may be requested only once",
            f"hồ sơ {dossier.code}: chỉ được yêu cầu bổ sung một lần",
            code="SUPPLEMENT_ALREADY_USED",
        )
    dossier.supplement_count += 1
    if accepted(dossier):
        dossier.paused_at = now


request_supplement = ReasonedMove(
    Status.supplement_requested, "supplement_requested", _first_supplement
)


async def _resume_clock(
    session: AsyncSession, dossier: Dossier, calendar: WorkingCalendar, now: dt.datetime
) -> None:
    """The clock resumes: the appointment moves by the working time the clock stood still."""
    _check_move(dossier, Status.in_progress, now, only_from=Status.supplement_requested)
    procedure = await catalogue.get_procedure(session, dossier.procedure_code)
    amount = await _time_limit(session, dossier)
    assert dossier.paused_at is not None  # stamped by request_supplement
    paused_at = aware(dossier.paused_at)
    dossier.pauses = [*dossier.pauses, [paused_at.isoformat(), now.isoformat()]]
    if dossier.was_late:
        # An apology already moved the appointment: shift that one by the paused office time.
        assert dossier.appointment_at is not None  # the one the apology set
        dossier.appointment_at = _utc(
            calendar.add_working_hours(
                calendar.counting_start(now),
                calendar.working_time_between(paused_at, aware(dossier.appointment_at)),
            )
        )
    else:
        dossier.appointment_at = appointment(
            calendar, procedure, amount, aware(dossier.received_at), dossier.pauses
        )
    dossier.paused_at = None


_resume = ClockMove(Status.in_progress, "supplement_received", _resume_clock)


async def supplement_received(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    calendar: WorkingCalendar,
    now: dt.datetime | None = None,
) -> Dossier:
    """The clock resumes (`_resume_clock`). A dossier not yet accepted goes back to `new`, to
    be checked again (accepted or refused)."""
    if accepted(dossier):
        return await _resume(session, dossier, actor=actor, calendar=calendar, now=now)
    now = _utc(now) or utcnow()
    _check_move(dossier, Status.new, now, only_from=Status.supplement_requested)
    return await _move(
        session, dossier, Status.new, actor=actor, action="supplement_received", now=now
    )


request_fee = Move(Status.financial_obligation_requested, "fee_requested")
fee_paid = Move(Status.in_progress, "fee_paid", only_from=Status.financial_obligation_requested)


withdraw = ReasonedMove(Status.withdrawn, "withdrawn")


def _only_accepted(dossier: Dossier, now: dt.datetime) -> None:
    """Only an accepted dossier is processed, so only it can be stopped (one not yet accepted
    is refused or withdrawn instead)."""
    if not accepted(dossier):
        raise _invalid(Status(dossier.status), Status.stopped)


async def withdraw_online(
    session: AsyncSession,
    dossier: Dossier,
    *,
    reason: str,
    now: dt.datetime | None = None,
) -> Dossier:
    """The citizen withdraws a dossier filed online before the agency accepted it (through
    the portal, with the dossier code and lookup key). Once accepted, the agency records a
    withdrawal on the citizen's request (`withdraw`)."""
    if accepted(dossier):
        raise DomainError(
            f"dossier {dossier.code} is already accepted: ask the agency to withdraw it",
            f"hồ sơ {dossier.code} đã được tiếp nhận: đề nghị cơ quan tiếp nhận rút hồ sơ",
            code="ALREADY_ACCEPTED",
        )
    now = _utc(now) or utcnow()
    return await _move(
        session,
        dossier,
        Status.withdrawn,
        actor=CITIZEN,
        action="withdrawn",
        note=_reason(reason),
        now=now,
        owner_move=True,
    )


stop = ReasonedMove(Status.stopped, "stopped", _only_accepted)


# The receiving agency returns the result (one-stop shop), whoever holds the last step.
return_result = Move(Status.returned, "returned", owner_move=True)


async def record_apology(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    reason: str,
    new_appointment: dt.datetime,
    now: dt.datetime | None = None,
) -> Dossier:
    """Slip 04: the overdue dossier gets a new appointment and stays late in every figure."""
    now = now or utcnow()
    agency_id = await _acting_agency(session, dossier, owner_move=False)
    before = dossier.appointment_at
    if before is None or not is_overdue(dossier, now):  # overdue: it has an appointment
        raise DomainError(
            f"dossier {dossier.code} is not overdue",
            f"hồ sơ {dossier.code} chưa quá hạn",
            code="APOLOGY_NOT_NEEDED",
        )
    if new_appointment.tzinfo is None or new_appointment <= now:
        raise DomainError(
            "newAppointment: must be a time-zone-aware moment in the future",
            "newAppointment: phải là thời điểm trong tương lai (có múi giờ)",
            code="BAD_INPUT",
            field="newAppointment",
        )
    dossier.was_late = True
    if dossier.late_since is None:
        dossier.late_since = before
    dossier.appointment_at = _utc(new_appointment)
    session.add(dossier)
    await _record(
        session,
        dossier,
        actor=actor,
        action="apology",
        from_status=dossier.status,
        note=_reason(reason),
        data={
            "old_appointment": aware(before).isoformat(),
            "new_appointment": new_appointment.isoformat(),
        },
        agency_id=agency_id,
        now=now,
    )
    return dossier
