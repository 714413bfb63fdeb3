"""QMS register mutations: thin adapters over the services of core/qms. Each runs in one
transaction in the caller's scope; a refused move rolls back and changes nothing.

One class, although long: its fields' order is the order of `Mutation` in the committed SDL,
and documents, nonconformities, risks and audits interleave there."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id, not_found
from eiso.core.qms import audits, documents, risks
from eiso.core.qms import nonconformities as ncs
from eiso.core.qms.common import get_in_scope
from eiso.core.qms.storage import storage_from_settings
from eiso.graphql.qms.registers.nodes import (
    AuditFindingNode,
    AuditPlanNode,
    ChecklistItemInput,
    DocumentNode,
    DocumentVersionNode,
    NonconformityNode,
    RiskNode,
)
from eiso.graphql.qms.registers.queries import document_node, province_of
from eiso.graphql.shared.arguments import arguments_of
from eiso.graphql.shared.callers import agency_of
from eiso.graphql.shared.enums import DocumentKind, FindingKind, NonconformitySource
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import (
    act_on_node,
    for_own_agency,
    in_own_agency,
    in_transaction,
)
from eiso.tenants.scope import TenantScope

_RAISED_BY_HAND = NonconformitySource("manual")  # raiseNonconformity's default source

_VersionMove = Callable[[AsyncSession, Principal, int, int], Awaitable[documents.DocumentVersion]]


def _version_move(description: str, service: _VersionMove) -> DocumentVersionNode:
    """A mutation: a version's move (submit, approve, ...) by its global id,
    answering the version. Assigned to a class attribute, whose name is the field's (and,
    through `@guarded`, names its rule)."""

    async def move(info: strawberry.Info, id: strawberry.ID) -> DocumentVersionNode:
        return DocumentVersionNode.of(await act_on_node(info, id, "DocumentVersion", service))

    return strawberry.mutation(resolver=move, description=description)


async def _acknowledged(
    session: AsyncSession, who: Principal, province_id: int, row_id: int
) -> documents.DocumentVersion:
    """Acknowledge an effective version, answering it."""
    await documents.acknowledge(session, who, province_id, row_id)
    return await get_in_scope(
        session, documents.DocumentVersion, province_id, row_id, "document version"
    )


@dataclasses.dataclass(frozen=True)
class DocumentFields:
    """What a new document (an agency's own or a province's model) is given: the arguments of
    createDocument and publishModelDocument (`@arguments_of`)."""

    kind: DocumentKind
    code: str
    title: str
    content: str = ""
    legal_reference: str | None = None


# The arguments of a mutation after its node's id (`@arguments_of`), which are its service's
# keyword arguments by the same names: one declaration for the SDL and the call.


@dataclasses.dataclass(frozen=True)
class CorrectiveActionPlan:
    """planCorrectiveAction's: nonconformities.plan_action's keywords."""

    root_cause: str
    corrective_action: str
    owner: str
    due_date: dt.date


@dataclasses.dataclass(frozen=True)
class NewRisk:
    """registerRisk's: risks.register_risk's keywords."""

    title: str
    likelihood: int
    impact: int
    treatment: str
    owner: str
    review_date: dt.date


@dataclasses.dataclass(frozen=True)
class RiskReview:
    """reviewRisk's after the risk's id: risks.review_risk's keywords."""

    likelihood: int
    impact: int
    treatment: str
    review_date: dt.date


async def _created(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    agency_id: int,
    fields: DocumentFields,
    *,
    is_model: bool = False,
) -> DocumentNode:
    """A new document with version 1 as a draft, as its node."""
    document, _ = await documents.create_document(
        session,
        who,
        province_id=province_id,
        agency_id=agency_id,
        kind=fields.kind.value,
        code=fields.code,
        title=fields.title,
        content=fields.content,
        is_model=is_model,
        legal_reference=fields.legal_reference,
    )
    return await document_node(session, document)


@guarded
class RegistersMutation:
    @strawberry.mutation(
        description="A new document of the caller's agency, with version 1 as a draft."
    )
    @arguments_of("fields", DocumentFields)
    async def create_document(self, info: strawberry.Info, fields: DocumentFields) -> DocumentNode:
        async def work(session: AsyncSession, who: Principal) -> DocumentNode:
            province_id, agency_id = agency_of(who)
            return await _created(session, who, province_id, agency_id, fields)

        return await in_transaction(info, work)

    @strawberry.mutation(
        description="Adopt an effective model version of the province: the agency gets its own "
        "draft copy, linked to the model version, to adapt."
    )
    async def adopt_model_document(
        self, info: strawberry.Info, version_id: strawberry.ID, code: str | None = None
    ) -> DocumentNode:
        principal = require_principal(info.context.principal)
        province_id, agency_id = agency_of(principal)
        model_province, row_id = decode_id(version_id, "DocumentVersion")
        if model_province != province_id:
            raise not_found("DocumentVersion", version_id)
        # The model belongs to the province's committee: read it in the province's scope; the
        # copy is stamped with the caller's own agency.
        async with (
            info.context.resources.session(TenantScope.province(province_id)) as session,
            session.begin(),
        ):
            document, _ = await documents.adopt_model(
                session, principal, province_id, row_id, agency_id=agency_id, code=code
            )
            return await document_node(session, document)

    submit_document_version = _version_move(
        "Send a draft version for review.",
        documents.submit,
    )

    approve_document_version = _version_move(
        "Approve a version in review (the agency's leader).",
        documents.approve,
    )

    make_document_version_effective = _version_move(
        "Make an approved version effective; the previous effective one becomes obsolete.",
        documents.make_effective,
    )

    acknowledge_document = _version_move(
        "Confirm having read an effective version.",
        _acknowledged,
    )

    @strawberry.mutation(
        description="Raise a nonconformity by hand, from an audit finding or from a complaint "
        "(those two need sourceRef: the finding or the complaint's number)."
    )
    async def raise_nonconformity(
        self,
        info: strawberry.Info,
        title: str,
        description: str = "",
        origin: Annotated[
            NonconformitySource, strawberry.argument(name="source")
        ] = _RAISED_BY_HAND,
        procedure_code: str | None = None,
        step: str | None = None,
        officer: str | None = None,
        source_ref: str | None = None,
    ) -> NonconformityNode:
        row = await for_own_agency(
            info,
            ncs.raise_nonconformity,
            title=title,
            description=description,
            source=origin.value,
            source_ref=source_ref,
            procedure_code=procedure_code,
            step=step,
            officer=officer,
        )
        return NonconformityNode.of(row)

    @strawberry.mutation(description="Record root cause, corrective action, owner and due date.")
    @arguments_of("plan", CorrectiveActionPlan)
    async def plan_corrective_action(
        self, info: strawberry.Info, id: strawberry.ID, plan: CorrectiveActionPlan
    ) -> NonconformityNode:
        return NonconformityNode.of(
            await act_on_node(
                info, id, "Nonconformity", ncs.plan_action, **dataclasses.asdict(plan)
            )
        )

    @strawberry.mutation(description="Mark the corrective action done.")
    async def complete_corrective_action(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> NonconformityNode:
        return NonconformityNode.of(
            await act_on_node(info, id, "Nonconformity", ncs.complete_action)
        )

    @strawberry.mutation(
        description="Record whether the action worked; an ineffective one goes back to planning."
    )
    async def record_effectiveness_check(
        self, info: strawberry.Info, id: strawberry.ID, result: str, effective: bool
    ) -> NonconformityNode:
        return NonconformityNode.of(
            await act_on_node(
                info,
                id,
                "Nonconformity",
                ncs.record_effectiveness,
                result=result,
                effective=effective,
            )
        )

    @strawberry.mutation(
        description="Close a verified nonconformity (EFFECTIVENESS_CHECK_REQUIRED otherwise)."
    )
    async def close_nonconformity(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> NonconformityNode:
        return NonconformityNode.of(await act_on_node(info, id, "Nonconformity", ncs.close))

    @strawberry.mutation(description="Add a risk: level = likelihood × impact (each 1-5).")
    @arguments_of("risk", NewRisk)
    async def register_risk(self, info: strawberry.Info, risk: NewRisk) -> RiskNode:
        return RiskNode.of(
            await for_own_agency(info, risks.register_risk, **dataclasses.asdict(risk))
        )

    @strawberry.mutation(
        description="Plan an internal audit in the year's programme (created on first use), "
        "with its checklist by ISO clause."
    )
    async def create_audit_plan(
        self,
        info: strawberry.Info,
        date: dt.date,
        scope: str,
        auditors: list[str],
        checklist: list[ChecklistItemInput] | None = None,
    ) -> AuditPlanNode:
        async def work(session: AsyncSession, who: Principal) -> audits.AuditPlan:
            programme = await in_own_agency(
                session,
                who,
                audits.create_programme,
                year=date.year,
                title=f"Chương trình đánh giá nội bộ năm {date.year}",
            )
            return await audits.create_plan(
                session,
                who,
                programme.province_id,
                programme.id,
                date=date,
                scope=scope,
                auditors=auditors,
                checklist=[(item.clause, item.question) for item in checklist or []],
            )

        return AuditPlanNode.of(await in_transaction(info, work))

    @strawberry.mutation(
        description="Record an audit finding; a nonconformity finding opens a nonconformity."
    )
    async def record_audit_finding(
        self,
        info: strawberry.Info,
        plan_id: strawberry.ID,
        clause: str,
        kind: FindingKind,
        description: str,
    ) -> AuditFindingNode:
        return AuditFindingNode.of(
            await act_on_node(
                info,
                plan_id,
                "AuditPlan",
                audits.record_finding,
                clause=clause,
                kind=kind.value,
                description=description,
            )
        )

    reject_document_version = _version_move(
        "Send a version in review back to draft (the agency's leader).",
        documents.reject,
    )

    withdraw_document_version = _version_move(
        "Withdraw the effective version: it becomes obsolete and can never be "
        "effective again (INVALID_TRANSITION).",
        documents.withdraw,
    )

    @strawberry.mutation(
        description="Attach a file to a draft version, base64-encoded (at most 20 MB); stored "
        "by its sha256, which the version records."
    )
    async def attach_document_file(
        self, info: strawberry.Info, version_id: strawberry.ID, filename: str, content_base64: str
    ) -> DocumentVersionNode:
        province_id, row_id = decode_id(version_id, "DocumentVersion")
        try:
            content = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(
                "contentBase64 is not valid base64",
                "contentBase64 không phải base64 hợp lệ",
                field="contentBase64",
            ) from None
        storage = storage_from_settings(info.context.resources.settings)
        return DocumentVersionNode.of(
            await in_transaction(
                info,
                lambda s, who: documents.attach(
                    s, who, storage, province_id, row_id, filename, content
                ),
            )
        )

    @strawberry.mutation(
        description="The province publishes a model document (version 1 as a draft, then the "
        "usual review, approval and effectiveness) owned by its People's Committee, "
        "for its agencies to adopt."
    )
    @arguments_of("fields", DocumentFields)
    async def publish_model_document(
        self, info: strawberry.Info, fields: DocumentFields
    ) -> DocumentNode:
        principal = require_principal(info.context.principal)
        province_id = province_of(principal)
        async with (
            info.context.resources.session(TenantScope.province(province_id)) as session,
            session.begin(),
        ):
            owner = await documents.model_owner(session, province_id)
            return await _created(session, principal, province_id, owner, fields, is_model=True)

    @strawberry.mutation(
        description="Review a risk: new likelihood and impact (1-5), treatment, next review date."
    )
    @arguments_of("review", RiskReview)
    async def review_risk(
        self, info: strawberry.Info, id: strawberry.ID, review: RiskReview
    ) -> RiskNode:
        return RiskNode.of(
            await act_on_node(info, id, "Risk", risks.review_risk, **dataclasses.asdict(review))
        )

    @strawberry.mutation(
        description="A new draft version of a document (the next number), to revise it."
    )
    async def create_document_version(
        self,
        info: strawberry.Info,
        document_id: strawberry.ID,
        content: str = "",
        summary: str = "",
    ) -> DocumentVersionNode:
        return DocumentVersionNode.of(
            await act_on_node(
                info,
                document_id,
                "Document",
                documents.new_version,
                content=content,
                summary=summary,
            )
        )
