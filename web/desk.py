"""The officer's desk (signed in, web/desk_auth.py): the queue of the agency's dossiers, a
dossier's page with the moves its status allows, and the counter receipt. Every page runs its
operations of web/operations/ with the officer's own access token (web/run.py), so it sees
and does exactly what `/graphql` lets that officer see and do: another agency's dossier is a
404 here as it is NOT_FOUND there."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.core.auth.issuer import issuer
from eiso.core.dossiers.statuses import LABELS, Status
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.web import csrf, forms, i18n
from eiso.web.desk_auth import DESK, signed_in, signed_in_for
from eiso.web.pages import render
from eiso.web.portal import failed, forbidden
from eiso.web.run import OperationFailed, run

PAGE_SIZE = 20
# The national calendar (core/workdays): the desk shows time in its office hours.
CALENDAR = WorkingCalendar()
_HOURS_PER_DAY = int(CALENDAR.office_hours.per_day.total_seconds() // 3600)
_MINUTE = dt.timedelta(minutes=1)
# The counter is for an agency's officers (whose `me` has their agency).
NO_AGENCY = (
    "the counter is for an agency's officers",
    "chỉ cán bộ của một cơ quan mới tiếp nhận hồ sơ tại quầy",
)


@dataclasses.dataclass(frozen=True)
class Move:
    """A move of the dossier page: its operation (web/operations/Desk<op>.graphql), the
    `DossierMove` it is (the API's `allowedMoves` says when it is offered), and the inputs
    its form asks for."""

    name: str
    operation: str
    move: str
    inputs: tuple[str, ...] = ()


# In the order the page shows them. Offered when the dossier's `allowedMoves` (the engine's
# own checks, and the officer's rights) names them: the page keeps no rule of its own.
MOVES: tuple[Move, ...] = (
    Move("accept", "DeskAccept", "ACCEPT_DOSSIER"),
    Move("assign", "DeskAssign", "ASSIGN_DOSSIER", ("assignee",)),
    Move("complete-step", "DeskCompleteStep", "COMPLETE_STEP", ("note",)),
    Move("supplement-received", "DeskSupplementReceived", "SUPPLEMENT_RECEIVED"),
    Move("fee-paid", "DeskFeePaid", "FEE_PAID"),
    Move("return", "DeskReturnResult", "RETURN_RESULT"),
    Move("request-supplement", "DeskRequestSupplement", "REQUEST_SUPPLEMENT", ("reason",)),
    Move("request-fee", "DeskRequestFee", "REQUEST_FEE", ("note",)),
    Move("apology", "DeskRecordApology", "RECORD_APOLOGY", ("reason", "newAppointment")),
    Move("refuse", "DeskRefuse", "REFUSE_DOSSIER", ("reason",)),
    Move("withdraw", "DeskWithdraw", "WITHDRAW_DOSSIER", ("reason",)),
    Move("stop", "DeskStop", "STOP_DOSSIER", ("reason",)),
)
BY_NAME = {move.name: move for move in MOVES}


def allowed(dossier: dict[str, Any]) -> list[Move]:
    """The moves offered now: those of the dossier's `allowedMoves` the page has a form for
    (the engine still decides each: a refusal is shown on the page)."""
    return [m for m in MOVES if m.move in dossier["allowedMoves"]]


def labelled(
    section: dict[str, Any] | None, values: dict[str, Any] | None, language: str
) -> list[tuple[str, Any]]:
    """(label, value) of each value the dossier holds, labelled as the procedure's form labels
    its field (a choice by its label), in the form's order; values the form does not name
    (an older form, a module no longer loaded) follow under their own names."""
    values = {k: v for k, v in (values or {}).items() if v not in (None, "")}
    shown = []
    for field in (section or {}).get("fields", []):
        if field["name"] not in values:
            continue
        value = values.pop(field["name"])
        for choice in field.get("choices") or []:
            if choice["value"] == value:
                value = choice["label"] if language == "vi" else choice["labelEn"]
        shown.append((field["label"] if language == "vi" else field["labelEn"], value))
    return shown + list(values.items())


def label(status: str, language: str) -> str:
    vi, en = LABELS[Status[status.lower()]]
    return vi if language == "vi" else en


def time_left(appointment: str | None, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The working time until the appointment (negative: overdue), in days and hours of
    office time, on the national calendar."""
    if not appointment:
        return None
    due = dt.datetime.fromisoformat(appointment)
    now = now or dt.datetime.now(dt.UTC)
    late = due < now
    span = CALENDAR.working_time_between(*((due, now) if late else (now, due)))
    hours = int(span.total_seconds() // 3600)
    return {
        "late": late,
        "days": hours // _HOURS_PER_DAY,
        "hours": hours % _HOURS_PER_DAY,
        "within_day": not late and hours < _HOURS_PER_DAY,
    }


def _period(raw: str, end: bool) -> str | None:
    """A date of the period filter as the start (or the end) of that day in Vietnam."""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), VN_TZ)
    return moment.isoformat()


def queue_filter(query: dict[str, str]) -> dict[str, Any]:
    """The GraphQL filter of the queue's query string (unknown values left out)."""
    chosen: dict[str, Any] = {}
    status = query.get("status", "").upper()
    if status.lower() in Status.__members__:
        chosen["status"] = status
    if query.get("late") == "1":
        chosen["late"] = True
    if query.get("procedure"):
        chosen["procedureCode"] = query["procedure"][:64]
    if query.get("q"):
        chosen["search"] = query["q"].strip()[:64]
    if query.get("due") == "1":  # due within a working day (the overdue ones too)
        due = CALENDAR.add_working_hours(dt.datetime.now(dt.UTC), _HOURS_PER_DAY)
        chosen["dueBefore"] = due.isoformat()
    for name, key, end in (("receivedFrom", "from", False), ("receivedTo", "to", True)):
        moment = _period(query.get(key, ""), end)
        if moment:
            chosen[name] = moment
    return chosen


async def queue(request: Request) -> Response:
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    query = dict(request.query_params.items())
    chosen = queue_filter(query)
    if query.get("mine") == "1":  # the officer's own: assigned to them
        try:
            chosen["assignee"] = (await run(request, "DeskMe", token=token))["me"]["subject"]
        except OperationFailed as error:
            return failed(request, error)
    variables: dict[str, Any] = {"filter": chosen or None, "first": PAGE_SIZE}
    if query.get("before"):
        variables.update(first=None, last=PAGE_SIZE, before=query["before"][:200])
    elif query.get("after"):
        variables["after"] = query["after"][:200]
    try:
        data = await run(request, "DeskQueue", variables, token=token)
    except OperationFailed as error:
        return failed(request, error)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {**edge["node"], "left": time_left(edge["node"]["appointmentAt"], now)}
        for edge in data["dossiers"]["edges"]
    ]
    counts = [
        (key, data[key]["totalCount"])
        for key in (
            "new",
            "received",
            "inProgress",
            "supplementRequested",
            "financialObligationRequested",
            "processed",
        )
    ]
    kept = {k: v for k, v in query.items() if k not in ("after", "before")}
    return render(
        request,
        "desk_queue.html",
        {
            "me": data["me"],
            "rows": rows,
            "total": data["dossiers"]["totalCount"],
            "page_info": data["dossiers"]["pageInfo"],
            "counts": counts,
            "late_count": data["late"]["totalCount"],
            "query": query,
            "kept": kept,
            "urlencode": urlencode,
            "label": label,
            "statuses": [s.name.upper() for s in Status],
            "desk": DESK,
        },
    )


async def dossier(request: Request) -> Response:
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    return await _dossier_page(request, token)


async def _dossier_page(
    request: Request,
    token: str,
    error: OperationFailed | None = None,
    move: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    gid = request.path_params["id"]
    try:
        data = await run(request, "DeskDossier", {"id": gid}, token=token)
    except OperationFailed as failure:
        return failed(request, failure)
    found = data["dossier"]
    if found is None:
        return failed(request, _not_found())
    form = (found["procedure"] or {}).get("form") or {}
    language = i18n.language_of(request)
    page = {
        "me": data["me"],
        "d": found,
        "applicant": labelled(form.get("applicant"), found["applicant"], language),
        "sector": labelled(form.get("sector"), found["sectorData"], language),
        "moves": allowed(found),
        "left": time_left(found["appointmentAt"]),
        "label": label,
        "error": error,
        "failed_move": move,
        "values": values or {},
        "done": request.query_params.get("done", ""),
        "desk": DESK,
    }
    return render(request, "desk_dossier.html", page, status=error.status if error else 200)


def _not_found() -> OperationFailed:
    return OperationFailed("NOT_FOUND", "dossier not found", "không tìm thấy hồ sơ")


def in_office_hours(moment: dt.datetime) -> bool:
    """A moment of a working day's office hours (its closing time included)."""
    return bool(
        CALENDAR.working_time_between(moment, moment + _MINUTE)
        or CALENDAR.working_time_between(moment - _MINUTE, moment)
    )


def _outside_office_hours() -> OperationFailed:
    return OperationFailed(
        "BAD_INPUT",
        "newAppointment: choose a time in office hours on a working day",
        "newAppointment: hãy chọn thời điểm trong giờ hành chính của một ngày làm việc",
        field="newAppointment",
    )


def _move_variables(move: Move, form: dict[str, str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for name in move.inputs:
        raw = form.get(name, "").strip()[:2000]
        if name == "newAppointment":
            # datetime-local has no zone: the officer means Vietnam's time.
            # (text that is no date is sent as typed: the schema answers BAD_INPUT naming it)
            with contextlib.suppress(ValueError):
                raw = dt.datetime.fromisoformat(raw).replace(tzinfo=VN_TZ).isoformat()
        variables[name] = raw
    return variables


async def act(request: Request) -> Response:
    """A move's form: run its mutation with the version the page showed; back to the page,
    or the page again with the refusal (a concurrent move is a CONFLICT said plainly)."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    posted = await request.form()
    if not csrf.valid(request, posted.get(csrf.FIELD)):
        return forbidden(request)
    move = BY_NAME.get(request.path_params["move"])
    if move is None:
        return failed(request, _not_found())
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    try:
        version = int(form.get("version", ""))
    except ValueError:
        version = -1
    variables = {"id": request.path_params["id"], "expectedVersion": version}
    variables.update(_move_variables(move, form))
    with contextlib.suppress(ValueError):  # text that is no date: the schema names it
        if "newAppointment" in variables and not in_office_hours(
            dt.datetime.fromisoformat(variables["newAppointment"])
        ):
            return await _dossier_page(request, token, _outside_office_hours(), move.name, form)
    try:
        await run(request, move.operation, variables, write=True, token=token)
    except OperationFailed as error:
        if error.code == "NOT_FOUND":
            return failed(request, error)
        return await _dossier_page(request, token, error, move.name, form)
    target = request.url_for("desk_dossier", id=request.path_params["id"])
    return RedirectResponse(f"{target.path}?done={move.name}", status_code=303)


async def slip(request: Request) -> Response:
    """A slip of a dossier (HTML to view or print, PDF to download) from the slips' own route
    (core/http/downloads.py), fetched in-process with the officer's token: the browser never
    holds it."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    gid, number, fmt = (request.path_params[k] for k in ("id", "number", "fmt"))
    if fmt not in ("html", "pdf"):
        return failed(request, _not_found())
    return await fetched(request, token, f"/dossiers/{gid}/slips/{number}.{fmt}")


async def attachment(request: Request) -> Response:
    """A file the citizen filed with the dossier, from its own route (core/http/downloads.py,
    `dossierAttachment`), fetched in-process with the officer's token: another agency's
    dossier or file is a 404 page, as it is there."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    gid, file_id = request.path_params["id"], request.path_params["attachment"]
    return await fetched(request, token, f"/dossiers/{gid}/attachments/{file_id}")


async def fetched(request: Request, token: str, path: str) -> Response:
    """A download of core/http/downloads.py as the officer (a 404 page unless it answers)."""
    base = issuer(request.app.state.resources.settings)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        got = await client.get(path, headers={"authorization": f"Bearer {token}"})
    if got.status_code != 200:
        return failed(request, _not_found())
    kept = ("content-type", "content-disposition", "x-content-type-options")
    headers = {k: v for k, v in got.headers.items() if k in kept}
    headers["cache-control"] = "no-store"
    return Response(got.content, status_code=200, headers=headers)


async def counter(request: Request) -> Response:
    """Counter receipt: the procedures the officer's agency adopted, the chosen one's form
    (the portal's generated form), and on POST `receiveDossier` and slip 01."""
    found = await signed_in_for(request, "DeskMe", lambda me: bool(me["agencies"]), NO_AGENCY)
    if isinstance(found, Response):
        return found
    token, me = found
    agency = me["agencies"][0]
    try:
        offered = await run(
            request, "DeskCounter", {"province": agency["province"]["code"]}, token=token
        )
    except OperationFailed as error:
        return failed(request, error)
    own = next((a for a in offered["publicServices"] if a["id"] == agency["id"]), None)
    procedures = [p["procedure"] for p in (own or {}).get("procedures", [])]
    code = request.query_params.get("thu-tuc", "")
    page: dict[str, Any] = {
        "agency": agency,
        "procedures": procedures,
        "chosen": None,
        "desk": DESK,
    }
    if not any(p["code"] == code for p in procedures):
        return render(request, "desk_counter.html", page)
    variables = {"province": agency["province"]["code"], "procedure": code}
    try:
        chosen = (await run(request, "ProcedurePage", variables, token=token))["procedure"]
    except OperationFailed as error:
        return failed(request, error)
    form = chosen["form"] or {}
    sections = {
        "applicant": (form.get("applicant") or {}).get("fields", []),
        "sector": (form.get("sector") or {}).get("fields", []),
    }
    page.update(
        chosen=chosen,
        form=form,
        values={},
        error=None,
        error_input="",
        idempotency_key=secrets.token_urlsafe(16),
        input_types=forms.INPUT_TYPES,
        input_name=forms.input_name,
    )
    if request.method == "GET":
        return render(request, "desk_counter.html", page)
    posted = await request.form()
    if not csrf.valid(request, posted.get(csrf.FIELD)):
        return forbidden(request)
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    page.update(values=values, idempotency_key=values.get("idempotency_key") or "")
    variables = {
        "procedure": chosen["code"],
        "applicant": forms.posted(sections["applicant"], posted, "applicant"),
        "sectorData": forms.posted(sections["sector"], posted, "sector"),
        "idempotencyKey": page["idempotency_key"][:128] or None,
    }
    try:
        got = (await run(request, "DeskReceive", variables, write=True, token=token))[
            "receiveDossier"
        ]
    except OperationFailed as error:
        if error.status >= 500:
            return failed(request, error)
        page.update(error=error, error_input=forms.field_of_error(error.field, sections))
        return render(request, "desk_counter.html", page, status=error.status)
    return render(
        request,
        "desk_received.html",
        {"received": got, "procedure": chosen, "desk": DESK},
    )
