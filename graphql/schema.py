"""The core schema: the query and mutation parts of every domain, merged into one root."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from eiso.graphql.auth.queries import AuthQuery
from eiso.graphql.core.queries import CoreQuery
from eiso.graphql.tenants.mutations import TenantsMutation
from eiso.graphql.tenants.queries import TenantsQuery

QUERY_PARTS: tuple[type, ...] = (CoreQuery, AuthQuery, TenantsQuery)
MUTATION_PARTS: tuple[type, ...] = (TenantsMutation,)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERY_PARTS)
    mutation = merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None
    return strawberry.Schema(query=query, mutation=mutation)


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"
