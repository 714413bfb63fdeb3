"""The ISO workspace's model set and process documents (`/iso/quy-trinh`; web/iso_workspace.py
tells who signs in and how the pages run their operations):

- the province's model set (`modelDocuments`: the model QMS of Decision 101/QĐ-BKHCN as the
  province installed and adapted it) and which of its documents the agency adopted (a document
  of the agency's register with the model's code: `adoptModelDocument` copies the model under
  its code, and the bulk `adoptModelQms` skips a code the agency has); the ISO secretary or the
  leader adopts an effective model version from the page;
- the ISO process document (QT-<procedure code>, core/qms/process_docs.py) of each procedure the
  agency adopted: its effective version and the version in the workflow from the register, the
  open review flag of the procedure (a legal basis changed or expired), and, per procedure, every
  generated version with its HTML and PDF fetched in-process from core/http/downloads.py with
  the member's token (web/desk.py `fetched`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.core.global_ids import id_type
from eiso.core.qms.documents import PROCESS_CODE_PREFIX
from eiso.web.desk import fetched
from eiso.web.desk_auth import ISO
from eiso.web.iso_conformity import not_found
from eiso.web.iso_workspace import (
    DOC_KEEPERS,
    Member,
    all_nodes,
    member_of,
    member_page,
    member_posting,
    page_context,
    text,
    versions_of,
)
from eiso.web.pages import render
from eiso.web.portal import failed, form_page
from eiso.web.run import OperationFailed, run

PATH = ISO + "/quy-trinh"
FILE_FORMATS = frozenset({"html", "pdf"})


def model_set(models: list[dict[str, Any]], mine: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model documents by code, each with its `effective` version and the agency's
    document of the same code (`adopted`, with its own effective and pending versions)."""
    own = {d["code"]: d for d in mine if not d["isModel"]}
    return [
        {**model, "effective": versions_of(model)[0], "adopted": own.get(model["code"])}
        for model in sorted(models, key=lambda m: m["code"])
    ]


def processes(
    adopted: list[dict[str, Any]], mine: list[dict[str, Any]], flags: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each adopted procedure with its process document from the register (`document`, with
    `effective` and `pending` versions, or None when none was generated) and its open review
    flags (`flags`)."""
    own = {d["code"]: d for d in mine if not d["isModel"]}
    flagged: dict[str, list[dict[str, Any]]] = {}
    for flag in flags:
        if flag["kind"] == "PROCEDURE":
            flagged.setdefault(flag["subject"], []).append(flag)
    rows = []
    for procedure in sorted(adopted, key=lambda p: p["code"]):
        document = own.get(PROCESS_CODE_PREFIX + procedure["code"])
        if document is not None:
            effective, pending = versions_of(document)
            document = {**document, "effective": effective, "pending": pending}
        rows.append(
            {
                "procedure": procedure,
                "document": document,
                "flags": flagged.get(procedure["code"], []),
            }
        )
    return rows


async def adopted_procedures(request: Request, member: Member) -> list[dict[str, Any]]:
    """The procedures the member's agency adopted (the public list of its province's offers)."""
    found = await run(request, "DeskMe", token=member.token)
    province = found["me"]["agencies"][0]["province"]["code"]
    offers = await run(request, "DeskCounter", {"province": province}, token=member.token)
    agency = next((a for a in offers["publicServices"] if a["id"] == member.agency["id"]), None)
    return [p["procedure"] for p in agency["procedures"]] if agency else []


async def _page(request: Request, member: Member, error: OperationFailed | None = None) -> Response:
    try:
        mine = await all_nodes(request, member, "IsoDocuments", "documents")
        models = await all_nodes(request, member, "IsoModelDocuments", "modelDocuments")
        flags = await all_nodes(request, member, "IsoReviewFlags", "reviewFlags")
        adopted = await adopted_procedures(request, member)
    except OperationFailed as failure:
        return failed(request, failure)
    return form_page(
        request,
        "iso_models.html",
        page_context(
            member,
            "models",
            path=PATH,
            models=model_set(models, mine),
            processes=processes(adopted, mine, flags),
            may_keep=member.may(DOC_KEEPERS),
        ),
        error,
    )


overview = member_page(_page)


async def move(request: Request) -> Response:
    """POST: adopt a model version (`ap-dung`, the form's `version`) or generate the process
    documents of every adopted procedure (`tao`)."""
    found = await member_posting(request)
    if isinstance(found, Response):
        return found
    member, form = found
    name = request.path_params["move"]
    try:
        if name == "ap-dung":
            await run(
                request,
                "IsoAdoptModel",
                {"versionId": text(form, "version")},
                write=True,
                token=member.token,
            )
        elif name == "tao":
            await run(request, "IsoGenerateProcessDocuments", write=True, token=member.token)
        else:
            raise not_found()
    except OperationFailed as error:
        if error.status in (401, 403, 404):
            return failed(request, error)
        return await _page(request, member, error)
    return RedirectResponse(f"{PATH}?xong={name}", status_code=303)


async def procedure(request: Request) -> Response:
    """One procedure's process document: every generated version, its state and files."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    code = request.path_params["code"]
    try:
        adopted = {p["code"]: p for p in await adopted_procedures(request, member)}
        if code not in adopted:
            raise not_found()
        found = await run(
            request, "IsoProcessVersions", {"procedureCode": code}, token=member.token
        )
        flags = await all_nodes(request, member, "IsoReviewFlags", "reviewFlags")
    except OperationFailed as failure:
        return failed(request, failure)
    return render(
        request,
        "iso_process.html",
        page_context(
            member,
            "models",
            path=PATH,
            procedure=adopted[code],
            versions=found["processDocumentVersions"],
            flags=[f for f in flags if f["kind"] == "PROCEDURE" and f["subject"] == code],
        ),
    )


async def file(request: Request) -> Response:
    """A generated version's HTML or PDF (a version of another agency is a 404)."""
    member = await member_of(request)
    if isinstance(member, Response):
        return member
    id, fmt = request.path_params["id"], request.path_params["fmt"]
    if fmt not in FILE_FORMATS or id_type(id) != "DocumentVersion":
        return failed(request, not_found())
    return await fetched(request, member.token, f"/process-documents/{id}.{fmt}")
