"""Local and federated user accounts, and the Principal a user's token carries."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.models import User
from eiso.core.auth.passwords import hash_password
from eiso.core.auth.principal import Role
from eiso.core.auth.tenancy import agency_by_code, province_by_code, scope_of_ids
from eiso.core.errors import Conflict, DomainError, member_of
from eiso.infra.db import added, find_one
from eiso.tenants.scope import TenantScope

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{3,150}$")
MIN_PASSWORD = 8
# Which roles make sense at which level (a national admin belongs to the nation, ...).
ROLE_LEVELS = {
    Role.national_admin: {"nation"},
    Role.province_admin: {"province"},
    Role.iso_secretary: {"agency"},
    Role.leader: {"agency"},
    Role.officer: {"agency"},
    Role.auditor: {"agency", "province", "nation"},
}


def parse_role(value: str) -> Role:
    return member_of(
        Role,
        value,
        "role",
        f"role: unknown role {value!r} (one of {', '.join(r.value for r in Role)})",
        f"role: vai trò không hợp lệ {value!r}",
    )


def tenant_of(user: User) -> TenantScope:
    return scope_of_ids(user.province_id, user.agency_id) or TenantScope.nation()


async def get_by_username(session: AsyncSession, username: str) -> User | None:
    return await find_one(session, User, username=username)


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    role: str,
    password: str | None,
    agency_code: str | None = None,
    province_code: str | None = None,
    display_name: str = "",
) -> User:
    """Validate everything first; raise DomainError naming the field; then insert."""
    if not USERNAME.match(username):
        raise DomainError(
            "username: 3-150 letters, digits or . _ @ -",
            "username: 3-150 chữ cái, chữ số hoặc . _ @ -",
            field="username",
        )
    parsed = parse_role(role)
    if password is not None and len(password) < MIN_PASSWORD:
        raise DomainError(
            f"password: at least {MIN_PASSWORD} characters",
            f"password: tối thiểu {MIN_PASSWORD} ký tự",
            field="password",
        )
    province_id: int | None = None
    agency_id: int | None = None
    level = "nation"
    if agency_code:
        agency = await agency_by_code(session, agency_code)
        province_id, agency_id, level = agency.province_id, agency.id, "agency"
    elif province_code:
        province_id, level = (await province_by_code(session, province_code)).id, "province"
    if level not in ROLE_LEVELS[parsed]:
        raise DomainError(
            f"role: {parsed.value} cannot belong to a {level}",
            f"role: vai trò {parsed.value} không thuộc cấp {level}",
            field="role",
        )
    if await get_by_username(session, username) is not None:
        raise Conflict(
            f"username: {username!r} already exists",
            f"username: {username!r} đã tồn tại",
            field="username",
        )
    # argon2id is slow on purpose: hashed off the event loop.
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    user = User(
        username=username,
        display_name=display_name or username,
        roles=[parsed.value],
        password_hash=password_hash,
        province_id=province_id,
        agency_id=agency_id,
    )
    return await added(session, user)
