"""The finished dossiers a module's register shows (`eiso.core.sdk.finished_dossiers`): read
under the caller's tenant scope, behind the same rule as the `dossiers` query, without the
applicant's personal data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import check_operation, require_principal
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.core.resources import Resources
from eiso.infra.clock import aware

FINISHED_WITH_RESULT = (int(Status.processed), int(Status.returned))


async def finished_dossiers(
    resources: Resources, principal: Principal | None, procedure_codes: Sequence[str], first: int
) -> list[dict[str, Any]]:
    """The processed and returned dossiers of `procedure_codes` that `principal` may see (it
    needs the `dossiers` permission), newest first, at most `first` (1-100)."""
    principal = require_principal(principal)
    check_operation(principal, "dossiers")
    if not 1 <= first <= 100:
        raise DomainError("first: 1 to 100", "first: từ 1 đến 100", code="BAD_INPUT", field="first")
    statement = (
        select(Dossier)
        .where(
            col(Dossier.procedure_code).in_(procedure_codes),
            col(Dossier.status).in_(FINISHED_WITH_RESULT),
        )
        .order_by(col(Dossier.id).desc())
        .limit(first)
    )
    async with resources.session(principal.tenant) as session:
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
