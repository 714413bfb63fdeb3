"""The ISO workspace of an agency (signed in through the desk's sign-in, web/desk_auth.py), for
its ISO secretary, leaders, auditors and officers: the document register and each document's
versions and readers, the board of nonconformities and corrective actions, the risk register
with its likelihood × impact heat map, the quality objectives, the internal audits and the
management reviews.

Every page runs its operations of web/operations/Iso*.graphql with the member's own access
token (web/run.py): what they see and may do is what `/graphql` lets them (another agency's
document is a 404 here as it is NOT_FOUND there). The page only refuses early who is no staff
member of one agency, and offers each form to the roles the API's rules allow it to.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.core.qms import documents as documents_core
from eiso.core.workdays import VN_TZ
from eiso.web import csrf, i18n, uploads
from eiso.web.desk import fetched
from eiso.web.desk_auth import ISO, signed_in_for
from eiso.web.iso_charts import heat_chart
from eiso.web.pages import render
from eiso.web.portal import (
    answered,
    failed,
    forbidden,
    form_page,
    moved,
    page_for,
    posted_form,
    posting,
    written,
)
from eiso.web.run import OperationFailed, run

STAFF = frozenset({"ISO_SECRETARY", "LEADER", "AUDITOR", "OFFICER"})
NOT_STAFF = (
    "The ISO workspace is for the staff of an agency",
    "Không gian ISO chỉ dành cho cán bộ của một cơ quan",
)
# Who is offered which form: the roles of the rules of core/auth/rules.py (the API still decides).
DOC_KEEPERS = frozenset({"ISO_SECRETARY", "LEADER"})
APPROVERS = frozenset({"LEADER"})
NC_KEEPERS = frozenset({"ISO_SECRETARY", "LEADER", "AUDITOR"})
NC_CLOSERS = frozenset({"ISO_SECRETARY", "LEADER"})
MAX_FIELDS = 12  # fields of a workspace form
MAX_PAGES = 40  # pages (of 30 to 100 rows) read for a register: far more than an agency keeps

KINDS = ("POLICY", "OBJECTIVES", "PROCEDURE", "FORM", "GUIDELINE", "EXTERNAL_LEGAL")
NC_STATES = ("OPEN", "ACTION_PLANNED", "ACTION_DONE", "VERIFIED", "CLOSED")
# A version's moves: path segment → (operation, roles offered it, the status it moves from).
VERSION_MOVES: dict[str, tuple[str, frozenset[str], str]] = {
    "gui-duyet": ("IsoSubmitVersion", DOC_KEEPERS, "DRAFT"),
    "phe-duyet": ("IsoApproveVersion", APPROVERS, "IN_REVIEW"),
    "tra-lai": ("IsoRejectVersion", APPROVERS, "IN_REVIEW"),
    "hieu-luc": ("IsoMakeEffective", DOC_KEEPERS, "APPROVED"),
    "da-doc": ("IsoAcknowledge", STAFF, "EFFECTIVE"),
}
# A nonconformity's moves: path segment → (operation, roles offered it, the form's fields).
NC_MOVES: dict[str, tuple[str, frozenset[str], tuple[str, ...]]] = {
    "ke-hoach": (
        "IsoPlanAction",
        NC_KEEPERS,
        ("rootCause", "correctiveAction", "owner", "dueDate"),
    ),
    "hoan-thanh": ("IsoCompleteAction", NC_KEEPERS, ()),
    "hieu-qua": ("IsoCheckEffectiveness", NC_KEEPERS, ("result", "effective")),
    "dong": ("IsoCloseNonconformity", NC_CLOSERS, ()),
}
LEVELS = range(5, 0, -1)  # the heat map's rows: likelihood 5 (top) to 1
ATTACHMENT_MB = f"{documents_core.MAX_ATTACHMENT / 1_000_000:g}"  # a version's file (20 MB)


@dataclasses.dataclass(frozen=True)
class Member:
    """The signed-in staff member of one agency in its ISO workspace."""

    token: str
    subject: str
    roles: frozenset[str]
    agency: dict[str, Any]  # id, code, name

    def may(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


def refused_input(field: str) -> OperationFailed:
    return OperationFailed(
        "BAD_INPUT", f"{field}: required", f"{field}: bắt buộc phải nhập", field=field
    )


async def member_of(request: Request) -> Member | Response:
    """The signed-in member, or the page that refuses (sign in; 403 for who is not the staff
    of one agency: administrators have the province console)."""
    found = await signed_in_for(request, "IsoMe", _is_staff, NOT_STAFF)
    if isinstance(found, Response):
        return found
    token, me = found
    return Member(token, me["subject"], frozenset(me["roles"]) & STAFF, me["agencies"][0])


def _is_staff(me: dict[str, Any]) -> bool:
    return bool(
        STAFF & set(me["roles"]) and me["tenant"]["kind"] == "AGENCIES" and len(me["agencies"]) == 1
    )


def page_context(member: Member, page: str, **more: Any) -> dict[str, Any]:
    return {
        "iso": ISO,
        "member": member,
        "agency": member.agency,
        "iso_page": page,
        "today": dt.datetime.now(VN_TZ).date().isoformat(),
        **more,
    }


async def all_nodes(request: Request, member: Member, operation: str, field: str) -> list[Any]:
    """Every node of a register's connection, page by page."""
    rows: list[Any] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        data = (await run(request, operation, {"after": after}, token=member.token))[field]
        rows += [edge["node"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    return rows


def member_page(
    page: Callable[[Request, Member], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A page of the workspace: `page(request, member)` for the signed-in member, or the page
    that refuses (member_of)."""
    return page_for(member_of, page)


async def member_posting(
    request: Request, max_fields: int = MAX_FIELDS
) -> tuple[Member, FormData] | Response:
    """The member and their posted form (CSRF checked), or the page that refuses."""
    return await posting(member_of, request, max_fields)


def text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def texts(form: FormData, *names: str) -> dict[str, str]:
    return {name: text(form, name) for name in names}


# Documents -------------------------------------------------------------------------------


def versions_of(document: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A document's `effective` version and the version `pending` in the workflow (draft,
    review, approved), either None."""
    versions = document["versions"]
    effective = next((v for v in versions if v["status"] == "EFFECTIVE"), None)
    pending = next(
        (v for v in reversed(versions) if v["status"] in ("DRAFT", "IN_REVIEW", "APPROVED")),
        None,
    )
    return effective, pending


def register(documents: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The agency's own documents by kind (in KINDS' order, by code), each with its
    `effective` version and the version `pending` in the workflow (draft, review, approved)."""
    groups: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for document in sorted(documents, key=lambda d: d["code"]):
        if document["isModel"]:
            continue
        effective, pending = versions_of(document)
        groups.setdefault(document["kind"], []).append(
            {**document, "effective": effective, "pending": pending}
        )
    return [(kind, found) for kind, found in groups.items() if found]


async def documents(request: Request) -> Response:
    """GET: the register by kind, the drafts in review. POST: a new document (a draft)."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    error: OperationFailed | None = None
    if request.method == "POST":
        form = await posted_form(request, MAX_FIELDS)
        if isinstance(form, Response):
            return form
        variables = texts(form, "kind", "code", "title", "content")
        try:
            if variables["kind"] not in KINDS:
                raise refused_input("kind")
            created = await run(
                request, "IsoCreateDocument", variables, write=True, token=member.token
            )
        except OperationFailed as failure:
            if failure.status in (401, 403, 404):
                return failed(request, failure)
            error = failure
        else:
            return RedirectResponse(
                f"{ISO}/tai-lieu/{created['createDocument']['id']}?xong=tao", status_code=303
            )
    try:
        rows = await all_nodes(request, member, "IsoDocuments", "documents")
    except OperationFailed as failure:
        return failed(request, failure)
    groups = register(rows)
    in_review = [
        d
        for _, found in groups
        for d in found
        if d["pending"] and d["pending"]["status"] == "IN_REVIEW"
    ]
    return form_page(
        request,
        "iso_documents.html",
        page_context(
            member,
            "documents",
            groups=groups,
            in_review=in_review,
            kinds=KINDS,
            may_write=member.may(DOC_KEEPERS),
        ),
        error,
    )


async def _document_page(
    request: Request, member: Member, error: OperationFailed | None = None
) -> Response:
    found = await run(request, "IsoDocument", {"id": request.path_params["id"]}, token=member.token)
    document = found["document"]
    versions = document["versions"]
    unfinished = any(v["status"] in ("DRAFT", "IN_REVIEW", "APPROVED") for v in versions)
    return form_page(
        request,
        "iso_document.html",
        page_context(
            member,
            "documents",
            document=document,
            versions=list(reversed(versions)),
            moves=VERSION_MOVES,
            may_revise=member.may(DOC_KEEPERS) and not unfinished,
            may_attach=member.may(DOC_KEEPERS),
            attachment_mb=ATTACHMENT_MB,
            error_field=error.field if error else None,
            read_by_me={
                v["id"]
                for v in versions
                for r in v["readers"]
                if r["subject"] == member.subject and r["acknowledgedAt"]
            },
        ),
        error,
    )


document = member_page(_document_page)


async def document_move(request: Request) -> Response:
    """POST: a move of one of the document's versions (the form's `version`), or `moi`: a
    new draft version of the document."""
    found = await member_posting(request)
    if isinstance(found, Response):
        return found
    member, form = found
    move, id = request.path_params["move"], request.path_params["id"]
    if move == "moi":
        operation = "IsoNewVersion"
        variables: dict[str, Any] = {"documentId": id, **texts(form, "content", "summary")}
    elif move in VERSION_MOVES:
        operation = VERSION_MOVES[move][0]
        variables = {"id": text(form, "version")}
    else:
        return failed(
            request, OperationFailed("NOT_FOUND", "no such move", "không có thao tác này")
        )

    async def act() -> str:
        # The document of the path must be readable (NOT_FOUND otherwise) before any move.
        await run(request, "IsoDocument", {"id": id}, token=member.token)
        await run(request, operation, variables, write=True, token=member.token)
        return f"{ISO}/tai-lieu/{id}?xong={move}"

    return await moved(request, act, functools.partial(_document_page, request, member))


async def _version_of(request: Request, member: Member) -> str:
    """The path's version id, after checking it is a version of the path's document (which
    must be readable: NOT_FOUND otherwise)."""
    id, version = request.path_params["id"], request.path_params["version"]
    found = await run(request, "IsoDocument", {"id": id}, token=member.token)
    if version not in {v["id"] for v in found["document"]["versions"]}:
        raise OperationFailed("NOT_FOUND", "no such version", "không tìm thấy phiên bản")
    return version


async def document_file(request: Request) -> Response:
    """GET: a version's attached file, fetched in-process from core/http/downloads.py with
    the member's token (another agency's document or version is a 404)."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    try:
        version = await _version_of(request, member)
    except OperationFailed as failure:
        return failed(request, failure)
    return await fetched(request, member.token, f"/document-versions/{version}/attachment")


async def document_attach(request: Request) -> Response:
    """POST (multipart): attach a file to the path's draft version (`attachDocumentFile`,
    at most 20 MB as the API allows: a body or file above it is refused before it runs)."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    limits = uploads.Limits(1, documents_core.MAX_ATTACHMENT)
    form = await uploads.form(request, limits)
    if isinstance(form, OperationFailed):
        return await answered(request, _document_page(request, member, form))
    if not csrf.valid(request, form.get(csrf.FIELD)):
        return forbidden(request)

    async def act() -> str:
        version = await _version_of(request, member)
        chosen = form.get("file")
        if not isinstance(chosen, UploadFile) or not (chosen.filename or chosen.size):
            raise refused_input("file")
        content = await chosen.read(limits.size + 1)
        if len(content) > limits.size:
            raise uploads.refused(
                f"{chosen.filename}: larger than {ATTACHMENT_MB} MB",
                f"{chosen.filename}: tệp lớn hơn {ATTACHMENT_MB} MB",
                field="file",
            )
        variables = {
            "versionId": version,
            "filename": chosen.filename or "tep",
            "contentBase64": base64.b64encode(content).decode(),
        }
        await run(request, "IsoAttachFile", variables, write=True, token=member.token)
        return f"{ISO}/tai-lieu/{request.path_params['id']}?xong=dinh-kem"

    return await moved(request, act, functools.partial(_document_page, request, member))


# Nonconformities -------------------------------------------------------------------------


def board(rows: list[dict[str, Any]], today: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """The nonconformities by state (NC_STATES' order), each marked `overdue` when its action
    is past its due date and not done yet."""
    columns: dict[str, list[dict[str, Any]]] = {state: [] for state in NC_STATES}
    for row in rows:
        late = bool(row["dueDate"]) and row["dueDate"] < today
        overdue = late and row["status"] in ("OPEN", "ACTION_PLANNED")
        columns.setdefault(row["status"], []).append({**row, "overdue": overdue})
    return list(columns.items())


async def _board_page(
    request: Request, member: Member, error: OperationFailed | None = None
) -> Response:
    try:
        rows = await all_nodes(request, member, "IsoNonconformities", "nonconformities")
    except OperationFailed as failure:
        return failed(request, failure)
    context = page_context(member, "nonconformities")
    return form_page(
        request,
        "iso_nonconformities.html",
        {
            **context,
            "columns": board(rows, context["today"]),
            "may_keep": member.may(NC_KEEPERS),
            "may_close": member.may(NC_CLOSERS),
        },
        error,
    )


async def nonconformities(request: Request) -> Response:
    """GET: the board. POST: raise a nonconformity by hand (optionally about a dossier)."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    if request.method == "GET":
        return await _board_page(request, member)
    form = await posted_form(request, MAX_FIELDS)
    if isinstance(form, Response):
        return form
    variables: dict[str, Any] = texts(form, "title", "description")
    for name in ("sourceRef", "procedureCode"):  # optional: empty is none
        variables[name] = text(form, name) or None
    return await _nc_run(request, member, "IsoRaiseNonconformity", variables, "moi")


async def _nc_run(
    request: Request, member: Member, operation: str, variables: dict[str, Any], done: str
) -> Response:
    return await written(
        request,
        (operation, variables, member.token),
        f"{ISO}/khong-phu-hop?xong={done}",
        functools.partial(_board_page, request, member),
    )


async def nonconformity_move(request: Request) -> Response:
    """POST: a move of the path's nonconformity (plan, done, effectiveness check, close)."""
    found = await member_posting(request)
    if isinstance(found, Response):
        return found
    member, form = found
    move = request.path_params["move"]
    if move not in NC_MOVES:
        return failed(
            request, OperationFailed("NOT_FOUND", "no such move", "không có thao tác này")
        )
    operation, _, fields = NC_MOVES[move]
    variables: dict[str, Any] = {"id": request.path_params["id"], **texts(form, *fields)}
    if "effective" in variables:
        variables["effective"] = variables["effective"] == "1"
    if "dueDate" in variables and not variables["dueDate"]:
        return await _board_page(request, member, refused_input("dueDate"))
    return await _nc_run(request, member, operation, variables, move)


# Risks, objectives, audits -----------------------------------------------------------------


def heat_map(risks: list[dict[str, Any]]) -> list[tuple[int, list[list[dict[str, Any]]]]]:
    """The 5 × 5 grid of likelihood (rows, 5 at the top) × impact (columns 1-5): the risks of
    each cell."""
    cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for risk in risks:
        cells.setdefault((risk["likelihood"], risk["impact"]), []).append(risk)
    return [
        (likelihood, [cells.get((likelihood, impact), []) for impact in range(1, 6)])
        for likelihood in LEVELS
    ]


async def _read_page(request: Request, page: str, template: str, make: Any) -> Response:
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    return await _register_page(request, member, page, template, make)


async def _register_page(
    request: Request,
    member: Member,
    page: str,
    template: str,
    make: Any,
    error: OperationFailed | None = None,
    posted: dict[str, str] | None = None,
) -> Response:
    """A register's page; after a refused form, with the API's `error` and what was `posted`
    (the form filled again)."""
    try:
        found = await make(request, member)
    except OperationFailed as failure:
        return failed(request, failure)
    context = page_context(
        member,
        page,
        error=error,
        error_field=error.field if error else None,
        posted=posted or {},
        done=request.query_params.get("xong"),
        may_keep=member.may(DOC_KEEPERS),
        **found,
    )
    return render(request, template, context, error.status if error else 200)


def number(form: FormData, name: str, kind: type[int] | type[float] = int) -> int | float:
    """A number of the form, or BAD_INPUT naming its field."""
    try:
        return kind(text(form, name).replace(",", "."))
    except ValueError:
        raise OperationFailed(
            "BAD_INPUT",
            f"{name}: a number is required",
            f"{name}: phải là một số",
            field=name,
        ) from None


async def _register_post(
    request: Request,
    page: str,
    template: str,
    make: Any,
    fields: tuple[str, ...],
    submit: Any,
) -> Response:
    """POST of a register's form (CSRF checked): `submit(form)` runs its mutation; then the
    register again (303), or its page with the API's error and the form as it was posted."""
    found = await member_posting(request)
    if isinstance(found, Response):
        return found
    member, form = found
    posted = texts(form, *fields)

    async def act() -> str:
        await submit(request, member, form)
        return f"{request.url.path}?xong=moi"

    async def again(error: OperationFailed) -> Response:
        return await _register_page(request, member, page, template, make, error, posted)

    return await moved(request, act, again)


async def _risks(request: Request, member: Member) -> dict[str, Any]:
    rows = await all_nodes(request, member, "IsoRisks", "risks")
    rows.sort(key=lambda r: (-r["level"], r["title"]))
    grid = heat_map(rows)
    return {"risks": rows, "grid": grid, "chart": heat_chart(grid, i18n.language_of(request))}


RISK_FIELDS = ("title", "likelihood", "impact", "treatment", "owner", "reviewDate")


async def _register_risk(request: Request, member: Member, form: FormData) -> None:
    variables: dict[str, Any] = texts(form, "title", "treatment", "owner", "reviewDate")
    variables["likelihood"] = number(form, "likelihood")
    variables["impact"] = number(form, "impact")
    if not variables["reviewDate"]:
        raise refused_input("reviewDate")
    await run(request, "IsoRegisterRisk", variables, write=True, token=member.token)


async def risks(request: Request) -> Response:
    """GET: the register and its heat map. POST: register a risk (ISO secretary, leader)."""
    if request.method == "POST":
        return await _register_post(
            request, "risks", "iso_risks.html", _risks, RISK_FIELDS, _register_risk
        )
    return await _read_page(request, "risks", "iso_risks.html", _risks)


async def _objectives(request: Request, member: Member) -> dict[str, Any]:
    return {
        "objectives": await all_nodes(request, member, "IsoObjectives", "objectives"),
        "metrics": METRICS,
        "comparators": COMPARATORS,
    }


OBJECTIVE_FIELDS = ("title", "metric", "comparator", "target", "from", "to", "procedureCode")
METRICS = (
    "ON_TIME_RATE",
    "SATISFIED_SHARE",
    "RATING_MEAN",
    "MEAN_DAYS",
    "P90_DAYS",
    "RECEIVED",
    "FINISHED",
    "LATE",
    "BACKLOG",
)
COMPARATORS = ("AT_LEAST", "AT_MOST", "MORE_THAN", "LESS_THAN")


async def _create_objective(request: Request, member: Member, form: FormData) -> None:
    got = texts(form, *OBJECTIVE_FIELDS)
    for name, allowed in (("metric", METRICS), ("comparator", COMPARATORS)):
        if got[name] not in allowed:
            raise refused_input(name)
    for name in ("from", "to"):
        if not got[name]:
            raise refused_input(name)
    definition = {
        "title": got["title"],
        "metric": got["metric"],
        "comparator": got["comparator"],
        "target": number(form, "target", float),
        "period": {"from": got["from"], "to": got["to"]},
        "procedureCode": got["procedureCode"] or None,
    }
    await run(request, "IsoCreateObjective", {"input": definition}, write=True, token=member.token)


async def objectives(request: Request) -> Response:
    """GET: the objectives with their current values. POST: set an objective of the agency
    (ISO secretary, leader)."""
    if request.method == "POST":
        return await _register_post(
            request,
            "objectives",
            "iso_objectives.html",
            _objectives,
            OBJECTIVE_FIELDS,
            _create_objective,
        )
    return await _read_page(request, "objectives", "iso_objectives.html", _objectives)


async def audits_of(request: Request, member: Member) -> dict[str, Any]:
    data = await run(request, "IsoAudits", token=member.token)
    return {
        "programmes": [e["node"] for e in data["auditProgrammes"]["edges"]],
        "reviews": [e["node"] for e in data["managementReviews"]["edges"]],
    }


async def home(request: Request) -> Response:
    return RedirectResponse(f"{ISO}/tai-lieu", status_code=303)
