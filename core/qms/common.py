"""What every QMS service shares: the actor, role checks, loading a row in scope, auditing."""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core import audit
from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError, Forbidden, NotFound
from eiso.infra.db import added
from eiso.tenants.models import TenantOwned

Owned = TypeVar("Owned", bound=TenantOwned)


def value(item: str | enum.Enum) -> str:
    """An enum's value; rows read back from the database hold plain strings."""
    return item.value if isinstance(item, enum.Enum) else item


def invalid_transition(
    entity: str, current: str | enum.Enum, target: str | enum.Enum
) -> DomainError:
    current, target = value(current), value(target)
    return DomainError(
        f"{entity}: cannot go from {current} to {target}",
        f"{entity}: không thể chuyển từ {current} sang {target}",
        code="INVALID_TRANSITION",
        current=current,
        target=target,
    )


def require_role(principal: Principal, *roles: Role) -> None:
    """Integration clients have no roles: core/auth/rules.py already decided which operations
    they may call (with the qms:write scope), so the service lets them through."""
    if not principal.roles and principal.client_id and principal.has_scope("qms:write"):
        return
    if not principal.has_role(*roles):
        names = ", ".join(role.value for role in roles)
        raise Forbidden(f"Only {names} may do this", f"Chỉ {names} được thực hiện")


async def get_in_scope(
    session: AsyncSession, model: type[Owned], province_id: int, row_id: int, label: str
) -> Owned:
    """The row, or NOT_FOUND: the session's scope hides other tenants' rows, so a foreign id
    reads exactly like a missing one."""
    row = await session.get(model, (province_id, row_id))
    if row is None:
        raise NotFound(f"no such {label}", f"không tìm thấy {label}")
    return row


def require_text(value: str | None, field: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(f"{field} is required", f"{field} không được để trống", field=field)
    if len(value) > max_length:
        raise DomainError(
            f"{field} is longer than {max_length} characters",
            f"{field} dài quá {max_length} ký tự",
            field=field,
        )
    return value


async def record(
    session: AsyncSession,
    row: Owned,
    actor: str,
    action: str,
    data: dict[str, Any] | None = None,
) -> Owned:
    """Add the row to the session and append the change to the agency's audit chain, in the
    caller's transaction; the row, for the caller to return."""
    await added(session, row)
    await audit.append_row(session, row, actor, action, data)
    return row
