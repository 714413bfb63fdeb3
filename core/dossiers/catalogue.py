"""The procedure catalogue (synced from the modules' `eiso_procedures`) and agency adoption."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, event, exists, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col, select

from eiso.core import audit
from eiso.core.dossiers import listeners
from eiso.core.dossiers.models import Dossier, ProcedureAdoption, ProcedureRecord
from eiso.core.dossiers.statuses import OPEN_FOR_DROP
from eiso.core.errors import COUNTING_LOOSER, MODULE_DISABLED, DomainError, NotFound
from eiso.core.plugins.declarations import Procedure
from eiso.core.workdays import VN_TZ
from eiso.infra.clock import aware, utcnow
from eiso.infra.db import find_one
from eiso.infra.pg_begin import is_citus
from eiso.infra.tables import dialect_insert, table_of
from eiso.tenants.models import Unit
from eiso.tenants.modules import ModuleActivation
from eiso.tenants.scope import TenantScope

if TYPE_CHECKING:
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.resources import Resources


def row_values(procedure: Procedure, module: str) -> dict[str, Any]:
    """The catalogue row of a module's procedure (the bench generator writes the same rows)."""
    limit = procedure.time_limit
    return {
        "name_vi": procedure.name.vi,
        "name_en": procedure.name.en,
        "sector": procedure.sector,
        "level": procedure.level,
        "time_limit_amount": limit.amount,
        "time_limit_unit": limit.unit,
        "cutoff": limit.cutoff.strftime("%H:%M") if limit.cutoff else None,
        "steps": [s.model_dump(mode="json", exclude={"data_model"}) for s in procedure.steps],
        "components": [c.model_dump(mode="json") for c in procedure.components],
        "fee": procedure.fee.model_dump(mode="json") if procedure.fee else None,
        "counting": procedure.counting.model_dump(mode="json"),
        "revisions": [r.model_dump(mode="json") for r in procedure.revisions],
        "module": module,
        "active": True,
    }


# Any constant works: it only has to be the same in every worker of the deployment.
SYNC_LOCK_KEY = 0x6E50_5C47  # "eiso procedure catalogue"


@dataclasses.dataclass
class SyncReport:
    """What one sync changed: codes added, updated (module changed them), deactivated (no
    loaded module offers them any more), and how many were already up to date."""

    added: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    deactivated: list[str] = dataclasses.field(default_factory=list)
    unchanged: int = 0
    # (code, module kept, module ignored): two loaded modules offer the same code
    duplicates: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    @property
    def synced(self) -> int:
        return len(self.added) + len(self.updated) + self.unchanged


async def _lock(session: AsyncSession) -> None:
    # Several workers starting at once: on PostgreSQL one syncs at a time (the lock is held
    # until commit); the next then reads the rows the first committed and finds nothing to do.
    # SQLite has one writer at a time anyway, and the upserts below never collide.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK_KEY})
        connection = (await session.connection()).sync_connection
        if connection is not None and is_citus(connection):
            # The sync's listeners read every province's adoptions (a multi-shard statement);
            # in parallel mode Citus then refuses any later write to a reference table
            # (provinces, agencies) in the same transaction.
            await session.execute(text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))


async def sync_catalogue(session: AsyncSession, registry: PluginRegistry) -> SyncReport:
    """Upsert one row per procedure of the loaded modules; procedures no module provides any
    more stay (dossiers refer to them) but are marked inactive. Idempotent: a second sync
    writes nothing. Safe when several workers start at once."""
    await _lock(session)
    table = table_of(ProcedureRecord)
    columns = [c for c in table.c if c.name not in ("id", "code", "updated_at")]
    # Core rows, not ORM objects: the upserts below would leave such objects stale.
    existing = {r.code: r for r in (await session.execute(select(table.c.code, *columns))).all()}
    report, now = SyncReport(), utcnow()
    # code -> the module kept; the events name the same one (core/dossiers/hooks.py)
    seen = registry.procedure_owners()
    written: set[str] = set()
    for name, record in registry.loaded.items():
        for procedure in record.procedures:
            if seen[procedure.code] != name or procedure.code in written:
                report.duplicates.append((procedure.code, seen[procedure.code], name))
                continue
            written.add(procedure.code)
            values = row_values(procedure, name)
            row = existing.get(procedure.code)
            if row is not None and all(getattr(row, key) == value for key, value in values.items()):
                report.unchanged += 1
                continue
            (report.added if row is None else report.updated).append(procedure.code)
            statement = dialect_insert(session, table).values(
                code=procedure.code, updated_at=now, **values
            )
            # A concurrent starter may have inserted the row since we read: update it instead.
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["code"], set_={"updated_at": now, **values}
                )
            )
    gone = sorted(code for code, row in existing.items() if code not in seen and row.active)
    if gone:
        await session.execute(
            update(table).where(table.c.code.in_(gone)).values(active=False, updated_at=now)
        )
    report.deactivated = gone
    # A module update that changed a legal basis flags what rests on it for review (the QMS
    # listens: core/qms/legal.py).
    await listeners.catalogue_synced(
        session, [p for r in registry.loaded.values() for p in r.procedures]
    )
    return report


async def sync_registry(resources: Resources, registry: PluginRegistry) -> SyncReport:
    """The sync in its own transaction (app start-up, `eiso procedures sync`, `eiso demo`)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await sync_catalogue(session, registry)


# Procedures this transaction read (the dossier engine's `load` reads a move's with its
# dossier): a move asks for its procedure several times; forgotten with the transaction.
_READ = "eiso.catalogue.procedures"


def remember(session: AsyncSession, procedure: ProcedureRecord) -> None:
    session.info.setdefault(_READ, {})[procedure.code] = procedure


@event.listens_for(Session, "after_transaction_end")
def _forget_read(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:
        session.info.pop(_READ, None)


async def read_procedure(session: AsyncSession, code: str) -> ProcedureRecord:
    """The procedure's row, active or not (a slip of a procedure no module provides any more
    still prints it): the one this transaction read already, else read now."""
    row = session.info.get(_READ, {}).get(code)
    if row is None:
        row = (
            await session.execute(select(ProcedureRecord).where(ProcedureRecord.code == code))
        ).scalar_one()
    return row


async def get_procedure(session: AsyncSession, code: str) -> ProcedureRecord:
    row = session.info.get(_READ, {}).get(code)
    if row is None:
        row = await find_one(session, ProcedureRecord, code=code)
        if row is not None:
            remember(session, row)
    if row is None or not row.active:
        raise NotFound(f"procedure {code!r} not found", f"không tìm thấy thủ tục {code!r}")
    return row


def rules_at(procedure: ProcedureRecord, at: dt.datetime) -> ProcedureRecord:
    """The procedure with the rules in force at `at` (a dossier's receipt, Vietnam's date):
    each `sdk.RuleChange` whose `effective_from` is on or before that date, oldest first,
    replaces the time limit and the counting rules it declares. The row itself when no change
    applies; else a copy that is never added to the session."""
    day = aware(at).astimezone(VN_TZ).date()
    changes = [
        change
        for change in procedure.revisions or []
        if dt.date.fromisoformat(change["effective_from"]) <= day
    ]
    if not changes:
        return procedure
    values = procedure.model_dump()
    for change in changes:
        if limit := change.get("time_limit"):
            cutoff = limit.get("cutoff")
            values.update(
                time_limit_amount=limit["amount"],
                time_limit_unit=limit["unit"],
                cutoff=cutoff[:5] if cutoff else None,
            )
        if change.get("counting") is not None:
            values["counting"] = change["counting"]
    return ProcedureRecord(**values)


def amount_in_force(base: ProcedureRecord, in_force: ProcedureRecord, adopted: int) -> int:
    """The time limit a dossier gets under the rules `in_force` at its receipt, from the one
    its agency `adopted` under the procedure's first rules (`base`): an agency that shortened
    the limit keeps its shorter one while it stays shorter than the new limit in the same unit;
    otherwise (not shortened, or a new unit) the new statutory limit applies."""
    limit = (in_force.time_limit_amount, in_force.time_limit_unit)
    if limit == (base.time_limit_amount, base.time_limit_unit):  # the limit did not change
        return adopted
    if in_force.time_limit_unit != base.time_limit_unit or adopted >= base.time_limit_amount:
        return in_force.time_limit_amount
    return min(adopted, in_force.time_limit_amount)


async def procedure_in_force(
    session: AsyncSession, code: str, received_at: dt.datetime
) -> ProcedureRecord:
    """`get_procedure` with the rules in force when the dossier was received (`rules_at`)."""
    return rules_at(await get_procedure(session, code), received_at)


async def require_module_enabled(
    session: AsyncSession, procedure: ProcedureRecord, province_id: int
) -> None:
    """A new dossier of `procedure` needs its module (the catalogue's owner) switched on in the
    province, read in the receipt's own transaction: while it is off (or was never on) the
    province takes no new dossiers of it; those already received go on (docs/dossiers.md)."""
    enabled = await session.scalar(
        select(col(ModuleActivation.id))
        .where(
            col(ModuleActivation.province_id) == province_id,
            col(ModuleActivation.module) == procedure.module,
            col(ModuleActivation.enabled).is_(True),
        )
        .limit(1)
    )
    if enabled is None:
        raise MODULE_DISABLED(procedure=procedure)


async def adopt(
    session: AsyncSession,
    *,
    province_id: int,
    agency_id: int,
    procedure_code: str,
    actor: str,
    time_limit: int | None = None,
    step_units: dict[str, int] | None = None,
    step_agencies: dict[str, int] | None = None,
    known_agencies: frozenset[int] = frozenset(),
    cutoff: str | None = None,
    supplements_per_stage: int | None = None,
) -> ProcedureAdoption:
    """An agency adopts a procedure: maps steps to its units, may shorten the time limit,
    tighten the counting rules (an earlier `cutoff`, fewer `supplements_per_stage`), and
    maps the steps other agencies hold to those agencies (`known_agencies`: the active
    agencies of its province among the ids named, looked up by the caller)."""
    procedure = await get_procedure(session, procedure_code)
    cutoff = _tighter_cutoff(procedure, cutoff)
    supplements = _fewer_supplements(procedure, supplements_per_stage)
    amount = procedure.time_limit_amount if time_limit is None else time_limit
    if amount < 0:
        raise DomainError(
            "timeLimit: must be >= 0", "timeLimit: phải >= 0", code="BAD_INPUT", field="timeLimit"
        )
    if amount > procedure.time_limit_amount:
        raise DomainError(
            f"timeLimit: {amount} is longer than the statutory {procedure.time_limit_amount} "
            f"{procedure.time_limit_unit}; an agency may only shorten it",
            f"timeLimit: {amount} dài hơn thời hạn luật định {procedure.time_limit_amount}; "
            "cơ quan chỉ được rút ngắn",
            code="TIME_LIMIT_TOO_LONG",
            field="timeLimit",
        )
    step_codes = {s["code"] for s in procedure.steps}
    units = {}
    for step, unit_id in (step_units or {}).items():
        if step not in step_codes:
            raise DomainError(
                f"stepUnits.{step}: no such step",
                f"stepUnits.{step}: không có bước này",
                code="BAD_INPUT",
                field=f"stepUnits.{step}",
            )
        if await find_one(session, Unit, id=unit_id, agency_id=agency_id) is None:
            raise DomainError(
                f"stepUnits.{step}: unit not found in this agency",
                f"stepUnits.{step}: không tìm thấy bộ phận trong cơ quan",
                code="BAD_INPUT",
                field=f"stepUnits.{step}",
            )
        units[step] = unit_id
    agencies = _step_agencies(
        procedure.steps[0]["code"], step_codes, step_agencies or {}, known_agencies
    )
    row = await find_adoption(session, agency_id, procedure_code)
    if row is None:
        row = ProcedureAdoption(
            province_id=province_id,
            agency_id=agency_id,
            procedure_code=procedure_code,
            time_limit_amount=amount,
            step_units=units,
            step_agencies=agencies,
        )
        session.add(row)
    else:
        row.time_limit_amount, row.step_units, row.step_agencies = amount, units, agencies
    row.cutoff, row.supplements_per_stage = cutoff, supplements
    await session.flush()
    await _audit(
        session,
        row,
        actor,
        "procedure.adopted",
        step_agencies=agencies,
        cutoff=cutoff,
        supplements_per_stage=supplements,
    )
    # A procedure resting on an expired legal basis is flagged for review at once (the QMS
    # listens: core/qms/legal.py).
    await listeners.adopted(session, row, actor)
    return row


async def _audit(
    session: AsyncSession, row: ProcedureAdoption, actor: str, action: str, **data: Any
) -> None:
    """The adoption's entry in its agency's audit chain: the procedure, its time limit and
    `data`."""
    await audit.append(
        session,
        province_id=row.province_id,
        agency_id=row.agency_id,
        actor=actor,
        action=action,
        entity_type="procedure_adoption",
        entity_id=row.id,
        data={"procedure": row.procedure_code, "time_limit": row.time_limit_amount, **data},
    )


async def drop(
    session: AsyncSession, *, province_id: int, agency_id: int, procedure_code: str, actor: str
) -> ProcedureAdoption:
    """The agency stops offering a procedure: its adoption ends (the row goes, the audit
    entry keeps what it was) and the QMS listeners take the procedure out of the scope and
    require re-announcement (Decision 19/2014/QĐ-TTg art. 4, docs/qms.md). Refused with
    OPEN_DOSSIERS while the agency holds a dossier of that procedure not yet finished or whose
    result is not yet returned: those are handled to the end under the adoption they were
    received under. NOT_FOUND when the agency has not adopted it (another province's or
    agency's adoption included)."""
    row = await find_adoption(session, agency_id, procedure_code)
    if row is None or row.province_id != province_id:
        raise NotFound(
            f"no adoption of procedure {procedure_code!r} in this agency",
            f"cơ quan không áp dụng thủ tục {procedure_code!r}",
        )
    still_open = (
        await session.execute(
            select(func.count())
            .select_from(Dossier)
            .where(
                col(Dossier.province_id) == province_id,
                col(Dossier.agency_id) == agency_id,
                col(Dossier.procedure_code) == procedure_code,
                col(Dossier.status).in_([int(s) for s in OPEN_FOR_DROP]),
            )
        )
    ).scalar_one()
    if still_open:
        raise DomainError(
            f"procedureCode: {still_open} dossier(s) of {procedure_code!r} are still open in "
            "this agency; finish them (and return their results) before dropping the procedure",
            f"procedureCode: cơ quan còn {still_open} hồ sơ thủ tục {procedure_code!r} chưa "
            "giải quyết xong hoặc chưa trả kết quả; phải xử lý xong trước khi thôi áp dụng",
            code="OPEN_DOSSIERS",
            field="procedureCode",
        )
    await _audit(session, row, actor, "procedure.dropped", adopted_at=row.adopted_at.isoformat())
    await session.delete(row)
    await session.flush()
    await listeners.dropped(session, row, actor)
    return row


def _tighter_cutoff(procedure: ProcedureRecord, wanted: str | None) -> str | None:
    """The adoption's cut-off "HH:MM": added where the procedure declares none, or moved
    earlier than its own; None keeps the procedure's (a cut-off is never removed)."""
    if wanted is None:
        return None
    try:
        cutoff = dt.time.fromisoformat(wanted)
    except ValueError:
        raise DomainError(
            f"cutoff: {wanted!r} is not a time HH:MM",
            f"cutoff: {wanted!r} không phải giờ dạng HH:MM",
            code="BAD_INPUT",
            field="cutoff",
        ) from None
    own = dt.time.fromisoformat(procedure.cutoff) if procedure.cutoff else None
    if own is not None and cutoff > own:
        raise COUNTING_LOOSER(
            field="cutoff",
            en=f"{wanted} is later than the procedure's {procedure.cutoff}",
            vi=f"{wanted} muộn hơn giờ chốt {procedure.cutoff} của thủ tục",
        )
    return cutoff.strftime("%H:%M")


def supplements_per_stage(procedure: ProcedureRecord) -> int:
    """The supplement requests per agency stage the procedure allows (`CountingRules`)."""
    return int((procedure.counting or {}).get("supplements_per_stage", 1))


def _fewer_supplements(procedure: ProcedureRecord, wanted: int | None) -> int | None:
    """The adoption's supplement requests per stage: at least 1 (the law always allows one
    written request), at most the procedure's own; None keeps the procedure's."""
    if wanted is None:
        return None
    own = supplements_per_stage(procedure)
    if wanted < 1:
        raise DomainError(
            "supplementsPerStage: must be >= 1",
            "supplementsPerStage: phải >= 1",
            code="BAD_INPUT",
            field="supplementsPerStage",
        )
    if wanted > own:
        raise COUNTING_LOOSER(
            field="supplementsPerStage",
            en=f"{wanted} is more than the procedure's {own}",
            vi=f"{wanted} nhiều hơn {own} lần của thủ tục",
        )
    return wanted


def _step_agencies(
    first: str, step_codes: set[str], wanted: dict[str, int], known: frozenset[int]
) -> dict[str, int]:
    out = {}
    for step, agency_id in wanted.items():
        field = f"stepAgencies.{step}"
        if step not in step_codes:
            raise DomainError(
                f"{field}: no such step",
                f"{field}: không có bước này",
                code="BAD_INPUT",
                field=field,
            )
        if step == first:
            # The receiving agency holds the first step: that is also how it keeps seeing the
            # dossiers it received (the scope shows a dossier to the agencies of its steps).
            raise DomainError(
                f"{field}: the first step is the receiving agency's",
                f"{field}: bước đầu tiên thuộc cơ quan tiếp nhận",
                code="BAD_INPUT",
                field=field,
            )
        if agency_id not in known:
            # The same answer for another province's agency and one that does not exist.
            raise DomainError(
                f"{field}: no active agency {agency_id} in this province",
                f"{field}: không có cơ quan {agency_id} đang hoạt động trong tỉnh",
                code="AGENCY_NOT_FOUND",
                field=field,
            )
        out[step] = agency_id
    return out


async def find_adoption(
    session: AsyncSession, agency_id: int, procedure_code: str
) -> ProcedureAdoption | None:
    """The agency's adoption of the procedure, if it adopted it."""
    return await find_one(
        session, ProcedureAdoption, agency_id=agency_id, procedure_code=procedure_code
    )


async def receipt_read(
    session: AsyncSession, province_id: int, agency_id: int, procedure_code: str
) -> tuple[ProcedureRecord, ProcedureAdoption, bool]:
    """What a receipt reads of the catalogue, in one statement: the procedure (NotFound when
    unknown or inactive), the agency's adoption of it (NOT_ADOPTED) and whether its module is
    switched on in the province (the caller raises `MODULE_DISABLED` after its idempotency
    check, so a retry of a receipt made still answers its dossier)."""
    enabled = (
        exists()
        .where(
            col(ModuleActivation.province_id) == province_id,
            col(ModuleActivation.module) == ProcedureRecord.module,
            col(ModuleActivation.enabled).is_(True),
        )
        .label("enabled")
    )
    found = (
        await session.execute(
            select(ProcedureRecord, ProcedureAdoption, enabled)
            .outerjoin(
                ProcedureAdoption,
                and_(
                    col(ProcedureAdoption.procedure_code) == ProcedureRecord.code,
                    col(ProcedureAdoption.agency_id) == agency_id,
                ),
            )
            .where(col(ProcedureRecord.code) == procedure_code)
        )
    ).first()
    if found is None:
        return checked_receipt(session, procedure_code, None, None, enabled=False)
    return checked_receipt(session, procedure_code, found[0], found[1], enabled=bool(found[2]))


def checked_receipt(
    session: AsyncSession,
    procedure_code: str,
    procedure: ProcedureRecord | None,
    adoption: ProcedureAdoption | None,
    *,
    enabled: bool,
) -> tuple[ProcedureRecord, ProcedureAdoption, bool]:
    """`receipt_read`'s answer from the rows read (None: no row): the procedure this
    transaction read already, else the one read (NotFound when unknown or inactive), the
    adoption (NOT_ADOPTED) and whether the module is switched on."""
    cached = session.info.get(_READ, {}).get(procedure_code)
    found = procedure is not None
    procedure = cached if cached is not None else procedure
    if procedure is None or not procedure.active or not found:
        raise NotFound(
            f"procedure {procedure_code!r} not found",
            f"không tìm thấy thủ tục {procedure_code!r}",
        )
    remember(session, procedure)
    if adoption is None:
        raise _not_adopted(procedure_code)
    return procedure, adoption, enabled


async def adoption_of(
    session: AsyncSession, agency_id: int, procedure_code: str
) -> ProcedureAdoption:
    row = await find_adoption(session, agency_id, procedure_code)
    if row is None:
        raise _not_adopted(procedure_code)
    return row


def _not_adopted(procedure_code: str) -> DomainError:
    return DomainError(
        f"procedureCode: {procedure_code!r} is not adopted by this agency",
        f"procedureCode: cơ quan chưa áp dụng thủ tục {procedure_code!r}",
        code="NOT_ADOPTED",
        field="procedureCode",
    )
