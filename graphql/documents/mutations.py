"""Registering and removing trusted documents (national administrators): the same checks as
`eiso graphql documents add` (graphql/server/trusted.py), all or nothing."""

from __future__ import annotations

import strawberry

from eiso.core import trusted_documents as store
from eiso.core.auth.rules import require_principal
from eiso.core.errors import DomainError, Forbidden
from eiso.graphql.documents.nodes import TrustedDocumentNode
from eiso.graphql.server.assembly import SchemaClash
from eiso.graphql.server.trusted import TrustedDocuments, check_documents
from eiso.graphql.shared.permissions import guarded
from eiso.tenants.scope import TenantScope

MAX_DOCUMENTS = 500
MAX_CHARACTERS = 100_000  # one document's text
MAX_CLIENT = 100


def _require_nation(info: strawberry.Info) -> str:
    principal = require_principal(info.context.principal)
    if principal.tenant.kind != "nation":
        raise Forbidden(
            "only the national level registers trusted documents",
            "chỉ cấp trung ương đăng ký tài liệu GraphQL tin cậy",
        )
    return principal.subject


def _registry(info: strawberry.Info) -> TrustedDocuments | None:
    return getattr(info.context.request.app.state, "trusted_documents", None)


def _check_sizes(documents: list[str], client: str | None) -> None:
    if not documents or len(documents) > MAX_DOCUMENTS:
        raise DomainError(
            f"give 1 to {MAX_DOCUMENTS} documents",
            f"cần từ 1 đến {MAX_DOCUMENTS} tài liệu",
            field="documents",
        )
    for index, text in enumerate(documents):
        if len(text) > MAX_CHARACTERS:
            raise DomainError(
                f"document {index} is longer than {MAX_CHARACTERS} characters",
                f"tài liệu {index} dài quá {MAX_CHARACTERS} ký tự",
                field=f"documents.{index}",
            )
    if client is not None and not (0 < len(client) <= MAX_CLIENT):
        raise DomainError(
            f"client: 1 to {MAX_CLIENT} characters",
            f"client: từ 1 đến {MAX_CLIENT} ký tự",
            field="client",
        )


@guarded
class TrustedDocumentsMutation:
    @strawberry.mutation(
        description="Register GraphQL documents (each the exact text a frontend sends) so that "
        "they can be called by their sha256. Every document is parsed and validated against "
        "the full schema first; one bad document registers none."
    )
    async def register_trusted_documents(
        self, info: strawberry.Info, documents: list[str], client: str | None = None
    ) -> list[TrustedDocumentNode]:
        actor = _require_nation(info)
        _check_sizes(documents, client)
        try:  # every loaded module: a document may serve any province
            schema = info.context.request.app.state.schemas.get()
        except SchemaClash:  # two modules cannot coexist: the caller's own schema then
            schema = info.schema
        checked, problems = check_documents(
            schema, [(f"documents.{i}", text) for i, text in enumerate(documents)]
        )
        if problems:
            first = problems[0]
            raise DomainError(
                str(first),
                f"tài liệu không hợp lệ: {first}",
                code="INVALID_DOCUMENT",
                field=first.source,
                line=first.line,
                problems=[str(problem) for problem in problems],
            )
        resources = info.context.resources
        async with resources.session(TenantScope.nation()) as session, session.begin():
            rows = await store.store(session, checked, client=client, actor=actor)
            nodes = [TrustedDocumentNode.of(row) for row in rows]
        registry = _registry(info)
        if registry is not None:
            registry.forget([node.sha256_hash for node in nodes])
        return nodes

    @strawberry.mutation(
        description="Remove trusted documents by hash (`<hex>` or `sha256:<hex>`); returns the "
        "hashes that were registered."
    )
    async def remove_trusted_documents(self, info: strawberry.Info, ids: list[str]) -> list[str]:
        _require_nation(info)
        parsed = [store.parse_id(value) for value in ids]
        bad = [value for value, found in zip(ids, parsed, strict=True) if found is None]
        if bad:
            raise DomainError(
                f"not a sha256 hash: {bad[0]!r}",
                f"không phải mã băm sha256: {bad[0]!r}",
                field="ids",
            )
        hashes = [found for found in parsed if found is not None]
        resources = info.context.resources
        async with resources.session(TenantScope.nation()) as session, session.begin():
            removed = await store.remove(session, hashes)
        registry = _registry(info)
        if registry is not None:
            registry.forget(removed)
        return removed
