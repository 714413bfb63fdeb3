"""GraphQL types of the tenants room: Province, Agency, Module, the onboarding report."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry.scalars import JSON

from eiso.core.global_ids import encode_id
from eiso.core.plugins.registry import PluginRegistry
from eiso.graphql.shared.enums import AgencyKind, IsoStatus, TenantStatus
from eiso.graphql.shared.loading import then
from eiso.graphql.shared.node import Node, node_of
from eiso.graphql.tenants.dataloaders import loaders
from eiso.tenants import onboarding
from eiso.tenants.models import Agency, Province, receiving_unit


@strawberry.enum(name="ImportFormat")
class ImportFormat(enum.Enum):
    CSV = "csv"
    JSON = "json"


# Plain attributes, filled once from the row: Strawberry resolves a field without a resolver
# with one getattr, while a resolver method costs an Info object and argument handling per
# field and object (most of the time of a 50-row list). Relations stay resolvers, batched by
# the request's dataloaders. Built as before, `AgencyNode(row=row)`: the defaults only let the
# dataclass take the row alone, `__post_init__` fills every field.


@strawberry.type(name="Province")
class ProvinceNode(Node):
    row: strawberry.Private[Province]
    id: strawberry.ID = strawberry.field(default=None)
    code: str = strawberry.field(default=None)
    name: str = strawberry.field(default=None)
    status: TenantStatus = strawberry.field(default=None)

    def __post_init__(self) -> None:
        row = self.row
        assert row.id is not None  # a saved row
        self.id = strawberry.ID(encode_id("Province", row.id, row.id))
        self.code, self.name = row.code, row.name
        self.status = TenantStatus(row.status)


@strawberry.type(name="Agency")
class AgencyNode(Node):
    row: strawberry.Private[Agency]
    id: strawberry.ID = strawberry.field(default=None)
    code: str = strawberry.field(
        default=None, description="The official electronic identifier code (mã định danh)."
    )
    name: str = strawberry.field(default=None)
    kind: AgencyKind = strawberry.field(default=None)
    status: TenantStatus = strawberry.field(default=None)
    iso_status: IsoStatus = strawberry.field(default=None)
    iso_status_since: dt.date | None = strawberry.field(default=None)

    def __post_init__(self) -> None:
        row = self.row
        self.id = strawberry.ID(encode_id("Agency", row.province_id, row.id))
        self.code, self.name = row.code, row.name
        self.kind = AgencyKind(row.kind)
        self.status = TenantStatus(row.status)
        self.iso_status = IsoStatus(row.iso_status)
        self.iso_status_since = row.iso_status_since

    # Synchronous: a relation the list primed completes in place (graphql/shared/loading.py).
    @strawberry.field(description="The parent agency, when the caller may see it.")
    def parent(self, info: strawberry.Info) -> AgencyNode | None:
        if self.row.parent_id is None:
            return None
        # The annotation is the GraphQL type: graphql-core awaits an awaitable answer.
        return then(  # type: ignore[return-value]
            loaders(info).agencies.load((self.row.province_id, self.row.parent_id)), _agency_node
        )

    @strawberry.field(
        description="The unit that receives the agency's dossiers and returns the results, as "
        "the one-stop slips name it: the agency's own setting, else its commune's, ward's, "
        "special zone's or province's public administrative service centre."
    )
    def receiving_unit_name(self, info: strawberry.Info) -> str:
        # The annotation is the GraphQL type: graphql-core awaits an awaitable answer.
        return then(  # type: ignore[return-value]
            loaders(info).provinces.load(self.row.province_id),
            lambda province: receiving_unit(self.row, province.name if province else None),
        )

    @strawberry.field(description="How many procedures the agency adopted (offers to citizens).")
    def adopted_procedures(self, info: strawberry.Info) -> int:
        # The annotation is the GraphQL type: graphql-core awaits an awaitable answer.
        return then(  # type: ignore[return-value]
            loaders(info).adoptions.load((self.row.province_id, self.row.id)), len
        )

    @strawberry.field(
        description="The modules of the procedures the agency adopted (by name, sorted)."
    )
    def modules(self, info: strawberry.Info) -> list[str]:
        owners = procedure_owners(info)
        # The annotation is the GraphQL type: graphql-core awaits an awaitable answer.
        return then(  # type: ignore[return-value]
            loaders(info).adoptions.load((self.row.province_id, self.row.id)),
            lambda codes: sorted({owners[c] for c in codes if c in owners}),
        )

    @strawberry.field
    def province(self, info: strawberry.Info) -> ProvinceNode:
        # The annotation is the GraphQL type: graphql-core awaits an awaitable answer.
        return then(  # type: ignore[return-value]
            loaders(info).provinces.load(self.row.province_id), _province_node
        )


def app_plugins(info: strawberry.Info) -> PluginRegistry | None:
    """The app's loaded modules (None when the schema runs without an app, in some tests)."""
    state = getattr(getattr(info.context.request, "app", None), "state", None)
    return getattr(state, "plugins", None)


def procedure_owners(info: strawberry.Info) -> dict[str, str]:
    """procedure code → the loaded module that owns it (empty without the app's plugins)."""
    plugins = app_plugins(info)
    return plugins.procedure_owners() if plugins is not None else {}


def _agency_node(row: Agency | None) -> AgencyNode | None:
    return AgencyNode(row=row) if row else None


def _province_node(row: Province | None) -> ProvinceNode:
    assert row is not None  # every agency's province exists, and provinces are public
    return ProvinceNode(row=row)


@strawberry.type
class ModuleProcedure:
    """A procedure a module adds to the catalogue."""

    code: str
    name: str
    name_en: str


@strawberry.type
class ModuleSwitch:
    """One switch of a module for a province: on or off, by whom, when."""

    enabled: bool
    changed_by: str
    changed_at: dt.datetime


@strawberry.type(name="Module")
class ModuleNode:
    name: str
    installed: bool
    enabled_for_my_province: bool
    changed_by: str | None = None
    changed_at: dt.datetime | None = None
    title: str | None = strawberry.field(
        default=None, description="The module's name in Vietnamese (null when not loaded)."
    )
    title_en: str | None = None
    version: str | None = strawberry.field(
        default=None, description="The module's own version (null when not loaded)."
    )
    procedures: list[ModuleProcedure] = strawberry.field(
        default_factory=list, description="The procedures the module adds to the catalogue."
    )
    history: list[ModuleSwitch] = strawberry.field(
        default_factory=list,
        description="The province's switches of this module, newest first (the last 20).",
    )
    config_schema: JSON | None = strawberry.field(
        default=None,
        description="The JSON schema of the module's configuration model (null: not loaded, "
        "or the module takes no configuration).",
    )
    config: JSON | None = strawberry.field(
        default=None,
        description='The province\'s stored configuration, each secret shown as "********" '
        "(send it back unchanged to keep the secret); only for who may switch the province's "
        "modules, null otherwise.",
    )


@strawberry.type
class OnboardingError:
    line: int
    reason: str
    reason_vi: str


@strawberry.type
class PendingAccount:
    agency_code: str
    username: str
    email: str | None


@strawberry.type
class OnboardingReport:
    ok: bool
    dry_run: bool
    total: int
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    errors: list[OnboardingError]
    pending_accounts: list[PendingAccount] = strawberry.field(
        description="Admins named in the file: accounts are created once the auth module exists."
    )

    @classmethod
    def of(cls, report: onboarding.OnboardingReport) -> OnboardingReport:
        return node_of(
            cls,
            report,
            errors=[
                OnboardingError(line=e.line, reason=e.reason, reason_vi=e.reason_vi)
                for e in report.errors
            ],
            pending_accounts=[
                PendingAccount(agency_code=a.agency_code, username=a.username, email=a.email)
                for a in report.pending_accounts
            ],
        )
