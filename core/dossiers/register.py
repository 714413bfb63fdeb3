"""The finished dossiers a module's register shows (`eiso.core.sdk.finished_dossiers`): read
under the caller's tenant scope, behind the same rule as the `dossiers` query, without the
applicant's personal data."""

from __future__ import annotations

from sqlmodel import select

from eiso.core.auth.rules import check_operation
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.infra.clock import aware

FINISHED_WITH_RESULT = (int(Status.processed), int(Status.returned))


async def finished_dossiers(info, procedure_codes: tuple[str, ...], first: int) -> list[dict]:
    principal = info.context.principal
    check_operation(principal, "dossiers")
    if not 1 <= first <= 100:
        raise DomainError("first: 1 to 100", "first: từ 1 đến 100", code="BAD_INPUT", field="first")
    statement = (
        select(Dossier)
        .where(
            Dossier.procedure_code.in_(procedure_codes), Dossier.status.in_(FINISHED_WITH_RESULT)
        )
        .order_by(Dossier.id.desc())
        .limit(first)
    )
    async with info.context.resources.session(principal.tenant) as session:
        rows = (await session.execute(statement)).scalars().all()
    return [
        {
            "code": r.code,
            "procedure_code": r.procedure_code,
            "status": r.status,
            "received_at": aware(r.received_at),
            "finished_at": aware(r.updated_at),
            "sector_data": r.sector_data,
        }
        for r in rows
    ]
