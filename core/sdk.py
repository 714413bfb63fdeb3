"""The public surface a module codes against: the `hookimpl` marker, the data it returns, and
the readers the core offers a module (`finished_dossiers` for a resolver; `dossier_contact`,
`dossier_slip` and `module_config` for a dossier event hook).

A module (bundled in `plugins/` or a vendor's own distribution) imports this module and
nothing else of eiso. Everything here is covered by the core API version `CORE_API_VERSION`:
a module declares the range it supports in `ModuleInfo.core_api`. The declarations live in
`eiso.core.plugins.declarations`; nothing inside the core imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eiso.core.dossiers import module_readers
from eiso.core.dossiers.register import finished_dossiers as run_finished_dossiers
from eiso.core.plugins.declarations import (
    CORE_API_VERSION,
    ApplicantContact,
    CountingRules,
    DossierComponent,
    DossierEvent,
    DossierRecord,
    Extension,
    Fee,
    LegalBasis,
    LocalizedText,
    ModuleInfo,
    Procedure,
    SlipFile,
    Step,
    TimeLimit,
    UniqueField,
    hookimpl,
)


async def finished_dossiers(
    caller: Any, procedure_codes: Sequence[str], *, first: int = 50
) -> list[DossierRecord]:
    """The processed and returned dossiers of `procedure_codes` that the caller's tenant scope
    shows (an agency's officers: their agency), newest first, at most `first` (1-100): a
    module's register (e.g. the construction permits issued). The caller needs the `dossiers`
    permission.

    `caller` is what a resolver holds as `info.context`: anything with the caller's
    `.principal` and the process's `.resources`. A Strawberry `info` itself, which modules
    written for core API 1.1 pass, is read through its `.context`. Since core API 1.1; takes the
    caller since 1.2."""
    context = caller if hasattr(caller, "principal") else caller.context
    rows = await run_finished_dossiers(
        context.resources, context.principal, tuple(procedure_codes), first
    )
    return [DossierRecord(**row) for row in rows]


async def dossier_contact(event: DossierEvent) -> ApplicantContact:
    """The applicant's name, e-mail address and phone number of the event's dossier, read in the
    event's province. Call it inside `eiso_on_dossier_event` (the delivery gives it the
    process's database); personal data: never log it. Since core API 1.4."""
    stored = await module_readers.applicant_of(event.province_id, event.dossier_id)
    fields = ApplicantContact.model_fields
    return ApplicantContact(**{k: v for k, v in stored.items() if k in fields and v})


async def dossier_slip(
    event: DossierEvent, number: int, *, module: str, fmt: str = "pdf"
) -> SlipFile:
    """Slip `number` (01-06 of Circular 03/2025/TT-VPCP, Annex I, see docs/dossiers.md) of the event's dossier as
    issued, rendered as `fmt` ("pdf" or "html"), printed for `module` (audited as
    `module:<name>`). A slip the dossier's state has not issued answers `SLIP_NOT_AVAILABLE`.
    Call it inside `eiso_on_dossier_event`. Since core API 1.4."""
    rendered = await module_readers.slip_of(
        event.province_id, event.dossier_id, number, fmt, module
    )
    return SlipFile(
        number=number,
        body=rendered.body,
        media_type=rendered.media_type,
        filename=rendered.filename,
    )


async def module_config(event: DossierEvent, module: str) -> dict[str, Any]:
    """The configuration the event's province gave `module` when it enabled it (checked then
    by `ModuleInfo.config_model`; {} when none): validate it with your model again to get it
    typed. Call it inside `eiso_on_dossier_event`. Since core API 1.4."""
    return await module_readers.config_of(event.province_id, module)


__all__ = [
    "CORE_API_VERSION",
    "ApplicantContact",
    "CountingRules",
    "DossierComponent",
    "DossierEvent",
    "DossierRecord",
    "Extension",
    "Fee",
    "LegalBasis",
    "LocalizedText",
    "ModuleInfo",
    "Procedure",
    "SlipFile",
    "Step",
    "TimeLimit",
    "UniqueField",
    "dossier_contact",
    "dossier_slip",
    "finished_dossiers",
    "hookimpl",
    "module_config",
]
