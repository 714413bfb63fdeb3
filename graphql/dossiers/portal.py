"""The citizen portal's operations (no account): what the agencies of a province offer, and a
dossier filed online. Both are public and counted by the public rate limit per address."""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from eiso.core.dossiers import attachments as dossier_files
from eiso.core.dossiers import portal, public_limit
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id, encode_id
from eiso.graphql.dossiers.applicant import ApplicantInput
from eiso.graphql.dossiers.forms import procedure_of
from eiso.graphql.dossiers.nodes import ProcedureNode
from eiso.graphql.dossiers.queries import client_address
from eiso.graphql.shared.permissions import guarded


@strawberry.type(description="A procedure an agency offers, with the agency's own time limit.")
class OfferedProcedure:
    procedure: ProcedureNode
    time_limit: int = strawberry.field(
        description="The agency's time limit (in the procedure's unit): at most the "
        "catalogue's, which an agency may shorten."
    )


@strawberry.type(description="An agency of a province and the procedures it offers (public).")
class PublicAgency:
    id: strawberry.ID = strawberry.field(description="The agency's global id (Agency).")
    code: str
    name: str
    procedures: list[OfferedProcedure]


@strawberry.type(description="A dossier filed online: its code and lookup key, given once.")
class OnlineSubmission:
    code: str
    lookup_key: str | None = strawberry.field(
        description="Given once, on the first answer (a retry with the same idempotency key "
        "answers null); eiso keeps only its hash."
    )
    replayed: bool


@strawberry.input(description="A file filed with the dossier for a component of the procedure.")
class AttachmentInput:
    component_code: str = strawberry.field(description="The component's code (`components`).")
    filename: str = strawberry.field(description="The file's name (its extension must agree).")
    content_base64: str = strawberry.field(
        description="The content, base64; its type is recognised from the content (PDF, JPEG "
        "or PNG as the deployment allows, each at most `EISO_ATTACHMENT_MAX_BYTES`)."
    )

    def upload(self) -> dossier_files.Upload:
        try:
            content = base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(
                "contentBase64 is not valid base64",
                "contentBase64 không phải base64 hợp lệ",
                code="ATTACHMENT_REFUSED",
                field=f"attachments.{self.component_code}",
                reason="base64",
            ) from None
        return dossier_files.Upload(self.component_code, self.filename, content)


@guarded
class PortalQuery:
    @strawberry.field(
        description="The agencies of a province and the procedures each offers, by name "
        "(public). `search` ignores diacritics: an agency's name or a procedure's name or code.",
    )
    async def public_services(
        self, info: strawberry.Info, province_code: str, search: str | None = None
    ) -> list[PublicAgency]:
        offers = await portal.offers(info.context.resources, province_code, search)
        return [
            PublicAgency(
                id=strawberry.ID(encode_id("Agency", o.agency.province_id, o.agency.id)),
                code=o.agency.code,
                name=o.agency.name,
                procedures=[
                    OfferedProcedure(
                        procedure=ProcedureNode(row=p.procedure), time_limit=p.time_limit
                    )
                    for p in o.procedures
                ],
            )
            for o in offers
        ]


@guarded
class PortalMutation:
    @strawberry.mutation(
        description="A citizen files a dossier online (no account) at an agency that offers the "
        "procedure: it is registered as new, for the agency to accept or refuse. A retry with "
        "the same idempotency key returns the same dossier. `attachments`: the files for the "
        "procedure's components, checked before anything is stored (ATTACHMENT_REFUSED).",
    )
    async def submit_online_dossier(
        self,
        info: strawberry.Info,
        agency_id: strawberry.ID,
        procedure_code: str,
        applicant: ApplicantInput,
        sector_data: JSON,
        idempotency_key: str | None = None,
        attachments: list[AttachmentInput] | None = None,
    ) -> OnlineSubmission:
        resources = info.context.resources
        await public_limit.check(resources, client_address(info))
        province_id, agency = decode_id(agency_id, "Agency")
        files = attachments or []
        dossier_files.check_count(len(files), resources.settings)  # before decoding any
        procedure = procedure_of(info, procedure_code)
        got = await portal.file_online(
            resources,
            province_id=province_id,
            agency_id=agency,
            procedure_code=procedure_code,
            applicant=applicant.stored(),
            sector_data=cast("dict[str, Any]", sector_data or {}),
            data_model=procedure.data_model if procedure else None,
            unique_fields=procedure.unique_fields if procedure else (),
            idempotency_key=idempotency_key,
            uploads=[a.upload() for a in files],
        )
        return OnlineSubmission(
            code=got.dossier.code, lookup_key=got.lookup_key, replayed=got.replayed
        )
