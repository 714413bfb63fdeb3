"""The citizen portal (no account): choose a province, see what its agencies offer, file a
dossier online from a procedure's form, look a dossier up by its code and key, rate it once
it is returned. Each page runs its operations of web/operations/ (web/run.py); each form posts
a CSRF token (web/csrf.py) and runs a mutation."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.core.dossiers.lookup_qr import lookup_url
from eiso.web import csrf, forms, uploads
from eiso.web.pages import render
from eiso.web.run import OperationFailed, run


def failed(request: Request, error: OperationFailed) -> Response:
    return render(request, "error.html", {"error": error}, status=error.status)


def forbidden(request: Request) -> Response:
    error = OperationFailed(
        "CSRF_FAILED",
        "The form has expired or was not sent from this site: open the page again",
        "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này: vui lòng mở lại trang",
    )
    return render(request, "error.html", {"error": error}, status=403)


C = TypeVar("C")  # who a page is for: the console's Admin, the workspace's Member
Found = Callable[[Request], Awaitable[C | Response]]  # that caller, or the page refusing them


def page_for(
    found: Found[C], page: Callable[[Request, C], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint: `page(request, caller)` for the caller `found(request)` finds, or the page
    it refuses them with (and the refusal of a query the page runs, `answered`)."""

    async def endpoint(request: Request) -> Response:
        caller = await found(request)
        if isinstance(caller, Response):
            return caller
        return await answered(request, page(request, caller))

    return endpoint


async def answered(request: Request, page: Awaitable[Response]) -> Response:
    """The page, or the refusal page (`failed`) of an operation it ran that failed: a page
    runs its queries without catching their errors."""
    try:
        return await page
    except OperationFailed as error:
        return failed(request, error)


async def posting(
    found: Found[C], request: Request, max_fields: int
) -> tuple[C, FormData] | Response:
    """The caller `found(request)` finds and their posted form (posted_form), or the page that
    refuses."""
    caller = await found(request)
    if isinstance(caller, Response):
        return caller
    form = await posted_form(request, max_fields)
    if isinstance(form, Response):
        return form
    return caller, form


async def posted_form(request: Request, max_fields: int) -> FormData | Response:
    """The posted form (at most `max_fields` fields, no files), or the 403 page without a valid
    CSRF token."""
    form = await request.form(max_files=0, max_fields=max_fields)
    if not csrf.valid(request, form.get(csrf.FIELD)):
        return forbidden(request)
    return form


def form_page(
    request: Request, template: str, context: dict[str, Any], error: OperationFailed | None
) -> Response:
    """A page with forms: `context`, the move a form came back from (`done`, the `?xong=` of
    its 303) and the API's refusal of the last post (`error`, answered under its status)."""
    return render(
        request,
        template,
        {**context, "done": request.query_params.get("xong"), "error": error},
        error.status if error else 200,
    )


async def moved(
    request: Request,
    act: Callable[[], Awaitable[str]],
    again: Callable[[OperationFailed], Awaitable[Response]],
) -> Response:
    """A form's move: `act()` runs its operations and names the page to go to (303). An
    operation refused 401, 403 or 404 answers its refusal page; any other error shows
    `again(error)`, the form's page with the API's message."""
    try:
        done = await act()
    except OperationFailed as error:
        if error.status in (401, 403, 404):
            return failed(request, error)
        return await answered(request, again(error))
    return RedirectResponse(done, status_code=303)


async def written(
    request: Request,
    write: tuple[str, dict[str, Any], str],
    done: str,
    again: Callable[[OperationFailed], Awaitable[Response]],
) -> Response:
    """A form's move that is one write, `(operation, variables, token)`: then the page `done`
    (303), or the refusal as `moved` answers it."""
    operation, variables, token = write

    async def act() -> str:
        await run(request, operation, variables, write=True, token=token)
        return done

    return await moved(request, act, again)


async def home(request: Request) -> Response:
    try:
        data = await run(request, "Provinces")
    except OperationFailed as error:
        return failed(request, error)
    provinces = [e["node"] for e in data["provinces"]["edges"] if e["node"]["status"] == "ACTIVE"]
    return render(request, "home.html", {"provinces": provinces})


async def _province_page(
    request: Request,
    operation: str,
    variables: dict[str, Any],
    template: str,
    field: str,
    **context: Any,
) -> Response:
    """A province's page: `operation` (which asks for `province` and `field`) rendered with
    `template`, the province, `agencies` (the answer's `field`) and `context`; an unknown
    province 404."""
    code = request.path_params["province"]
    try:
        data = await run(request, operation, {"province": code, **variables})
    except OperationFailed as error:
        return failed(request, error)
    if data["province"] is None:
        return failed(request, no_province(code))
    return render(
        request,
        template,
        {"province": data["province"], "agencies": data[field], **context},
    )


async def province(request: Request) -> Response:
    search = request.query_params.get("q", "").strip()[:200]
    return await _province_page(
        request,
        "ProvinceServices",
        {"search": search or None},
        "province.html",
        "publicServices",
        search=search,
    )


async def conformity(request: Request) -> Response:
    """`/tinh/<province>/iso`: each agency's conformity with TCVN ISO 9001:2015 and, once
    announced, its decision (number, date, scope) with links to the decision itself."""
    return await _province_page(
        request, "PublicConformity", {}, "conformity.html", "publicConformity"
    )


def no_province(code: str) -> OperationFailed:
    return OperationFailed(
        "NOT_FOUND", f"province {code!r} not found", f"không tìm thấy tỉnh {code!r}"
    )


def _no_procedure(code: str) -> OperationFailed:
    return OperationFailed(
        "NOT_FOUND",
        f"procedure {code!r} is not offered here",
        f"thủ tục {code!r} không được cung cấp tại đây",
    )


async def procedure(request: Request) -> Response:
    """The procedure's page and its intake form; POST files the dossier."""
    province_code = request.path_params["province"]
    code = request.path_params["procedure"]
    try:
        data = await run(request, "ProcedurePage", {"province": province_code, "procedure": code})
    except OperationFailed as error:
        return failed(request, error)
    found = data["procedure"]
    agencies = [
        {"id": a["id"], "name": a["name"], "time_limit": p["timeLimit"]}
        for a in data["publicServices"]
        for p in a["procedures"]
        if p["procedure"]["code"] == code
    ]
    if data["province"] is None or found is None or not agencies:
        return failed(request, _no_procedure(code))
    form = found["form"] or {}
    limits = uploads.Limits.of(request.app.state.resources.settings)
    sections = {
        "applicant": form.get("applicant", {}).get("fields", []) if form else [],
        "sector": (form.get("sector") or {}).get("fields", []),
    }
    page: dict[str, Any] = {
        "province": data["province"],
        "procedure": found,
        "form": form,
        "agencies": agencies,
        "chosen": request.query_params.get("co-quan", agencies[0]["id"]),
        "values": {},
        "error": None,
        "error_input": "",
        "idempotency_key": secrets.token_urlsafe(16),
        "input_types": forms.INPUT_TYPES,
        "input_name": forms.input_name,
        "attachment_limits": limits,
    }
    if request.method == "GET":
        return render(request, "procedure.html", _with_time_limit(page))
    posted = await uploads.form(request, limits)
    if isinstance(posted, OperationFailed):
        return failed(request, posted)
    if not csrf.valid(request, posted.get(csrf.FIELD)):
        return forbidden(request)
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    page.update(values=values, chosen=values.get("agency", ""))
    page["idempotency_key"] = values.get("idempotency_key") or page["idempotency_key"]
    if page["chosen"] not in {a["id"] for a in agencies}:
        return failed(request, _no_procedure(code))
    variables = {
        "agency": page["chosen"],
        "procedure": code,
        "applicant": forms.posted(sections["applicant"], posted, "applicant"),
        "sectorData": forms.posted(sections["sector"], posted, "sector"),
        "idempotencyKey": page["idempotency_key"][:128],
    }
    files = await uploads.attachments(posted, limits)
    try:
        if isinstance(files, OperationFailed):
            raise files
        variables["attachments"] = files[0] or None
        got = (await run(request, "SubmitOnline", variables, write=True))["submitOnlineDossier"]
    except OperationFailed as error:
        if error.code in {"RATE_LIMITED"} or error.status >= 500:
            return failed(request, error)
        error_input = forms.field_of_error(error.field, sections)
        if (error.field or "").startswith(uploads.PREFIX):
            error_input = error.field or ""
        page.update(error=error, error_input=error_input)
        return render(request, "procedure.html", _with_time_limit(page), status=error.status)
    return render(
        request,
        "submitted.html",
        {
            "province": data["province"],
            "procedure": found,
            "submission": got,
            "sent_files": [] if got["replayed"] else files[1],
        },
    )


def _with_time_limit(page: dict[str, Any]) -> dict[str, Any]:
    """The time limit of the chosen agency (an agency may shorten the procedure's)."""
    agencies = page["agencies"]
    chosen = [a for a in agencies if a["id"] == page["chosen"]] or agencies
    return {**page, "time_limit": chosen[0]["time_limit"]}


async def looked_up(
    request: Request,
    template: str,
    operation: str,
    field: str,
    name: str,
    variables: dict[str, Any],
    **page: Any,
) -> Response:
    """A citizen's lookup by the `code` and `key` of the query (64 characters at most each):
    `template` with `page` and the answer's `field` as `name` once both are typed (`operation`
    with `variables`); NOT_FOUND answers the page with `not_found`, under 404."""
    code = request.query_params.get("code", "").strip()[:64]
    key = request.query_params.get("key", "").strip()[:64]
    page.update(
        code=code, key=key, rated_now=request.query_params.get("rated") == "1", **{name: None}
    )
    if not (code and key):
        return render(request, template, page)
    try:
        found = await run(request, operation, {"code": code, "key": key, **variables})
    except OperationFailed as error:
        if error.code == "NOT_FOUND":
            page["not_found"] = True
            return render(request, template, page, status=404)
        return failed(request, error)
    page[name] = found[field]
    return render(request, template, page)


async def lookup(request: Request) -> Response:
    """`/tra-cuu` (any province, what slip 01's QR code opens), `/lookup` (the same in
    English) and `/tinh/<province>/tra-cuu` (that province's dossiers only)."""
    province_code = request.path_params.get("province")
    return await looked_up(
        request,
        "lookup.html",
        "Lookup",
        "publicDossier",
        "dossier",
        {"province": province_code},
        province_code=province_code,
    )


def rating_of(posted: Any) -> dict[str, Any]:
    """A posted rating form's variables: the code and key, the rating (0, refused by the API,
    when not a number) and the comment."""
    try:
        rating = int(str(posted.get("rating", "")))
    except ValueError:
        rating = 0
    return {
        "code": str(posted.get("code", ""))[:64],
        "key": str(posted.get("key", ""))[:64],
        "rating": rating,
        "comment": str(posted.get("comment", ""))[:2000],
    }


def rating_handler(
    operation: str, page_url: Callable[[str, str], str]
) -> Callable[[Request], Awaitable[Response]]:
    """The POST of a rating form: check its CSRF token, run `operation` (the rating mutation)
    with `rating_of` the form, and go back to `page_url(code, key)` thanking."""

    async def rate(request: Request) -> Response:
        posted = await request.form()
        if not csrf.valid(request, posted.get(csrf.FIELD)):
            return forbidden(request)
        variables = rating_of(posted)
        try:
            await run(request, operation, variables, write=True)
        except OperationFailed as error:
            return failed(request, error)
        back = page_url(variables["code"], variables["key"])
        return RedirectResponse(back + "&rated=1", status_code=303)

    return rate


rate = rating_handler("RateDossier", lookup_url)
