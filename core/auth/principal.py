"""The caller of a request or command: subject, tenant scope, roles and OAuth2 scopes."""

from __future__ import annotations

import dataclasses
import enum

from eiso.tenants.scope import TenantScope

Role = enum.StrEnum("Role", "national_admin province_admin iso_secretary leader officer auditor")


# OAuth2 scopes that integration clients carry (design: HTTP and token contract).
SCOPES = (
    "tenants:read",
    "tenants:admin",
    "dossiers:read",
    "dossiers:write",
    "qms:read",
    "qms:write",
    "reports:read",
    # Switch modules (enableModule / disableModule) of the client's own province only.
    "modules:admin",
)


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated caller. `tenant` is what every query it makes is limited to."""

    subject: str
    tenant: TenantScope
    roles: frozenset[Role] = frozenset()
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    # The province / agency the principal belongs to, when it belongs to one.
    province_id: int | None = None
    agency_id: int | None = None

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
