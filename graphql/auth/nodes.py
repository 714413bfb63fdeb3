"""GraphQL types of the authenticated caller."""

from __future__ import annotations

import strawberry


@strawberry.type(description="The tenant scope a caller's queries are limited to.")
class Tenant:
    kind: str = strawberry.field(description="nation, province or agencies")
    province_ids: list[strawberry.ID]
    agency_ids: list[strawberry.ID]


@strawberry.type(description="The authenticated caller.")
class Me:
    subject: str
    roles: list[str]
    scopes: list[str]
    client_id: str | None
    tenant: Tenant
