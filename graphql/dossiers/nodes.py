"""GraphQL types of procedures and dossiers. The applicant and the sector data (personal
data) only to the officers of the receiving agency, each read audited (graphql/dossiers/desk.py)."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter, itemgetter
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from eiso.core.dossiers.engine import overdue
from eiso.core.dossiers.models import (
    Dossier,
    DossierAttachment,
    DossierEventRow,
    DossierStep,
    ProcedureRecord,
)
from eiso.core.dossiers.slips import forms as slip_forms
from eiso.core.dossiers.statuses import LABELS, Status
from eiso.core.global_ids import encode_id
from eiso.core.workdays import VN_TZ
from eiso.graphql.dossiers import desk
from eiso.graphql.dossiers.applicant import Applicant
from eiso.graphql.dossiers.dataloaders import dossier_loaders
from eiso.graphql.dossiers.forms import ProcedureForm, procedure_of
from eiso.graphql.shared.enums import DossierStatus
from eiso.graphql.shared.loading import then
from eiso.graphql.shared.node import Node
from eiso.graphql.shared.pagination import RowField, RowFields, RowNodes
from eiso.graphql.tenants.dataloaders import loaders
from eiso.graphql.tenants.nodes import AgencyNode
from eiso.infra.clock import aware, utcnow
from eiso.tenants.models import Agency

_STATUSES = {int(status): status for status in Status}


@strawberry.enum(name="DossierStepStatus")
class DossierStepStatus(enum.Enum):
    ACTIVE = "active"
    DONE = "done"


@strawberry.enum(
    name="DossierAction",
    description="What a move of a dossier did (its timeline row's and event's action).",
)
class DossierAction(enum.Enum):
    # Every action the engine records (core/dossiers/engine.py; a test compares the two).
    REGISTERED = "registered"
    RECEIVED = "received"
    REFUSED = "refused"
    ASSIGNED = "assigned"
    STEP_COMPLETED = "step_completed"
    HANDED_OVER = "handed_over"
    PROCESSED = "processed"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    SUPPLEMENT_RECEIVED = "supplement_received"
    FEE_REQUESTED = "fee_requested"
    FEE_PAID = "fee_paid"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    STOPPED_ON_REQUEST = "stopped_on_request"
    RETURNED = "returned"
    APOLOGY = "apology"
    EXTENDED = "extended"


@strawberry.enum(name="TimeLimitUnit")
class TimeLimitUnit(enum.Enum):
    # The units a module may declare (core/plugins/declarations.py, TimeLimit.unit).
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    SAME_WORKING_DAY = "same_working_day"
    CALENDAR_DAYS = "calendar_days"
    # Before issue 17 ("days" as 24-hour blocks); the catalogue now stores calendar_days.
    DAYS = "days"


@strawberry.enum(name="ProcedureLevel")
class ProcedureLevel(enum.Enum):
    # The levels a module may declare (core/plugins/declarations.py, Procedure.level).
    NATION = "nation"
    PROVINCE = "province"
    COMMUNE = "commune"


# A global id is GraphQL's ID (a str): typed so once, not with an ID() call per row of a page.
_encode_gid = cast("Callable[[str, int, int], strawberry.ID]", encode_id)


def _status_labels(attribute: str = "status") -> tuple[Any, Any]:
    """The two label fields of the status in `attribute`, worded as the national portal does."""

    def vi(root: Any) -> str:
        return LABELS[getattr(root, attribute)][0]

    def en(root: Any) -> str:
        return LABELS[getattr(root, attribute)][1]

    return (
        strawberry.field(resolver=vi, description='Nhãn trạng thái, e.g. "Đang xử lý".'),
        strawberry.field(resolver=en, description="The status's English label."),
    )


@strawberry.type(description="An extension the law allows a procedure (recordExtension).")
class ExtensionRule:
    code: str
    reason_vi: str
    reason_en: str
    amount: int
    unit: TimeLimitUnit


@strawberry.type(description="How a procedure's clock counts beyond its time limit.")
class CountingRulesNode:
    stop_statuses: list[DossierStatus] = strawberry.field(
        description="Statuses during which the clock stands still, besides "
        "SUPPLEMENT_REQUESTED (always)."
    )
    stop_steps: list[str] = strawberry.field(
        description="Codes of the steps during which the clock stands still."
    )
    extensions: list[ExtensionRule]
    supplements_per_stage: int = strawberry.field(
        description="Supplement requests each agency's stage may make after acceptance."
    )

    @classmethod
    def of(cls, rules: dict[str, Any]) -> CountingRulesNode:
        return cls(
            stop_statuses=[_STATUSES[s] for s in rules.get("stop_statuses", ())],
            stop_steps=list(rules.get("stop_steps", ())),
            extensions=[
                ExtensionRule(
                    code=e["code"],
                    reason_vi=e["reason"]["vi"],
                    reason_en=e["reason"]["en"],
                    amount=e["amount"],
                    unit=TimeLimitUnit(e["unit"]),
                )
                for e in rules.get("extensions", ())
            ],
            supplements_per_stage=int(rules.get("supplements_per_stage", 1)),
        )


@strawberry.type(
    description="New rules of a procedure from a date (sdk.RuleChange): dossiers received "
    "before it keep the rules in force at their receipt."
)
class RuleChangeNode:
    effective_from: dt.date
    legal_basis: list[LegalBasisRef] = strawberry.field(
        description="The successor legal basis that brings the change."
    )
    time_limit: int | None = strawberry.field(description="The new limit; null: unchanged.")
    time_limit_unit: TimeLimitUnit | None
    cutoff: str | None
    counting: CountingRulesNode | None = strawberry.field(
        description="The new counting rules; null: unchanged."
    )
    note: str

    @classmethod
    def of(cls, change: dict[str, Any]) -> RuleChangeNode:
        limit, counting = change.get("time_limit"), change.get("counting")
        return cls(
            effective_from=dt.date.fromisoformat(change["effective_from"]),
            legal_basis=[
                LegalBasisRef(
                    reference=b["reference"],
                    title=b.get("title", ""),
                    valid_from=_date(b.get("valid_from")),
                    valid_until=_date(b.get("valid_until")),
                )
                for b in change.get("legal_basis", ())
            ],
            time_limit=limit["amount"] if limit else None,
            time_limit_unit=TimeLimitUnit(limit["unit"]) if limit else None,
            cutoff=limit["cutoff"][:5] if limit and limit.get("cutoff") else None,
            counting=CountingRulesNode.of(counting) if counting is not None else None,
            note=change.get("note", ""),
        )


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@strawberry.type
class ProcedureNode:
    row: strawberry.Private[ProcedureRecord]

    @strawberry.field
    def code(self) -> str:
        return self.row.code

    @strawberry.field
    def name_vi(self) -> str:
        return self.row.name_vi

    @strawberry.field
    def name_en(self) -> str:
        return self.row.name_en

    @strawberry.field
    def sector(self) -> str:
        return self.row.sector

    @strawberry.field
    def level(self) -> ProcedureLevel:
        return ProcedureLevel(self.row.level)

    @strawberry.field
    def time_limit(self) -> int:
        return self.row.time_limit_amount

    @strawberry.field
    def time_limit_unit(self) -> TimeLimitUnit:
        return TimeLimitUnit(self.row.time_limit_unit)

    @strawberry.field(
        description="Received at or after this local time (HH:MM), the count starts the next "
        "working day; null: the procedure declares no cut-off."
    )
    def cutoff(self) -> str | None:
        return self.row.cutoff

    @strawberry.field(description="The procedure's counting rules (clock stops, extensions).")
    def counting(self) -> CountingRulesNode:
        return CountingRulesNode.of(self.row.counting or {})

    @strawberry.field(
        description="The rules that take over from a date (a successor legal basis), oldest "
        "first; a dossier gets the rules in force when it is received."
    )
    def rule_changes(self) -> list[RuleChangeNode]:
        return [RuleChangeNode.of(change) for change in self.row.revisions or []]

    @strawberry.field
    def step_codes(self) -> list[str]:
        return [s["code"] for s in self.row.steps]

    @strawberry.field
    def module(self) -> str:
        return self.row.module

    @strawberry.field(
        description="The legal documents it rests on (from the loaded module; empty when no "
        "loaded module provides the procedure)."
    )
    def legal_basis(self, info: strawberry.Info) -> list[LegalBasisRef]:
        procedure = procedure_of(info, self.row.code)
        return [
            LegalBasisRef(
                reference=b.reference,
                title=b.title,
                valid_from=b.valid_from,
                valid_until=b.valid_until,
            )
            for b in (procedure.legal_basis if procedure else ())
        ]

    @strawberry.field(
        description="True when one of its legal bases (from the loaded module) is past its "
        "validUntil (hết hiệu lực): the agencies that adopted it have it flagged for review "
        "(reviewFlags, cause EXPIRED)."
    )
    def legal_basis_expired(self, info: strawberry.Info) -> bool:
        procedure = procedure_of(info, self.row.code)
        today = utcnow().astimezone(VN_TZ).date()
        return any(
            b.valid_until is not None and b.valid_until < today
            for b in (procedure.legal_basis if procedure else ())
        )

    @strawberry.field(description="The documents the applicant files.")
    def components(self) -> list[DossierComponentNode]:
        return [
            DossierComponentNode(
                code=c["code"],
                name=c["name"]["vi"],
                name_en=c["name"]["en"],
                copies=c.get("copies", 1),
                required=c.get("required", True),
            )
            for c in self.row.components or []
        ]

    @strawberry.field(description="The fee; null when the procedure is free of charge.")
    def fee(self) -> ProcedureFee | None:
        fee = self.row.fee
        if not fee:
            return None
        return ProcedureFee(
            amount=str(fee["amount"]), currency=fee.get("currency", "VND"), note=fee.get("note", "")
        )

    @strawberry.field(
        description="The intake form, generated from the module's models: null when no loaded "
        "module provides the procedure."
    )
    def form(self, info: strawberry.Info) -> ProcedureForm | None:
        procedure = procedure_of(info, self.row.code)
        return ProcedureForm(procedure=procedure) if procedure else None


@strawberry.type(description="A legal document a procedure rests on (căn cứ pháp lý).")
class LegalBasisRef:
    reference: str = strawberry.field(description='Số hiệu, e.g. "151/2025/NĐ-CP".')
    title: str
    valid_from: dt.date | None
    valid_until: dt.date | None


@strawberry.type(description="A document the applicant files (thành phần hồ sơ).")
class DossierComponentNode:
    code: str
    name: str = strawberry.field(description="Tên tiếng Việt / Vietnamese name.")
    name_en: str
    copies: int
    required: bool


@strawberry.type(description="The fee or charge of a procedure (phí, lệ phí).")
class ProcedureFee:
    amount: str = strawberry.field(description="A decimal number, as text (no rounding).")
    currency: str
    note: str


@strawberry.type(
    name="Slip",
    description="A printable one-stop slip (Circular 03/2025/TT-VPCP, forms 01-06) the dossier "
    "has in its state, dated and frozen at the event it records.",
)
class SlipNode:
    form: strawberry.Private[slip_forms.SlipForm]
    dossier_gid: strawberry.Private[str]

    @strawberry.field(description="The form number, 1 to 5.")
    def number(self) -> int:
        return self.form.number

    @strawberry.field
    def title_vi(self) -> str:
        return self.form.title_vi

    @strawberry.field
    def title_en(self) -> str:
        return self.form.title_en

    @strawberry.field(description="GET with the same bearer token as /graphql.")
    def html_url(self) -> str:
        return slip_path(self.dossier_gid, self.form.number, "html")

    @strawberry.field(description="GET with the same bearer token as /graphql.")
    def pdf_url(self) -> str:
        return slip_path(self.dossier_gid, self.form.number, "pdf")


@strawberry.type(
    name="DossierAttachment",
    description="A file filed with the dossier online for one of its procedure's components; "
    "its type was recognised from its content. Seen by the officers of the dossier's agency.",
)
class DossierAttachmentNode:
    row: strawberry.Private[DossierAttachment]

    @strawberry.field(description="The attachment's id (DossierAttachment).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("DossierAttachment", self.row.province_id, self.row.id))

    @strawberry.field(description="The code of the procedure's component it is for.")
    def component_code(self) -> str:
        return self.row.component_code

    @strawberry.field(description="The file's name as sent (without folders).")
    def filename(self) -> str:
        return self.row.filename

    @strawberry.field(description="application/pdf, image/jpeg or image/png.")
    def media_type(self) -> str:
        return self.row.media_type

    @strawberry.field(description="In bytes.")
    def size(self) -> int:
        return self.row.size

    @strawberry.field(description="The sha256 of the content (hex): the stored file's name.")
    def sha256(self) -> str:
        return self.row.sha256

    @strawberry.field
    def uploaded_at(self) -> dt.datetime:
        return aware(self.row.uploaded_at)

    @strawberry.field(description="GET with the same bearer token as /graphql.")
    def url(self) -> str:
        return attachment_path(
            encode_id("Dossier", self.row.province_id, self.row.dossier_id),
            encode_id("DossierAttachment", self.row.province_id, self.row.id),
        )


def attachment_path(dossier_gid: str, attachment_gid: str) -> str:
    """Where a dossier's attachment downloads (core/http/downloads.py)."""
    return f"/dossiers/{dossier_gid}/attachments/{attachment_gid}"


def slip_path(dossier_gid: str, number: int, fmt: str) -> str:
    """Where a dossier's slip downloads (in `fmt`: html or pdf)."""
    # Kept equal to the routes of core/http/downloads.py (a test fetches these URLs).
    return f"/dossiers/{dossier_gid}/slips/{number:02d}.{fmt}"


def _set_later() -> Any:
    # A plain field filled by __post_init__: Strawberry resolves plain fields by attribute,
    # much cheaper than one resolver call per field (a page shows ~400 of them). Strawberry's
    # overloads take init=False only with a resolver; a plain field takes it at run time.
    return strawberry.field(init=False, default=None)  # type: ignore[call-overload]


# The row columns a node is made of (`DossierNode.of_rows`, in this order).
_FILL_ORDER = (
    "province_id",
    "id",
    "code",
    "procedure_code",
    "status",
    "current_step",
    "assignee",
    "received_at",
    "appointment_at",
    "was_late",
    "paused_at",
    "supplement_count",
    "version",
)
_FILLED = frozenset(_FILL_ORDER)
_READ = attrgetter(*_FILL_ORDER)


def _attributes(
    row: Any,
    now: dt.datetime,
    province_id: int,
    row_id: int,
    code: str,
    procedure_code: str,
    status: int,
    current_step: int,
    assignee: str | None,
    received_at: dt.datetime,
    appointment_at: dt.datetime | None,
    was_late: bool,
    paused_at: dt.datetime | None,
    supplement_count: int,
    version: int,
) -> dict[str, Any]:
    """A `DossierNode`'s attributes from its row's values (`_FILL_ORDER`)."""
    shown = _STATUSES[status]
    appointment_at = aware(appointment_at) if appointment_at else None
    return {
        "row": row,
        "id": _encode_gid("Dossier", province_id, row_id),
        "code": code,
        "procedure_code": procedure_code,
        "status": shown,
        "current_step": current_step,
        "assignee": assignee,
        "received_at": aware(received_at),
        "appointment_at": appointment_at,
        "late": _late(shown, appointment_at, was_late, paused_at, now),
        "supplement_count": supplement_count,
        "version": version,
    }


def _late(
    status: Status,
    appointment_at: dt.datetime | None,
    was_late: bool,
    paused_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    return was_late or overdue(status, appointment_at, now, stopped=paused_at is not None)


def _late_of_row(
    status: int,
    appointment_at: dt.datetime | None,
    was_late: bool,
    paused_at: dt.datetime | None,
    nodes: RowNodes[Any],
) -> bool:
    appointment = aware(appointment_at) if appointment_at else None
    return _late(_STATUSES[status], appointment, was_late, paused_at, nodes.now)


# What `_attributes` makes of a row, per attribute, for the executor to write a page's plain
# selection from the rows without a node each (RowNodes; a test compares the two).
_ROW_FIELDS: RowFields = {
    "id": RowField(("province_id", "id"), functools.partial(_encode_gid, "Dossier")),
    "code": RowField(("code",)),
    "procedure_code": RowField(("procedure_code",)),
    "status": RowField(("status",), _STATUSES.__getitem__),
    "current_step": RowField(("current_step",)),
    "assignee": RowField(("assignee",)),
    "received_at": RowField(("received_at",), aware),
    "appointment_at": RowField(("appointment_at",), aware),
    "late": RowField(("status", "appointment_at", "was_late", "paused_at"), _late_of_row, True),
    "supplement_count": RowField(("supplement_count",)),
    "version": RowField(("version",)),
}


@strawberry.type
class DossierNode(Node):
    row: strawberry.Private[Dossier]  # or any row with the columns of graphql/dossiers/page.py
    id: strawberry.ID = _set_later()
    code: str = _set_later()
    procedure_code: str = _set_later()
    status: DossierStatus = _set_later()
    current_step: int = _set_later()
    assignee: str | None = _set_later()
    received_at: dt.datetime = _set_later()
    appointment_at: dt.datetime | None = _set_later()
    late: bool = _set_later()
    supplement_count: int = _set_later()
    version: int = _set_later()

    def __post_init__(self) -> None:
        self._fill(utcnow())

    @classmethod
    def of_rows(cls, rows: Iterable[Any], now: dt.datetime) -> Sequence[DossierNode]:
        """Nodes for a page of rows (graphql/dossiers/page.py's, of its columns), each built
        when read (RowNodes: a plain selection of them is written from the rows); of other
        rows, built at once (`_built`)."""
        rows = list(rows)
        fields = getattr(rows[0], "_fields", None) if rows else None
        if fields is None or not _FILLED.issubset(fields):
            return cls._built(rows, now)
        return RowNodes(rows, cls._built, _ROW_FIELDS, now)

    @classmethod
    def _built(cls, rows: Sequence[Any], now: dt.datetime) -> list[DossierNode]:
        """The nodes of `rows`, without the dataclass `__init__` (a page builds 50): the
        values taken from each row at once by position (a Row's attribute costs a key
        look-up each) and the node's attributes given as one dictionary; what `_fill` makes
        of any other row."""
        fields = getattr(rows[0], "_fields", None) if rows else None
        if fields is None or not _FILLED.issubset(fields):
            nodes = []
            for row in rows:
                node = cls.__new__(cls)
                node.row = row
                node._fill(now)
                nodes.append(node)
            return nodes
        take = itemgetter(*(fields.index(name) for name in _FILL_ORDER))
        new, nodes = cls.__new__, []
        for row in rows:
            node = new(cls)
            node.__dict__ = _attributes(row, now, *take(row))
            nodes.append(node)
        return nodes

    def _fill(self, now: dt.datetime) -> None:
        self.__dict__.update(_attributes(self.row, now, *_READ(self.row)))

    # Relations, batched per request (graphql/dossiers/dataloaders.py): synchronous resolvers
    # that complete in place when the loader already holds the value (shared/loading.py).
    @strawberry.field(
        description="The procedure, from the catalogue (null only for a dossier whose procedure "
        "the catalogue never had)."
    )
    def procedure(self, info: strawberry.Info) -> ProcedureNode | None:
        # The annotation is the GraphQL type: graphql-core awaits an awaitable answer.
        return then(  # type: ignore[return-value]
            dossier_loaders(info).procedures.load(self.row.procedure_code), _procedure_node
        )

    @strawberry.field(
        description="The receiving agency; null when the caller's scope does not show it (an "
        "agency holding a later step sees the dossier, not the agency)."
    )
    def agency(self, info: strawberry.Info) -> AgencyNode | None:
        key = (self.row.province_id, self.row.agency_id)
        return then(loaders(info).agencies.load(key), _agency_node)  # type: ignore[return-value]

    @strawberry.field(
        description="Each transition, oldest first: who, when, from and to which status, the "
        "note or reason. The rows of the caller's agency (each agency records its own moves; "
        "the citizen's lookup shows the whole journey without names)."
    )
    def timeline(self, info: strawberry.Info) -> list[TimelineEvent]:
        key = (self.row.province_id, self.row.id)
        return then(  # type: ignore[return-value]
            dossier_loaders(info).timelines.load(key), TimelineEvent.of_rows
        )

    @strawberry.field(
        description="The step the dossier is at (`currentStep` is its index), with its assignee; "
        "null before the first step is known to the catalogue."
    )
    def step(self, info: strawberry.Info) -> CurrentStep | None:
        row = self.row
        return then(  # type: ignore[return-value]
            dossier_loaders(info).procedures.load(row.procedure_code),
            lambda procedure: CurrentStep.of(procedure, row.current_step, row.assignee),
        )

    @strawberry.field(
        description="The slips this dossier has in its state (01 and 06 from receipt, 02 after a "
        "supplement request, 03 when refused, 04 after an apology, 05 when stopped)."
    )
    def slips(self) -> list[SlipNode]:
        gid = encode_id("Dossier", self.row.province_id, self.row.id)
        return [SlipNode(form=f, dossier_gid=gid) for f in slip_forms.available(self.row)]

    @strawberry.field(
        description="The files filed with the dossier online, in filing order (the dossier's "
        "agency only: empty for an agency holding a later step)."
    )
    def attachments(self, info: strawberry.Info) -> list[DossierAttachmentNode]:
        key = (self.row.province_id, self.row.id)
        return then(  # type: ignore[return-value]
            dossier_loaders(info).attachments.load(key), _attachment_nodes
        )

    @strawberry.field(
        description="The moves the caller may make now on this dossier: what the engine would "
        "take given its status, step, acceptance, supplement limits and apology or extension "
        "rules, from the caller's agency (the holder of the current step; the receiving agency "
        "returns the result), and what the caller's role allows (each move's mutation rule). "
        "Empty for a caller of no single agency. The engine still decides: the inputs (a "
        "reason, a new appointment) are checked when the move is made. Reads the dossier: ask "
        "it of one dossier, not of a page."
    )
    async def allowed_moves(self, info: strawberry.Info) -> list[desk.DossierMove]:
        return await desk.allowed_moves(info, self.row)

    @strawberry.field(
        description="Người nộp hồ sơ / the applicant (personal data): to the officers and "
        "leaders of the receiving agency only (null for anyone else: an agency holding a later "
        "step, an integration client); each read is recorded in the audit trail "
        "(dossier.personal_data_read, without the data)."
    )
    async def applicant(self, info: strawberry.Info) -> Applicant | None:
        found = await desk.personal_data(info, self.row)
        return Applicant.of(found.applicant) if found else None

    @strawberry.field(
        description="The sector data the dossier was received with (the procedure's form "
        "fields, as the module's model validated them): personal data, to the same callers as "
        "`applicant` (null for anyone else), read and audited with it."
    )
    async def sector_data(self, info: strawberry.Info) -> JSON | None:
        found = await desk.personal_data(info, self.row)
        return JSON(found.sector_data) if found else None

    @strawberry.field(
        description="The steps the caller's agency holds (with their own data); "
        "steps held by other agencies are not shown."
    )
    def my_steps(self, info: strawberry.Info) -> list[DossierStepNode]:
        key = (self.row.province_id, self.row.id)
        return then(  # type: ignore[return-value]
            dossier_loaders(info).steps.load(key), _step_nodes
        )


def _procedure_node(row: ProcedureRecord | None) -> ProcedureNode | None:
    # A dossier's procedure stays in the catalogue (inactive at worst).
    return ProcedureNode(row=row) if row else None


def _attachment_nodes(rows: list[DossierAttachment]) -> list[DossierAttachmentNode]:
    return [DossierAttachmentNode(row=r) for r in rows]


def _step_nodes(rows: list[DossierStep]) -> list[DossierStepNode]:
    return [DossierStepNode(row=r) for r in rows]


def _agency_node(row: Agency | None) -> AgencyNode | None:
    return AgencyNode(row=row) if row else None


@strawberry.type(description="Someone who acted on a dossier: an officer, the citizen, the system.")
class Actor:
    subject: str = strawberry.field(
        description="The account's subject (`citizen` through the portal, `system`)."
    )

    @strawberry.field(description="The display name (the subject when it is no account).")
    def name(self, info: strawberry.Info) -> str:
        return then(dossier_loaders(info).names.load(self.subject), str)  # type: ignore[return-value]


@strawberry.type(description="One transition of a dossier (its timeline row).")
class TimelineEvent:
    row: strawberry.Private[DossierEventRow]
    at: dt.datetime = _set_later()
    action: DossierAction = _set_later()
    from_status: DossierStatus | None = _set_later()
    to_status: DossierStatus = _set_later()
    note: str = _set_later()
    actor: Actor = _set_later()

    def __post_init__(self) -> None:
        row = self.row
        self.at, self.action, self.note = aware(row.at), DossierAction(row.action), row.note
        self.from_status = _STATUSES[row.from_status] if row.from_status else None
        self.to_status = _STATUSES[row.to_status]
        self.actor = Actor(subject=row.actor)

    @classmethod
    def of_rows(cls, rows: list[DossierEventRow]) -> list[TimelineEvent]:
        return [cls(row=row) for row in rows]

    @strawberry.field(description="The agency that acted (its own records).")
    def agency(self, info: strawberry.Info) -> AgencyNode | None:
        key = (self.row.province_id, self.row.agency_id)
        return then(loaders(info).agencies.load(key), _agency_node)  # type: ignore[return-value]

    to_status_label_vi, to_status_label_en = _status_labels("to_status")


@strawberry.type(description="The step a dossier is at.")
class CurrentStep:
    index: int
    code: str
    name_vi: str
    name_en: str
    responsible_role: str
    assignee: Actor | None = strawberry.field(description="The officer it is assigned to.")

    @classmethod
    def of(
        cls, procedure: ProcedureRecord | None, index: int, assignee: str | None
    ) -> CurrentStep | None:
        steps = procedure.steps if procedure else []
        if not 0 <= index < len(steps):
            return None
        step = steps[index]
        return cls(
            index=index,
            code=step["code"],
            name_vi=step["name"]["vi"],
            name_en=step["name"]["en"],
            responsible_role=step.get("responsible_role", ""),
            assignee=Actor(subject=assignee) if assignee else None,
        )


@strawberry.type(description="One step of a dossier, held by one agency.")
class DossierStepNode:
    row: strawberry.Private[DossierStep]

    @strawberry.field
    def index(self) -> int:
        return self.row.step_index

    @strawberry.field
    def code(self) -> str:
        return self.row.step_code

    @strawberry.field
    def status(self) -> DossierStepStatus:
        return DossierStepStatus(self.row.status)

    @strawberry.field(description="The agency holding the step.")
    def agency_id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("Agency", self.row.province_id, self.row.agency_id))

    @strawberry.field(description="The step's own sector data, recorded when it was completed.")
    def sector_data(self) -> JSON:
        return JSON(self.row.sector_data)

    @strawberry.field
    def started_at(self) -> dt.datetime:
        return aware(self.row.started_at)

    @strawberry.field
    def completed_at(self) -> dt.datetime | None:
        return aware(self.row.completed_at) if self.row.completed_at else None


@strawberry.type
class ReceivedDossier:
    dossier: DossierNode
    applicant: Applicant = strawberry.field(
        description="The applicant as stored (to the receiving officer only, in this answer)."
    )
    lookup_key: str | None = strawberry.field(
        description="Given once, on the first answer; eiso keeps only its hash."
    )
    replayed: bool
    receipt_slip_html: str | None = strawberry.field(
        default=None,
        description="Slip 01 (receipt and appointment) as HTML, printed with the lookup key: "
        "only on the first answer for a dossier received at the counter. Later prints of slip "
        "01 say the key is on the original.",
    )


@strawberry.type
class PublicEvent:
    at: dt.datetime
    action: DossierAction
    status: DossierStatus
    status_label_vi, status_label_en = _status_labels()
    agency: str = strawberry.field(
        description="The agency that acted (one timeline across agencies)."
    )


@strawberry.type(description="The supplement the dossier waits for (slip 02's request).")
class SupplementRequest:
    text: str = strawberry.field(
        description="Nội dung, lý do yêu cầu bổ sung: what to add, and why."
    )
    requested_at: dt.datetime


@strawberry.type
class PublicDossier:
    code: str
    procedure_code: str
    status: DossierStatus
    status_label_vi, status_label_en = _status_labels()
    received_at: dt.datetime
    appointment_at: dt.datetime | None
    late: bool
    timeline: list[PublicEvent]
    supplement_request: SupplementRequest | None = strawberry.field(
        description="While the status is supplement requested: the request to answer."
    )
    rated: bool = strawberry.field(
        default=False, description="Whether the citizen has rated the dossier (once only)."
    )
