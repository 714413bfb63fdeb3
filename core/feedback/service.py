"""Feedback and petitions: a citizen submits one without an account and follows it by its code
and lookup key; the agency's staff assign and answer it within the province's deadline (working
days); the citizen rates the answer. The moves and who may make them are `rules.MOVES`.

A wrong code and a wrong key answer the same NOT_FOUND (nothing to probe); a row of another
agency or province is NOT_FOUND too (the session's scope hides it)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.auth.principal import Principal
from eiso.core.dossiers.models import ProcedureAdoption
from eiso.core.errors import DomainError, Forbidden, NotFound, member_of
from eiso.core.feedback.models import Feedback, FeedbackSetting
from eiso.core.feedback.rules import (
    ANSWER_MAX,
    CITIZEN,
    COMMENT_MAX,
    CONTACT_MAX,
    CONTENT_MAX,
    DEFAULT_ANSWER_DAYS,
    MIN_ANSWER_DAYS,
    MOVES,
    OPEN,
    RATING_MAX,
    RATING_MIN,
    Kind,
    State,
    Subject,
)
from eiso.core.resources import Resources
from eiso.core.workdays import VN_TZ
from eiso.core.workdays.overrides import load_calendar
from eiso.infra.clock import aware, utcnow
from eiso.tenants.models import Agency, Province, TenantStatus, tenant_join
from eiso.tenants.province_settings import save_setting
from eiso.tenants.scope import TenantScope

PUBLISHED_PAGE = 50  # the most published answers one call lists


def bad_input(field: str, message: str, message_vi: str) -> DomainError:
    return DomainError(f"{field}: {message}", f"{field}: {message_vi}", field=field)


def _text(value: str | None, field: str, max_length: int, *, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise bad_input(field, "is required", "không được để trống")
        return None
    if len(value) > max_length:
        raise bad_input(field, f"at most {max_length} characters", f"tối đa {max_length} ký tự")
    return value


def _hash(lookup_key: str) -> str:
    return hashlib.sha256(lookup_key.encode()).hexdigest()


def _new_code(at: dt.datetime) -> str:
    # PAKN-yymmdd-XXXXXX: unique index on the code; 24 random bits a day make a clash rare,
    # and a clash fails the insert rather than mixing two citizens' feedback.
    return f"PAKN-{at.astimezone(VN_TZ):%y%m%d}-{secrets.token_hex(3).upper()}"


@dataclasses.dataclass(frozen=True)
class Contact:
    """Personal data, all optional: anonymous feedback is allowed."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclasses.dataclass(frozen=True)
class Submitted:
    code: str
    lookup_key: str  # given once; eiso keeps only its hash
    due_at: dt.datetime


async def answer_days(session: AsyncSession, province_id: int) -> int:
    """The province's deadline in working days, or eiso's default."""
    setting = await session.get(FeedbackSetting, province_id)
    return setting.answer_days if setting else DEFAULT_ANSWER_DAYS


async def submit(
    resources: Resources,
    *,
    province_id: int,
    agency_id: int,
    kind: str,
    subject: str,
    content: str,
    procedure_code: str | None = None,
    dossier_code: str | None = None,
    contact: Contact = Contact(),
    publish_consent: bool = False,
    now: dt.datetime | None = None,
) -> Submitted:
    """Register a citizen's feedback for an active agency; every input is checked before
    anything is written. `now`: when it was received (the demo's past ones; default now)."""
    kind_, subject_ = member_of(Kind, kind, "kind"), member_of(Subject, subject, "subject")
    body = _text(content, "content", CONTENT_MAX, required=True)
    procedure = _text(procedure_code, "procedureCode", 64, required=subject_ is Subject.procedure)
    # The dossier's code is stored as given, not looked up: whether a code exists is not the
    # public's to probe; the officer sees it.
    dossier = _text(dossier_code, "dossierCode", 64, required=subject_ is Subject.dossier)
    name, phone, email = (
        _text(value, f"contact.{field}", CONTACT_MAX, required=False)
        for field, value in dataclasses.asdict(contact).items()
    )
    async with resources.session(TenantScope.nation()) as session, session.begin():
        agency = await session.get(Agency, (province_id, agency_id))
        if agency is None or agency.status != TenantStatus.active:
            raise NotFound("no such agency", "không tìm thấy cơ quan")
        if procedure is not None and not await _adopted(session, agency, procedure):
            raise bad_input(
                "procedureCode",
                "the agency does not offer this procedure",
                "cơ quan không thực hiện thủ tục này",
            )
        now = now or utcnow()
        days = await answer_days(session, province_id)
        calendar = await load_calendar(session, resources=resources)
        key = secrets.token_hex(5).upper()  # ~50 bits, short enough to type from a receipt
        row = Feedback(
            province_id=province_id,
            agency_id=agency_id,
            code=_new_code(now),
            lookup_hash=_hash(key),
            kind=kind_.value,
            subject=subject_.value,
            procedure_code=procedure,
            dossier_code=dossier,
            content=body or "",
            contact_name=name,
            contact_phone=phone,
            contact_email=email,
            publish_consent=publish_consent,
            received_at=now,
            answer_days=days,
            due_at=calendar.add_working_days(calendar.counting_start(now), days),
        )
        session.add(row)
        await session.flush()
        # The trail holds no personal data and no free text: kind, subject and deadline.
        await audit.append_row(session, row, CITIZEN, "feedback.submitted", {"kind": row.kind})
        return Submitted(row.code, key, aware(row.due_at))


async def _adopted(session: AsyncSession, agency: Agency, procedure_code: str) -> bool:
    found = await session.execute(
        select(col(ProcedureAdoption.id)).where(
            col(ProcedureAdoption.province_id) == agency.province_id,
            col(ProcedureAdoption.agency_id) == agency.id,
            col(ProcedureAdoption.procedure_code) == procedure_code,
        )
    )
    return found.first() is not None


def _public_error() -> NotFound:
    return NotFound(
        "no feedback with this code and lookup key",
        "không tìm thấy phản ánh, kiến nghị với mã và mã tra cứu này",
    )


async def _by_code(session: AsyncSession, code: str, lookup_key: str) -> Feedback:
    row = (
        await session.execute(select(Feedback).where(col(Feedback.code) == code))
    ).scalar_one_or_none()
    if row is None or not secrets.compare_digest(row.lookup_hash, _hash(lookup_key or "")):
        raise _public_error()
    return row


def is_overdue(row: Feedback, now: dt.datetime) -> bool:
    return State(row.state) in OPEN and now > aware(row.due_at)


def is_late(row: Feedback, now: dt.datetime) -> bool:
    """Answered after the deadline, or still open past it."""
    return row.on_time is False or is_overdue(row, now)


def public_view(row: Feedback, now: dt.datetime) -> dict[str, Any]:
    """What the citizen sees: no contact data, no officer's name."""
    return {
        "code": row.code,
        "kind": Kind(row.kind),
        "subject": Subject(row.subject),
        "procedure_code": row.procedure_code,
        "state": State(row.state),
        "received_at": aware(row.received_at),
        "due_at": aware(row.due_at),
        "answered_at": aware(row.answered_at),
        "answer": row.answer,
        "late": is_late(row, now),
        "rating": row.rating,
    }


async def follow(resources: Resources, code: str, lookup_key: str) -> dict[str, Any]:
    async with resources.session(TenantScope.nation()) as session:
        return public_view(await _by_code(session, code, lookup_key), utcnow())


def _check_move(row: Feedback, name: str) -> None:
    move = MOVES[name]
    if State(row.state) not in move.sources:
        raise DomainError(
            f"feedback: cannot {name} when {row.state}",
            f"phản ánh, kiến nghị: không thể thực hiện ({name}) ở trạng thái {row.state}",
            code="INVALID_TRANSITION",
            current=row.state,
            target=move.target.value,
        )


def _require_actor(principal: Principal, name: str) -> None:
    roles = [actor for actor in MOVES[name].actors if actor != CITIZEN]
    if not principal.has_role(*roles):  # type: ignore[arg-type]
        names = ", ".join(str(getattr(role, "value", role)) for role in roles)
        raise Forbidden(f"Only {names} may do this", f"Chỉ {names} được thực hiện")


async def rate(
    resources: Resources, code: str, lookup_key: str, rating: int, comment: str | None = None
) -> dict[str, Any]:
    """The citizen rates the answer (1-5), once."""
    if not RATING_MIN <= rating <= RATING_MAX:
        raise bad_input(
            "rating", f"{RATING_MIN} to {RATING_MAX}", f"từ {RATING_MIN} đến {RATING_MAX}"
        )
    remark = _text(comment, "comment", COMMENT_MAX, required=False)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        row = await _by_code(session, code, lookup_key)
        _check_move(row, "rate")
        now = utcnow()
        row.rating, row.rating_comment, row.rated_at = rating, remark, now
        row.state = MOVES["rate"].target
        session.add(row)
        await audit.append_row(session, row, "public", "feedback.rated", {"rating": rating})
        return public_view(row, now)


async def get(
    session: AsyncSession, principal: Principal, province_id: int, row_id: int
) -> Feedback:
    """A feedback in the caller's scope, or NOT_FOUND."""
    row = await session.get(Feedback, (province_id, row_id))
    if row is None:
        raise NotFound("no such feedback", "không tìm thấy phản ánh, kiến nghị")
    return row


async def listing(
    session: AsyncSession, state: State | None = None, overdue: bool | None = None
) -> list[Feedback]:
    """The caller's feedback (its scope decides which agencies), the open ones first by
    deadline."""
    statement = select(Feedback).order_by(col(Feedback.due_at), col(Feedback.id))
    if state is not None:
        statement = statement.where(col(Feedback.state) == state.value)
    rows = list((await session.execute(statement)).scalars())
    if overdue is not None:
        now = utcnow()
        rows = [r for r in rows if is_overdue(r, now) == overdue]
    return rows


async def assign(
    session: AsyncSession, principal: Principal, province_id: int, row_id: int, assignee: str
) -> Feedback:
    _require_actor(principal, "assign")
    who = _text(assignee, "assignee", CONTACT_MAX, required=True)
    row = await get(session, principal, province_id, row_id)
    _check_move(row, "assign")
    row.assignee, row.state = who, MOVES["assign"].target
    session.add(row)
    await audit.append_row(session, row, principal.subject, "feedback.assigned", {"assignee": who})
    return row


async def answer(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    row_id: int,
    text: str,
    publish: bool = False,
    now: dt.datetime | None = None,
) -> Feedback:
    """Record the agency's answer; `on_time` is stamped against the deadline. `publish` puts
    it on the province's public list, only if the citizen agreed (NO_PUBLISH_CONSENT). `now`:
    when it was answered (default now)."""
    _require_actor(principal, "answer")
    body = _text(text, "answer", ANSWER_MAX, required=True)
    row = await get(session, principal, province_id, row_id)
    _check_move(row, "answer")
    if publish and not row.publish_consent:
        raise DomainError(
            "the citizen did not agree to publish the answer",
            "người phản ánh không đồng ý công khai câu trả lời",
            code="NO_PUBLISH_CONSENT",
            field="publish",
        )
    row.published = publish
    now = now or utcnow()
    row.answer, row.answered_by, row.answered_at = body, principal.subject, now
    row.on_time = now <= aware(row.due_at)
    row.state = MOVES["answer"].target
    session.add(row)
    await audit.append_row(
        session, row, principal.subject, "feedback.answered", {"on_time": row.on_time}
    )
    return row


async def published(
    resources: Resources, province_code: str, limit: int = PUBLISHED_PAGE
) -> list[dict[str, Any]]:
    """The answers a province's agencies published (with the citizens' consent), the latest
    first: what was asked and answered, by which agency; no contact data, no names."""
    limit = max(1, min(limit, PUBLISHED_PAGE))
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(Feedback, col(Agency.name))
            .join(
                Agency,
                tenant_join(Agency.id, Feedback.agency_id),
            )
            .join(Province, col(Province.id) == col(Feedback.province_id))
            .where(col(Province.code) == province_code, col(Feedback.published).is_(True))
            .order_by(col(Feedback.answered_at).desc(), col(Feedback.id).desc())
            .limit(limit)
        )
        return [
            {
                "code": row.code,
                "kind": Kind(row.kind),
                "subject": Subject(row.subject),
                "procedure_code": row.procedure_code,
                "agency": agency,
                "content": row.content,
                "answer": row.answer or "",
                "answered_at": aware(row.answered_at),
            }
            for row, agency in rows.all()
        ]


async def set_answer_days(
    session: AsyncSession, principal: Principal, province_id: int, days: int
) -> int:
    """A province tightens the deadline (never beyond eiso's ceiling); applies to feedback
    submitted from now on (a submitted one keeps the deadline it was given)."""
    if not MIN_ANSWER_DAYS <= days <= DEFAULT_ANSWER_DAYS:
        raise bad_input(
            "days",
            f"{MIN_ANSWER_DAYS} to {DEFAULT_ANSWER_DAYS} working days",
            f"từ {MIN_ANSWER_DAYS} đến {DEFAULT_ANSWER_DAYS} ngày làm việc",
        )
    await save_setting(session, FeedbackSetting, province_id, principal.subject, answer_days=days)
    return days
