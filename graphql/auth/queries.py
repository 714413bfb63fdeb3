"""Auth queries: who is calling."""

from __future__ import annotations

import strawberry

from eiso.graphql.auth.nodes import Me, Tenant
from eiso.graphql.shared.permissions import guarded


@guarded
class AuthQuery:
    @strawberry.field(
        description="Who is calling: subject, roles, scopes, tenant scope, and the agencies "
        "and provinces it acts for."
    )
    def me(self, info: strawberry.Info) -> Me | None:
        principal = info.context.principal
        return Me(
            principal=principal,
            subject=principal.subject,
            roles=sorted(principal.roles, key=lambda r: r.value),
            scopes=sorted(principal.scopes),
            client_id=principal.client_id,
            tenant=Tenant.of(principal.tenant),
        )
