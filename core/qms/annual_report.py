"""The yearly report on applying ISO 9001 (Decision 19/2014/QĐ-TTg, Circular 26/2014/TT-BKHCN):
a province's report lists its agencies, the national one its provinces, each with the figures
of the year, the 766 service-index points that come from them, conformity and nonconformity
counts, and the results of the quality objectives. Exported as JSON, CSV or XLSX.

Decision 766/QĐ-TTg: `index766Groups` holds the portal's six groups and their criteria
(core/qms/index766.py). `index766` is the older two-group reading, kept for its readers and
deprecated: progress = 20 × on time / resolved (overdue open dossiers cost nothing) and
satisfaction = 18 × satisfied share of the ratings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.qms import figures, index766, objectives
from eiso.core.qms.common import value
from eiso.core.qms.nonconformities import NcStatus, Nonconformity
from eiso.infra.clock import utcnow
from eiso.infra.tables import table_of
from eiso.tenants.models import Agency, Province
from eiso.tenants.scope import TenantScope

INDEX_766 = {
    "progress": (20, "on_time", "finished"),
    "satisfaction": (18, "satisfied", "rated"),
}
FORMATS = ("json", "csv", "xlsx")

# A line of the report: the row key of its figures, code, name and ISO status (agencies only).
Unit = tuple[figures.Key, str, str, str | None]


def index_766(row: figures.Figures) -> dict[str, dict[str, Any]]:
    """The older two-group reading of 766 (deprecated: index766.scores has the six groups)."""
    values = {
        "on_time": row.on_time,
        "finished": row.finished,
        "satisfied": row.satisfied,
        "rated": row.rating_count,
    }
    result: dict[str, dict[str, Any]] = {}
    for group, (points, numerator, denominator) in INDEX_766.items():
        top, bottom = values[numerator], values[denominator]
        result[group] = {
            "maxPoints": points,
            "points": round(points * top / bottom, 2) if bottom else None,
            "numerator": {"metric": numerator, "value": top},
            "denominator": {"metric": denominator, "value": bottom},
        }
    return result


def figures_dict(row: figures.Figures) -> dict[str, int | float | None]:
    return {
        "received": row.received,
        "receivedOnline": row.received_online,
        "finished": row.finished,
        "onTime": row.on_time,
        "late": row.late,
        "finishedLate": row.finished_late,
        "backlog": row.backlog,
        "backlogLate": row.backlog_late,
        "onTimeRate": _round(row.on_time_rate),
        "meanDays": _round(row.mean_days),
        "p90Days": _round(row.p90_days),
        "ratingCount": row.rating_count,
        "ratingMean": _round(row.rating_mean),
        "satisfied": row.satisfied,
        "satisfiedShare": _round(row.satisfied_share),
        "feedbackReceived": row.feedback_received,
        "feedbackAnswered": row.feedback_answered,
        "feedbackOnTime": row.feedback_on_time,
        "feedbackOverdue": row.feedback_overdue,
        "feedbackRated": row.feedback_rated,
        "feedbackSatisfied": row.feedback_satisfied,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def build(
    session: AsyncSession,
    scope: TenantScope,
    year: int,
    province_id: int | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The report of one province (rows: its agencies) or of the nation (rows: provinces), within
    the caller's scope: an agency's caller sees only its own agency."""
    period = figures.Period.of(year=year)
    narrow = figures.Filter(province_id=province_id)
    group = figures.Group.agency if province_id is not None else figures.Group.province
    found, total = await figures.figures_and_total(session, scope, period, group, narrow)
    by_key = {row.key: row for row in found}
    units = (
        await _agencies(session, province_id)
        if province_id is not None
        else await _provinces(session, scope)
    )
    ncs = await _nonconformities(session, scope, period, province_id)
    rows: list[dict[str, Any]] = []
    for key, code, name, iso_status in units:
        row = by_key.get(key, figures.Figures(key=key))
        rows.append(
            {
                "level": group.value,
                "code": code,
                "name": name,
                "isoStatus": iso_status,
                "figures": figures_dict(row),
                "index766": index_766(row),
                "index766Groups": index766.scores(row),
                "nonconformities": ncs.get(key, {"raised": 0, "open": 0}),
            }
        )
    province = await session.get(Province, province_id) if province_id is not None else None
    totals = {
        "raised": sum(n["raised"] for n in ncs.values()),
        "open": sum(n["open"] for n in ncs.values()),
    }
    conformity: dict[str, int] = {}
    for line in rows:
        if line["isoStatus"]:
            conformity[line["isoStatus"]] = conformity.get(line["isoStatus"], 0) + 1
    return {
        "year": year,
        "level": "province" if province_id is not None else "nation",
        "province": {"code": province.code, "name": province.name} if province else None,
        "period": {"from": period.start.isoformat(), "to": period.last_day.isoformat()},
        "generatedAt": (now or utcnow()).isoformat(),
        "total": {
            "figures": figures_dict(total),
            "index766": index_766(total),
            "index766Groups": index766.scores(total),
            "nonconformities": totals,
        },
        "conformity": conformity,
        "parIndex": await _par_index(session, province_id, total),
        "rows": rows,
        "objectives": await _objective_results(session, period, province_id, now),
    }


async def _par_index(
    session: AsyncSession, province_id: int | None, total: figures.Figures
) -> dict[str, Any]:
    """The data the PAR index asks of ISO application: how many agencies announced their
    conformity (and how many must re-announce after a legal change), and the dossiers resolved
    on time. The dossier numbers are the figures' (`figureDossiers` lists them); the agency
    counts cover every agency in the caller's scope, not only those with dossiers."""
    status = col(Agency.iso_status)
    statement = select(status, func.count()).group_by(status)
    if province_id is not None:
        statement = statement.where(col(Agency.province_id) == province_id)
    counts = {value(iso): n for iso, n in await session.execute(statement)}
    agencies, announced = sum(counts.values()), counts.get("announced", 0)
    return {
        "agencies": agencies,
        "announced": announced,
        "announcedShare": _round(announced / agencies) if agencies else None,
        "toBeReannounced": counts.get("to_be_reannounced", 0),
        "resolved": total.finished,
        "resolvedOnTime": total.on_time,
        "onTimeShare": _round(total.on_time / total.finished) if total.finished else None,
    }


async def _agencies(session: AsyncSession, province_id: int) -> list[Unit]:
    rows = await session.execute(
        select(
            col(Agency.province_id),
            col(Agency.id),
            col(Agency.code),
            col(Agency.name),
            col(Agency.iso_status),
        )
        .where(col(Agency.province_id) == province_id)
        .order_by(col(Agency.code))
    )
    return [((p, a), code, name, value(status)) for p, a, code, name, status in rows]


async def _provinces(session: AsyncSession, scope: TenantScope) -> list[Unit]:
    statement = select(col(Province.id), col(Province.code), col(Province.name)).order_by(
        col(Province.code)
    )
    if scope.kind != "nation":
        statement = statement.where(col(Province.id).in_(sorted(scope.province_ids)))
    return [((p,), code, name, None) for p, code, name in await session.execute(statement)]


async def _nonconformities(
    session: AsyncSession, scope: TenantScope, period: figures.Period, province_id: int | None
) -> dict[figures.Key, dict[str, int]]:
    """Raised in the year, and still open at its end, per row key."""
    start, end = period.bounds()
    nc = table_of(Nonconformity).c
    keys = (nc.province_id, nc.agency_id) if province_id is not None else (nc.province_id,)
    where = [nc.raised_at < end, figures.scope_filter(scope, nc)]
    if province_id is not None:
        where.append(nc.province_id == province_id)
    statement = (
        select(
            *keys,
            func.sum(case((nc.raised_at >= start, 1), else_=0)).label("raised"),
            func.sum(case((nc.status != NcStatus.closed.value, 1), else_=0)).label("open"),
        )
        .where(*where)
        .group_by(*keys)
    )
    return {
        tuple(r[: len(keys)]): {"raised": int(r.raised or 0), "open": int(r.open or 0)}
        for r in await session.execute(statement)
    }


async def _objective_results(
    session: AsyncSession,
    period: figures.Period,
    province_id: int | None,
    now: dt.datetime | None,
) -> list[dict[str, Any]]:
    """Objectives whose period lies in the year: a province's (its own and its agencies'), or
    the provinces' own for the nation."""
    o = objectives.Objective
    statement = select(o).where(
        col(o.period_start) >= period.start, col(o.period_end) <= period.last_day
    )
    if province_id is not None:
        statement = statement.where(col(o.province_id) == province_id)
    else:
        statement = statement.where(col(o.agency_id).is_(None))
    statement = statement.order_by(col(o.province_id), col(o.agency_id), col(o.period_start))
    rows = (await session.execute(statement)).scalars().all()
    names = await _names(session, rows)
    results = []
    for row in rows:
        evaluation = await objectives.evaluate(session, row, now)
        results.append(
            {
                "title": row.title,
                "scope": names.get((row.province_id, row.agency_id), ""),
                "metric": row.metric,
                "comparator": row.comparator,
                "target": row.target,
                "period": {"from": row.period_start.isoformat(), "to": row.period_end.isoformat()},
                "procedureCode": row.procedure_code,
                "status": evaluation.status.value,
                "actual": _round(evaluation.actual),
            }
        )
    return results


async def _names(
    session: AsyncSession, rows: Sequence[objectives.Objective]
) -> dict[tuple[int | None, int | None], str]:
    agency_ids = {row.agency_id for row in rows if row.agency_id is not None}
    province_ids = {row.province_id for row in rows}
    names: dict[tuple[int | None, int | None], str] = {}
    if agency_ids:
        for p, a, code in await session.execute(
            select(col(Agency.province_id), col(Agency.id), col(Agency.code)).where(
                col(Agency.id).in_(agency_ids)
            )
        ):
            names[(p, a)] = code
    if province_ids:
        for province, code in await session.execute(
            select(col(Province.id), col(Province.code)).where(col(Province.id).in_(province_ids))
        ):
            names[(province, None)] = code
    return names


# -- export ------------------------------------------------------------------------------------

# The dossier figures' keys in the tables' order (the console dashboard's tiles start so too).
DOSSIER_KEYS = (
    "received",
    "finished",
    "onTime",
    "late",
    "backlog",
    "backlogLate",
    "onTimeRate",
    "meanDays",
    "p90Days",
)
# The figures' own keys, in the table's order (the CSV and XLSX headers name them so).
FIGURE_KEYS = [*DOSSIER_KEYS, "ratingCount", "ratingMean", "satisfiedShare"]
COLUMNS = [
    "level",
    "code",
    "name",
    *FIGURE_KEYS,
    "progress766",  # the deprecated two-group reading
    "satisfaction766",
    "points766",  # the six groups: points of the measured criteria, and their maximum
    "measuredMax766",
    "isoStatus",
    "ncRaised",
    "ncOpen",
]
# An objective's keys, in the table's order; `from` and `to` are read from its period.
OBJECTIVE_COLUMNS = [
    "scope",
    "title",
    "metric",
    "comparator",
    "target",
    "from",
    "to",
    "procedureCode",
    "status",
    "actual",
]


def _flat(row: dict[str, Any], level: str, code: str, name: str) -> list[Any]:
    f, index, nc = row["figures"], row["index766"], row["nonconformities"]
    return [
        level,
        code,
        name,
        *(f[key] for key in FIGURE_KEYS),
        index["progress"]["points"],
        index["satisfaction"]["points"],
        index766.total(row["index766Groups"]),
        sum(group["measuredMaxPoints"] for group in row["index766Groups"]),
        row.get("isoStatus"),
        nc["raised"],
        nc["open"],
    ]


def table(report: dict[str, Any]) -> list[list[Any]]:
    """The figures as one table: a line per agency (or province), then the total."""
    lines = [_flat(row, row["level"], row["code"], row["name"]) for row in report["rows"]]
    province = report["province"] or {"code": "VN", "name": "Toàn quốc"}
    lines.append(_flat(report["total"], report["level"], province["code"], province["name"]))
    return lines


def objective_table(report: dict[str, Any]) -> list[list[Any]]:
    return [[{**o, **o["period"]}[key] for key in OBJECTIVE_COLUMNS] for o in report["objectives"]]


def export(report: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        return orjson.dumps(report, option=orjson.OPT_INDENT_2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        writer.writerows(table(report))
        return buffer.getvalue().encode("utf-8-sig")  # the BOM lets Excel read Vietnamese
    if fmt == "xlsx":
        return _xlsx(report)
    raise ValueError(f"unknown format {fmt}")


def _xlsx(report: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets = [
        ("Số liệu", COLUMNS, table(report)),
        ("Mục tiêu", OBJECTIVE_COLUMNS, objective_table(report)),
    ]
    for number, (title, header, lines) in enumerate(sheets):
        sheet = book.worksheets[0] if number == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for line in lines:
            sheet.append(line)
    about = book.create_sheet("Báo cáo")
    scope = report["province"]["name"] if report["province"] else "Toàn quốc"
    for line in (
        ["Báo cáo tình hình áp dụng TCVN ISO 9001:2015", scope],
        ["Năm", report["year"]],
        ["Từ ngày", report["period"]["from"]],
        ["Đến ngày", report["period"]["to"]],
        ["Lập lúc", report["generatedAt"]],
    ):
        about.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
