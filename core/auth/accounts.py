"""A province's accounts and integration clients, as its administrators keep them (the province
console, issue 21): list, create, disable, reset a password, create and disable a client.

Every function works on one province (`province_id`, checked by the caller against the
administrator: `rules.require_province_admin`): an account or a client of another province is
NOT_FOUND, as one that does not exist. A new account gets a password generated here and
answered once (only its argon2id hash is kept); a reset answers a new one the same way, and
ends the account's refresh tokens (the sessions it holds end at their next refresh). A
disabled account cannot sign in or refresh; a disabled client gets no new token.

An administrator cannot disable or reset their own account (OWN_ACCOUNT): another
administrator does it, so no one locks a province out of its console by a slip, and a reset
of one's own password (which skips the old one) is seen by a second person.

Every change (an account created, disabled, its password reset; a client created, disabled)
is appended to the audit chain in the same transaction (core/audit.py): the chain of the
account's or client's agency, or for one of the province itself the chain of the province's
People's Committee (where a province's own QMS records go too), when the province has one.
The entry names the administrator (`actor`), the username or client id, the role or scopes
and the agency's code; never a password, a secret or a person's name.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from eiso.core import audit
from eiso.core.auth.clients import create_integration_client
from eiso.core.auth.models import Client, RefreshToken, User
from eiso.core.auth.passwords import hash_password
from eiso.core.auth.principal import Role
from eiso.core.auth.users import create_user, parse_role
from eiso.core.errors import DomainError, NotFound
from eiso.infra.clock import utcnow
from eiso.infra.db import find_one
from eiso.tenants.models import Agency, AgencyKind, Province

M = TypeVar("M")

# The roles a province's administrator may give: never the nation's.
PROVINCE_ROLES = (
    Role.officer,
    Role.leader,
    Role.iso_secretary,
    Role.auditor,
    Role.province_admin,
)
MAX_LISTED = 1000  # accounts or clients listed at once: more than a province keeps


@dataclasses.dataclass(frozen=True)
class Target:
    """The province the administrator acts on (its row id and code)."""

    id: int
    code: str

    @classmethod
    def of(cls, province: Province) -> Target:
        assert province.id is not None  # a stored row
        return cls(province.id, province.code)


@dataclasses.dataclass(frozen=True)
class Account:
    """An account as its province's administrators see it (no password, no hash)."""

    user: User
    agency: Agency | None


@dataclasses.dataclass(frozen=True)
class IntegrationClient:
    client: Client
    agency: Agency | None


async def _audited(
    session: AsyncSession,
    province_id: int,
    agency_id: int | None,
    actor: str,
    action: str,
    entity: tuple[str, object],
    data: dict[str, object],
) -> None:
    """Append the change to its agency's chain (the People's Committee's for the province's
    own account or client; none when the province has no People's Committee)."""
    if agency_id is None:
        agency_id = (
            await session.execute(
                select(col(Agency.id))
                .where(
                    col(Agency.province_id) == province_id,
                    col(Agency.kind) == AgencyKind.people_committee.value,
                    col(Agency.parent_id).is_(None),
                    col(Agency.status) == "active",
                )
                .order_by(col(Agency.code))
                .limit(1)
            )
        ).scalar_one_or_none()
        if agency_id is None:
            return
    await audit.append(
        session,
        province_id=province_id,
        agency_id=agency_id,
        actor=actor,
        action=action,
        entity_type=entity[0],
        entity_id=entity[1],
        data=data,
    )


async def _audit(
    session: AsyncSession, found: Account | IntegrationClient, actor: str, action: str
) -> None:
    """Append the change of an account or a client to the audit chain: who, what, no secret."""
    data: dict[str, object]
    row: User | Client
    entity: tuple[str, object]
    if isinstance(found, Account):
        row, entity = found.user, (User.__tablename__, found.user.id)
        data = {"username": found.user.username, "roles": list(found.user.roles)}
    else:
        row, entity = found.client, (Client.__tablename__, found.client.client_id)
        data = {"client_id": found.client.client_id, "scopes": list(found.client.scopes)}
    if found.agency is not None:
        data["agency"] = found.agency.code
    assert row.province_id is not None  # a province's account or client
    await _audited(session, row.province_id, row.agency_id, actor, action, entity, data)


def _not_own(found: Account, actor: str, what: str, what_vi: str) -> None:
    """OWN_ACCOUNT when `actor` (the administrator's subject: their user id) is the account."""
    if found.user.id is not None and actor == str(found.user.id):
        raise DomainError(
            f"You cannot {what} your own account: ask another administrator of the province",
            f"Không thể {what_vi} tài khoản của chính mình: hãy nhờ một quản trị viên khác "
            "của tỉnh",
            code="OWN_ACCOUNT",
        )


def one_time_password() -> str:
    """A password to show once: 16 characters of the URL-safe alphabet (96 bits)."""
    return secrets.token_urlsafe(12)


async def _agencies(session: AsyncSession, province_id: int, ids: set[int]) -> dict[int, Agency]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Agency).where(col(Agency.province_id) == province_id, col(Agency.id).in_(ids))
    )
    return {agency.id: agency for agency in rows.scalars()}


async def _of_province(
    session: AsyncSession, model: type[M], province_id: int, missing: NotFound, **key: object
) -> M:
    """The province's `model` row with `key`; `missing` is raised when it has none (another
    province's row is missing alike)."""
    row = await find_one(session, model, province_id=province_id, **key)
    if row is None:
        raise missing
    return row


async def _agency_of_province(session: AsyncSession, province_id: int, code: str) -> Agency:
    missing = NotFound(
        f"agency: no agency with code {code!r} in this province",
        f"agency: tỉnh không có cơ quan mã {code!r}",
        field="agencyCode",
    )
    return await _of_province(session, Agency, province_id, missing, code=code)


async def list_accounts(
    session: AsyncSession, province_id: int, search: str | None = None
) -> list[Account]:
    """The province's accounts (its own and its agencies'), by username."""
    query = select(User).where(col(User.province_id) == province_id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            col(User.username).ilike(pattern) | col(User.display_name).ilike(pattern)
        )
    users = list(
        (await session.execute(query.order_by(col(User.username)).limit(MAX_LISTED))).scalars()
    )
    agencies = await _agencies(session, province_id, {u.agency_id for u in users if u.agency_id})
    return [Account(u, agencies.get(u.agency_id) if u.agency_id else None) for u in users]


async def account(session: AsyncSession, province_id: int, username: str) -> Account:
    """The province's account `username`; NOT_FOUND when it is another province's."""
    missing = NotFound(
        f"no account {username!r} in this province",
        f"tỉnh không có tài khoản {username!r}",
        field="username",
    )
    user = await _of_province(session, User, province_id, missing, username=username)
    agencies = await _agencies(session, province_id, {user.agency_id} if user.agency_id else set())
    return Account(user, agencies.get(user.agency_id) if user.agency_id else None)


async def create_account(
    session: AsyncSession,
    province: Target,
    *,
    username: str,
    role: str,
    agency_code: str | None,
    display_name: str = "",
    actor: str,
) -> tuple[Account, str]:
    """A new account of the province (of one of its agencies when `agency_code`), and its
    one-time password."""
    parsed = parse_role(role)
    if parsed not in PROVINCE_ROLES:
        raise DomainError(
            f"role: a province's administrator cannot give the role {parsed.value}",
            f"role: quản trị viên tỉnh không được cấp vai trò {parsed.value}",
            field="role",
        )
    agency = await _agency_of_province(session, province.id, agency_code) if agency_code else None
    password = one_time_password()
    user = await create_user(
        session,
        username=username,
        role=parsed.value,
        password=password,
        agency_code=agency.code if agency else None,
        province_code=None if agency else province.code,
        display_name=display_name.strip()[:300],
    )
    made = Account(user, agency)
    await _audit(session, made, actor, "account.created")
    return made, password


async def _end_refresh_tokens(session: AsyncSession, holder: ColumnElement[bool]) -> None:
    """Revoke the unrevoked refresh tokens `holder` selects (an account's, a client's)."""
    await session.execute(
        update(RefreshToken)
        .where(holder, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def disable_account(
    session: AsyncSession, province_id: int, username: str, *, actor: str
) -> Account:
    """The account can no longer sign in; its refresh tokens end. Not the actor's own."""
    found = await account(session, province_id, username)
    _not_own(found, actor, "disable", "vô hiệu hóa")
    found.user.active = False
    await _end_refresh_tokens(session, col(RefreshToken.user_id) == found.user.id)
    await session.flush()
    await _audit(session, found, actor, "account.disabled")
    return found


async def reset_password(
    session: AsyncSession, province_id: int, username: str, *, actor: str
) -> tuple[Account, str]:
    """A new one-time password for the account (and it active again); its sessions end at
    their next refresh. Not the actor's own."""
    found = await account(session, province_id, username)
    _not_own(found, actor, "reset the password of", "đặt lại mật khẩu")
    password = one_time_password()
    # argon2id is slow on purpose: hashed off the event loop.
    found.user.password_hash = await asyncio.to_thread(hash_password, password)
    found.user.active = True
    await _end_refresh_tokens(session, col(RefreshToken.user_id) == found.user.id)
    await session.flush()
    await _audit(session, found, actor, "account.password_reset")
    return found, password


async def list_clients(session: AsyncSession, province_id: int) -> list[IntegrationClient]:
    """The province's integration clients (client credentials), newest first."""
    rows = list(
        (
            await session.execute(
                select(Client)
                .where(col(Client.province_id) == province_id)
                .order_by(col(Client.created_at).desc())
                .limit(MAX_LISTED)
            )
        ).scalars()
    )
    clients = [row for row in rows if "client_credentials" in row.grant_types]
    agencies = await _agencies(session, province_id, {c.agency_id for c in clients if c.agency_id})
    return [
        IntegrationClient(c, agencies.get(c.agency_id) if c.agency_id else None) for c in clients
    ]


async def create_client(
    session: AsyncSession,
    province: Target,
    *,
    secret_key: str,
    name: str,
    scopes: list[str],
    agency_code: str | None,
    actor: str,
) -> tuple[IntegrationClient, str]:
    """A client of the province (or of one of its agencies) and its secret, shown once."""
    if not name.strip():
        raise DomainError(
            "name: give the client a name", "name: hãy đặt tên ứng dụng", field="name"
        )
    agency = await _agency_of_province(session, province.id, agency_code) if agency_code else None
    try:
        row, secret = await create_integration_client(
            session,
            secret_key=secret_key,
            scopes=scopes,
            agency_code=agency.code if agency else None,
            province_code=None if agency else province.code,
            name=name.strip()[:200],
        )
    except DomainError as error:
        if "field" in error.details:
            raise
        raise DomainError(error.message, error.message_vi, field="scopes") from None
    made = IntegrationClient(row, agency)
    await _audit(session, made, actor, "client.created")
    return made, secret


async def disable_client(
    session: AsyncSession, province_id: int, client_id: str, *, actor: str
) -> IntegrationClient:
    """The client gets no new token (those it holds end at their expiry)."""
    row = (
        await session.execute(
            select(Client).where(
                col(Client.client_id) == client_id, col(Client.province_id) == province_id
            )
        )
    ).scalar_one_or_none()
    if row is None or "client_credentials" not in row.grant_types:
        raise NotFound(
            f"no integration client {client_id!r} in this province",
            f"tỉnh không có ứng dụng tích hợp {client_id!r}",
            field="clientId",
        )
    row.active = False
    await _end_refresh_tokens(session, col(RefreshToken.client_id) == client_id)
    await session.flush()
    agencies = await _agencies(session, province_id, {row.agency_id} if row.agency_id else set())
    found = IntegrationClient(row, agencies.get(row.agency_id) if row.agency_id else None)
    await _audit(session, found, actor, "client.disabled")
    return found
