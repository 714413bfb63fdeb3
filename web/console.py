"""The province console (signed in through the desk's sign-in, web/desk_auth.py): a province's
agencies as a tree, onboarding them from a CSV (a dry run first), and its modules' switches.

For province administrators (their own province; another province's console is a 404, as an
unknown province is) and national administrators (every province). Every page runs its
operations of web/operations/ with the administrator's own access token (web/run.py): the
API's rules decide what they see and do, the page only refuses early who is no administrator.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.graphql.tenants.mutations import MAX_CONTENT
from eiso.web import console_import, csrf
from eiso.web.desk_auth import CONSOLE, signed_in_for
from eiso.web.pages import render
from eiso.web.portal import failed, forbidden, form_page, moved, page_for, posting
from eiso.web.run import OperationFailed, run

# The tree's groups under the province, in the order a province lists its units.
KINDS = (
    "PEOPLE_COMMITTEE",
    "DEPARTMENT",
    "SERVICE_CENTRE",
    "COMMUNE",
    "WARD",
    "SPECIAL_ZONE",
    "OTHER",
)
MAX_PAGES = 50  # pages of 100 agencies read for the tree: far more than a province has
MAX_UPLOAD = MAX_CONTENT  # bytes of a CSV upload (the mutation's own bound, in characters)
ADMINS = frozenset({"PROVINCE_ADMIN", "NATIONAL_ADMIN"})  # whom the console is for
NOT_ADMIN = (
    "The province console is for province and national administrators",
    "Trang quản trị tỉnh chỉ dành cho quản trị viên tỉnh và quản trị viên quốc gia",
)


@dataclasses.dataclass(frozen=True)
class Admin:
    """The signed-in administrator at the console of one province."""

    token: str
    subject: str
    national: bool
    province: dict[str, Any]  # id, code, name


def no_province(code: str) -> OperationFailed:
    """Another province's console, as an unknown one: the same 404."""
    return OperationFailed(
        "NOT_FOUND",
        f"no province console {code!r}",
        f"không tìm thấy trang quản trị của tỉnh {code!r}",
    )


def _is_admin(me: dict[str, Any]) -> bool:
    return bool(ADMINS & set(me["roles"]))


async def _me(request: Request) -> tuple[str, dict[str, Any]] | Response:
    return await signed_in_for(request, "ConsoleMe", _is_admin, NOT_ADMIN)


async def admin_of(request: Request) -> Admin | Response:
    """The administrator at the console of the path's province, or the page that refuses
    (sign in; 403 for who is no administrator; 404 for a province not theirs)."""
    found = await _me(request)
    if isinstance(found, Response):
        return found
    token, me = found
    code = request.path_params["province"]
    national = "NATIONAL_ADMIN" in me["roles"] and me["tenant"]["kind"] == "NATION"
    if national:
        try:
            province = (await run(request, "ConsoleProvince", {"code": code}, token=token))[
                "province"
            ]
        except OperationFailed as error:
            return failed(request, error)
    else:
        province = next((p for p in me["provinces"] if p["code"] == code), None)
    if province is None:
        return failed(request, no_province(code))
    return Admin(token, me["subject"], national, province)


async def home(request: Request) -> Response:
    """A province administrator goes to their province; a national one chooses."""
    found = await _me(request)
    if isinstance(found, Response):
        return found
    token, me = found
    if "NATIONAL_ADMIN" not in me["roles"] or me["tenant"]["kind"] != "NATION":
        if len(me["provinces"]) == 1:
            return RedirectResponse(f"{CONSOLE}/tinh/{me['provinces'][0]['code']}", 303)
        return render(request, "console_home.html", _base(me["subject"], me["provinces"]))
    search = request.query_params.get("q", "").strip()[:64] or None
    try:
        data = await run(request, "ConsoleProvinces", {"search": search}, token=token)
    except OperationFailed as error:
        return failed(request, error)
    provinces = [edge["node"] for edge in data["provinces"]["edges"]]
    return render(
        request,
        "console_home.html",
        {**_base(me["subject"], provinces), "search": search or "", "national": True},
    )


def _base(subject: str, provinces: list[dict[str, Any]]) -> dict[str, Any]:
    return {"console": CONSOLE, "subject": subject, "provinces": provinces, "national": False}


def admin_page(
    page: Callable[[Request, Admin], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A page of the console: `page(request, admin)` for the administrator (admin_of), or the
    page that refuses."""
    return page_for(admin_of, page)


async def admin_posting(request: Request, fields: int) -> tuple[Admin, FormData] | Response:
    """The administrator (admin_of) and their posted form (bounded, CSRF checked), or the page
    that refuses."""
    return await posting(admin_of, request, fields)


async def admin_post(
    request: Request,
    act: Callable[[Admin, FormData], Awaitable[str]],
    again: Callable[[Admin, OperationFailed], Awaitable[Response]],
    fields: int = 4,
) -> Response:
    """A console form's POST: the administrator (admin_of), the bounded form with its CSRF token
    checked (403 without), then `act(admin, form)`, which runs the operation and names the page
    to go to (303); an error shows `again(admin, error)`, the form's page with it, or the
    refusal page (web/portal.moved)."""
    found = await admin_posting(request, fields)
    if isinstance(found, Response):
        return found
    admin, form = found
    return await moved(
        request, functools.partial(act, admin, form), functools.partial(again, admin)
    )


def context_of(admin: Admin, page: str) -> dict[str, Any]:
    return {
        "console": CONSOLE,
        "subject": admin.subject,
        "province": admin.province,
        "here": f"{CONSOLE}/tinh/{admin.province['code']}",
        "console_page": page,
    }


async def all_agencies(
    request: Request, admin: Admin, search: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Every agency of the province (or those matching `search`), page by page."""
    rows: list[dict[str, Any]] = []
    after: str | None = None
    total = 0
    for _ in range(MAX_PAGES):
        variables = {"provinceCode": admin.province["code"], "search": search, "after": after}
        data = (await run(request, "ConsoleAgencies", variables, token=admin.token))["agencies"]
        rows += [edge["node"] for edge in data["edges"]]
        total = data["totalCount"]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    return rows, total


def tree(agencies: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The agencies under the province: grouped by kind (those without a parent in the list),
    each with its `children` nested (by name, as the list came)."""
    ids = {agency["id"] for agency in agencies}
    children: dict[str, list[dict[str, Any]]] = {}
    roots: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for agency in agencies:
        parent = agency["parent"]
        if parent and parent["id"] in ids:
            children.setdefault(parent["id"], []).append(agency)
        else:
            roots.setdefault(agency["kind"], []).append(agency)

    def nested(agency: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        below = children.get(agency["id"], []) if depth < 10 else []
        return {**agency, "children": [nested(child, depth + 1) for child in below]}

    return [(kind, [nested(a) for a in found]) for kind, found in roots.items() if found]


async def agencies(request: Request) -> Response:
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    search = request.query_params.get("q", "").strip()[:100] or None
    try:
        rows, total = await all_agencies(request, admin, search)
    except OperationFailed as error:
        return failed(request, error)
    return render(
        request,
        "console_agencies.html",
        {
            **context_of(admin, "agencies"),
            "search": search or "",
            "groups": tree(rows) if search is None else [],
            "found": rows if search is not None else [],
            "total": total,
        },
    )


def _refused_file(message: str, message_vi: str) -> OperationFailed:
    return OperationFailed("BAD_INPUT", message, message_vi, field="file")


def _too_large() -> OperationFailed:
    return _refused_file("The file is too large", "Tệp quá lớn")


async def _content(form: FormData) -> str | OperationFailed:
    """The CSV of the posted form: the uploaded file (the first step) or the text the dry run
    carried to the confirmation (the second), within the mutation's bound."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_UPLOAD + 1)
    else:
        raw = str(form.get("content") or "").encode()
    if not raw.strip():
        return _refused_file("Choose a CSV file", "Vui lòng chọn một tệp CSV")
    if len(raw) > MAX_UPLOAD:
        return _too_large()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _refused_file(
            "The file is not UTF-8 text (save it as CSV UTF-8)",
            "Tệp không phải văn bản UTF-8 (hãy lưu dưới dạng CSV UTF-8)",
        )


async def onboarding(request: Request) -> Response:
    """GET: the upload form. POST: the dry run of the file (rows to add, change, keep, every
    bad row with its line), or with `confirm` the import itself (all or nothing)."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    context = context_of(admin, "onboarding")
    if request.method == "GET":
        return render(request, "console_onboarding.html", context)
    if int(request.headers.get("content-length", "0") or 0) > MAX_UPLOAD + 1_000_000:
        return render(request, "console_onboarding.html", {**context, "error": _too_large()}, 413)
    # The token is in the (bounded) form: checked before anything runs.
    form = await request.form(max_files=1, max_fields=4, max_part_size=MAX_UPLOAD)
    if not csrf.valid(request, form.get(csrf.FIELD)):
        return forbidden(request)
    content = await _content(form)
    if isinstance(content, OperationFailed):
        return render(request, "console_onboarding.html", {**context, "error": content}, 422)
    confirm = form.get("confirm") == "1"
    if confirm:
        job = await console_import.start(request, admin, content)
        if job is not None:
            return RedirectResponse(f"{context['here']}/nhap-co-quan/{job}", status_code=303)
    variables = {"provinceCode": admin.province["code"], "content": content, "dryRun": not confirm}
    try:
        data = await run(request, "ConsoleOnboard", variables, write=True, token=admin.token)
    except OperationFailed as error:
        if error.status in (401, 403, 404):
            return failed(request, error)
        return render(request, "console_onboarding.html", {**context, "error": error}, 422)
    report = data["onboardAgencies"]
    return render(
        request,
        "console_onboarding.html",
        {**context, "report": report, "content": content},
        200 if report["ok"] else 422,
    )


def no_job(job: str) -> OperationFailed:
    return OperationFailed(
        "NOT_FOUND", f"no import job {job!r}", f"không tìm thấy lượt nhập dữ liệu {job!r}"
    )


async def import_status(request: Request) -> Response:
    """The confirmed import's page: its rows done of the total, refreshing itself every two
    seconds while it runs; then its result (the imported counts, or the rows at fault)."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    job = request.path_params["job"]
    try:
        state = await console_import.job_of(request, admin, job)
    except RedisError:
        unavailable = OperationFailed(
            "UNAVAILABLE",
            "The import's progress is unavailable for now; see the agencies",
            "Tạm thời không xem được tiến độ nhập; hãy xem danh sách cơ quan",
        )
        return render(
            request,
            "console_import.html",
            {**context_of(admin, "onboarding"), "unavailable": unavailable},
            503,
        )
    if state is None:
        return failed(request, no_job(job))
    context = context_of(admin, "onboarding")
    if state["state"] == "running":
        return render(request, "console_import.html", {**context, "job": state})
    if state["state"] == "failed":
        return render(
            request,
            "console_onboarding.html",
            {**context, "error": OperationFailed(**state["error"])},
        )
    return render(request, "console_onboarding.html", {**context, "report": state["report"]})


async def _modules_page(
    request: Request, admin: Admin, error: OperationFailed | None = None
) -> Response:
    variables = {"provinceId": admin.province["id"]}
    data = await run(request, "ConsoleModules", variables, token=admin.token)
    context = {**context_of(admin, "modules"), "modules": data["modules"]}
    return form_page(request, "console_modules.html", context, error)


modules = admin_page(_modules_page)


async def switch(request: Request) -> Response:
    """POST: switch the path's module on (`enabled=1`) or off for the province."""
    module = request.path_params["module"]

    async def act(admin: Admin, form: FormData) -> str:
        enabled = form.get("enabled") == "1"
        operation = "ConsoleEnableModule" if enabled else "ConsoleDisableModule"
        variables = {"module": module, "provinceId": admin.province["id"]}
        await run(request, operation, variables, write=True, token=admin.token)
        return f"{CONSOLE}/tinh/{admin.province['code']}/mo-dun?xong={module}"

    async def again(admin: Admin, error: OperationFailed) -> Response:
        return await _modules_page(request, admin, error=error)

    return await admin_post(request, act, again)
