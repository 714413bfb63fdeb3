"""What a module declares: the `hookimpl` marker and the data classes its hooks return
(`ModuleInfo`, `Procedure`, `Step`, ...) or receive (`DossierEvent`), and `DossierRecord`.

Vendors reach them through `eiso.core.sdk`, the one door; inside the core the plugin system and
the domain import them from here. Everything here is covered by the core API version
`CORE_API_VERSION`: a module declares the range it supports in `ModuleInfo.core_api`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from typing import Any, Literal, Self

import pluggy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PROJECT = "eiso"
# The version of this surface (hooks + data classes + eiso.core.sdk's readers). Additions bump
# the minor, removals or changed meanings the major; a module says which range it supports
# (`core_api`).
# 1.1: Step.data_model, Procedure.unique_fields, finished_dossiers.
# 1.2: finished_dossiers takes the caller (a resolver's info.context), not a Strawberry info;
#      an info still works.
# 1.3: TimeLimit units same_working_day and calendar_days (Civil Code; "days" is read as
#      calendar_days), no global cut-off (only TimeLimit.cutoff), Procedure.counting
#      (clock stops, extensions, supplements per stage).
#      ModuleInfo.dossier_events: a hook hears its own module's procedures unless it asks for
#      "all" (before 1.3 it heard every dossier of the provinces that enabled it).
# 1.4: form_field (a data model's field with the intake form's labels), ProcedureSummary (a
#      procedure as a module's GraphQL `procedures` field lists it), module_store (a module's
#      keys and counters per province), the Caller and CallerPrincipal protocols, Role,
#      ModuleInfo.migrations (a module's own tables).
#      The event readers a hook calls with its event: dossier_contact (ApplicantContact),
#      dossier_slip (SlipFile), module_config.
# 1.5: RuleChange and Procedure.revisions (the successor legal basis and the rules it brings
#      from its start date; a dossier keeps the rules in force when it was received).
# 1.6: the eiso_sweep hook (a module's periodic pass over each province that has it on).
CORE_API_VERSION = "1.6"

hookimpl = pluggy.HookimplMarker(PROJECT)

# A module's name: its entry point, `ModuleInfo.name`, the name a province switches on.
MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
MODULE_NAME_RULE = "a module name is 2-63 characters of a-z, 0-9 and _, starting with a letter"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class LocalizedText(_Frozen):
    """A user-facing text in Vietnamese (with diacritics) and English."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ModuleInfo(_Frozen):
    """What `eiso_module()` returns. `name` equals the entry point's name."""

    name: str
    title: LocalizedText
    version: str
    sector: str
    # A PEP 440 specifier set over CORE_API_VERSION, e.g. ">=1.0,<2".
    core_api: str = ">=1.0,<2"
    depends_on: tuple[str, ...] = ()
    # Validates the configuration a province sets when it enables the module.
    config_model: type[BaseModel] | None = None
    # Which dossiers `eiso_on_dossier_event` hears: "own" (those of this module's procedures,
    # `event.module == name`) or "all" (every dossier of a province that enabled the module,
    # e.g. an SMS notifier for every procedure). Since core API 1.3.
    dossier_events: Literal["own", "all"] = "own"
    # The module's own tables: its Alembic revision files, as "package:folder" (e.g.
    # "eiso_household:migrations"), applied by `eiso db upgrade` after the core's, in the
    # version table `alembic_version_<name>`. None: no tables of its own. Since core API 1.4.
    migrations: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[\w./-]+$")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not MODULE_NAME.match(value):
            raise ValueError(MODULE_NAME_RULE)
        return value


class LegalBasis(_Frozen):
    """A legal document a procedure rests on, with the dates it is valid."""

    reference: str  # e.g. "Luật Đất đai 2024", "151/2025/NĐ-CP"
    title: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


TimeUnit = Literal["working_days", "working_hours", "same_working_day", "calendar_days"]


class TimeLimit(_Frozen):
    """The statutory time limit on the Vietnamese calendar (eiso.core.workdays.counting):
    working days, working hours, the same working day (amount 0), or calendar days counted
    as the Civil Code does (arts. 147-148). "days" (core API < 1.3) is read as calendar_days."""

    amount: int = Field(ge=0)
    unit: TimeUnit = "working_days"
    # Received at or after this local time, the clock starts the next working day (e.g. civil
    # status: 15:00). None: no cut-off (only office close and rest days move the start).
    cutoff: dt.time | None = None

    @field_validator("unit", mode="before")
    @classmethod
    def _legacy_unit(cls, value: object) -> object:
        return "calendar_days" if value == "days" else value


class Extension(_Frozen):
    """An extension the law allows for a case of the procedure (e.g. +5 working days when the
    birth facts must be verified): recorded once per dossier, with the officer's reason."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    reason: LocalizedText
    amount: int = Field(gt=0)
    unit: TimeUnit = "working_days"


class CountingRules(_Frozen):
    """How a procedure's clock counts beyond its time limit. Since core API 1.3.

    `stop_statuses`: national statuses (1..10) during which the clock stands still, besides 5
    (a supplement requested, always); e.g. 6 (financial obligation) for land. `stop_steps`:
    codes of the procedure's steps during which it stands still (public posting, expert
    assessment). `supplements_per_stage`: how many supplement requests each agency's stage of
    the dossier may make after acceptance (the Construction Law allows a second notice)."""

    stop_statuses: tuple[int, ...] = ()
    stop_steps: tuple[str, ...] = ()
    extensions: tuple[Extension, ...] = ()
    supplements_per_stage: int = Field(default=1, ge=1, le=5)

    @field_validator("stop_statuses")
    @classmethod
    def _statuses(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        # 5 (supplement) always stops the clock; 6 is the one a procedure may add
        if not set(value) <= {6}:
            raise ValueError("stop_statuses: only 6 (5 always stops the clock)")
        return value


class DossierComponent(_Frozen):
    """A document the applicant files ("thành phần hồ sơ")."""

    code: str
    name: LocalizedText
    copies: int = Field(default=1, ge=0)
    required: bool = True


class Step(_Frozen):
    """One step of the process: who handles it and its own time budget."""

    code: str
    name: LocalizedText
    responsible_role: str  # a Role value of eiso, e.g. "officer", "leader"
    responsible_unit: str | None = None  # a unit kind or code inside the agency
    budget: TimeLimit
    # The pydantic model of the data this step's agency records when it completes the step
    # (kept with the step, seen by that agency only). Since core API 1.1.
    data_model: type[BaseModel] | None = None


class Fee(_Frozen):
    amount: Decimal = Field(ge=0)
    currency: str = "VND"
    note: str = ""


class UniqueField(_Frozen):
    """A sector data field whose value must be unique among the live dossiers of `namespace`
    at the receiving agency (e.g. a household business name within the commune), compared
    case- and diacritics-insensitively. A clash answers `error_code` naming the field; the
    value is freed when the dossier is refused, withdrawn or stopped. Since core API 1.1."""

    field: str
    namespace: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    error_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")
    message: LocalizedText


class RuleChange(_Frozen):
    """New rules of a procedure from `effective_from` (a date in Vietnam), usually brought by
    the successor of an expiring legal basis: the new `legal_basis` and, where it changes them,
    the `time_limit` and the `counting` rules. A dossier received before that date keeps the
    rules in force at its receipt; one received on or after it gets these. What a change leaves
    None stays as the rules before it had it. Since core API 1.5."""

    effective_from: dt.date
    legal_basis: tuple[LegalBasis, ...] = ()
    time_limit: TimeLimit | None = None
    counting: CountingRules | None = None
    note: str = ""


class Procedure(_Frozen):
    """An administrative procedure (ISO 9001 clause 4.4) as a module defines it."""

    code: str  # the code in the national procedure database, e.g. "1.001193"
    name: LocalizedText
    sector: str
    level: Literal["nation", "province", "commune"] = "commune"
    legal_basis: tuple[LegalBasis, ...] = ()
    time_limit: TimeLimit
    components: tuple[DossierComponent, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)
    result: LocalizedText
    fee: Fee | None = None
    # The pydantic model of the sector data a dossier of this procedure carries.
    data_model: type[BaseModel] | None = None
    unique_fields: tuple[UniqueField, ...] = ()
    counting: CountingRules = CountingRules()
    # The rules that take over from a date (a successor legal basis), oldest first. Since 1.5.
    revisions: tuple[RuleChange, ...] = ()

    @model_validator(mode="after")
    def _counting_steps(self) -> Procedure:
        codes = {s.code for s in self.steps}
        dates = [r.effective_from for r in self.revisions]
        if dates != sorted(set(dates)):
            raise ValueError("revisions: effective_from dates must increase, one change a date")
        for where, counting, limit in (
            ("", self.counting, self.time_limit),
            *(("revisions.", r.counting, r.time_limit) for r in self.revisions),
        ):
            unknown = [c for c in counting.stop_steps if c not in codes] if counting else []
            if unknown:
                raise ValueError(f"{where}counting.stop_steps: no step {', '.join(unknown)}")
            if limit and limit.unit == "same_working_day" and limit.amount:
                raise ValueError(f"{where}time_limit: same_working_day has amount 0")
        return self


class DossierEvent(_Frozen):
    """A committed dossier transition, handed to `eiso_on_dossier_event` after commit."""

    province_id: int
    agency_id: int
    dossier_id: int
    dossier_code: str
    procedure_code: str
    module: str | None = None
    from_status: int | None = None
    to_status: int  # one of the ten national dossier statuses (1..10)
    actor: str
    at: dt.datetime
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def action(self) -> str | None:
        """What happened (`data["action"]`): `received`, `assigned`, `step_completed`,
        `returned`, ... Since core API 1.4."""
        action = self.data.get("action")
        return None if action is None else str(action)

    @property
    def outbox_id(self) -> int | None:
        """The event's id (`data["outbox_id"]`), the same on a redelivery: the key that makes
        a hook idempotent. Since core API 1.4."""
        outbox_id = self.data.get("outbox_id")
        return None if outbox_id is None else int(outbox_id)


class DossierRecord(_Frozen):
    """A finished dossier as a module's own GraphQL field may show it (`finished_dossiers`):
    never the applicant's personal data. Since core API 1.1."""

    code: str
    procedure_code: str
    status: int  # 9 processed, 10 returned
    received_at: dt.datetime
    finished_at: dt.datetime
    sector_data: dict[str, Any] = Field(default_factory=dict)


def form_field(vi: str, en: str, *, description: str | None = None, **constraints: Any) -> Any:
    """A pydantic `Field` labelled for the intake form (docs/plugins.md, "Labels of the intake
    form"): `vi` is its `title`, `en` its `title_en`, and its description "vi / en" unless
    `description` is given. `constraints` are `Field`'s other arguments (`min_length`, `ge`,
    `default`, ...); a `json_schema_extra` dict among them adds to `title_en` (a `pattern`,
    `choices`). Since core API 1.4."""
    extra = {"title_en": en, **constraints.pop("json_schema_extra", {})}
    return Field(
        title=vi,
        description=f"{vi} / {en}" if description is None else description,
        json_schema_extra=extra,
        **constraints,
    )


@dataclasses.dataclass
class ProcedureSummary:
    """A procedure as a module's GraphQL `procedures` field lists it: its code, names and time
    limit (the amount, in the procedure's unit). Plain data, no GraphQL: subclass it under
    `@strawberry.type` with a type name of your module and answer `[YourType.of(p) for p in
    procedures]`. Since core API 1.4."""

    code: str
    name: str
    name_en: str
    time_limit_days: int

    @classmethod
    def of(cls, procedure: Procedure) -> Self:
        return cls(
            code=procedure.code,
            name=procedure.name.vi,
            name_en=procedure.name.en,
            time_limit_days=procedure.time_limit.amount,
        )


def _masked(value: str | None) -> str | None:
    return None if value is None else "***"


class ApplicantContact(_Frozen):
    """How to reach a dossier's applicant (`dossier_contact`): personal data, for a module that
    tells the applicant something. Its `repr` (what a log line or a traceback would show) masks
    every value; never log the fields themselves. Since core API 1.4."""

    full_name: str | None = None  # a person's name, or None for an organisation
    organisation: str | None = None
    email: str | None = None
    phone: str | None = None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={_masked(getattr(self, name))!r}" for name in type(self).model_fields
        )
        return f"ApplicantContact({shown})"

    __str__ = __repr__

    @property
    def addressee(self) -> str | None:
        """The name to address: the person's, else the organisation's."""
        return self.full_name or self.organisation


class SlipFile(_Frozen):
    """A slip of a dossier as issued, rendered (`dossier_slip`): e.g. slip 04, the apology, as
    a PDF to attach to an e-mail. Since core API 1.4."""

    number: int
    body: bytes
    media_type: str
    filename: str

    def __repr__(self) -> str:
        return f"SlipFile(number={self.number}, filename={self.filename!r}, {len(self.body)} bytes)"
