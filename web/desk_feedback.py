"""The officer's desk: citizens' feedback and petitions (phản ánh, kiến nghị) of the agency
(issue 21). The list by state with each item's deadline and the working time left, an item's
page with the citizen's text and contact, and its moves: assign it to an officer (the ISO
secretary or the leader), answer it, and publish the answer on the province's public list
when the citizen agreed. Every page runs the operations of web/operations/ with the
officer's own token (web/run.py), so the API decides: another agency's item is not in the
agency's list (the page answers 404), a move the officer's role lacks is a 403 page, a
publication without the citizen's consent is refused on the page (NO_PUBLISH_CONSENT)."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from eiso.web.desk import time_left
from eiso.web.desk_auth import DESK, signed_in
from eiso.web.pages import render
from eiso.web.portal import failed, posted_form, written
from eiso.web.run import OperationFailed, run

PATH = DESK + "/phan-anh"
STATES = ("RECEIVED", "ASSIGNED", "ANSWERED", "RATED")


@dataclasses.dataclass(frozen=True)
class FeedbackMove:
    """A move of an item's page: its operation and the form fields it reads."""

    operation: str
    fields: tuple[str, ...]


MOVES = {
    "phan-cong": FeedbackMove("DeskAssignFeedback", ("assignee",)),
    "tra-loi": FeedbackMove("DeskAnswerFeedback", ("answer", "publish")),
}


def _not_found(feedback_id: str) -> OperationFailed:
    return OperationFailed(
        "NOT_FOUND",
        f"no feedback {feedback_id!r} for your agency",
        "không tìm thấy phản ánh, kiến nghị này của cơ quan bạn",
    )


def _rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**row, "left": time_left(row["dueAt"]) if row["state"] in STATES[:2] else None}
        for row in data["feedbacks"]
    ]


async def feedbacks(request: Request) -> Response:
    """The agency's feedback by deadline: `?trang-thai=` one state, `?qua-han=1` overdue only."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    state = request.query_params.get("trang-thai", "").upper()
    state = state if state in STATES else ""
    overdue = request.query_params.get("qua-han") == "1"
    variables = {"state": state or None, "overdue": True if overdue else None}
    try:
        rows = _rows(await run(request, "DeskFeedbacks", variables, token=token))
    except OperationFailed as error:
        return failed(request, error)
    return render(
        request,
        "desk_feedbacks.html",
        {
            "desk": DESK,
            "desk_page": "feedback",
            "rows": rows,
            "states": STATES,
            "state": state,
            "overdue": overdue,
        },
    )


async def _item_page(
    request: Request,
    token: str,
    feedback_id: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    try:
        rows = _rows(await run(request, "DeskFeedbacks", {}, token=token))
    except OperationFailed as error:
        return failed(request, error)
    item = next((row for row in rows if row["id"] == feedback_id), None)
    if item is None:
        return failed(request, _not_found(feedback_id))
    context = {"desk": DESK, "desk_page": "feedback", "item": item, "values": {}}
    return render(request, "desk_feedback.html", {**context, **(extra or {})}, status)


async def feedback(request: Request) -> Response:
    """One item of the agency: the citizen's text and contact, its deadline, its moves."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    done = request.query_params.get("xong")
    return await _item_page(request, token, request.path_params["id"], {"done": done})


async def act(request: Request) -> Response:
    """POST a move of an item (assign, answer); back to its page, or the page with the
    API's refusal."""
    token = await signed_in(request)
    if isinstance(token, Response):
        return token
    feedback_id = request.path_params["id"]
    move = MOVES.get(request.path_params["move"])
    if move is None:
        return failed(request, _not_found(feedback_id))
    form = await posted_form(request, 4)
    if isinstance(form, Response):
        return form
    values = {name: str(form.get(name) or "").strip() for name in move.fields}
    variables: dict[str, Any] = {"id": feedback_id, **values}
    if "publish" in move.fields:
        variables["publish"] = values["publish"] == "1"

    async def again(error: OperationFailed) -> Response:
        extra = {"error": error, "error_move": request.path_params["move"], "values": values}
        return await _item_page(request, token, feedback_id, extra, error.status)

    done = f"{PATH}/{feedback_id}?xong={request.path_params['move']}"
    return await written(request, (move.operation, variables, token), done, again)
