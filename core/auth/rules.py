"""Authorisation rules, in one place: small checks every resolver and command calls.

The token side (who the principal is) will change with the auth room; these rules will not.
Each returns normally or raises a `DomainError` with a stable code.
"""

from __future__ import annotations

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import Forbidden, Unauthenticated


def require_principal(principal: Principal | None) -> Principal:
    """Anyone signed in; anonymous callers get UNAUTHENTICATED."""
    if principal is None:
        raise Unauthenticated("sign in first", "cần đăng nhập")
    return principal


def require_role(principal: Principal | None, *roles: Role) -> Principal:
    principal = require_principal(principal)
    if not principal.has_role(*roles):
        names = ", ".join(role.value for role in roles)
        raise Forbidden(f"this needs one of the roles: {names}", f"cần một trong các vai trò: {names}")
    return principal


def require_province_admin(principal: Principal | None, province_id: int) -> Principal:
    """A national administrator, or an administrator of this very province."""
    principal = require_principal(principal)
    if principal.has_role(Role.national_admin) and principal.tenant.kind == "nation":
        return principal
    require_role(principal, Role.province_admin)
    if principal.province_id != province_id or not principal.tenant.allows(province_id, None):
        raise Forbidden("only this province's administrators may do this",
                        "chỉ quản trị viên của tỉnh này được thực hiện")
    return principal


def require_own_province(principal: Principal | None) -> tuple[Principal, int]:
    """A province administrator acting on their own province (module activation)."""
    principal = require_role(principal, Role.province_admin)
    if principal.province_id is None:
        raise Forbidden("this account belongs to no province", "tài khoản không thuộc tỉnh nào")
    require_province_admin(principal, principal.province_id)
    return principal, principal.province_id
