"""The ISO workspace's conformity, yearly report and downloads (web/iso_workspace.py tells who
signs in and how the pages run their operations):

- conformity (`/iso/cong-bo`): the agency's announcement, its QMS scope chosen from the
  procedures it adopted and the activities it covers (`setConformityScope`), what an
  announcement dated a given day would still lack (the `prerequisites` that
  `announceConformity` refuses with PREREQUISITES_UNMET), the announcement and re-announcement;
- the yearly report (`/iso/bao-cao-nam`): the written parts the ISO secretary or leader fills,
  eiso's figures, submitting, its state and the DOST's comments;
- downloads (`/iso/tai-ve`): the yearly report (XLSX, PDF), the tracking book (CSV, XLSX) and a
  dossier's slips, fetched in-process from core/http/downloads.py with the member's token
  (web/desk.py `fetched`), each offered to the roles its route's rule allows.
"""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from eiso.core.workdays import VN_TZ
from eiso.web.desk import fetched
from eiso.web.desk_auth import ISO
from eiso.web.iso_workspace import (
    APPROVERS,
    DOC_KEEPERS,
    Member,
    member_of,
    member_page,
    member_posting,
    page_context,
    refused_input,
    text,
)
from eiso.web.pages import render
from eiso.web.portal import failed, form_page, moved
from eiso.web.run import OperationFailed, run

KEEPERS = DOC_KEEPERS  # ISO secretary and leader: scope, yearly report (core/auth/rules.py)
ANNOUNCERS = APPROVERS  # the leader announces
DOSSIER_STAFF = frozenset({"OFFICER", "LEADER"})  # the tracking book's and slips' rule
# The yearly report's written parts: the form's field (core/qms/yearly_reports.py) → the API's.
PARTS = {
    "scope": "scope",
    "procedures": "procedures",
    "legal_updates": "legalUpdates",
    "difficulties": "difficulties",
    "proposals": "proposals",
    "funding": "funding",
}
YEARS_BACK = 3  # the years offered: this one and the two before
SLIPS = range(1, 7)
FORMATS = {"xlsx", "pdf"}


def today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


def not_found() -> OperationFailed:
    return OperationFailed("NOT_FOUND", "no such page", "không tìm thấy trang này")


def _date(raw: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise OperationFailed(
            "BAD_INPUT",
            f"{field}: a date YYYY-MM-DD",
            f"{field}: ngày dạng YYYY-MM-DD",
            field=field,
        ) from None


def lines(raw: str) -> list[str]:
    """The non-blank lines of a textarea, trimmed."""
    return [line.strip() for line in raw.splitlines() if line.strip()]


# Conformity ----------------------------------------------------------------------------


async def _conformity_page(
    request: Request, member: Member, error: OperationFailed | None = None
) -> Response:
    raw = request.query_params.get("ngay", "")
    try:
        day = _date(raw, "ngay") if raw else today()
        data = await run(
            request, "IsoConformity", {"announcedOn": day.isoformat()}, token=member.token
        )
        province = data["me"]["agencies"][0]["province"]["code"]
        offers = await run(request, "DeskCounter", {"province": province}, token=member.token)
    except OperationFailed as failure:
        return failed(request, failure)
    mine = next((a for a in offers["publicServices"] if a["id"] == member.agency["id"]), None)
    adopted = [p["procedure"] for p in mine["procedures"]] if mine else []
    return form_page(
        request,
        "iso_conformity.html",
        page_context(
            member,
            "conformity",
            conformity=data["conformity"],
            adopted=sorted(adopted, key=lambda p: p["code"]),
            day=day.isoformat(),
            may_keep=member.may(KEEPERS),
            may_announce=member.may(ANNOUNCERS),
        ),
        error,
    )


conformity = member_page(_conformity_page)


async def conformity_move(request: Request) -> Response:
    """POST: start building the QMS (`xay-dung`), set its scope (`pham-vi`), announce
    (`cong-bo`)."""
    found = await member_posting(request, max_fields=MAX_SCOPE_FIELDS)
    if isinstance(found, Response):
        return found
    member, form = found
    move = request.path_params["move"]
    if move not in ("xay-dung", "pham-vi", "cong-bo"):
        return failed(request, not_found())

    async def act() -> str:
        variables: dict[str, Any]
        if move == "xay-dung":
            since = _date(text(form, "since"), "since")
            operation = "IsoStartBuilding"
            variables = {"since": since.isoformat()}
        elif move == "pham-vi":
            procedures = [str(code) for code in form.getlist("procedures")]
            if not procedures:
                raise refused_input("procedures")
            operation = "IsoSetScope"
            variables = {"procedures": procedures, "activities": lines(text(form, "activities"))}
        elif move == "cong-bo":
            on = _date(text(form, "announcedOn"), "announcedOn")
            operation = "IsoAnnounce"
            variables = {"decisionNumber": text(form, "decisionNumber"), "announcedOn": str(on)}
        await run(request, operation, variables, write=True, token=member.token)
        return f"{ISO}/cong-bo?xong={move}"

    return await moved(request, act, functools.partial(_conformity_page, request, member))


MAX_SCOPE_FIELDS = 1_100  # a checkbox per adopted procedure (the mutation takes 1,000)


# The yearly report ---------------------------------------------------------------------


def _year(request: Request) -> int:
    raw = request.query_params.get("nam", "")
    return int(raw) if raw.isdigit() and len(raw) == 4 else today().year


def years() -> list[int]:
    return [today().year - back for back in range(YEARS_BACK)]


async def _yearly_page(
    request: Request, member: Member, year: int, error: OperationFailed | None = None
) -> Response:
    try:
        report = (await run(request, "IsoYearlyReport", {"year": year}, token=member.token))[
            "yearlyReport"
        ]
    except OperationFailed as failure:
        return failed(request, failure)
    editable = report is None or report["status"] in ("DRAFT", "RETURNED")
    return render(
        request,
        "iso_yearly.html",
        page_context(
            member,
            "yearly",
            report=report,
            year=year,
            years=years(),
            parts=PARTS,
            done=request.query_params.get("xong"),
            error=error,
            may_fill=member.may(KEEPERS) and editable,
        ),
        error.status if error else 200,
    )


async def yearly(request: Request) -> Response:
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    return await _yearly_page(request, member, _year(request))


async def yearly_move(request: Request) -> Response:
    """POST: save the written parts (`luu`), or save and send to the DOST (`gui`)."""
    found = await member_posting(request)
    if isinstance(found, Response):
        return found
    member, form = found
    move, year = request.path_params["move"], _year(request)
    if move not in ("luu", "gui"):
        return failed(request, not_found())
    parts = {field: str(form.get(name) or "") for name, field in PARTS.items()}

    async def act() -> str:
        saved = await run(
            request,
            "IsoSaveYearlyReport",
            {"year": year, "input": parts},
            write=True,
            token=member.token,
        )
        if move == "gui":
            report_id = saved["saveYearlyReport"]["id"]
            await run(
                request, "IsoSubmitYearlyReport", {"id": report_id}, write=True, token=member.token
            )
        return f"{ISO}/bao-cao-nam?nam={year}&xong={move}"

    return await moved(request, act, functools.partial(_yearly_page, request, member, year))


# Downloads -----------------------------------------------------------------------------


async def downloads(request: Request) -> Response:
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    reports = []
    try:
        for year in years():
            found = await run(request, "IsoYearlyReport", {"year": year}, token=member.token)
            if found["yearlyReport"]:
                reports.append(found["yearlyReport"])
    except OperationFailed as failure:
        return failed(request, failure)
    first = today().replace(day=1)
    return render(
        request,
        "iso_downloads.html",
        page_context(
            member,
            "downloads",
            reports=reports,
            may_dossiers=member.may(DOSSIER_STAFF),
            start=first.isoformat(),
            end=today().isoformat(),
            slips=SLIPS,
        ),
    )


async def yearly_file(request: Request) -> Response:
    """The agency's yearly report as XLSX or PDF (the route's `yearlyReportFile`)."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    id, fmt = request.path_params["id"], request.path_params["fmt"]
    if fmt not in FORMATS:
        return failed(request, not_found())
    return await fetched(request, member.token, f"/yearly-reports/{id}.{fmt}")


async def tracking_book(request: Request) -> Response:
    """The agency's tracking book (form 07) over a period, as CSV or XLSX."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx") or not member.may(DOSSIER_STAFF):
        return failed(request, not_found())
    query = urllib.parse.urlencode(
        {k: request.query_params[k] for k in ("from", "to") if request.query_params.get(k)}
    )
    path = f"/agencies/{member.agency['id']}/tracking-book.{fmt}"
    return await fetched(request, member.token, f"{path}?{query}" if query else path)


async def slip(request: Request) -> Response:
    """A slip of the agency's dossier named by its code (`ma`): number `so`, format `dang`."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    code = request.query_params.get("ma", "").strip()[:64]
    number, fmt = request.query_params.get("so", ""), request.query_params.get("dang", "pdf")
    if not code or not number.isdigit() or int(number) not in SLIPS or fmt not in ("html", "pdf"):
        return failed(request, not_found())
    try:
        found = await run(request, "IsoFindDossier", {"code": code}, token=member.token)
    except OperationFailed as failure:
        return failed(request, failure)
    ids = [e["node"]["id"] for e in found["dossiers"]["edges"] if e["node"]["code"] == code]
    if not ids:
        return failed(request, not_found())
    return await fetched(request, member.token, f"/dossiers/{ids[0]}/slips/{int(number)}.{fmt}")
