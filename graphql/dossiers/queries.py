"""Dossier queries: the procedure catalogue, an agency's dossiers, the citizen's lookup."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlmodel import col

from eiso.core.auth.rules import require_principal
from eiso.core.dossiers import public_limit, service
from eiso.core.dossiers.models import Dossier, ProcedureRecord
from eiso.graphql.dossiers import page as listing
from eiso.graphql.dossiers.nodes import (
    DossierNode,
    DossierStatus,
    ProcedureNode,
    PublicDossier,
    PublicEvent,
    SupplementRequest,
)
from eiso.graphql.shared.arguments import flat_input
from eiso.graphql.shared.connections import Connection, Page, paged
from eiso.graphql.shared.lookup import load_node
from eiso.graphql.shared.pagination import (
    connection_of,
    connection_of_nodes,
    keyset_page,
    wants_total,
)
from eiso.graphql.shared.permissions import guarded
from eiso.infra.clock import utcnow
from eiso.tenants.scope import TenantScope


@flat_input
@strawberry.input
class DossierFilter:
    status: DossierStatus | None = None
    procedure_code: str | None = None
    late: bool | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None
    search: str | None = strawberry.field(
        default=None, description="A dossier code or its beginning (case and diacritics ignored)."
    )
    assignee: str | None = strawberry.field(
        default=None, description="Only the dossiers assigned to this officer (their subject)."
    )
    due_before: dt.datetime | None = strawberry.field(
        default=None,
        description="Only the dossiers whose clock runs and whose appointment falls before this "
        "moment (the overdue ones too): what is due soon.",
    )


def client_address(info: strawberry.Info) -> str:
    """The caller's network address (what the public lookup's rate limit counts)."""
    client = getattr(info.context.request, "client", None)
    return client.host if client else "unknown"


def public_node(seen: dict[str, Any]) -> PublicDossier:
    """The citizen's view (core/dossiers/service.py's `public_dossier`) as its GraphQL type."""
    asked = seen["supplement_request"]
    return PublicDossier(
        **{
            **seen,
            "timeline": [PublicEvent(**e) for e in seen["timeline"]],
            "supplement_request": SupplementRequest(**asked) if asked else None,
        }
    )


def _by_code(row: ProcedureRecord) -> list[Any]:
    return [row.code]


async def dossier_by_id(info: strawberry.Info, id: str) -> DossierNode:
    """The dossier a global id names, in the caller's scope; NOT_FOUND otherwise."""
    return DossierNode(row=await load_node(info, Dossier, id, "Dossier"))


@guarded
class DossiersQuery:
    @strawberry.field(description="The procedure catalogue of the loaded modules.")
    @paged(default=50)
    async def procedures(self, info: strawberry.Info, page: Page) -> Connection[ProcedureNode]:
        async with info.context.resources.session(TenantScope.nation()) as session:
            statement = select(ProcedureRecord).where(col(ProcedureRecord.active).is_(True))
            rows, more, total = await keyset_page(
                session, statement, [col(ProcedureRecord.code)], page, count=wants_total(info)
            )
        return connection_of(rows, more, total, ProcedureNode, _by_code, page)

    @strawberry.field(
        description="One procedure of the catalogue by its code (null when unknown or "
        "inactive): its intake form for a frontend."
    )
    async def procedure(self, info: strawberry.Info, code: str) -> ProcedureNode | None:
        async with info.context.resources.session(TenantScope.nation()) as session:
            row = (
                await session.execute(
                    select(ProcedureRecord).where(
                        col(ProcedureRecord.code) == code, col(ProcedureRecord.active).is_(True)
                    )
                )
            ).scalar_one_or_none()
        return ProcedureNode(row=row) if row else None

    @strawberry.field(description="One dossier of the caller's agency.")
    async def dossier(self, info: strawberry.Info, id: strawberry.ID) -> DossierNode | None:
        return await dossier_by_id(info, id)

    @strawberry.field(
        description="The caller's dossiers, the latest received first. `totalCount` is counted "
        "only when asked for."
    )
    @paged(default=50)
    async def dossiers(
        self,
        info: strawberry.Info,
        filter: DossierFilter | None = None,
        *,
        page: Page,
    ) -> Connection[DossierNode]:
        principal = require_principal(info.context.principal)
        now = utcnow()
        statement, total_statement, params = listing.statement(
            filter or DossierFilter(), page, now, principal.tenant
        )
        async with info.context.resources.read_session(principal.tenant) as session:
            rows, more = await listing.fetch(session, statement, params, page)
            total = (
                await listing.count(session, total_statement, params) if wants_total(info) else 0
            )
        nodes = DossierNode.of_rows(rows, now)
        return connection_of_nodes(rows, nodes, more, total, listing.cursor_key, page)

    @strawberry.field(
        description="The citizen's lookup (no account): status, appointment, timeline; no "
        "personal data."
    )
    async def public_dossier(
        self,
        info: strawberry.Info,
        code: str,
        lookup_key: str,
        province_code: Annotated[
            str | None,
            strawberry.argument(
                description="Only a dossier of this province (a province's portal): any other "
                "answers NOT_FOUND, as an unknown code does."
            ),
        ] = None,
    ) -> PublicDossier | None:
        await public_limit.check(info.context.resources, client_address(info))
        return public_node(
            await service.public_dossier(info.context.resources, code, lookup_key, province_code)
        )
