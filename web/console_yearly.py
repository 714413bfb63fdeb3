"""The province console's yearly reports (web/console.py tells who signs in): every agency's
report of a year at a glance (`yearlyReportBoard`), one agency's report with its figures and
history, returning it with comments or accepting it, and the compiled report of the province
(XLSX, PDF) fetched in-process from core/http/downloads.py with the administrator's token.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from eiso.core.global_ids import decode_id
from eiso.web.console import Admin, admin_of, admin_page, admin_post, context_of
from eiso.web.desk import fetched
from eiso.web.iso_conformity import FORMATS, PARTS, not_found, today, years
from eiso.web.pages import render
from eiso.web.portal import failed
from eiso.web.run import OperationFailed, run

MOVES = {"tra-lai": "ConsoleReturnYearlyReport", "chap-nhan": "ConsoleAcceptYearlyReport"}


def _year(request: Request) -> int:
    raw = request.query_params.get("nam", "")
    return int(raw) if raw.isdigit() and len(raw) == 4 else today().year


def _base(admin: Admin) -> str:
    return f"{context_of(admin, 'yearly')['here']}/bao-cao-nam"


async def _board(request: Request, admin: Admin) -> Response:
    year = _year(request)
    variables = {"year": year, "provinceId": admin.province["id"]}
    data = await run(request, "ConsoleYearlyBoard", variables, token=admin.token)
    return render(
        request,
        "console_yearly.html",
        {
            **context_of(admin, "yearly"),
            "board": data["yearlyReportBoard"],
            "year": year,
            "years": years(),
        },
    )


board = admin_page(_board)


async def _report_page(
    request: Request, admin: Admin, error: OperationFailed | None = None
) -> Response:
    found = await run(
        request, "IsoYearlyReport", {"id": request.path_params["id"]}, token=admin.token
    )
    report = found["yearlyReport"]
    if not _of_province(admin, report):
        return failed(request, not_found())
    return render(
        request,
        "console_yearly_report.html",
        {
            **context_of(admin, "yearly"),
            "report": report,
            "parts": PARTS,
            "done": request.query_params.get("xong"),
            "error": error,
        },
        error.status if error else 200,
    )


report = admin_page(_report_page)


async def move(request: Request) -> Response:
    """POST: return the report with the form's comment (`tra-lai`) or accept it (`chap-nhan`)."""
    id, name = request.path_params["id"], request.path_params["move"]

    async def act(admin: Admin, form: FormData) -> str:
        if name not in MOVES:
            raise not_found()
        variables = {"id": id, "comment": str(form.get("comment") or "").strip()}
        # The report must be one of this province's (another's is NOT_FOUND) before any move.
        await _province_report(request, admin, id)
        await run(request, MOVES[name], variables, write=True, token=admin.token)
        return f"{_base(admin)}/{id}?xong={name}"

    async def again(admin: Admin, error: OperationFailed) -> Response:
        return await _report_page(request, admin, error)

    return await admin_post(request, act, again)


def _of_province(admin: Admin, report: dict[str, Any] | None) -> bool:
    """Whether the report is one of the path's province's agencies' (a national administrator
    reads every province's: another province's is a 404 under this one's console)."""
    if report is None:
        return False
    province, _ = decode_id(admin.province["id"], "Province")
    return decode_id(report["agencyId"], "Agency")[0] == province


async def _province_report(request: Request, admin: Admin, id: str) -> None:
    """NOT_FOUND unless the report is readable and of the path's province."""
    found = (await run(request, "IsoYearlyReport", {"id": id}, token=admin.token))["yearlyReport"]
    if not _of_province(admin, found):
        raise not_found()


async def compiled(request: Request) -> Response:
    """The province's compiled report of `nam` as XLSX or PDF."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        return failed(request, not_found())
    path = f"/provinces/{admin.province['id']}/yearly-reports/{_year(request)}.{fmt}"
    return await fetched(request, admin.token, path)
