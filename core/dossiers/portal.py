"""The citizen portal's side of the dossier engine (no account): what each agency of a province
offers, and a dossier filed online. What the public may see of an agency is its name and code
and the procedures it adopted; of a dossier, the lookup (service.public_dossier)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlmodel import col, select

from eiso.core.dossiers import attachments, engine
from eiso.core.dossiers.models import ProcedureAdoption, ProcedureRecord
from eiso.core.errors import NotFound
from eiso.core.plugins.declarations import UniqueField
from eiso.core.resources import Resources
from eiso.core.workdays.overrides import load_calendar
from eiso.infra.text import fold
from eiso.tenants.models import Agency, Province, TenantStatus, tenant_join
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.scope import TenantScope

ACTOR = "citizen"  # the timeline's and audit trail's actor of an online filing


@dataclasses.dataclass(frozen=True)
class Offered:
    """One procedure an agency offers, with the agency's own time limit (it may be shorter)."""

    procedure: ProcedureRecord
    time_limit: int


@dataclasses.dataclass(frozen=True)
class AgencyOffer:
    agency: Agency
    procedures: list[Offered]


def _unknown_province(code: str) -> NotFound:
    return NotFound(f"province {code!r} not found", f"không tìm thấy tỉnh {code!r}")


async def offers(
    resources: Resources, province_code: str, search: str | None = None
) -> list[AgencyOffer]:
    """The active agencies of an active province that adopted at least one active procedure of
    a module the province switched on, by name, each with its procedures by name; `search`
    (diacritics ignored) keeps an agency whose name matches with all its procedures, or else
    the procedures whose name or code does."""
    async with resources.session(TenantScope.nation()) as session:
        province = (
            await session.execute(select(Province).where(col(Province.code) == province_code))
        ).scalar_one_or_none()
        if province is None or province.status != TenantStatus.active:
            raise _unknown_province(province_code)
        rows = (
            await session.execute(
                select(Agency, ProcedureRecord, col(ProcedureAdoption.time_limit_amount))
                .join(
                    ProcedureAdoption,
                    tenant_join(Agency.id, ProcedureAdoption.agency_id),
                )
                .join(
                    ProcedureRecord,
                    col(ProcedureRecord.code) == col(ProcedureAdoption.procedure_code),
                )
                # Only what can be filed: a module the province has not switched on takes no
                # new dossier (MODULE_DISABLED), so its procedures are not offered.
                .join(
                    ModuleActivation,
                    (col(ModuleActivation.province_id) == col(Agency.province_id))
                    & (col(ModuleActivation.module) == col(ProcedureRecord.module))
                    & col(ModuleActivation.enabled).is_(True),
                )
                .where(
                    col(Agency.province_id) == province.id,
                    col(Agency.status) == TenantStatus.active,
                    col(ProcedureRecord.active).is_(True),
                )
                .order_by(col(Agency.name_folded), col(Agency.id), col(ProcedureRecord.name_vi))
            )
        ).all()
    wanted = fold(search or "")
    found: dict[int, AgencyOffer] = {}
    for agency, procedure, time_limit in rows:
        if wanted and wanted not in agency.name_folded:
            text = fold(f"{procedure.name_vi} {procedure.name_en} {procedure.code}")
            if wanted not in text:
                continue
        offer = found.setdefault(agency.id, AgencyOffer(agency, []))
        offer.procedures.append(Offered(procedure, time_limit))
    return list(found.values())


async def file_online(
    resources: Resources,
    *,
    province_id: int,
    agency_id: int,
    procedure_code: str,
    applicant: dict[str, Any],
    sector_data: dict[str, Any],
    data_model: type[BaseModel] | None,
    unique_fields: tuple[UniqueField, ...],
    idempotency_key: str | None,
    uploads: Sequence[attachments.Upload] = (),
) -> engine.Received:
    """Register a dossier filed online (status new) at an active agency that adopted the
    procedure (NOT_ADOPTED otherwise); the engine checks the applicant and sector data. Its
    attachments are checked first (core/dossiers/attachments.py), then recorded with the
    dossier and written to the file storage just before it commits: a refusal stores nothing,
    and a transaction that does not commit removes the files it wrote. A retry with the same
    idempotency key answers the first dossier and keeps its first attachments."""
    checked: list[attachments.Checked] = []
    if uploads:
        async with resources.session(TenantScope.nation()) as session:
            procedure = (
                await session.execute(
                    select(ProcedureRecord).where(col(ProcedureRecord.code) == procedure_code)
                )
            ).scalar_one_or_none()
        if procedure is not None:  # otherwise the engine refuses the procedure itself
            checked = attachments.check(uploads, procedure.components, resources.settings)
    storage = attachments.storage_of(resources.settings)
    written: list[str] = []
    try:  # the transaction; `written` gets the digests it wrote to the storage
        scope = TenantScope.agencies([agency_id], [province_id])
        async with resources.session(scope) as session, session.begin():
            agency = (
                await session.execute(
                    select(Agency)
                    .join(Province, col(Province.id) == col(Agency.province_id))
                    .where(
                        col(Agency.province_id) == province_id,
                        col(Agency.id) == agency_id,
                        col(Agency.status) == TenantStatus.active,
                        col(Province.status) == TenantStatus.active,
                    )
                )
            ).scalar_one_or_none()
            if agency is None:
                raise NotFound("agency not found", "không tìm thấy cơ quan")
            received = await engine.receive(
                session,
                agency=agency,
                procedure_code=procedure_code,
                applicant=applicant,
                sector_data=sector_data,
                actor=ACTOR,
                calendar=await load_calendar(session, resources=resources),
                data_model=data_model,
                unique_fields=unique_fields,
                idempotency_key=idempotency_key,
                online=True,
            )
            if checked and not received.replayed:
                await attachments.record(session, received.dossier, checked)
                # Up to count x size bytes to write: off the event loop.
                written.extend(await asyncio.to_thread(attachments.store, storage, checked))
    except BaseException:
        attachments.forget(storage, written)
        raise
    return received
