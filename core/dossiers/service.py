"""Transactions around the engine: each call is one transaction on a session bound to the
caller's tenant scope (an error rolls everything back). Also the public lookup and rating."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.dossiers import codes, engine, listeners
from eiso.core.dossiers.models import Dossier, DossierEventRow
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError, NotFound
from eiso.core.resources import Resources
from eiso.infra.clock import aware, utcnow
from eiso.tenants.models import Agency, Province, TenantStatus, tenant_join
from eiso.tenants.scope import TenantScope


async def act(
    resources: Resources,
    scope: TenantScope,
    dossier_id: int,
    expected_version: int | None,
    move: Callable[..., Awaitable[Dossier]],
    province_id: int | None = None,
    **kwargs: Any,
) -> Dossier:
    """Run one engine move on the dossier in its own transaction. A refusal that is itself a
    nonconformity (a supplement beyond the stage's limit) is announced afterwards
    (core/dossiers/listeners.py: the QMS records it)."""
    try:
        return await _in_transaction(
            resources.session(scope), dossier_id, expected_version, move, province_id, kwargs
        )
    except DomainError as error:
        actor = kwargs.get("actor", "system")
        refusal = listeners.Refusal(dossier_id, province_id, error.code, actor)
        await listeners.refused(resources, scope, refusal)
        raise


async def _in_transaction(
    session: AsyncSession,
    dossier_id: int,
    expected_version: int | None,
    move: Callable[..., Awaitable[Dossier]],
    province_id: int | None,
    kwargs: dict[str, Any],
) -> Dossier:
    """`async with session, session.begin(): <the move>` with two greenlet hops fewer (issue
    18: each hop, and the task that `AsyncSession.__aexit__` makes to close, cost a move's
    CPU): the transaction begins without one (the ORM's `begin` does no I/O: the connection
    is checked out and BEGIN sent at the first statement, as before), and the commit and the
    close are one. An error, or a cancellation, closes the session, which rolls back."""
    try:
        session.sync_session.begin()
        dossier = await engine.load(
            session, dossier_id, expected_version, province_id, lock_head=True
        )
        # The move's changes wait for its one write (engine._record): no query in between
        # flushes the dossier early.
        with session.no_autoflush:
            moved = await move(session, dossier, **kwargs)
        await session.run_sync(_commit_and_close)
    except BaseException:
        await asyncio.shield(session.close())
        raise
    return moved


def _commit_and_close(sync: Session) -> None:
    try:
        sync.commit()
    finally:
        sync.close()


async def active_agencies(
    resources: Resources, province_id: int, agency_ids: set[int]
) -> frozenset[int]:
    """Which of `agency_ids` are active agencies of the province: the one read across agencies
    that mapping or handing over a step needs (ids only, nothing else of those agencies)."""
    if not agency_ids:
        return frozenset()
    async with resources.session(TenantScope.province(province_id)) as session:
        found = await session.execute(
            select(Agency.id).where(
                Agency.province_id == province_id,
                col(Agency.id).in_(agency_ids),
                Agency.status == TenantStatus.active,
            )
        )
        return frozenset(found.scalars())


def _public_error() -> NotFound:
    # Same answer for a wrong code and a wrong key: nothing to probe.
    return NotFound(
        "no dossier with this code and lookup key", "không tìm thấy hồ sơ với mã và mã tra cứu này"
    )


async def _by_code(
    session: AsyncSession, code: str, lookup_key: str, province_code: str | None = None
) -> Dossier:
    """The dossier of `code` if `lookup_key` is its key (and, when given, it is of the province
    `province_code`: a province's portal finds no other's); the same NOT_FOUND otherwise."""
    statement = select(Dossier).where(Dossier.code == code)
    if province_code is not None:
        statement = statement.join(Province, col(Province.id) == col(Dossier.province_id)).where(
            col(Province.code) == province_code
        )
    dossier = (await session.execute(statement)).scalar_one_or_none()
    if dossier is None or dossier.lookup_hash != codes.hash_key(lookup_key or ""):
        raise _public_error()
    return dossier


async def public_dossier(
    resources: Resources, code: str, lookup_key: str, province_code: str | None = None
) -> dict[str, Any]:
    """What the citizen sees: status, appointment and timeline; no personal data, no officers."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        dossier = await _by_code(session, code, lookup_key, province_code)
        # One timeline across the agencies that held the dossier's steps.
        events = (
            await session.execute(
                select(DossierEventRow, Agency.name)
                .join(
                    Agency,
                    tenant_join(Agency.id, DossierEventRow.agency_id),
                )
                .where(
                    DossierEventRow.province_id == dossier.province_id,
                    DossierEventRow.dossier_id == dossier.id,
                )
                .order_by(col(DossierEventRow.at), col(DossierEventRow.id))
            )
        ).all()
        return {
            "code": dossier.code,
            "procedure_code": dossier.procedure_code,
            "status": Status(dossier.status),
            "supplement_request": _awaited_supplement(dossier, [e for e, _ in events]),
            "received_at": aware(dossier.received_at),
            "appointment_at": aware(dossier.appointment_at) if dossier.appointment_at else None,
            "late": dossier.was_late or engine.is_overdue(dossier, utcnow()),
            "rated": dossier.rating is not None,
            "timeline": [
                {
                    "at": aware(e.at),
                    "action": e.action,
                    "status": Status(e.to_status),
                    "agency": agency,
                }
                for e, agency in events
            ],
        }


def _awaited_supplement(dossier: Dossier, events: list[DossierEventRow]) -> dict[str, Any] | None:
    """While the dossier waits for a supplement: the request the citizen must answer (its
    text, what slip 02 says, and when it was made)."""
    if dossier.status != Status.supplement_requested:
        return None
    asked = [e for e in events if e.action == "supplement_requested"]
    if not asked:
        return None
    return {"text": asked[-1].note, "requested_at": aware(asked[-1].at)}


async def withdraw_online(
    resources: Resources, code: str, lookup_key: str, reason: str
) -> dict[str, Any]:
    """The citizen withdraws an online dossier not yet accepted (code and lookup key, as for
    the lookup); answers what the lookup shows. The timeline, audit entry and outbox event
    are the receiving agency's, with the actor `citizen`."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        dossier = await _by_code(session, code, lookup_key)
        await engine.withdraw_online(session, dossier, reason=reason)
    return await public_dossier(resources, code, lookup_key)


async def rate_dossier(
    resources: Resources, code: str, lookup_key: str, rating: int, comment: str = ""
) -> None:
    if not 1 <= rating <= 5:
        raise DomainError(
            "rating: must be 1 to 5", "rating: từ 1 đến 5", code="BAD_INPUT", field="rating"
        )
    if len(comment or "") > 2000:
        raise DomainError(
            "comment: at most 2000 characters",
            "comment: tối đa 2000 ký tự",
            code="BAD_INPUT",
            field="comment",
        )
    async with resources.session(TenantScope.nation()) as session, session.begin():
        dossier = await _by_code(session, code, lookup_key)
        if dossier.status != Status.returned:
            raise DomainError(
                "the result has not been returned yet",
                "hồ sơ chưa trả kết quả",
                code="NOT_RETURNED",
            )
        if dossier.rating is not None:
            raise DomainError(
                "this dossier is already rated", "hồ sơ này đã được đánh giá", code="ALREADY_RATED"
            )
        dossier.rating, dossier.rating_comment = rating, comment or None
        session.add(dossier)
        # No actor: the rating is anonymous, and the comment (free text) stays out of the trail.
        await audit.append_row(
            session,
            dossier,
            "public",
            "dossier.rated",
            {"rating": rating},
            about=("dossier", dossier.id),
        )
        await listeners.updated(session, dossier, action="rated")
