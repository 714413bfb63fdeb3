"""Model QMS mutations: the province installs the shipped set as its model documents and has
it adopted by many agencies at once; process documents generated for past adoptions. Each in
one transaction: a refused call changes nothing."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id
from eiso.core.qms import model_qms, process_docs
from eiso.graphql.qms.modelqms.nodes import ModelQmsAdoption
from eiso.graphql.qms.registers.queries import province_of
from eiso.graphql.shared.callers import acting_agency
from eiso.graphql.shared.enums import AgencyKind
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import in_transaction


def _agency_rows(province_id: int, ids: list[strawberry.ID] | None) -> list[int] | None:
    """The row ids of `ids` (global Agency ids of the caller's province): AGENCY_NOT_FOUND
    naming `agencyIds[i]` for a malformed id or one of another province."""
    if ids is None:
        return None
    out = []
    for index, global_id in enumerate(ids):
        try:
            province, row_id = decode_id(global_id, "Agency")
        except DomainError:
            province, row_id = -1, -1
        if province != province_id:
            raise DomainError(
                f"agencyIds[{index}]: not an active agency of this province",
                f"agencyIds[{index}]: không phải cơ quan đang hoạt động của tỉnh",
                code="AGENCY_NOT_FOUND",
                field=f"agencyIds[{index}]",
            )
        out.append(row_id)
    return out


@guarded
class ModelQmsMutation:
    @strawberry.mutation(
        description="Copy eiso's model QMS into the province's model documents (drafts, owned "
        "by its People's Committee) for the province to adapt (`codes`: all when omitted); "
        "codes already there stay. Answers the codes created."
    )
    async def install_model_qms(
        self, info: strawberry.Info, codes: list[str] | None = None
    ) -> list[str]:
        async def work(session: AsyncSession, who: Principal) -> list[str]:
            made = await model_qms.install(session, who, province_of(who), codes)
            return [document.code for document, _ in made]

        return await in_transaction(info, work)

    @strawberry.mutation(
        description="Adopt the model QMS in many agencies at once: `agencyIds`, or every active "
        "agency of `agencyKind`, of the caller's province. Each gets each document (`codes`: "
        "all when omitted) as a draft: the province's effective model text where there is one, "
        "else eiso's. All or nothing; a code an agency already has is skipped."
    )
    async def adopt_model_qms(
        self,
        info: strawberry.Info,
        agency_ids: list[strawberry.ID] | None = None,
        agency_kind: AgencyKind | None = None,
        codes: list[str] | None = None,
    ) -> ModelQmsAdoption:
        async def work(session: AsyncSession, who: Principal) -> ModelQmsAdoption:
            province_id = province_of(who)
            report = await model_qms.adopt(
                session,
                who,
                province_id,
                agency_ids=_agency_rows(province_id, agency_ids),
                agency_kind=agency_kind.value if agency_kind is not None else None,
                codes=codes,
            )
            return ModelQmsAdoption.of(province_id, report)

        return await in_transaction(info, work)

    @strawberry.mutation(
        description="Generate (or refresh as a new draft) the ISO process document of every "
        "procedure the caller's agency adopted (a province administrator: every agency of the "
        "province). Answers the number of versions written."
    )
    async def generate_process_documents(self, info: strawberry.Info) -> int:
        async def work(session: AsyncSession, who: Principal) -> int:
            own = acting_agency(who)
            if own is not None:
                return await process_docs.generate_for(session, own[0], [own[1]], who.subject)
            return await process_docs.generate_for(session, province_of(who), None, who.subject)

        return await in_transaction(info, work)
