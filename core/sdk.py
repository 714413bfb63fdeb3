"""The public surface a module codes against: the `hookimpl` marker, the data it returns, the
helpers to declare it (`form_field`, `ProcedureSummary`), the caller a resolver sees
(`Caller`), and what the core offers a module: `finished_dossiers` (its register),
`module_store` (its own keys and counters per province), and the readers a dossier event hook
calls with its event (`dossier_contact`, `dossier_slip`, `module_config`).

A module (bundled in `plugins/` or a vendor's own distribution) imports this module and
nothing else of eiso. Everything here is covered by the core API version `CORE_API_VERSION`:
a module declares the range it supports in `ModuleInfo.core_api`. The declarations live in
`eiso.core.plugins.declarations`; nothing inside the core imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from eiso.core.auth.principal import Role
from eiso.core.dossiers import module_readers as _readers
from eiso.core.dossiers.register import finished_dossiers as run_finished_dossiers
from eiso.core.errors import DomainError, Forbidden, Unauthenticated
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
    ProcedureSummary,
    RuleChange,
    SlipFile,
    Step,
    TimeLimit,
    UniqueField,
    form_field,
    hookimpl,
)
from eiso.core.plugins.storage import JSONValue, ModuleStore, hook_resources
from eiso.core.resources import Resources
from eiso.infra.rls import MigrationOp, enable_tenant_rls, province_predicate


class CallerPrincipal(Protocol):
    """Who is calling (`Caller.principal`): an account of a province or agency, a national
    administrator (no province), or an integration client (no roles, OAuth `scopes`)."""

    @property
    def subject(self) -> str: ...  # the account's or client's subject

    @property
    def roles(self) -> frozenset[Role]: ...  # empty for an integration client

    @property
    def scopes(self) -> frozenset[str]: ...  # a client's OAuth scopes

    @property
    def client_id(self) -> str | None: ...

    @property
    def province_id(self) -> int | None: ...  # None: national (or no province)

    @property
    def agency_id(self) -> int | None: ...  # None: not bound to one agency

    def has_role(self, *roles: Role) -> bool: ...


@runtime_checkable
class Caller(Protocol):
    """What a resolver holds as `info.context`: the caller (`principal`, None when anonymous)
    and the process's `resources` (what `finished_dossiers` and `module_store` use)."""

    @property
    def principal(self) -> CallerPrincipal | None: ...

    @property
    def resources(self) -> Resources: ...


class HasCaller(Protocol):
    """A Strawberry `info` (its `.context` is the `Caller`)."""

    @property
    def context(self) -> Caller: ...


def _caller(source: Caller | HasCaller) -> Caller:
    return source if isinstance(source, Caller) else source.context


async def finished_dossiers(
    caller: Caller | HasCaller, procedure_codes: Sequence[str], *, first: int = 50
) -> list[DossierRecord]:
    """The processed and returned dossiers of `procedure_codes` that the caller's tenant scope
    shows (an agency's officers: their agency), newest first, at most `first` (1-100): a
    module's register (e.g. the construction permits issued). The caller needs the `dossiers`
    permission.

    `caller` is what a resolver holds as `info.context`: anything with the caller's
    `.principal` and the process's `.resources`. A Strawberry `info` itself, which modules
    written for core API 1.1 pass, is read through its `.context`. Since core API 1.1; takes the
    caller since 1.2."""
    context = _caller(caller)
    rows = await run_finished_dossiers(
        context.resources,
        context.principal,  # type: ignore[arg-type]  # the core's Principal behind the protocol
        tuple(procedure_codes),
        first,
    )
    return [DossierRecord(**row) for row in rows]


async def dossier_contact(event: DossierEvent) -> ApplicantContact:
    """The applicant's name, e-mail address and phone number of the event's dossier, read in the
    event's province. Call it inside `eiso_on_dossier_event` (the delivery gives it the
    process's database); personal data: never log it. Since core API 1.4."""
    stored = await _readers.applicant_of(event.province_id, event.dossier_id)
    fields = ApplicantContact.model_fields
    return ApplicantContact(**{k: v for k, v in stored.items() if k in fields and v})


async def dossier_slip(
    event: DossierEvent, number: int, *, module: str, fmt: str = "pdf"
) -> SlipFile:
    """Slip `number` (01-06 of Circular 03/2025/TT-VPCP, Annex I, see docs/dossiers.md) of the
    event's dossier as issued, rendered as `fmt` ("pdf" or "html"), printed for `module` (audited as
    `module:<name>`). A slip the dossier's state has not issued answers `SLIP_NOT_AVAILABLE`.
    Call it inside `eiso_on_dossier_event`. Since core API 1.4."""
    rendered = await _readers.slip_of(event.province_id, event.dossier_id, number, fmt, module)
    return SlipFile(
        number=number,
        body=rendered.body,
        media_type=rendered.media_type,
        filename=rendered.filename,
    )


async def module_config(event: DossierEvent, module: str) -> dict[str, JSONValue]:
    """The configuration the event's province gave `module` when it enabled it (checked then
    by `ModuleInfo.config_model`; {} when none): validate it with your model again to get it
    typed. Call it inside `eiso_on_dossier_event`. Since core API 1.4."""
    return await _readers.config_of(event.province_id, module)


def module_store(
    source: Caller | HasCaller | DossierEvent, module: str, *, province_id: int | None = None
) -> ModuleStore:
    """The key-value and counter store of `module` for one province (since core API 1.4):

    - in a resolver, `module_store(info.context, "my_module")`: the caller's province (a
      national caller names it with `province_id=`; anyone else gets only their own);
    - in `eiso_on_dossier_event`, `module_store(event, "my_module")`: the event's province
      (while the hook runs, and in tasks it starts).

    The store is kept in the database (it survives restarts and Redis outages, the same for
    every worker); no province sees another's keys. See docs/plugins.md, "Module storage"."""
    if isinstance(source, DossierEvent):
        resources = hook_resources.get()
        if resources is None:
            raise DomainError(
                "module_store(event, ...) works while eiso delivers the event to a hook",
                "module_store(event, ...) chỉ dùng được khi hook đang nhận sự kiện",
            )
        if province_id is not None and province_id != source.province_id:
            raise Forbidden(
                "a hook's store is the event's province",
                "Kho dữ liệu của hook là của tỉnh phát sinh sự kiện",
            )
        return ModuleStore(resources, source.province_id, module)
    caller = _caller(source)
    principal = caller.principal
    if principal is None:
        raise Unauthenticated("sign in to use a module's store", "Cần đăng nhập")
    own = principal.province_id
    if own is not None and province_id not in (None, own):
        raise Forbidden(
            "a caller reaches its own province's store only",
            "Chỉ được dùng kho dữ liệu của tỉnh mình",
        )
    chosen = own if own is not None else province_id
    if chosen is None:
        raise DomainError(
            "a national caller names the province: module_store(..., province_id=...)",
            "Người dùng cấp quốc gia cần chỉ rõ tỉnh (province_id)",
            field="provinceId",
        )
    return ModuleStore(caller.resources, chosen, module)


__all__ = [
    "CORE_API_VERSION",
    "ApplicantContact",
    "Caller",
    "CallerPrincipal",
    "CountingRules",
    "DossierComponent",
    "DossierEvent",
    "DossierRecord",
    "Extension",
    "Fee",
    "HasCaller",
    "JSONValue",
    "LegalBasis",
    "LocalizedText",
    "ModuleInfo",
    "ModuleStore",
    "Procedure",
    "ProcedureSummary",
    "Role",
    "RuleChange",
    "SlipFile",
    "Step",
    "TimeLimit",
    "UniqueField",
    "dossier_contact",
    "dossier_slip",
    "enable_row_level_security",
    "finished_dossiers",
    "form_field",
    "hookimpl",
    "module_config",
    "module_store",
]


def enable_row_level_security(
    op: MigrationOp, table: str, *, agency_column: str | None = None
) -> None:
    """In a module's migration (`ModuleInfo.migrations`): give `table` eiso's tenant isolation
    on PostgreSQL (a no-op on SQLite) and grant the application's role its rows. The table has
    a `province_id` column (the province's rows: seen by the province, its agencies and the
    nation) and, with `agency_column`, an agency column (then an agency's callers see only
    their agency's rows). `op` is `alembic.op`. Since core API 1.4."""
    if agency_column is None:
        enable_tenant_rls(op, table, predicate=province_predicate())
    else:
        enable_tenant_rls(op, table, agency_column=agency_column)
