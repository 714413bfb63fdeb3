"""The province console's DOST inspections of the agencies' ISO application (web/console.py
tells who signs in; core/qms/inspections.py keeps the rules):

- the year's page (`/kiem-tra?nam=`): the plan (created or renamed here), the inspections by
  date, the form that puts an agency on the plan, and the PAR summary of every agency of the
  province (inspected or not, findings, closed and verified), also as CSV;
- an inspection's page: its checklist by clause (each item's result and note while it runs), a
  finding recorded against an item (it opens a nonconformity in the inspected agency), the
  conclusion, the verification of each finding whose nonconformity the agency closed, and the
  close of the follow-up.

An inspection of another province's agency is a 404 under this province's console (a national
administrator reads every province's), as it is NOT_FOUND for another province's administrator.
"""

from __future__ import annotations

import csv
import functools
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from eiso.core.errors import NotFound
from eiso.core.global_ids import decode_id
from eiso.web.console import Admin, admin_of, admin_page, admin_posting, context_of
from eiso.web.iso_conformity import not_found, today, years
from eiso.web.portal import failed, form_page, moved
from eiso.web.run import OperationFailed, run

RESULTS = ("NOT_CHECKED", "CONFORM", "NONCONFORM", "NOT_APPLICABLE")
# An inspection's moves: path segment → (operation, the form's fields → the API's arguments).
MOVES: dict[str, tuple[str, dict[str, str]]] = {
    "bat-dau": ("ConsoleStartInspection", {}),
    "danh-dau": (
        "ConsoleMarkInspectionItem",
        {"item": "itemCode", "result": "result", "note": "note"},
    ),
    "phat-hien": (
        "ConsoleRecordInspectionFinding",
        {"item": "itemCode", "description": "description"},
    ),
    "ket-luan": ("ConsoleConcludeInspection", {"conclusion": "conclusion"}),
    "xac-minh": ("ConsoleVerifyInspectionFinding", {"note": "note"}),
    "dong": ("ConsoleCloseInspection", {}),
}
CSV_HEAD = (
    "ma_co_quan",
    "ten_co_quan",
    "trong_ke_hoach",
    "ngay_du_kien",
    "trang_thai",
    "da_kiem_tra",
    "phat_hien",
    "da_khac_phuc",
    "da_xac_minh",
)


def _year(request: Request) -> int:
    raw = request.query_params.get("nam", "")
    return int(raw) if raw.isdigit() and len(raw) == 4 else today().year


def base(admin: Admin) -> str:
    return f"{context_of(admin, 'inspections')['here']}/kiem-tra"


def _province_id(admin: Admin) -> int:
    return decode_id(admin.province["id"], "Province")[0]


async def _year_data(request: Request, admin: Admin, year: int) -> dict[str, Any]:
    variables = {"year": year, "provinceId": admin.province["id"]}
    return await run(request, "ConsoleInspections", variables, token=admin.token)


async def _year_page(
    request: Request, admin: Admin, year: int, error: OperationFailed | None = None
) -> Response:
    try:
        data = await _year_data(request, admin, year)
    except OperationFailed as failure:
        return failed(request, failure)
    summary = data["inspectionSummary"]
    return form_page(
        request,
        "console_inspections.html",
        {
            **context_of(admin, "inspections"),
            "base": base(admin),
            "year": year,
            "years": years(),
            "plan": data["inspectionPlan"],
            "inspections": data["inspections"],
            "summary": summary,
            "unplanned": [line for line in summary if not line["planned"]],
            "totals": {
                key: sum(int(line[key]) for line in summary)
                for key in ("planned", "inspected", "findings", "closed", "verified")
            },
            "today": today().isoformat(),
        },
        error,
    )


async def year(request: Request) -> Response:
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    return await _year_page(request, admin, _year(request))


async def _posted(request: Request, fields: int = 8) -> tuple[Admin, dict[str, str]] | Response:
    found = await admin_posting(request, fields)
    if isinstance(found, Response):
        return found
    admin, form = found
    return admin, {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}


async def plan_move(request: Request) -> Response:
    """POST: save the year's plan (`ke-hoach`) or put an agency on it (`lich`)."""
    found = await _posted(request)
    if isinstance(found, Response):
        return found
    admin, form = found
    raw = form.get("year", "")
    chosen = int(raw) if raw.isdigit() and len(raw) == 4 else today().year
    name = request.path_params["move"]

    async def act() -> str:
        if name == "ke-hoach":
            variables: dict[str, Any] = {
                "year": chosen,
                "title": form.get("title", ""),
                "notes": form.get("notes", ""),
                "provinceId": admin.province["id"],
            }
            await run(
                request, "ConsoleSaveInspectionPlan", variables, write=True, token=admin.token
            )
        elif name == "lich":
            agency = form.get("agency", "")
            if not _of_province(admin, agency):
                raise not_found()
            variables = {
                "agencyId": agency,
                "year": chosen,
                "plannedOn": form.get("plannedOn", ""),
                "inspectors": form.get("inspectors", ""),
            }
            await run(
                request, "ConsoleScheduleInspection", variables, write=True, token=admin.token
            )
        else:
            raise not_found()
        return f"{base(admin)}?nam={chosen}&xong={name}"

    return await moved(request, act, functools.partial(_year_page, request, admin, chosen))


def _of_province(admin: Admin, agency_id: str | None) -> bool:
    """Whether the agency is one of the path's province's."""
    try:
        return bool(agency_id) and decode_id(str(agency_id), "Agency")[0] == _province_id(admin)
    except NotFound:  # an id not made here: as another province's
        return False


async def _inspection(request: Request, admin: Admin, id: str) -> dict[str, Any]:
    """The inspection, NOT_FOUND unless readable and of the path's province."""
    found = (await run(request, "ConsoleInspection", {"id": id}, token=admin.token))["inspection"]
    if not _of_province(admin, found["agencyId"]):
        raise not_found()
    return found


async def _inspection_page(
    request: Request, admin: Admin, error: OperationFailed | None = None
) -> Response:
    try:
        found = await _inspection(request, admin, request.path_params["id"])
    except OperationFailed as failure:
        return failed(request, failure)
    clauses: dict[str, list[dict[str, Any]]] = {}
    for item in found["checklist"]:
        clauses.setdefault(item["clause"], []).append(item)
    return form_page(
        request,
        "console_inspection.html",
        {
            **context_of(admin, "inspections"),
            "base": base(admin),
            "inspection": found,
            "clauses": list(clauses.items()),
            "results": RESULTS,
        },
        error,
    )


inspection = admin_page(_inspection_page)


async def move(request: Request) -> Response:
    """POST: a move of the inspection (MOVES); `xac-minh` names the finding (`finding`)."""
    found = await _posted(request)
    if isinstance(found, Response):
        return found
    admin, form = found
    id, name = request.path_params["id"], request.path_params["move"]
    if name not in MOVES:
        return failed(request, not_found())
    operation, fields = MOVES[name]
    variables = {argument: form.get(field, "") for field, argument in fields.items()}

    async def act() -> str:
        # The inspection must be one of this province's (another's is NOT_FOUND) before any move.
        inspected = await _inspection(request, admin, id)
        if name == "xac-minh":
            finding = form.get("finding", "")
            if finding not in {f["id"] for f in inspected["findings"]}:
                raise not_found()
            variables["id"] = finding
        else:
            variables["id"] = id
        await run(request, operation, variables, write=True, token=admin.token)
        return f"{base(admin)}/{id}?xong={name}"

    return await moved(request, act, functools.partial(_inspection_page, request, admin))


async def par_csv(request: Request) -> Response:
    """The PAR summary of `nam` as CSV (UTF-8 with BOM, for spreadsheets)."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    chosen = _year(request)
    try:
        data = await _year_data(request, admin, chosen)
    except OperationFailed as failure:
        return failed(request, failure)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEAD)
    for line in data["inspectionSummary"]:
        writer.writerow(
            (
                line["agencyCode"],
                line["agencyName"],
                int(line["planned"]),
                line["plannedOn"] or "",
                (line["status"] or "").lower(),
                int(line["inspected"]),
                line["findings"],
                line["closed"],
                line["verified"],
            )
        )
    name = f"par-kiem-tra-iso-{admin.province['code']}-{chosen}.csv"
    return Response(
        ("\ufeff" + out.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )
