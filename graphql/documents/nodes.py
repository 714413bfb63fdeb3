"""The GraphQL type of a registered (trusted) document."""

from __future__ import annotations

import datetime as dt

import strawberry

from eiso.core.trusted_documents import PREFIX, TrustedDocument
from eiso.infra.clock import aware


@strawberry.type(name="TrustedDocument")
class TrustedDocumentNode:
    sha256_hash: str = strawberry.field(
        description="The sha256 of the exact text: Apollo's `persistedQuery.sha256Hash`."
    )
    document_id: str = strawberry.field(
        description="`sha256:<hash>`: the `documentId` a request may send instead of the text."
    )
    operation_names: list[str]
    client: str | None = strawberry.field(description="Which frontend registered it (a label).")
    created_at: dt.datetime

    @classmethod
    def of(cls, row: TrustedDocument) -> TrustedDocumentNode:
        return cls(
            sha256_hash=row.id,
            document_id=PREFIX + row.id,
            operation_names=row.operation_names.split(","),
            client=row.client,
            created_at=aware(row.created_at),
        )
