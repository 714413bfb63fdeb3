"""The GraphQL enums of the models' enums, declared in one table: each model enum is its own
GraphQL enum, so a field or an argument names the model's enum, a resolver returns its members
(or their values) and an argument arrives as one of them. Take these enums from here, which
gives each its definition before any type names it.

One naming rule for every enum of the schema (tests/test_relay.py checks it): the type is
named without an `Enum` suffix (`DocumentKind`, `AgencyKind`), its values are UPPER_SNAKE
(`NEW`, `IN_PROGRESS`: the model's member names, upper-cased), as GraphQL clients and schema
linters expect."""

from __future__ import annotations

import enum
from typing import TypeVar

from strawberry.types.enum import EnumValue, StrawberryEnumDefinition

from eiso.core.auth.principal import Role
from eiso.core.dossiers.statuses import Status as DossierStatus
from eiso.core.feedback.rules import Kind as FeedbackKind
from eiso.core.feedback.rules import State as FeedbackState
from eiso.core.feedback.rules import Subject as FeedbackSubject
from eiso.core.qms.application import Medium as QmsMedium
from eiso.core.qms.application import Standard as QmsStandard
from eiso.core.qms.audits import FindingKind
from eiso.core.qms.conformity import FlagCause as ReviewFlagCause
from eiso.core.qms.conformity import FlagKind as ReviewFlagKind
from eiso.core.qms.documents import DocumentKind
from eiso.core.qms.documents import VersionStatus as DocumentVersionStatus
from eiso.core.qms.figures import Group as FigureGroup
from eiso.core.qms.figures import Metric as FigureMetric
from eiso.core.qms.inspections import FindingStatus as InspectionFindingStatus
from eiso.core.qms.inspections import InspectionStatus
from eiso.core.qms.inspections import ItemResult as InspectionItemResult
from eiso.core.qms.management_review import ActionStatus as ReviewActionStatus
from eiso.core.qms.nonconformities import NcSource as NonconformitySource
from eiso.core.qms.nonconformities import NcStatus as NonconformityStatus
from eiso.core.qms.objectives import Comparator as ObjectiveComparator
from eiso.core.qms.objectives import ObjectiveMetric, ObjectiveStatus
from eiso.core.qms.yearly_reports import ReportStatus as YearlyReportStatus
from eiso.tenants.models import AgencyKind, IsoStatus, TenantStatus

E = TypeVar("E", bound=type[enum.Enum])


def graphql_enum(source: E, name: str) -> E:
    """`source` itself, a GraphQL enum called `name`: its members' names upper-cased
    (COMMUNE, ...), their values as they are. Strawberry's own `strawberry.enum` would name
    the values as the members are named (`commune`)."""
    if name.endswith("Enum"):
        raise ValueError(f"enum {name}: name it without the `Enum` suffix")
    values = [EnumValue(member.name.upper(), member.value) for member in source]
    source.__strawberry_definition__ = StrawberryEnumDefinition(  # type: ignore[attr-defined]
        wrapped_cls=source, name=name, values=values, description=None
    )
    return source


# The table: every model enum the schema shows, by its GraphQL name (the name it has here).
MODEL_ENUMS: dict[str, type[enum.Enum]] = {
    "AgencyKind": AgencyKind,
    "DocumentKind": DocumentKind,
    "DocumentVersionStatus": DocumentVersionStatus,
    "DossierStatus": DossierStatus,
    "FeedbackKind": FeedbackKind,
    "FeedbackState": FeedbackState,
    "FeedbackSubject": FeedbackSubject,
    "FigureGroup": FigureGroup,
    "FigureMetric": FigureMetric,
    "FindingKind": FindingKind,
    "InspectionFindingStatus": InspectionFindingStatus,
    "InspectionItemResult": InspectionItemResult,
    "InspectionStatus": InspectionStatus,
    "IsoStatus": IsoStatus,
    "NonconformitySource": NonconformitySource,
    "NonconformityStatus": NonconformityStatus,
    "ObjectiveComparator": ObjectiveComparator,
    "ObjectiveMetric": ObjectiveMetric,
    "ObjectiveStatus": ObjectiveStatus,
    "QmsMedium": QmsMedium,
    "QmsStandard": QmsStandard,
    "ReviewActionStatus": ReviewActionStatus,
    "ReviewFlagCause": ReviewFlagCause,
    "ReviewFlagKind": ReviewFlagKind,
    "Role": Role,
    "TenantStatus": TenantStatus,
    "YearlyReportStatus": YearlyReportStatus,
}
for _name, _source in MODEL_ENUMS.items():
    graphql_enum(_source, _name)
