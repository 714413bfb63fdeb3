"""Printable files over plain HTTP, beside `/graphql` and with the same bearer token, rules
and global ids:

- `GET /dossiers/{id}/slips/{number}.{html|pdf}`: slip 01-06 of a dossier;
- `GET /agencies/{id}/tracking-book.{csv|xlsx}?from=YYYY-MM-DD&to=YYYY-MM-DD`: form 07;
- `GET /dossiers/{id}/attachments/{attachment}`: a file filed with the dossier online
  (core/dossiers/attachments.py), as an attachment to save, never shown inline;
- `GET /yearly-reports/{id}.{xlsx|pdf}`: an agency's yearly report on ISO application;
- `GET /provinces/{id}/yearly-reports/{year}.{xlsx|pdf}`: the province's compiled report
  (its administrators only);
- `GET /process-documents/{versionId}.{html|pdf}`: a generated ISO process document's version
  (core/qms/process_docs.py);
- `GET /document-versions/{id}/attachment`: the file attached to a QMS document's version
  (core/qms/documents.py `attach`), as an attachment to save, never shown inline;
- `GET /conformity-announcements/{agencyId}.{html|pdf}`: an agency's announcing decision
  (public, no token: the portal links it; 404 until the agency has announced).

A dossier or agency outside the caller's tenant answers 404, the same as one that does not
exist. Errors are JSON: `{"error": {"code", "message", "message_vi"}}`.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eiso.core.auth.authenticator import Authenticator
from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import check_operation, require_principal, require_province_admin
from eiso.core.dossiers import attachments
from eiso.core.dossiers.slips import book, service
from eiso.core.errors import DomainError
from eiso.core.global_ids import decode_id, not_found
from eiso.core.qms import announcement_form, documents, process_docs, yearly_export
from eiso.core.qms.storage import storage_from_settings
from eiso.tenants.scope import TenantScope

STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "SLIP_NOT_AVAILABLE": 409,
    "PDF_FONTS_MISSING": 503,
    "NOT_A_PROCESS_DOCUMENT": 404,
    "NOT_ANNOUNCED": 404,
}


def _error(error: DomainError) -> JSONResponse:
    status = STATUS.get(error.code, 400)
    headers = {"www-authenticate": "Bearer"} if status == 401 else {}
    body = {
        "error": {
            "code": error.code,
            "message": error.message,
            "message_vi": error.message_vi,
            **{k: v for k, v in error.details.items() if isinstance(v, str | int)},
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _file(body: bytes, media_type: str, filename: str, disposition: str = "inline") -> Response:
    # Slips and the book carry personal data: never cached by a shared proxy.
    quoted = urllib.parse.quote(filename)
    return Response(
        body,
        media_type=media_type,
        headers={
            "content-disposition": f"{disposition}; filename*=UTF-8''{quoted}",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


async def _principal(request: Request, operation: str) -> Principal:
    authenticate: Authenticator = request.app.state.authenticator
    principal = await authenticate(request)
    check_operation(principal, operation)
    return require_principal(principal)  # the operations here are not public


async def dossier_slip(request: Request) -> Response:
    try:
        principal = await _principal(request, "dossierSlip")
        province_id, dossier_id = decode_id(request.path_params["id"], "Dossier")
        rendered = await service.render(
            request.app.state.resources,
            principal.tenant,
            request.path_params["number"],
            request.path_params["fmt"],
            actor=principal.subject,
            province_id=province_id,
            dossier_id=dossier_id,
        )
    except DomainError as error:
        return _error(error)
    return _file(rendered.body, rendered.media_type, rendered.filename)


def _date(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            f"{name}: a date YYYY-MM-DD",
            f"{name}: ngày dạng YYYY-MM-DD",
            code="BAD_INPUT",
            field=name,
        ) from None


async def tracking_book(request: Request) -> Response:
    try:
        principal = await _principal(request, "trackingBook")
        province_id, agency_id = decode_id(request.path_params["id"], "Agency")
        fmt = request.path_params["fmt"]
        if fmt not in book.FORMATS:
            raise DomainError(
                "format: csv or xlsx", "format: csv hoặc xlsx", code="BAD_INPUT", field="format"
            )
        start, end = book.period(_date(request, "from"), _date(request, "to"))
        loaded = await book.load(
            request.app.state.resources,
            principal.tenant,
            province_id,
            agency_id,
            start,
            end,
            actor=principal.subject,
        )
    except DomainError as error:
        return _error(error)
    filename = f"so-theo-doi-ho-so-{loaded.agency.code}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
    return _file(book.export(loaded, fmt), book.FORMATS[fmt], filename)


async def dossier_attachment(request: Request) -> Response:
    try:
        principal = await _principal(request, "dossierAttachment")
        province_id, dossier_id = decode_id(request.path_params["id"], "Dossier")
        found_province, attachment_id = decode_id(
            request.path_params["attachment"], "DossierAttachment"
        )
        if found_province != province_id:
            raise attachments.not_found()
        got = await attachments.download(
            request.app.state.resources,
            principal.tenant,
            province_id=province_id,
            dossier_id=dossier_id,
            attachment_id=attachment_id,
            actor=principal.subject,
        )
    except DomainError as error:
        return _error(error)
    # A file a citizen sent: saved, never rendered in eiso's origin.
    return _file(got.content, got.media_type, got.filename, disposition="attachment")


Loader = Callable[[Any, TenantScope, int, int, str], Awaitable[tuple[bytes, str, str]]]


def _node_file(
    operation: str, type_name: str, load: Loader, disposition: str = "inline", public: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """The handler of `GET /<...>/{id}.{fmt}`: the row a `type_name` global id names, loaded by
    `load(resources, scope, province_id, row_id, fmt)` in the caller's scope (the nation's for
    a `public` file, which needs no token)."""

    async def handler(request: Request) -> Response:
        try:
            if public:
                check_operation(None, operation)
                scope = TenantScope.nation()
            else:
                scope = (await _principal(request, operation)).tenant
            province_id, row_id = decode_id(request.path_params["id"], type_name)
            body, media_type, filename = await load(
                request.app.state.resources, scope, province_id, row_id, request.path_params["fmt"]
            )
        except DomainError as error:
            return _error(error)
        return _file(body, media_type, filename, disposition=disposition)

    return handler


yearly_report_file = _node_file(
    "yearlyReportFile", "YearlyReport", yearly_export.agency_file, disposition="attachment"
)
process_document_file = _node_file("processDocumentFile", "DocumentVersion", process_docs.file)
# Public: the decision an agency published; nothing personal is in it.
conformity_announcement_file = _node_file(
    "conformityAnnouncementFile", "Agency", announcement_form.file, public=True
)


async def document_attachment(request: Request) -> Response:
    try:
        principal = await _principal(request, "documentAttachment")
        province_id, version_id = decode_id(request.path_params["id"], "DocumentVersion")
        resources = request.app.state.resources
        async with resources.session(principal.tenant) as session:
            body, media_type, filename = await documents.attachment(
                session, storage_from_settings(resources.settings), province_id, version_id
            )
    except DomainError as error:
        return _error(error)
    # A file someone uploaded: saved, never rendered in eiso's origin.
    return _file(body, media_type, filename, disposition="attachment")


async def compiled_yearly_report_file(request: Request) -> Response:
    try:
        principal = await _principal(request, "compiledYearlyReportFile")
        province_id, _ = decode_id(request.path_params["id"], "Province")
        tenant = principal.tenant
        if not (tenant.kind == "nation" or province_id in tenant.province_ids):
            raise not_found("Province", request.path_params["id"])
        require_province_admin(principal, province_id)
        body, media_type, filename = await yearly_export.province_file(
            request.app.state.resources,
            tenant,
            province_id,
            request.path_params["year"],
            request.path_params["fmt"],
        )
    except DomainError as error:
        return _error(error)
    return _file(body, media_type, filename, disposition="attachment")


routes = [
    # Each route's name is its operation in core/auth/rules.py (tests/test_permissions.py checks).
    Route(
        "/dossiers/{id}/slips/{number:int}.{fmt}", dossier_slip, methods=["GET"], name="dossierSlip"
    ),
    Route(
        "/agencies/{id}/tracking-book.{fmt}", tracking_book, methods=["GET"], name="trackingBook"
    ),
    Route(
        "/dossiers/{id}/attachments/{attachment}",
        dossier_attachment,
        methods=["GET"],
        name="dossierAttachment",
    ),
    Route(
        "/yearly-reports/{id}.{fmt}",
        yearly_report_file,
        methods=["GET"],
        name="yearlyReportFile",
    ),
    Route(
        "/provinces/{id}/yearly-reports/{year:int}.{fmt}",
        compiled_yearly_report_file,
        methods=["GET"],
        name="compiledYearlyReportFile",
    ),
    Route(
        "/process-documents/{id}.{fmt}",
        process_document_file,
        methods=["GET"],
        name="processDocumentFile",
    ),
    Route(
        "/document-versions/{id}/attachment",
        document_attachment,
        methods=["GET"],
        name="documentAttachment",
    ),
    Route(
        "/conformity-announcements/{id}.{fmt}",
        conformity_announcement_file,
        methods=["GET"],
        name="conformityAnnouncementFile",
    ),
]
