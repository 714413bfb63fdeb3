"""The DOST's yearly inspection of the agencies' ISO application (Decision 19/2014/QĐ-TTg;
docs/qms.md cites the rules, core/qms/README.md lists what is unverified).

The province's administrators (the DOST side: core/auth has no finer role) keep a yearly plan
(`InspectionPlan`, a province row) and put agencies on it with a date (`Inspection`, a row of
the INSPECTED agency: the agency sees its own inspection and nobody else's). Each inspection
copies the province's checklist (`InspectionChecklist`, the default in data/ until the
province edits it): items with the ISO clause or legal requirement each checks.

    planned --start--> in_progress --conclude--> concluded --close--> closed

While in progress the inspectors mark items and record findings; a finding opens a
nonconformity in the inspected agency (source `inspection`, core/qms/nonconformities.py),
which the agency handles like any other. Follow-up: the DOST verifies a finding once its
nonconformity is closed, and closes the inspection when every finding is verified.
`par_summary` is the per-agency line the province exports for the PAR index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import pathlib
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    String,
    Text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import UNKNOWN_CHECKLIST_ITEM, DomainError, Forbidden, NotFound, member_of
from eiso.core.qms.common import get_in_scope, invalid_transition, record, require_text, value
from eiso.core.qms.nonconformities import NcSource, NcStatus, Nonconformity
from eiso.infra.clock import utcnow
from eiso.infra.db import added, find_one
from eiso.tenants.models import (
    Agency,
    Authored,
    TenantOwned,
    TenantStatus,
    child_fks,
    one_per_agency_year,
    province_key,
)

DEFAULT_CHECKLIST = pathlib.Path(__file__).with_name("data") / "inspection_checklist.json"
MAX_ITEMS = 200


InspectionStatus = enum.StrEnum("InspectionStatus", "planned in_progress concluded closed")


ItemResult = enum.StrEnum("ItemResult", "not_checked conform nonconform not_applicable")


class FindingStatus(str, enum.Enum):
    open = "open"  # its nonconformity is not closed yet
    closed = "closed"  # the agency closed the nonconformity; the DOST has not verified it
    verified = "verified"  # the DOST checked the closure


class InspectionPlan(SQLModel, table=True):
    """A province's plan of a year (its agencies and dates are the `Inspection` rows)."""

    __tablename__ = "inspection_plans"

    province_id: int = province_key()
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    title: str = Field(max_length=300)
    notes: str = Field(default="", sa_type=Text)
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class InspectionChecklist(SQLModel, table=True):
    """A province's own checklist (absent: the default in data/inspection_checklist.json)."""

    __tablename__ = "inspection_checklists"

    province_id: int = province_key()
    items: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Inspection(TenantOwned, table=True):
    """One agency's inspection of a year (agency_id: the inspected agency)."""

    __tablename__ = "inspections"
    __table_args__ = (
        *one_per_agency_year("inspections"),
        # What the DOST found in one agency stays with that agency after a merge.
        {"info": {"keeps_agency": True}},
    )

    year: int
    planned_on: dt.date
    inspectors: str = Field(default="", max_length=500)
    status: InspectionStatus = Field(default=InspectionStatus.planned, sa_type=String(16))
    # The checklist copied at planning: [{"code", "clause", "requirement", "result", "note"}].
    checklist: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    conclusion: str = Field(default="", sa_type=Text)
    started_at: dt.datetime | None = None
    concluded_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class InspectionFinding(TenantOwned, Authored, table=True):
    __tablename__ = "inspection_findings"
    __table_args__ = (
        *child_fks("inspection_findings", "inspection_id", "inspections", "inspection"),
        {"info": {"keeps_agency": True}},
    )

    inspection_id: int = Field(sa_type=BigInteger, index=True)
    item_code: str = Field(max_length=32)
    clause: str = Field(default="", max_length=200)
    description: str = Field(sa_type=Text)
    nonconformity_id: int = Field(sa_type=BigInteger)
    verified: bool = False
    verified_by: str | None = Field(default=None, max_length=200)
    verified_at: dt.datetime | None = None
    verification_note: str = Field(default="", sa_type=Text)


# -- who ----------------------------------------------------------------------------------------

INSPECTORS = (Role.province_admin, Role.national_admin)


def require_inspector(who: Principal, province_id: int) -> None:
    """The province's administrators (the DOST) or the nation's: another role is FORBIDDEN;
    another province's administrator gets NOT_FOUND, as if its rows did not exist."""
    if who.has_role(Role.national_admin) and who.tenant.kind == "nation":
        return
    if not who.has_role(Role.province_admin):
        raise Forbidden(
            "Only the province's administrators (the DOST) plan and conduct inspections",
            "Chỉ quản trị tỉnh (Sở KH&CN) được lập kế hoạch và tiến hành kiểm tra",
        )
    if who.province_id != province_id or not who.tenant.allows(province_id, None):
        raise NotFound("no such province", "không tìm thấy tỉnh")


# -- the checklist ------------------------------------------------------------------------------


def default_items() -> list[dict[str, str]]:
    return clean_items(json.loads(DEFAULT_CHECKLIST.read_text(encoding="utf-8"))["items"])


def clean_items(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each item's code (unique), clause and requirement; BAD_INPUT naming the item at fault."""
    if not items:
        raise DomainError("items: at least one", "items: cần ít nhất một mục", field="items")
    if len(items) > MAX_ITEMS:
        raise DomainError(
            f"items: at most {MAX_ITEMS}", f"items: tối đa {MAX_ITEMS} mục", field="items"
        )
    cleaned, seen = [], set()
    for index, item in enumerate(items):
        field = f"items.{index}"
        code = require_text(item.get("code"), f"{field}.code", 32)
        if code in seen:
            raise DomainError(
                f"{field}.code: {code} twice", f"{field}.code: {code} bị trùng", field=field
            )
        seen.add(code)
        cleaned.append(
            {
                "code": code,
                "clause": require_text(item.get("clause"), f"{field}.clause", 200),
                "requirement": require_text(item.get("requirement"), f"{field}.requirement", 2000),
                "requirement_en": str(item.get("requirement_en") or "")[:2000],
            }
        )
    return cleaned


async def checklist(session: AsyncSession, province_id: int) -> tuple[list[dict[str, str]], bool]:
    """The province's items and whether they are eiso's default."""
    row = await session.get(InspectionChecklist, province_id)
    return (default_items(), True) if row is None else (list(row.items), False)


async def set_checklist(
    session: AsyncSession, who: Principal, province_id: int, items: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Replace the province's checklist (inspections already planned keep their copy); an
    empty list of `items` is refused. `reset_checklist` goes back to the default."""
    require_inspector(who, province_id)
    cleaned = clean_items(items)
    row = await session.get(InspectionChecklist, province_id) or InspectionChecklist(
        province_id=province_id, updated_by=who.subject
    )
    row.items, row.updated_by, row.updated_at = cleaned, who.subject, utcnow()
    session.add(row)
    await session.flush()
    return cleaned


async def reset_checklist(session: AsyncSession, who: Principal, province_id: int) -> None:
    require_inspector(who, province_id)
    row = await session.get(InspectionChecklist, province_id)
    if row is not None:
        await session.delete(row)
        await session.flush()


# -- the plan -----------------------------------------------------------------------------------


def check_year(year: int) -> None:
    current = utcnow().date().year
    if not 2000 <= year <= current + 1:
        raise DomainError(
            f"year: 2000 to {current + 1}", f"year: từ năm 2000 đến {current + 1}", field="year"
        )


def _in_year(planned_on: dt.date, year: int) -> None:
    if planned_on.year != year:
        raise DomainError(
            f"plannedOn: a day of {year}",
            f"plannedOn: phải là một ngày trong năm {year}",
            field="plannedOn",
        )


async def save_plan(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    year: int,
    title: str,
    notes: str = "",
) -> InspectionPlan:
    require_inspector(who, province_id)
    check_year(year)
    row = await session.get(InspectionPlan, (province_id, year)) or InspectionPlan(
        province_id=province_id, year=year, title="", updated_by=who.subject
    )
    row.title = require_text(title, "title", 300)
    row.notes = (notes or "").strip()[:20_000]
    row.updated_by, row.updated_at = who.subject, utcnow()
    return await added(session, row)


async def plan(session: AsyncSession, province_id: int, year: int) -> InspectionPlan | None:
    return await session.get(InspectionPlan, (province_id, year))


async def schedule(
    session: AsyncSession,
    who: Principal,
    *,
    province_id: int,
    agency_id: int,
    year: int,
    planned_on: dt.date,
    inspectors: str = "",
) -> Inspection:
    """Put an agency on the year's plan (the plan must exist) with its date; a second
    inspection of the agency in the same year is refused (INSPECTION_EXISTS)."""
    require_inspector(who, province_id)
    if await plan(session, province_id, year) is None:
        raise DomainError(
            f"no inspection plan for {year}: save the plan first",
            f"chưa có kế hoạch kiểm tra năm {year}: cần lập kế hoạch trước",
            code="NO_INSPECTION_PLAN",
            field="year",
        )
    _in_year(planned_on, year)
    agency = await session.get(Agency, (province_id, agency_id))
    if agency is None or value(agency.status) != TenantStatus.active.value:
        raise NotFound("no such agency", "không tìm thấy cơ quan")
    existing = await find(session, province_id, agency_id, year)
    if existing is not None:
        raise DomainError(
            f"{agency.code} is already on the {year} plan",
            f"{agency.code} đã có trong kế hoạch kiểm tra năm {year}",
            code="INSPECTION_EXISTS",
            field="agencyId",
        )
    items, _ = await checklist(session, province_id)
    row = Inspection(
        province_id=province_id,
        agency_id=agency_id,
        year=year,
        planned_on=planned_on,
        inspectors=(inspectors or "").strip()[:500],
        checklist=[{**item, "result": ItemResult.not_checked.value, "note": ""} for item in items],
        updated_by=who.subject,
    )
    return await record(session, row, who.subject, "inspection.schedule", {"year": year})


async def find(
    session: AsyncSession, province_id: int, agency_id: int, year: int
) -> Inspection | None:
    """The agency's inspection of the year, if any (`one_per_agency_year`: at most one)."""
    return await find_one(
        session, Inspection, province_id=province_id, agency_id=agency_id, year=year
    )


async def load(session: AsyncSession, province_id: int, row_id: int) -> Inspection:
    return await get_in_scope(session, Inspection, province_id, row_id, "đợt kiểm tra")


async def inspections(session: AsyncSession, province_id: int, year: int) -> list[Inspection]:
    """The year's inspections the session's scope shows (an agency: its own), by date."""
    statement = (
        select(Inspection)
        .where(col(Inspection.province_id) == province_id, col(Inspection.year) == year)
        .order_by(col(Inspection.planned_on), col(Inspection.agency_id))
    )
    return list((await session.execute(statement)).scalars())


# -- conducting ---------------------------------------------------------------------------------


def _move(
    row: Inspection, who: Principal, allowed: set[InspectionStatus], target: InspectionStatus
) -> None:
    if InspectionStatus(row.status) not in allowed:
        raise invalid_transition("inspection", row.status, target)
    row.status, row.updated_by, row.updated_at = target, who.subject, utcnow()


async def reschedule(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    row_id: int,
    planned_on: dt.date,
    inspectors: str | None = None,
) -> Inspection:
    require_inspector(who, province_id)
    row = await load(session, province_id, row_id)
    _move(row, who, {InspectionStatus.planned}, InspectionStatus.planned)
    _in_year(planned_on, row.year)
    row.planned_on = planned_on
    if inspectors is not None:
        row.inspectors = inspectors.strip()[:500]
    return await record(session, row, who.subject, "inspection.reschedule")


async def start(session: AsyncSession, who: Principal, province_id: int, row_id: int) -> Inspection:
    require_inspector(who, province_id)
    row = await load(session, province_id, row_id)
    _move(row, who, {InspectionStatus.planned}, InspectionStatus.in_progress)
    row.started_at = utcnow()
    return await record(session, row, who.subject, "inspection.start")


def _item(row: Inspection, code: str) -> dict[str, Any]:
    for item in row.checklist:
        if item["code"] == code:
            return item
    raise UNKNOWN_CHECKLIST_ITEM(code=code)


async def mark_item(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    row_id: int,
    item_code: str,
    result: str,
    note: str = "",
) -> Inspection:
    require_inspector(who, province_id)
    row = await load(session, province_id, row_id)
    if InspectionStatus(row.status) != InspectionStatus.in_progress:
        raise invalid_transition("inspection", row.status, InspectionStatus.in_progress)
    outcome = member_of(
        ItemResult,
        result,
        "result",
        "result: not_checked, conform, nonconform or not_applicable",
        "result: not_checked, conform, nonconform hoặc not_applicable",
    )
    _item(row, item_code)
    row.checklist = [
        {**item, "result": outcome.value, "note": (note or "").strip()[:2000]}
        if item["code"] == item_code
        else item
        for item in row.checklist
    ]
    row.updated_by, row.updated_at = who.subject, utcnow()
    return await record(
        session, row, who.subject, "inspection.item", {"item": item_code, "result": outcome.value}
    )


async def record_finding(
    session: AsyncSession,
    who: Principal,
    province_id: int,
    row_id: int,
    item_code: str,
    description: str,
) -> InspectionFinding:
    """A finding against a checklist item: the item is marked nonconform and a nonconformity
    opens in the inspected agency, traceable to the inspection (source_ref INS-<year>-<id>)."""
    require_inspector(who, province_id)
    row = await load(session, province_id, row_id)
    if InspectionStatus(row.status) != InspectionStatus.in_progress:
        raise invalid_transition("inspection", row.status, InspectionStatus.in_progress)
    item = _item(row, item_code)
    text = require_text(description, "description", 10_000)
    nc = Nonconformity(
        province_id=province_id,
        agency_id=row.agency_id,
        title=f"Kiểm tra ISO {row.year} ({item_code}): {item['requirement']}"[:300],
        description=text,
        source=NcSource.inspection,
        source_ref=f"INS-{row.year}-{row.id}",
        raised_by=who.subject,
    )
    await record(session, nc, who.subject, "nonconformity.raise", {"source": "inspection"})
    row.checklist = [
        {**entry, "result": ItemResult.nonconform.value} if entry["code"] == item_code else entry
        for entry in row.checklist
    ]
    row.updated_by, row.updated_at = who.subject, utcnow()
    session.add(row)
    finding = InspectionFinding(
        province_id=province_id,
        agency_id=row.agency_id,
        inspection_id=row.id,
        item_code=item_code,
        clause=item["clause"],
        description=text,
        nonconformity_id=nc.id,
        created_by=who.subject,
    )
    return await record(session, finding, who.subject, "inspection.finding", {"item": item_code})


async def conclude(
    session: AsyncSession, who: Principal, province_id: int, row_id: int, conclusion: str
) -> Inspection:
    require_inspector(who, province_id)
    row = await load(session, province_id, row_id)
    text = require_text(conclusion, "conclusion", 20_000)
    _move(row, who, {InspectionStatus.in_progress}, InspectionStatus.concluded)
    row.conclusion, row.concluded_at = text, utcnow()
    return await record(session, row, who.subject, "inspection.conclude")


async def findings(
    session: AsyncSession, province_id: int, inspection_ids: list[int]
) -> dict[int, list[tuple[InspectionFinding, Nonconformity | None]]]:
    """Each inspection's findings with their nonconformities, oldest first (two queries)."""
    if not inspection_ids:
        return {}
    rows = list(
        (
            await session.execute(
                select(InspectionFinding)
                .where(
                    col(InspectionFinding.province_id) == province_id,
                    col(InspectionFinding.inspection_id).in_(inspection_ids),
                )
                .order_by(col(InspectionFinding.created_at), col(InspectionFinding.id))
            )
        ).scalars()
    )
    ncs = {
        nc.id: nc
        for nc in (
            await session.execute(
                select(Nonconformity).where(
                    col(Nonconformity.province_id) == province_id,
                    col(Nonconformity.id).in_([f.nonconformity_id for f in rows] or [0]),
                )
            )
        ).scalars()
    }
    out: dict[int, list[tuple[InspectionFinding, Nonconformity | None]]] = {
        i: [] for i in inspection_ids
    }
    for finding in rows:
        out[finding.inspection_id].append((finding, ncs.get(finding.nonconformity_id)))
    return out


def finding_status(finding: InspectionFinding, nc: Nonconformity | None) -> FindingStatus:
    if finding.verified:
        return FindingStatus.verified
    if nc is not None and value(nc.status) == NcStatus.closed.value:
        return FindingStatus.closed
    return FindingStatus.open


async def verify_finding(
    session: AsyncSession, who: Principal, province_id: int, finding_id: int, note: str = ""
) -> InspectionFinding:
    """The DOST's follow-up: the agency closed the nonconformity, the DOST checked it."""
    require_inspector(who, province_id)
    finding = await get_in_scope(
        session, InspectionFinding, province_id, finding_id, "phát hiện kiểm tra"
    )
    if finding.verified:
        raise invalid_transition("finding", FindingStatus.verified, FindingStatus.verified)
    nc = await session.get(Nonconformity, (province_id, finding.nonconformity_id))
    if nc is None or value(nc.status) != NcStatus.closed.value:
        raise DomainError(
            "the agency has not closed the finding's nonconformity yet",
            "cơ quan chưa đóng điểm không phù hợp của phát hiện này",
            code="NONCONFORMITY_OPEN",
            status=value(nc.status) if nc else None,
        )
    finding.verified, finding.verified_by, finding.verified_at = True, who.subject, utcnow()
    finding.verification_note = (note or "").strip()[:10_000]
    return await record(session, finding, who.subject, "inspection.finding.verified")


async def close(session: AsyncSession, who: Principal, province_id: int, row_id: int) -> Inspection:
    """The follow-up is over: every finding verified (FINDINGS_NOT_VERIFIED otherwise)."""
    require_inspector(who, province_id)
    row = await load(session, province_id, row_id)
    if InspectionStatus(row.status) != InspectionStatus.concluded:
        raise invalid_transition("inspection", row.status, InspectionStatus.closed)
    pending = [
        f.item_code
        for f, _ in (await findings(session, province_id, [row.id]))[row.id]
        if not f.verified
    ]
    if pending:
        raise DomainError(
            f"findings not verified yet: {', '.join(pending)}",
            f"còn phát hiện chưa được xác nhận khắc phục: {', '.join(pending)}",
            code="FINDINGS_NOT_VERIFIED",
            items=pending,
        )
    _move(row, who, {InspectionStatus.concluded}, InspectionStatus.closed)
    row.closed_at = utcnow()
    return await record(session, row, who.subject, "inspection.close")


# -- the PAR index data -------------------------------------------------------------------------


@dataclasses.dataclass
class ParLine:
    agency: Agency
    inspection: Inspection | None
    findings: int = 0
    closed: int = 0
    verified: int = 0

    @property
    def inspected(self) -> bool:
        return self.inspection is not None and InspectionStatus(self.inspection.status) in (
            InspectionStatus.concluded,
            InspectionStatus.closed,
        )

    def as_dict(self) -> dict[str, Any]:
        row = self.inspection
        return {
            "agency": self.agency.code,
            "name": self.agency.name,
            "planned": row is not None,
            "plannedOn": row.planned_on.isoformat() if row else None,
            "status": value(row.status) if row else None,
            "inspected": self.inspected,
            "findings": self.findings,
            "closed": self.closed,
            "verified": self.verified,
        }


PAR_COLUMNS = (
    "agency",
    "name",
    "planned",
    "plannedOn",
    "status",
    "inspected",
    "findings",
    "closed",
    "verified",
)


async def par_summary(session: AsyncSession, province_id: int, year: int) -> list[ParLine]:
    """Every active agency of the province the session's scope shows, by code: inspected in
    `year` or not, its findings, how many the agency closed and the DOST verified."""
    agencies = (
        (
            await session.execute(
                select(Agency)
                .where(
                    col(Agency.province_id) == province_id,
                    col(Agency.status) == TenantStatus.active.value,
                )
                .order_by(col(Agency.code))
            )
        )
        .scalars()
        .all()
    )
    by_agency = {row.agency_id: row for row in await inspections(session, province_id, year)}
    found = await findings(session, province_id, [row.id for row in by_agency.values()])
    lines = []
    for agency in agencies:
        row = by_agency.get(agency.id)
        line = ParLine(agency, row)
        for finding, nc in found.get(row.id, []) if row else []:
            status = finding_status(finding, nc)
            line.findings += 1
            line.closed += status != FindingStatus.open
            line.verified += status == FindingStatus.verified
        lines.append(line)
    return lines
