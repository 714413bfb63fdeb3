"""A mutation's work in one transaction in the caller's tenant scope: a refused move rolls
back and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.global_ids import decode_id
from eiso.graphql.shared.callers import agency_of

T = TypeVar("T")


async def in_transaction(
    info: strawberry.Info, work: Callable[[AsyncSession, Principal], Awaitable[T]]
) -> T:
    """`work(session, principal)` in one transaction in the caller's scope."""
    principal = require_principal(info.context.principal)
    async with info.context.resources.session(principal.tenant) as session, session.begin():
        return await work(session, principal)


async def for_own_agency(
    info: strawberry.Info, service: Callable[..., Awaitable[T]], /, **kwargs: Any
) -> T:
    """`service(session, principal, province_id=, agency_id=, **kwargs)` in one transaction,
    for the caller's own agency (`agency_of` refuses a caller of no single agency)."""

    return await in_transaction(
        info, lambda session, who: in_own_agency(session, who, service, **kwargs)
    )


async def in_own_agency(
    session: AsyncSession,
    who: Principal,
    service: Callable[..., Awaitable[T]],
    /,
    **kwargs: Any,
) -> T:
    """`service(session, who, province_id=, agency_id=, **kwargs)` for the caller's own agency,
    inside a transaction the caller holds (`for_own_agency` is this in one of its own)."""
    province_id, agency_id = agency_of(who)
    return await service(session, who, province_id=province_id, agency_id=agency_id, **kwargs)


async def act_on_node(
    info: strawberry.Info,
    global_id: str,
    type_name: str,
    service: Callable[..., Awaitable[T]],
    /,
    **kwargs: Any,
) -> T:
    """`service(session, principal, province_id, row_id, **kwargs)` in one transaction, for
    the row a `type_name` global id names (a malformed id is NOT_FOUND before any work; the
    service finds the row in the caller's scope, or answers NOT_FOUND itself)."""
    province_id, row_id = decode_id(global_id, type_name)
    return await in_transaction(
        info, lambda session, who: service(session, who, province_id, row_id, **kwargs)
    )
