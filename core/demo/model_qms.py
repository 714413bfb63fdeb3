"""The demo's model QMS (issue 20): every demo agency adopts the model QMS of Decision
101/QĐ-BKHCN (core/qms/model_qms.py) as drafts, in one bulk call per province, as the
province's administrator would; the ISO process documents of the adopted procedures come with
the adoptions themselves (core/qms/process_docs.py). A second run adds nothing."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.qms import model_qms
from eiso.core.resources import Resources
from eiso.tenants.models import Agency, TenantStatus
from eiso.tenants.scope import TenantScope


async def adopt(resources: Resources, agencies: Iterable[Agency]) -> int:
    """The documents created (0 on a second run)."""
    created = 0
    # The provinces the demo made; their agencies read anew (a merge moved some since).
    for province_id in sorted({a.province_id for a in agencies}):
        admin = Principal(
            "demo:province-admin",
            TenantScope.province(province_id),
            frozenset({Role.province_admin}),
            province_id=province_id,
        )
        async with resources.session(admin.tenant) as session, session.begin():
            ids = list(
                (
                    await session.execute(
                        select(Agency.id).where(
                            col(Agency.province_id) == province_id,
                            col(Agency.status) == TenantStatus.active.value,
                        )
                    )
                ).scalars()
            )
            if not ids:
                continue
            report = await model_qms.adopt(session, admin, province_id, agency_ids=ids)
        created += report.created
    return created
