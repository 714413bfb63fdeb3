"""Auth queries: who is calling."""

from __future__ import annotations

import strawberry

from eiso.graphql.auth.nodes import Me, Tenant
from eiso.graphql.shared.permissions import guard


@strawberry.type
class AuthQuery:
    @strawberry.field(
        description="Who is calling: subject, roles, scopes and tenant scope.",
        extensions=guard("me"),
    )
    def me(self, info: strawberry.Info) -> Me | None:
        principal = info.context.principal
        tenant = principal.tenant
        return Me(
            subject=principal.subject,
            roles=sorted(role.value for role in principal.roles),
            scopes=sorted(principal.scopes),
            client_id=principal.client_id,
            tenant=Tenant(
                kind=tenant.kind,
                province_ids=[strawberry.ID(str(i)) for i in sorted(tenant.province_ids)],
                agency_ids=[strawberry.ID(str(i)) for i in sorted(tenant.agency_ids)],
            ),
        )
