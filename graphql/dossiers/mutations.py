"""Dossier mutations: adoption, receipt (idempotent) and every engine move, each with the
version the caller last saw (a stale one answers CONFLICT); public rating."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import strawberry
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_principal
from eiso.core.dossiers import catalogue, engine, public_limit, service
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.slips import forms as slip_forms
from eiso.core.dossiers.slips import service as slips
from eiso.core.errors import DomainError, Forbidden, NotFound
from eiso.core.global_ids import MAX_ROW_ID, decode_id
from eiso.core.workdays import WorkingCalendar
from eiso.core.workdays.overrides import current_calendar, load_calendar
from eiso.graphql.dossiers.applicant import Applicant, ApplicantInput
from eiso.graphql.dossiers.forms import procedure_of
from eiso.graphql.dossiers.nodes import DossierNode, ProcedureNode, PublicDossier, ReceivedDossier
from eiso.graphql.dossiers.queries import client_address, public_node
from eiso.graphql.shared.callers import acting_agency
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.selections import selects

Move = Callable[..., Awaitable[Dossier]]


def _acting(info: strawberry.Info) -> tuple[Principal, int, int]:
    """The caller and (province_id, agency_id) of the one agency it acts for (an integration
    client's token is bound to one agency by its tenant scope)."""
    principal = require_principal(info.context.principal)
    agency = acting_agency(principal)
    if agency is None:
        raise Forbidden(
            "Only an agency's officers act on its dossiers",
            "Chỉ cán bộ của cơ quan được xử lý hồ sơ của cơ quan",
        )
    return principal, *agency


async def _on_catalogue(
    info: strawberry.Info,
    change: Callable[..., Awaitable[object]],
    procedure_code: str,
    *,
    read_back: bool = True,
    **kwargs: Any,
) -> Any:
    """`change` (catalogue.adopt, catalogue.drop) of the caller's agency and the procedure, in
    one transaction; the procedure read back (unless `read_back` is False)."""
    principal, province_id, agency_id = _acting(info)
    async with info.context.resources.session(principal.tenant) as session, session.begin():
        await change(
            session,
            province_id=province_id,
            agency_id=agency_id,
            procedure_code=procedure_code,
            actor=principal.subject,
            **kwargs,
        )
        return await catalogue.get_procedure(session, procedure_code) if read_back else None


def _data_model(info: strawberry.Info, procedure_code: str) -> type[BaseModel] | None:
    """The module's pydantic model of the procedure's sector data (None: free-form)."""
    procedure = procedure_of(info, procedure_code)
    return procedure.data_model if procedure else None


def _unique_fields(info: strawberry.Info, procedure_code: str) -> tuple[Any, ...]:
    procedure = procedure_of(info, procedure_code)
    return procedure.unique_fields if procedure else ()


def _step_models(info: strawberry.Info, procedure_code: str) -> dict[str, type[BaseModel]]:
    """step code → the module's model of that step's own data."""
    procedure = procedure_of(info, procedure_code)
    if procedure is None:
        return {}
    return {s.code: s.data_model for s in procedure.steps if s.data_model}


def _step_units(value: object) -> dict[str, int]:
    """`stepUnits` (JSON): an object of step code → unit id, or BAD_INPUT naming the field."""
    if value is None:
        return {}
    if isinstance(value, dict):
        units = {k: v for k, v in value.items() if type(v) is int and 0 < v <= MAX_ROW_ID}
        if len(units) == len(value):
            return units
    raise DomainError(
        "stepUnits: an object of step code → unit id (a positive integer)",
        "stepUnits: phải là đối tượng mã bước → mã bộ phận (số nguyên dương)",
        code="BAD_INPUT",
        field="stepUnits",
    )


async def _agency_ids(
    info: strawberry.Info, province_id: int, named: Mapping[str, object]
) -> tuple[dict[str, int], frozenset[int]]:
    """Global Agency ids → (key → agency id, -1 when not of the caller's province `province_id`;
    the active agencies of the caller's province among them)."""
    wanted = {}
    for key, value in named.items():
        try:
            agency_province, agency_id = decode_id(str(value), "Agency")
        except NotFound:
            agency_province, agency_id = None, -1
        # Another province's agency is simply unknown here (composite keys keep steps in one
        # province).
        wanted[key] = agency_id if agency_province == province_id else -1
    known = await service.active_agencies(
        info.context.resources, province_id, {v for v in wanted.values() if v > 0}
    )
    return wanted, known


async def _calendar(info: strawberry.Info) -> WorkingCalendar:
    """The working calendar; a session only when this process's copy is not current."""
    resources = info.context.resources
    calendar = current_calendar(resources)
    if calendar is not None:
        return calendar
    async with resources.session(info.context.principal.tenant) as session:
        return await load_calendar(session, resources=resources)


async def _move(
    info: strawberry.Info, id: strawberry.ID, expected_version: int, move: Move, **kwargs: Any
) -> DossierNode:
    principal, _, _ = _acting(info)
    province_id, dossier_id = decode_id(id, "Dossier")
    # The session's tenant scope hides other agencies' rows: their ids answer NOT_FOUND.
    row = await service.act(
        info.context.resources,
        principal.tenant,
        dossier_id,
        expected_version,
        move,
        actor=principal.subject,
        province_id=province_id,
        **kwargs,
    )
    return DossierNode(row=row)


async def _timed(
    info: strawberry.Info, id: strawberry.ID, expected_version: int, move: Move, **kwargs: Any
) -> DossierNode:
    """`_move` with the agency's working calendar (the moves that set or check a time)."""
    return await _move(info, id, expected_version, move, calendar=await _calendar(info), **kwargs)


def _reasoned(description: str, move: Move) -> DossierNode:
    """A mutation: the engine's `move`, with the officer's reason. Assigned to a class
    attribute, whose name is the field's (and, through `@guarded`, names its rule)."""

    async def resolve(
        info: strawberry.Info, id: strawberry.ID, expected_version: int, reason: str
    ) -> DossierNode:
        return await _move(info, id, expected_version, move, reason=reason)

    return strawberry.mutation(resolver=resolve, description=description)


def _bare(description: str, move: Move) -> DossierNode:
    """A mutation: the engine's `move`, which takes nothing but the dossier."""

    async def resolve(
        info: strawberry.Info, id: strawberry.ID, expected_version: int
    ) -> DossierNode:
        return await _move(info, id, expected_version, move)

    return strawberry.mutation(resolver=resolve, description=description)


def _clocked(description: str, move: Move) -> DossierNode:
    """A mutation: the engine's `move`, which sets the appointment on the
    agency's working calendar (acceptance starts the clock, a supplement resumes it)."""

    async def resolve(
        info: strawberry.Info, id: strawberry.ID, expected_version: int
    ) -> DossierNode:
        return await _timed(info, id, expected_version, move)

    return strawberry.mutation(resolver=resolve, description=description)


async def _receipt_slip(info: strawberry.Info, got: engine.Received) -> str | None:
    """Slip 01 with the lookup key, while the key is still known (the first answer only):
    rendered only when the caller asks for `receiptSlipHtml`, after the receipt committed, in a
    read-only session of its own (issue 18: never inside the write transaction, which holds
    the agency's audit head). The slip itself was issued at the receipt, dated by it."""
    if got.lookup_key is None or not slip_forms.FORMS[1].exists(got.dossier):
        return None
    if not selects(info, "receiptSlipHtml"):
        return None
    principal, _, _ = _acting(info)
    async with info.context.resources.session(principal.tenant) as session:
        rendered = await slips.render_loaded(
            session,
            info.context.resources.settings,
            got.dossier,
            1,
            "html",
            lookup_key=got.lookup_key,
        )
    return rendered.body.decode()


def _complete_step(info: strawberry.Info) -> Move:
    async def move(session: AsyncSession, dossier: Dossier, **kwargs: Any) -> Dossier:
        return await engine.complete_step(
            session, dossier, step_models=_step_models(info, dossier.procedure_code), **kwargs
        )

    return move


@strawberry.input
class ReceiveDossierInput:
    procedure_code: str
    applicant: ApplicantInput
    sector_data: JSON
    online: bool = False


async def _receive(
    info: strawberry.Info,
    input: ReceiveDossierInput,
    idempotency_key: str | None,
    refusal_reason: str | None = None,
) -> ReceivedDossier:
    """receiveDossier, and refuseAtCounter (with `refusal_reason`)."""
    principal, province_id, agency_id = _acting(info)
    calendar = await _calendar(info)
    async with info.context.resources.session(principal.tenant) as session, session.begin():
        got = await engine.receive_at(
            session,
            province_id,
            agency_id,
            procedure_code=input.procedure_code,
            # The engine checks the applicant's fields (BAD_INPUT naming the field) and the
            # procedure's model, when it has one, the sector data.
            applicant=input.applicant.stored(),
            sector_data=cast("dict[str, Any]", input.sector_data or {}),
            actor=principal.subject,
            calendar=calendar,
            data_model=_data_model(info, input.procedure_code),
            unique_fields=_unique_fields(info, input.procedure_code),
            idempotency_key=idempotency_key,
            online=input.online and refusal_reason is None,
            refusal_reason=refusal_reason,
        )
    receipt = await _receipt_slip(info, got)
    return ReceivedDossier(
        dossier=DossierNode(row=got.dossier),
        applicant=Applicant.of(got.dossier.applicant),
        lookup_key=got.lookup_key,
        replayed=got.replayed,
        receipt_slip_html=receipt,
    )


@guarded
class DossiersMutation:
    @strawberry.mutation(
        description="The caller's agency adopts a procedure; it may shorten the time limit and "
        "tighten the counting rules (an earlier cut-off `HH:MM`, fewer supplement requests per "
        "stage), never loosen them (COUNTING_LOOSER)."
    )
    async def adopt_procedure(
        self,
        info: strawberry.Info,
        procedure_code: str,
        time_limit: int | None = None,
        step_units: JSON | None = None,
        step_agencies: JSON | None = None,
        cutoff: str | None = None,
        supplements_per_stage: int | None = None,
    ) -> ProcedureNode:
        _, province_id, _ = _acting(info)
        units = _step_units(step_units)
        if not isinstance(step_agencies, dict | None):
            raise DomainError(
                "stepAgencies: an object of step code → Agency id",
                "stepAgencies: phải là đối tượng mã bước → mã cơ quan",
                code="BAD_INPUT",
                field="stepAgencies",
            )
        agencies, known = await _agency_ids(info, province_id, step_agencies or {})
        procedure = await _on_catalogue(
            info,
            catalogue.adopt,
            procedure_code,
            time_limit=time_limit,
            step_units=units,
            step_agencies=agencies,
            known_agencies=known,
            cutoff=cutoff,
            supplements_per_stage=supplements_per_stage,
        )
        return ProcedureNode(row=procedure)

    @strawberry.mutation(
        description="The caller's agency stops offering a procedure: its adoption ends, the "
        "procedure leaves the QMS scope and an announced agency must re-announce conformity "
        "(Decision 19/2014/QĐ-TTg art. 4). Refused with OPEN_DOSSIERS while the agency holds a "
        "dossier of it not finished or whose result is not returned; NOT_FOUND when the agency "
        "has not adopted it. Returns the procedure's code."
    )
    async def drop_procedure(self, info: strawberry.Info, procedure_code: str) -> str:
        await _on_catalogue(info, catalogue.drop, procedure_code, read_back=False)
        return procedure_code

    @strawberry.mutation(
        description="Receive a dossier (or register an online one). A retry with the same "
        "idempotency key returns the same dossier."
    )
    async def receive_dossier(
        self, info: strawberry.Info, input: ReceiveDossierInput, idempotency_key: str | None = None
    ) -> ReceivedDossier:
        return await _receive(info, input, idempotency_key)

    @strawberry.mutation(
        description="Refuse a dossier at the counter (outside the agency's competence, ...): "
        "recorded straight into not received, with the reason and its refusal slip (03); no "
        "appointment. `input.online` is ignored. A retry with the same idempotency key "
        "returns the same dossier.",
    )
    async def refuse_at_counter(
        self,
        info: strawberry.Info,
        input: ReceiveDossierInput,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ReceivedDossier:
        return await _receive(info, input, idempotency_key, refusal_reason=reason)

    accept_dossier = _clocked(
        "Accept an online dossier (new → received): its clock starts and it gets "
        "its receipt slip (01) and process control slip (06).",
        engine.accept,
    )

    refuse_dossier = _reasoned(
        "Refuse an online dossier (not received), with a reason.",
        engine.refuse,
    )

    @strawberry.mutation(description="Assign the dossier to an officer: processing starts.")
    async def assign_dossier(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int, assignee: str
    ) -> DossierNode:
        return await _move(info, id, expected_version, engine.assign, assignee=assignee)

    @strawberry.mutation(
        description="The current step is done: on to the next, or processed after the last."
    )
    async def complete_step(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        expected_version: int,
        note: str = "",
        step_data: JSON | None = None,
        to_agency: strawberry.ID | None = None,
    ) -> DossierNode:
        _, province_id, _ = _acting(info)
        to_agency_id = None
        if to_agency is not None:
            wanted, known = await _agency_ids(info, province_id, {"toAgency": to_agency})
            if wanted["toAgency"] not in known:
                raise DomainError(
                    "toAgency: no active agency of this province",
                    "toAgency: không có cơ quan đang hoạt động này trong tỉnh",
                    code="AGENCY_NOT_FOUND",
                    field="toAgency",
                )
            to_agency_id = wanted["toAgency"]
        if step_data is not None and not isinstance(step_data, dict):
            raise DomainError(
                "stepData: an object",
                "stepData: phải là một đối tượng",
                code="BAD_INPUT",
                field="stepData",
            )
        return await _move(
            info,
            id,
            expected_version,
            _complete_step(info),
            note=note,
            step_data=step_data,
            to_agency_id=to_agency_id,
            calendar=await _calendar(info),
        )

    request_supplement = _reasoned(
        "Ask for a supplement, with what to add and why (slip 02): once before an online "
        "dossier is accepted (no clock runs yet) and once after acceptance (the clock stops).",
        engine.request_supplement,
    )

    supplement_received = _clocked(
        "The supplement arrived: the clock resumes, the appointment moves (a dossier "
        "not yet accepted goes back to new, to be checked again).",
        engine.supplement_received,
    )

    @strawberry.mutation(description="Ask the applicant to meet the financial obligation.")
    async def request_fee(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int, note: str = ""
    ) -> DossierNode:
        return await _move(info, id, expected_version, engine.request_fee, note=note)

    fee_paid = _bare(
        "The financial obligation is met: processing resumes.",
        engine.fee_paid,
    )

    withdraw_dossier = _reasoned(
        "The citizen withdraws the dossier (recorded by the agency on the citizen's request, "
        "at any status before processed; before acceptance the citizen may also do it "
        "through withdrawOnlineDossier).",
        engine.withdraw,
    )

    @strawberry.mutation(
        description="Stop processing (status 8), with a reason: the agency's decision (a "
        "nonconformity, refused after acceptance), or with onRequest the applicant's own "
        "request (timeline action STOPPED_ON_REQUEST, its stop notice; no nonconformity).",
    )
    async def stop_dossier(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        expected_version: int,
        reason: str,
        on_request: bool = False,
    ) -> DossierNode:
        return await _move(
            info, id, expected_version, engine.stop, reason=reason, on_request=on_request
        )

    @strawberry.mutation(
        description="Record an extension the procedure allows (its code, e.g. verify_facts: "
        "+5 working days for a birth whose facts must be verified), with the reason: once per "
        "extension, before the deadline and before any apology; the appointment moves.",
    )
    async def record_extension(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        expected_version: int,
        code: str,
        reason: str,
    ) -> DossierNode:
        return await _timed(
            info, id, expected_version, engine.record_extension, code=code, reason=reason
        )

    return_result = _bare(
        "The result is handed to the applicant.",
        engine.return_result,
    )

    @strawberry.mutation(
        description="Apology slip (04): once per dossier, while it is open and before the "
        "result is returned, with the reason and one new appointment in working time after "
        "the old one. Due by the close of the working day before the deadline; later, it is "
        "recorded as late and opens a nonconformity. The dossier counts as late.",
    )
    async def record_apology(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        expected_version: int,
        reason: str,
        new_appointment: dt.datetime,
    ) -> DossierNode:
        return await _timed(
            info,
            id,
            expected_version,
            engine.record_apology,
            reason=reason,
            new_appointment=new_appointment,
        )

    @strawberry.mutation(
        description="The citizen withdraws an online dossier that is not accepted yet (no "
        "account: the dossier code and lookup key, as for publicDossier)."
    )
    async def withdraw_online_dossier(
        self, info: strawberry.Info, code: str, lookup_key: str, reason: str
    ) -> PublicDossier:
        await public_limit.check(info.context.resources, client_address(info))
        return public_node(
            await service.withdraw_online(info.context.resources, code, lookup_key, reason)
        )

    @strawberry.mutation(description="The citizen rates a returned dossier once (no account).")
    async def rate_dossier(
        self, info: strawberry.Info, code: str, lookup_key: str, rating: int, comment: str = ""
    ) -> bool:
        await public_limit.check(info.context.resources, client_address(info))
        await service.rate_dossier(info.context.resources, code, lookup_key, rating, comment)
        return True
