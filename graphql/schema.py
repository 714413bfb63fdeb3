"""The core schema parts of every domain, and the schemas assembled from them with modules."""

from __future__ import annotations

import strawberry

from eiso.core.plugins.registry import PluginRegistry, PluginSource, installed_sources
from eiso.graphql.auth.accounts import AccountsMutation, AccountsQuery
from eiso.graphql.auth.queries import AuthQuery
from eiso.graphql.documents.mutations import TrustedDocumentsMutation
from eiso.graphql.dossiers.mutations import DossiersMutation
from eiso.graphql.dossiers.portal import PortalMutation, PortalQuery
from eiso.graphql.dossiers.queries import DossiersQuery
from eiso.graphql.dossiers.subscriptions import DossiersSubscription
from eiso.graphql.feedback.operations import FeedbackMutation, FeedbackQuery
from eiso.graphql.instance.queries import ModuleQuery, VersionQuery
from eiso.graphql.qms.application.mutations import ApplicationMutation
from eiso.graphql.qms.application.queries import ApplicationQuery
from eiso.graphql.qms.figures.mutations import FiguresMutation
from eiso.graphql.qms.figures.queries import FiguresQuery
from eiso.graphql.qms.improvement.mutations import ImprovementMutation
from eiso.graphql.qms.improvement.queries import ImprovementQuery
from eiso.graphql.qms.inspections.mutations import InspectionsMutation
from eiso.graphql.qms.inspections.queries import InspectionsQuery
from eiso.graphql.qms.modelqms.mutations import ModelQmsMutation
from eiso.graphql.qms.modelqms.queries import ModelQmsQuery
from eiso.graphql.qms.registers.mutations import RegistersMutation
from eiso.graphql.qms.registers.queries import RegistersQuery
from eiso.graphql.qms.yearly.mutations import YearlyReportsMutation
from eiso.graphql.qms.yearly.queries import YearlyReportsQuery
from eiso.graphql.relay.queries import RelayQuery
from eiso.graphql.server.assembly import SchemaAssembler
from eiso.graphql.server.limits import DEFAULT_LIMITS, Limits
from eiso.graphql.tenants.mutations import TenantsMutation
from eiso.graphql.tenants.queries import TenantsQuery

# The parts' order is the order of the root types' fields in the SDL (graphql/schema.graphql).
QUERY_PARTS: tuple[type, ...] = (
    VersionQuery,
    RelayQuery,
    AuthQuery,
    TenantsQuery,
    ModuleQuery,
    DossiersQuery,
    PortalQuery,
    RegistersQuery,
    FiguresQuery,
    ImprovementQuery,
    FeedbackQuery,
    YearlyReportsQuery,
    AccountsQuery,
    ModelQmsQuery,
    InspectionsQuery,
    ApplicationQuery,
)
MUTATION_PARTS: tuple[type, ...] = (
    TenantsMutation,
    DossiersMutation,
    PortalMutation,
    RegistersMutation,
    FiguresMutation,
    ImprovementMutation,
    FeedbackMutation,
    YearlyReportsMutation,
    ModelQmsMutation,
    InspectionsMutation,
    ApplicationMutation,
    TrustedDocumentsMutation,
    AccountsMutation,
)
SUBSCRIPTION_PARTS: tuple[type, ...] = (DossiersSubscription,)


def make_assembler(registry: PluginRegistry, limits: Limits = DEFAULT_LIMITS) -> SchemaAssembler:
    return SchemaAssembler(
        registry, QUERY_PARTS, MUTATION_PARTS, limits, subscription_parts=SUBSCRIPTION_PARTS
    )


def bundled_sources() -> list[PluginSource]:
    """The modules eiso itself ships (entry points of the `eiso` distribution)."""
    return [s for s in installed_sources() if (s.dist_name or "").lower() == "eiso"]


def build_schema(registry: PluginRegistry | None = None) -> strawberry.Schema:
    """The schema with every module of `registry` (the core alone without one)."""
    return make_assembler(registry or PluginRegistry()).get()


def schema_sdl(registry: PluginRegistry | None = None) -> str:
    """The SDL of the core plus the bundled modules unless told otherwise: what is committed
    in graphql/schema.graphql (installed vendor modules vary by environment)."""
    registry = registry or PluginRegistry.load(sources=bundled_sources())
    return build_schema(registry).as_str() + "\n"
