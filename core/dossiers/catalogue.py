"""The procedure catalogue (synced from the modules' `eiso_procedures`) and agency adoption."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from eiso.core import audit
from eiso.core.dossiers.models import ProcedureAdoption, ProcedureRecord
from eiso.core.errors import DomainError, NotFound
from eiso.core.qms import legal
from eiso.core.sdk import Procedure
from eiso.tenants.models import Unit, utcnow

if TYPE_CHECKING:
    from eiso.core.plugins import PluginRegistry


def _row_values(procedure: Procedure, module: str) -> dict:
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
        "module": module,
        "active": True,
    }


async def sync_catalogue(session: AsyncSession, registry: PluginRegistry) -> int:
    """Upsert one row per procedure of the loaded modules; procedures no module provides any
    more stay (dossiers refer to them) but are marked inactive. Returns the number synced."""
    existing = {r.code: r for r in (await session.execute(select(ProcedureRecord))).scalars()}
    seen = set()
    for name, record in registry.loaded.items():
        for procedure in record.procedures:
            values = _row_values(procedure, name)
            row = existing.get(procedure.code)
            if row is None:
                row = ProcedureRecord(code=procedure.code, **values)
                session.add(row)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
            seen.add(procedure.code)
    for code, row in existing.items():
        if code not in seen:
            row.active = False
    await session.flush()
    # A module update that changed a legal basis flags what rests on it for review.
    await legal.sync_from_procedures(session, [p for r in registry.loaded.values() for p in r.procedures])
    return len(seen)


async def get_procedure(session: AsyncSession, code: str) -> ProcedureRecord:
    row = (await session.execute(select(ProcedureRecord).where(ProcedureRecord.code == code))).scalar_one_or_none()
    if row is None or not row.active:
        raise NotFound(f"procedure {code!r} not found", f"không tìm thấy thủ tục {code!r}")
    return row


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
) -> ProcedureAdoption:
    """An agency adopts a procedure: maps steps to its units, may shorten the time limit, and
    maps the steps other agencies hold to those agencies (`known_agencies`: the active
    agencies of its province among the ids named, looked up by the caller)."""
    procedure = await get_procedure(session, procedure_code)
    amount = procedure.time_limit_amount if time_limit is None else time_limit
    if amount < 0:
        raise DomainError("timeLimit: must be >= 0", "timeLimit: phải >= 0", code="BAD_INPUT", field="timeLimit")
    if amount > procedure.time_limit_amount:
        raise DomainError(
            f"timeLimit: {amount} is longer than the statutory {procedure.time_limit_amount} "
            f"{procedure.time_limit_unit}; an agency may only shorten it",
            f"timeLimit: {amount} dài hơn thời hạn luật định {procedure.time_limit_amount}; "
            "cơ quan chỉ được rút ngắn",
            code="TIME_LIMIT_TOO_LONG", field="timeLimit",
        )
    step_codes = {s["code"] for s in procedure.steps}
    units = {}
    for step, unit_id in (step_units or {}).items():
        if step not in step_codes:
            raise DomainError(f"stepUnits.{step}: no such step", f"stepUnits.{step}: không có bước này",
                              code="BAD_INPUT", field=f"stepUnits.{step}")
        unit = (await session.execute(select(Unit).where(Unit.id == unit_id, Unit.agency_id == agency_id))).scalar_one_or_none()
        if unit is None:
            raise DomainError(f"stepUnits.{step}: unit not found in this agency",
                              f"stepUnits.{step}: không tìm thấy bộ phận trong cơ quan",
                              code="BAD_INPUT", field=f"stepUnits.{step}")
        units[step] = unit_id
    agencies = _step_agencies(procedure.steps[0]["code"], step_codes, step_agencies or {}, known_agencies)
    row = (await session.execute(select(ProcedureAdoption).where(
        ProcedureAdoption.agency_id == agency_id, ProcedureAdoption.procedure_code == procedure_code))).scalar_one_or_none()
    if row is None:
        row = ProcedureAdoption(province_id=province_id, agency_id=agency_id, procedure_code=procedure_code,
                                time_limit_amount=amount, step_units=units, step_agencies=agencies)
        session.add(row)
    else:
        row.time_limit_amount, row.step_units, row.step_agencies = amount, units, agencies
    await session.flush()
    await audit.append(session, province_id=province_id, agency_id=agency_id, actor=actor,
                       action="procedure.adopted", entity_type="procedure_adoption", entity_id=row.id,
                       data={"procedure": procedure_code, "time_limit": amount, "step_agencies": agencies})
    return row


def _step_agencies(first: str, step_codes: set[str], wanted: dict[str, int], known: frozenset[int]) -> dict[str, int]:
    out = {}
    for step, agency_id in wanted.items():
        field = f"stepAgencies.{step}"
        if step not in step_codes:
            raise DomainError(f"{field}: no such step", f"{field}: không có bước này", code="BAD_INPUT", field=field)
        if step == first:
            # The receiving agency holds the first step: that is also how it keeps seeing the
            # dossiers it received (the scope shows a dossier to the agencies of its steps).
            raise DomainError(f"{field}: the first step is the receiving agency's",
                              f"{field}: bước đầu tiên thuộc cơ quan tiếp nhận", code="BAD_INPUT", field=field)
        if agency_id not in known:
            # The same answer for another province's agency and one that does not exist.
            raise DomainError(f"{field}: no active agency {agency_id} in this province",
                              f"{field}: không có cơ quan {agency_id} đang hoạt động trong tỉnh",
                              code="AGENCY_NOT_FOUND", field=field)
        out[step] = agency_id
    return out


async def adoption_of(session: AsyncSession, agency_id: int, procedure_code: str) -> ProcedureAdoption:
    row = (await session.execute(select(ProcedureAdoption).where(
        ProcedureAdoption.agency_id == agency_id, ProcedureAdoption.procedure_code == procedure_code))).scalar_one_or_none()
    if row is None:
        raise DomainError(f"procedureCode: {procedure_code!r} is not adopted by this agency",
                          f"procedureCode: cơ quan chưa áp dụng thủ tục {procedure_code!r}",
                          code="NOT_ADOPTED", field="procedureCode")
    return row
