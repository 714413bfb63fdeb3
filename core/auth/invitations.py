"""Accounts for the agency administrators named in an onboarding file.

Each becomes the agency's ISO secretary, with no password yet: it is an invitation that the
person takes up by signing in through the province's identity provider, or when an
administrator sets a password (`eiso users set-password`). Re-running an import leaves an
account that already belongs to that agency as it is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.auth.models import User
from eiso.core.auth.principal import Role
from eiso.tenants.models import Agency
from eiso.tenants.onboarding import PendingAccount

ADMIN_ROLE = Role.iso_secretary


async def create_agency_admins(
    session: AsyncSession, pending: list[PendingAccount]
) -> dict[str, tuple[str, str]]:
    """Create the accounts inside the import's transaction; the refused ones by agency code."""
    codes = {account.agency_code for account in pending}
    agencies = {
        agency.code: agency
        for agency in (
            await session.execute(select(Agency).where(col(Agency.code).in_(codes)))
        ).scalars()
    }
    names = [account.username for account in pending]
    existing = {
        user.username: user
        for user in (
            await session.execute(select(User).where(col(User.username).in_(names)))
        ).scalars()
    }
    refused: dict[str, tuple[str, str]] = {}
    for account in pending:
        agency = agencies[account.agency_code]
        user = existing.get(account.username)
        if user is not None:
            if user.agency_id != agency.id:
                refused[account.agency_code] = (
                    f"admin_username {account.username!r} is already taken",
                    f"admin_username {account.username!r} đã được sử dụng",
                )
            continue
        user = User(
            username=account.username,
            display_name=account.email or "",
            roles=[ADMIN_ROLE.value],
            province_id=agency.province_id,
            agency_id=agency.id,
        )
        session.add(user)
        existing[account.username] = user
    if not refused:
        await session.flush()
    return refused
