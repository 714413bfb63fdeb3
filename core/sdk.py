"""The public surface a module codes against: the `hookimpl` marker, the data it returns, the
helpers to declare it (`form_field`, `ProcedureSummary`) and the readers the core offers a
module (`finished_dossiers`).

A module (bundled in `plugins/` or a vendor's own distribution) imports this module and
nothing else of eiso. Everything here is covered by the core API version `CORE_API_VERSION`:
a module declares the range it supports in `ModuleInfo.core_api`. The declarations live in
`eiso.core.plugins.declarations`; nothing inside the core imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eiso.core.dossiers.register import finished_dossiers as run_finished_dossiers
from eiso.core.plugins.declarations import (
    CORE_API_VERSION,
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
    ProcedureSummary,
    Step,
    TimeLimit,
    UniqueField,
    form_field,
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


__all__ = [
    "CORE_API_VERSION",
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
    "ProcedureSummary",
    "Step",
    "TimeLimit",
    "UniqueField",
    "finished_dossiers",
    "form_field",
    "hookimpl",
]
