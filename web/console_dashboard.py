"""The province console's dashboard (/quan-tri/bang-dieu-khien): a province's figures for a
month or a year, per agency and over the twelve months up to the period's end, a ranking of
its agencies, the six groups of Decision 766 and the conformity of its agencies.

Every number is the `figures` query's own (web/operations/ConsoleDashboard.graphql, run with
the signed-in administrator's token, web/run.py): the page computes none, it only arranges
them. Each links to the dossiers behind it (`figureDossiers`, the list page here). Charts are
SVG written on the server (web/console_dashboard_charts.py), each with the table it is drawn from.

Province administrators see their own province (another province is a 404, as `figures`
answers NOT_FOUND); national administrators choose the province; everyone else is refused.
Sign-in is the desk's (web/desk_auth.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import quote_plus, urlencode

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from eiso.core.qms.annual_report import DOSSIER_KEYS
from eiso.core.workdays import VN_TZ
from eiso.web import console_dashboard_charts as charts
from eiso.web import i18n
from eiso.web.console import ADMINS
from eiso.web.desk import label
from eiso.web.desk_auth import signed_in
from eiso.web.pages import render
from eiso.web.portal import failed
from eiso.web.run import OperationFailed, not_allowed, run

CONSOLE = "/quan-tri"
DASHBOARD = CONSOLE + "/bang-dieu-khien"
DOSSIERS = DASHBOARD + "/ho-so"
MONTHS = 12
# The numbers a link may ask the dossiers of (FigureMetric).
METRICS = (
    "RECEIVED",
    "FINISHED",
    "ON_TIME",
    "FINISHED_LATE",
    "BACKLOG",
    "BACKLOG_LATE",
    "LATE",
    "RATED",
    "SATISFIED",
)
# A group `figures` answers no row for (no dossier at all): its counts are nought.
EMPTY: dict[str, Any] = {
    "received": 0,
    "receivedOnline": 0,
    "finished": 0,
    "onTime": 0,
    "late": 0,
    "finishedLate": 0,
    "backlog": 0,
    "backlogLate": 0,
    "onTimeRate": None,
    "meanDays": None,
    "p90Days": None,
    "ratingCount": 0,
    "ratingMean": None,
    "satisfied": 0,
    "satisfiedShare": None,
    "index766Groups": [],
}
ISO_STATUSES = ("ANNOUNCED", "BUILDING", "TO_BE_REANNOUNCED", "NOT_STARTED")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclasses.dataclass(frozen=True)
class Period:
    """The page's period: a month (`2026-11`) or a year (`2026`)."""

    year: int
    month: int | None = None

    @classmethod
    def parse(cls, raw: str | None, today: dt.date) -> Period | None:
        """The period of `?ky=`; the current month when absent; None when it is no period."""
        if not raw:
            return cls(today.year, today.month)
        found = _PERIOD.match(raw)
        if not found:
            return None
        year, month = int(found.group(1)), found.group(2)
        if not 1900 <= year <= 9999 or (month is not None and not 1 <= int(month) <= 12):
            return None
        return cls(year, int(month) if month else None)

    @property
    def key(self) -> str:
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"

    def variables(self) -> dict[str, int]:
        return {"year": self.year} | ({"month": self.month} if self.month else {})

    def months(self) -> list[Period]:
        """The twelve months up to the period's last one (a year: its own twelve)."""
        last = (self.year * 12) + (self.month or 12) - 1
        return [Period(m // 12, m % 12 + 1) for m in range(last - MONTHS + 1, last + 1)]

    def shifted(self, step: int) -> Period:
        if self.month is None:
            return Period(self.year + step)
        index = self.year * 12 + self.month - 1 + step
        return Period(index // 12, index % 12 + 1)


def _refused() -> OperationFailed:
    return not_allowed(
        "the dashboard is for the province's and the nation's administrators",
        "bảng điều khiển dành cho quản trị viên của tỉnh và quản trị viên quốc gia",
    )


def _not_found() -> OperationFailed:
    return OperationFailed("NOT_FOUND", "province not found", "không tìm thấy tỉnh")


def _bad_period() -> OperationFailed:
    return OperationFailed(
        "BAD_PERIOD",
        "period: a year (2026) or a month (2026-11)",
        "kỳ báo cáo: một năm (2026) hoặc một tháng (2026-11)",
        field="ky",
    )


async def _province(request: Request, token: str) -> dict[str, Any]:
    """The province the page is about: a province administrator's own (another one asked is
    NOT_FOUND), or the one a national administrator names (`?tinh=`). Raises OperationFailed;
    an empty dict: a national administrator who has not chosen yet."""
    code = request.query_params.get("tinh", "")[:32]
    variables = {"provinceCode": code, "named": bool(code)}
    data = await run(request, "ConsoleDashboardMe", variables, token=token)
    roles = set(data["me"]["roles"])
    if not roles & ADMINS:
        raise _refused()
    own = data["me"]["provinces"]
    if "NATIONAL_ADMIN" in roles:
        if not code:
            return {}
        if data.get("province") is None:
            raise _not_found()
        return dict(data["province"])
    chosen = next((p for p in own if p["code"] == code), None) if code else (own or [None])[0]
    if chosen is None:
        raise _not_found()
    return dict(chosen)


def _agency_id(request: Request) -> str | None:
    raw = request.query_params.get("co-quan", "")
    return raw[:200] or None


def _today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


async def dashboard(request: Request) -> Response:
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    period = Period.parse(request.query_params.get("ky"), _today())
    try:
        if period is None:
            raise _bad_period()
        province = await _province(request, token)
        if not province:
            return await _choose_province(request)
        agency_id = _agency_id(request)
        variables = dashboard_variables(province, period, agency_id)
        data = await run(request, "ConsoleDashboard", variables, token=token)
    except OperationFailed as error:
        return failed(request, error)
    language = i18n.language_of(request)
    page = build_page(data, province, period, agency_id, language)
    return render(request, "console_dashboard.html", page)


def dashboard_variables(
    province: dict[str, Any], period: Period, agency_id: str | None
) -> dict[str, Any]:
    """The variables of ConsoleDashboard (the benchmark runs the operation with these too)."""
    variables: dict[str, Any] = {
        "provinceId": province["id"],
        "provinceCode": province["code"],
        "agencyId": agency_id,
        "period": period.variables(),
        "reportYear": period.year,
    }
    for index, month in enumerate(period.months(), start=1):
        variables[f"m{index:02d}"] = month.variables()
    return variables


async def _choose_province(request: Request) -> Response:
    """A national administrator's first step: which province."""
    try:
        data = await run(request, "Provinces")
    except OperationFailed as error:
        return failed(request, error)
    provinces = [e["node"] for e in data["provinces"]["edges"]]
    return render(
        request, "console_dashboard_provinces.html", {"provinces": provinces, "base": DASHBOARD}
    )


def _metric_label(metric: str, language: str) -> str:
    return charts.text(metric, language)


def _status_label(status: str, language: str) -> str:
    return charts.text(status, language)


def _group_label(group: str, language: str) -> str:
    return charts.text(group, language)


def _link(base: str, **query: str | None) -> str:
    kept = {k: v for k, v in query.items() if v}
    return base + ("?" + urlencode(kept) if kept else "")


# The figures each table shows, and the metric whose dossiers each links to (the mean and p90
# are computed from the finished dossiers; a rate links nowhere: its two numbers do).
LINKED = {
    "received": "RECEIVED",
    "finished": "FINISHED",
    "onTime": "ON_TIME",
    "late": "LATE",
    "backlog": "BACKLOG",
    "backlogLate": "BACKLOG_LATE",
    "meanDays": "FINISHED",
    "p90Days": "FINISHED",
    "satisfied": "SATISFIED",
    "ratingCount": "RATED",
}
_THOUSANDTH = Decimal("0.001")
RATES = frozenset({"onTimeRate", "satisfiedShare"})
TILES = (*DOSSIER_KEYS, "satisfied", "ratingCount")
AGENCY_COLUMNS = TILES
TREND_COLUMNS = (
    "received",
    "onTime",
    "late",
    "backlogLate",
    "onTimeRate",
    "meanDays",
    "p90Days",
    "satisfiedShare",
)
RANKING_COLUMNS = ("onTimeRate", "received")


@dataclasses.dataclass(frozen=True)
class Cell:
    """A number as the page shows it, and the dossiers behind it (the tiles, the months)."""

    name: str
    text: str
    href: str | None

    def __html__(self) -> str:
        if self.href is None:
            return str(escape(self.text))
        return f'<a href="{escape(self.href)}">{escape(self.text)}</a>'


def row_html(row: list[Cell]) -> Markup:
    """A table row's cells, made here rather than by a macro."""
    return Markup("".join(f'<td data-figure="{c.name}">{c.__html__()}</td>' for c in row))


class Numbers:
    """The page's numbers in its language: whole numbers with the locale's group separator
    (what `i18n.number` writes, without Babel's cost for each of thousands of cells), others
    through `i18n.number`, rates as per cent with one decimal, none as a dash."""

    def __init__(self, language: str) -> None:
        self.language = language
        sample = i18n.number(Decimal("1000.5"), language)  # "1.000,5" in Vietnamese
        self.group, self.decimal = sample[1], sample[-2]

    def __call__(self, value: Any, name: str = "") -> str:
        if value is None:
            return "—"
        if name in RATES:
            return f"{self.plain(round(value * 100, 1))} %"
        return self.plain(value)

    def plain(self, value: Any) -> str:
        """As Babel's default pattern (#,##0.###) writes it: at most three decimals, rounded
        half to even, no trailing zeros."""
        if type(value) is int:  # most cells: counts (bool is no count)
            return f"{value:,}".replace(",", self.group)
        if not isinstance(value, float):  # escaped: the tables write these without Jinja
            return escape(i18n.number(value, self.language))
        exact = Decimal(str(value)).quantize(_THOUSANDTH, ROUND_HALF_EVEN)
        whole, _, fraction = f"{exact:,f}".partition(".")
        fraction = fraction.rstrip("0")
        whole = whole.replace(",", self.group)
        return f"{whole}{self.decimal}{fraction}" if fraction else whole


class Links:
    """The page's links: `_link`'s, their common part (base, province, period) made once (a
    province's tables hold thousands), the agency's appended as `urlencode` would."""

    def __init__(self, province_code: str, period: Period) -> None:
        self.province_code, self.key = province_code, period.key
        self._prefixes: dict[tuple[str, str], str] = {}

    def _where(self, base: str, agency: str | None, key: str | None) -> str:
        key = key or self.key
        prefix = self._prefixes.get((base, key))
        if prefix is None:
            prefix = _link(base, tinh=self.province_code, ky=key)
            self._prefixes[(base, key)] = prefix
        if not agency:
            return prefix
        return f"{prefix}{'&' if '?' in prefix else '?'}co-quan={quote_plus(agency)}"

    def dossiers(self, metric: str, agency: str | None, key: str | None = None) -> str:
        return f"{self._where(DOSSIERS, agency, key)}&chi-so={metric}"

    def dashboard(self, agency: str | None = None, key: str | None = None) -> str:
        return self._where(DASHBOARD, agency, key)


def cells(
    row: dict[str, Any],
    names: tuple[str, ...],
    numbers: Numbers,
    links: Links,
    agency: str | None,
    key: str | None = None,
) -> list[Cell]:
    return [
        Cell(
            name,
            numbers(row.get(name), name),
            links.dossiers(LINKED[name], agency, key) if name in LINKED else None,
        )
        for name in names
    ]


def agency_row_html(
    row: dict[str, Any], names: tuple[str, ...], numbers: Numbers, dossiers: str
) -> Markup:
    """An agency table's cells, as `row_html(cells(...))` writes them, in one pass: the row's
    link to its dossiers is escaped once (`dossiers`: up to its metric, `…&chi-so=`), each
    cell only adds its metric (a province's two agency tables hold thousands of cells).
    `numbers` writes digits, separators and signs (anything else escaped): nothing to escape."""
    return Markup(
        "".join(
            f'<td data-figure="{name}"><a href="{dossiers}{LINKED[name]}">'
            f"{numbers(row.get(name), name)}</a></td>"
            if name in LINKED
            else f'<td data-figure="{name}">{numbers(row.get(name), name)}</td>'
            for name in names
        )
    )


def build_page(
    data: dict[str, Any],
    province: dict[str, Any],
    period: Period,
    agency_id: str | None,
    language: str,
) -> dict[str, Any]:
    """The template's context: the query's numbers arranged and written, the links behind
    them, the charts."""
    conformity = data["conformity"] or {"total": 0, "counts": [], "agencies": []}
    names = {a["agencyId"]: a["agencyName"] for a in conformity["agencies"]}
    total = data["total"][0] if data["total"] else EMPTY
    numbers, links = Numbers(language), Links(province["code"], period)
    agencies = sorted(
        ({**row, "name": names.get(row["agencyId"], row["agencyId"])} for row in data["agencies"]),
        key=lambda r: r["name"],
    )
    ranking = sorted(
        (r for r in agencies if r["onTimeRate"] is not None),
        key=lambda r: (-r["onTimeRate"], -r["received"], r["name"]),
    )
    trend = [
        {**EMPTY, **(data[f"m{i:02d}"] or [{}])[0], "period": month.key}
        for i, month in enumerate(period.months(), start=1)
    ]

    # Each agency's row head and links, made and escaped once for both tables (its dossiers'
    # link without metric): a province's tables are written here, not cell by cell in Jinja.
    heads: dict[str, tuple[str, str]] = {}
    dossiers: dict[str, str] = {}
    for r in agencies:
        agency = r["agencyId"]
        href = links.dashboard(agency)
        heads[agency] = (
            f'<tr data-agency="{escape(agency)}">',
            f'<th scope="row"><a href="{escape(href)}">{escape(r["name"])}</a></th>',
        )
        dossiers[agency] = str(escape(links.dossiers("", agency)))

    def table(rows: list[dict[str, Any]], columns: tuple[str, ...], ranked: bool) -> Markup:
        """The table's rows (`ranked`: their rank first), one a line, as the template's
        loop wrote them."""
        written = []
        for rank, r in enumerate(rows, start=1):
            opened, head = heads[r["agencyId"]]
            figures = agency_row_html(r, columns, numbers, dossiers[r["agencyId"]])
            rank_cell = f"<td>{rank}</td>" if ranked else ""
            written.append(f"  {opened}{rank_cell}{head}{figures}</tr>")
        return Markup("\n".join(written))

    return {
        "province": province,
        "period": period,
        "previous": links.dashboard(agency_id, period.shifted(-1).key),
        "next": links.dashboard(agency_id, period.shifted(1).key),
        "whole_province": links.dashboard(None),
        "agency_id": agency_id,
        "agency_name": names.get(agency_id) if agency_id else None,
        "tiles": {c.name: c for c in cells(total, TILES, numbers, links, agency_id)},
        "index766": total["index766Groups"],
        "agency_rows": table(agencies, AGENCY_COLUMNS, ranked=False),
        "ranking_rows": table(ranking, RANKING_COLUMNS, ranked=True),
        "trend_rows": [
            {
                "period": m["period"],
                "href": links.dashboard(agency_id, m["period"]),
                "cells": row_html(cells(m, TREND_COLUMNS, numbers, links, agency_id, m["period"])),
            }
            for m in trend
        ],
        "conformity": conformity,
        "by_status": {
            s: [
                {**a, "href": links.dashboard(a["agencyId"])}
                for a in conformity["agencies"]
                if a["status"] == s
            ]
            for s in ISO_STATUSES
        },
        "reports": reports_overview(data.get("reports"), province["code"]),
        "number": numbers,
        "base": DASHBOARD,
        "statuses": ISO_STATUSES,
        "status_label": _status_label,
        "group_label": _group_label,
        "charts": charts.dashboard_charts(total, trend, ranking, conformity, language),
    }


REPORT_STATUSES = ("NOT_STARTED", "DRAFT", "SUBMITTED", "RETURNED", "RESUBMITTED", "ACCEPTED")


def reports_overview(board: dict[str, Any] | None, province_code: str) -> dict[str, Any] | None:
    """The yearly reports of the period's year at a glance: agencies per status, how many are
    late (past the province's due date and not submitted), the console's board behind them."""
    if board is None:
        return None
    counts = board["byStatus"] or {}
    return {
        "year": board["year"],
        "due_on": board["dueOn"],
        "total": board["total"],
        "counts": [(s, int(counts.get(s, 0))) for s in REPORT_STATUSES],
        "overdue": sum(1 for a in board["agencies"] if a["overdue"]),
        "href": f"/quan-tri/tinh/{province_code}/bao-cao-nam?nam={board['year']}",
    }


async def dossiers(request: Request) -> Response:
    """The dossiers behind one number of the dashboard (`figureDossiers`), 50 a page."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    query = request.query_params
    period = Period.parse(query.get("ky"), _today())
    metric = query.get("chi-so", "")
    try:
        if period is None:
            raise _bad_period()
        if metric not in METRICS:
            raise OperationFailed("BAD_INPUT", "unknown number", "chỉ số không hợp lệ", "chi-so")
        province = await _province(request, token)
        if not province:
            return await _choose_province(request)
        variables = {
            "metric": metric,
            "period": period.variables(),
            "provinceId": province["id"],
            "agencyId": _agency_id(request),
            "after": query.get("sau", "")[:200] or None,
        }
        data = await run(request, "ConsoleDashboardDossiers", variables, token=token)
    except OperationFailed as error:
        return failed(request, error)
    found = data["figureDossiers"]
    kept = {k: v for k, v in query.items() if k != "sau"}
    return render(
        request,
        "console_dashboard_dossiers.html",
        {
            "province": province,
            "period": period,
            "metric": metric,
            "metric_label": _metric_label,
            "label": label,
            "total": found["totalCount"],
            "rows": [e["node"] for e in found["edges"]],
            "next": _link(DOSSIERS, **kept, sau=found["pageInfo"]["endCursor"])
            if found["pageInfo"]["hasNextPage"]
            else None,
            "back": _link(
                DASHBOARD, tinh=province["code"], ky=period.key, **{"co-quan": _agency_id(request)}
            ),
        },
    )
