"""What a module's dossier event hook may read about the event's dossier, through the SDK
(`eiso.core.sdk.dossier_contact`, `dossier_slip`, `module_config`): always in the event's own
province (the tenant scope of the province that committed the transition), with the resources
of the hook delivery in progress (`hook_resources`, core/plugins/storage.py).

The applicant's contact is personal data: a module gets it to reach the applicant, and must
keep it out of its logs (eiso's own never carry it)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.slips import service as slips
from eiso.core.errors import DomainError, NotFound
from eiso.core.plugins.storage import hook_resources
from eiso.core.resources import Resources
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.scope import TenantScope


def current_resources() -> Resources:
    """The resources of the delivery in progress; a clear error outside a hook call."""
    resources = hook_resources.get()
    if resources is None:
        raise DomainError(
            "the SDK's event readers work while eiso delivers the event to a hook",
            "Chỉ đọc được dữ liệu của sự kiện khi hook đang nhận sự kiện",
        )
    return resources


async def applicant_of(province_id: int, dossier_id: int) -> dict[str, Any]:
    """The applicant of a dossier of `province_id`, as stored (snake_case keys)."""
    resources = current_resources()
    async with resources.session(TenantScope.province(province_id)) as session:
        applicant = await session.scalar(
            select(col(Dossier.applicant)).where(
                col(Dossier.province_id) == province_id, col(Dossier.id) == dossier_id
            )
        )
    if applicant is None:
        raise NotFound(f"dossier {dossier_id} not found", f"không tìm thấy hồ sơ {dossier_id}")
    return dict(applicant)


async def slip_of(
    province_id: int, dossier_id: int, number: int, fmt: str, module: str
) -> slips.Rendered:
    """Slip `number` of the dossier as issued, printed for `module` (the print is audited as
    `module:<name>`, like an officer's)."""
    return await slips.render(
        current_resources(),
        TenantScope.province(province_id),
        number,
        fmt,
        actor=f"module:{module}",
        province_id=province_id,
        dossier_id=dossier_id,
    )


async def config_of(province_id: int, module: str) -> dict[str, Any]:
    """The configuration `province_id` gave `module` when enabling it ({} when none)."""
    resources = current_resources()
    async with resources.session(TenantScope.province(province_id)) as session:
        config = await session.scalar(
            select(col(ModuleActivation.config)).where(
                col(ModuleActivation.province_id) == province_id,
                col(ModuleActivation.module) == module,
            )
        )
    return dict(config or {})
