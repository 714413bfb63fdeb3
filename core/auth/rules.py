"""The permission rules, in one place: which operation each role, scope and tenant may use.

Every GraphQL query and mutation names its rule here (`RULES[operation]`); the GraphQL layer
only adapts them (graphql/auth/permissions.py) and a test walks the schema to check that every
operation has a rule and that the table of operations × roles holds. No resolver decides
access with its own `if`s.

- A user passes a rule when it holds one of the rule's roles (any role when `roles` is None)
  and, when the rule names a scope, its token carries that scope.
- An integration client (no roles) passes only rules with `clients=True`, and only with the
  scope the rule names.
- Tenant: `check_tenant` refuses a row outside the principal's tenant scope.
"""

from __future__ import annotations

import dataclasses

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import Forbidden, Unauthenticated

STAFF = frozenset(Role)


@dataclasses.dataclass(frozen=True)
class Rule:
    public: bool = False
    roles: frozenset[Role] | None = None
    scope: str | None = None
    clients: bool = False


PUBLIC = Rule(public=True)
AUTHENTICATED = Rule(clients=True)

RULES: dict[str, Rule] = {
    "version": PUBLIC,
    "me": AUTHENTICATED,
}


def check(principal: Principal | None, rule: Rule) -> None:
    """Raise Unauthenticated or Forbidden unless `principal` may use an operation under `rule`."""
    if rule.public:
        return
    if principal is None:
        raise Unauthenticated("Authentication required", "Cần đăng nhập")
    if rule.scope and not principal.has_scope(rule.scope):
        raise Forbidden(f"This needs the scope {rule.scope}",
                        f"Cần phạm vi truy cập {rule.scope}", scope=rule.scope)
    if not principal.roles:
        if not rule.clients:
            raise Forbidden("Not available to integration clients",
                            "Không dành cho ứng dụng tích hợp")
        return
    if rule.roles is not None and not principal.has_role(*rule.roles):
        raise Forbidden("Your role does not allow this", "Vai trò của bạn không được phép")


def check_operation(principal: Principal | None, operation: str) -> None:
    check(principal, RULES[operation])


def check_tenant(principal: Principal, province_id: int | None, agency_id: int | None) -> None:
    if not principal.tenant.allows(province_id, agency_id):
        raise Forbidden("Outside your agency or province", "Ngoài phạm vi cơ quan hoặc tỉnh của bạn")
