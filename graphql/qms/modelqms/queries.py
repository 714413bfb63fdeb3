"""Model QMS queries: the shipped set, an agency's process documents, the public list."""

from __future__ import annotations

import strawberry

from eiso.core.auth.rules import require_principal
from eiso.core.qms import announcement_form, process_docs
from eiso.core.qms.model_qms_data import TEMPLATES
from eiso.graphql.qms.modelqms.nodes import (
    ModelQmsTemplate,
    ProcessDocumentVersion,
    PublicConformityNode,
)
from eiso.graphql.shared.callers import agency_of
from eiso.graphql.shared.permissions import guarded


@guarded
class ModelQmsQuery:
    @strawberry.field(
        description="The model QMS eiso ships (Decision 101/QĐ-BKHCN): policy, objectives and "
        "the internal procedures, in Vietnamese."
    )
    async def model_qms_templates(self, info: strawberry.Info) -> list[ModelQmsTemplate]:
        return [ModelQmsTemplate.of(t) for t in TEMPLATES]

    @strawberry.field(
        description="The generated versions (newest first) of the caller's agency's ISO process "
        "document of a procedure it adopted; empty when none was generated."
    )
    async def process_document_versions(
        self, info: strawberry.Info, procedure_code: str
    ) -> list[ProcessDocumentVersion]:
        principal = require_principal(info.context.principal)
        province_id, agency_id = agency_of(principal)
        async with info.context.resources.session(principal.tenant) as session:
            rows = await process_docs.for_procedure(session, province_id, agency_id, procedure_code)
        return [ProcessDocumentVersion.of(source, version) for source, version in rows]

    @strawberry.field(
        description="Every active agency of a province with its conformity status and, once "
        "announced, the decision and its scope (public)."
    )
    async def public_conformity(
        self, info: strawberry.Info, province_code: str
    ) -> list[PublicConformityNode]:
        rows = await announcement_form.public_list(info.context.resources, province_code)
        return [PublicConformityNode.of(r) for r in rows]
