"""The ISO workspace's internal audits and management reviews in detail (web/iso_workspace.py
tells who signs in and how the pages run their operations):

- an audit plan (`/iso/danh-gia/ke-hoach/{id}`): its scope, auditors, checklist by ISO 9001
  clause and findings, and the form recording a finding (a nonconformity finding opens its
  nonconformity); planning an audit with its checklist from the audits page;
- a management review (`/iso/danh-gia/xem-xet/{id}`): the inputs eiso compiled for it
  (dossiers, feedback, audit findings, nonconformities, risks above the threshold), its
  conclusions and actions, adding an action and marking one done; holding a review from the
  audits page.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from eiso.web.desk_auth import ISO
from eiso.web.iso_conformity import lines, not_found
from eiso.web.iso_workspace import (
    DOC_KEEPERS,
    Member,
    audits_of,
    member_page,
    member_posting,
    page_context,
    refused_input,
    texts,
)
from eiso.web.portal import failed, form_page, moved
from eiso.web.run import OperationFailed, run

AUDITORS = frozenset({"AUDITOR", "ISO_SECRETARY"})  # createAuditPlan, recordAuditFinding
REVIEWERS = DOC_KEEPERS  # holdManagementReview, addReviewAction, completeReviewAction
FINDING_KINDS = ("CONFORMITY", "OBSERVATION", "NONCONFORMITY")
AUDITS = f"{ISO}/danh-gia"


def checklist(raw: str) -> list[dict[str, str]]:
    """The checklist typed one question a line, the clause first: `7.5.2 Are records kept?`."""
    items = []
    for line in lines(raw):
        clause, _, question = line.partition(" ")
        items.append({"clause": clause, "question": question.strip()})
    return items


def _context(member: Member, **more: Any) -> dict[str, Any]:
    """An audits page's context: what the member may do there, and `more`."""
    return page_context(
        member,
        "audits",
        may_audit=member.may(AUDITORS),
        may_review=member.may(REVIEWERS),
        **more,
    )


async def _node(request: Request, member: Member, operation: str) -> dict[str, Any]:
    """The plan or review of the path (NOT_FOUND for an id of another kind or agency)."""
    data = await run(request, operation, {"id": request.path_params["id"]}, token=member.token)
    found = data["node"]
    if not found or "id" not in found:
        raise not_found()
    return found


async def _detail(
    request: Request,
    member: Member,
    operation: str,
    template: str,
    error: OperationFailed | None = None,
) -> Response:
    try:
        found = await _node(request, member, operation)
    except OperationFailed as failure:
        return failed(request, failure)
    return form_page(request, template, _context(member, item=found, kinds=FINDING_KINDS), error)


async def _audits_page(
    request: Request, member: Member, error: OperationFailed | None = None
) -> Response:
    try:
        found = await audits_of(request, member)
    except OperationFailed as failure:
        return failed(request, failure)
    return form_page(request, "iso_audits.html", _context(member, **found), error)


# The programmes with their plans, the reviews with their actions, and the forms planning an
# audit and holding a review.
audits = member_page(_audits_page)
plan = member_page(
    functools.partial(_detail, operation="IsoAuditPlan", template="iso_audit_plan.html")
)
review = member_page(functools.partial(_detail, operation="IsoReview", template="iso_review.html"))


async def _write(
    request: Request,
    build: Any,
    back: str,
    detail: tuple[str, str] | None = None,
) -> Response:
    """POST: the form's operation (`build(form)` → its name and variables), then back to `back`
    (with `?xong=`); a refused input shows the detail page (`detail`: operation, template) or
    the audits page again with the API's message."""
    found = await member_posting(request)
    if isinstance(found, Response):
        return found
    member, form = found

    async def act() -> str:
        if detail is not None:  # the path's plan or review must be readable first
            await _node(request, member, detail[0])
        operation, variables = build(form)
        await run(request, operation, variables, write=True, token=member.token)
        return f"{back}?xong=1"

    async def again(error: OperationFailed) -> Response:
        if detail is not None:
            return await _detail(request, member, detail[0], detail[1], error)
        return await _audits_page(request, member, error)

    return await moved(request, act, again)


def _required(form: FormData, *names: str) -> dict[str, str]:
    values = texts(form, *names)
    for name in names:
        if not values[name]:
            raise refused_input(name)
    return values


async def create_plan(request: Request) -> Response:
    def build(form: FormData) -> tuple[str, dict[str, Any]]:
        values = _required(form, "date", "scope", "auditors")
        return "IsoCreateAuditPlan", {
            **values,
            "auditors": [a.strip() for a in values["auditors"].split(",") if a.strip()],
            "checklist": checklist(str(form.get("checklist") or "")),
        }

    return await _write(request, build, AUDITS)


async def record_finding(request: Request) -> Response:
    id = request.path_params["id"]

    def build(form: FormData) -> tuple[str, dict[str, Any]]:
        values = _required(form, "clause", "kind", "description")
        if values["kind"] not in FINDING_KINDS:
            raise refused_input("kind")
        return "IsoRecordFinding", {"planId": id, **values}

    return await _write(
        request, build, f"{AUDITS}/ke-hoach/{id}", ("IsoAuditPlan", "iso_audit_plan.html")
    )


async def hold_review(request: Request) -> Response:
    def build(form: FormData) -> tuple[str, dict[str, Any]]:
        values = _required(form, "periodStart", "periodEnd", "heldOn", "chairedBy")
        return "IsoHoldReview", {**values, **texts(form, "conclusions")}

    return await _write(request, build, AUDITS)


async def review_action(request: Request) -> Response:
    """POST: a new action of the review (`moi`), or the form's `action` done (`xong`)."""
    id, move = request.path_params["id"], request.path_params["move"]

    def build(form: FormData) -> tuple[str, dict[str, Any]]:
        if move == "moi":
            values = _required(form, "decision", "owner", "dueDate")
            return "IsoAddReviewAction", {"reviewId": id, **values}
        if move == "xong":
            values = _required(form, "action", "result")
            return "IsoCompleteReviewAction", {"id": values["action"], "result": values["result"]}
        raise not_found()

    return await _write(request, build, f"{AUDITS}/xem-xet/{id}", ("IsoReview", "iso_review.html"))
