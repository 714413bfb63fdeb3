"""The province console's accounts and integration clients (issue 21): the province's staff
accounts (create one with its role and agency, disable, reset its password) and its
integration clients (create one, disable).

A password or a secret is made by the API and answered once: the page that follows the form
shows it (never stored by the page, never in a URL, the page not cached) and it cannot be read
again; a lost one is replaced by a reset or a new client. As every console page, each runs its
operations of web/operations/ with the administrator's own token (web/run.py); another
province's console is a 404 (console.admin_of), and the API refuses an account or a client
of another province (NOT_FOUND, shown as the 404 page).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from eiso.core.auth.accounts import PROVINCE_ROLES
from eiso.core.auth.principal import SCOPES
from eiso.web.console import Admin, admin_of, all_agencies, context_of
from eiso.web.pages import render
from eiso.web.portal import failed, posted_form
from eiso.web.run import OperationFailed, run

ROLES = tuple(role.value for role in PROVINCE_ROLES)
ACTIONS = {"vo-hieu-hoa": "ConsoleDisableAccount", "dat-lai-mat-khau": "ConsoleResetPassword"}
# Which field of the form an API error names (the mutations' argument names).
FIELDS = {"agencyCode": "agency", "displayName": "display_name"}


async def _page(
    request: Request,
    admin: Admin,
    page: str,
    extra: dict[str, Any],
    status: int = 200,
) -> Response:
    """The accounts or the clients page: the province's rows, its agencies (the forms'
    choice) and what the last form left (`extra`: a password shown once, an error...)."""
    code = admin.province["code"]
    search = request.query_params.get("q", "").strip()[:100] or None
    try:
        if page == "accounts":
            variables = {"provinceCode": code, "search": search}
            rows = (await run(request, "ConsoleAccounts", variables, token=admin.token))["accounts"]
        else:
            rows = (
                await run(request, "ConsoleClients", {"provinceCode": code}, token=admin.token)
            )["integrationClients"]
        agencies, _total = await all_agencies(request, admin, None)
    except OperationFailed as error:
        return failed(request, error)
    context = {
        **context_of(admin, page),
        "rows": rows,
        "agencies": agencies,
        "roles": ROLES,
        "scopes": SCOPES,
        "search": search or "",
        "values": {},
        "done": request.query_params.get("xong"),
        **extra,
    }
    template = "console_accounts.html" if page == "accounts" else "console_clients.html"
    return render(request, template, context, status)


def _refused(error: OperationFailed) -> dict[str, Any]:
    """The form's error, tied to its field when the API named one."""
    field = FIELDS.get(error.field or "", error.field)
    return {"error": error, "error_field": field}


async def _mutate(
    request: Request,
    admin: Admin,
    page: str,
    operation: str,
    variables: dict[str, Any],
    values: dict[str, Any],
) -> dict[str, Any] | Response:
    """Run a mutation of the page; its data, or the page again with the error (the 404 page
    for what is not the province's)."""
    try:
        return await run(request, operation, variables, write=True, token=admin.token)
    except OperationFailed as error:
        if error.status in (401, 403, 404) and error.field not in ("agencyCode",):
            return failed(request, error)
        extra = {**_refused(error), "values": values}
        return await _page(request, admin, page, extra, error.status)


async def accounts(request: Request) -> Response:
    """GET: the province's accounts and the form for a new one. POST: create it; the page
    then shows its one-time password."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    if request.method == "GET":
        return await _page(request, admin, "accounts", {})
    form = await posted_form(request, 8)
    if isinstance(form, Response):
        return form
    values = {name: str(form.get(name) or "").strip() for name in ("username", "display_name")}
    values["role"] = str(form.get("role") or "")
    values["agency"] = str(form.get("agency") or "")
    if values["role"] not in ROLES:
        error = OperationFailed("BAD_INPUT", "Choose a role", "Vui lòng chọn vai trò", field="role")
        return await _page(request, admin, "accounts", {**_refused(error), "values": values}, 422)
    variables = {
        "provinceCode": admin.province["code"],
        "username": values["username"],
        "role": values["role"].upper(),
        "agencyCode": values["agency"] or None,
        "displayName": values["display_name"],
    }
    data = await _mutate(request, admin, "accounts", "ConsoleCreateAccount", variables, values)
    if isinstance(data, Response):
        return data
    made = data["createAccount"]
    shown = {"username": made["account"]["username"], "password": made["password"], "new": True}
    return await _page(request, admin, "accounts", {"shown": shown})


async def account_action(request: Request) -> Response:
    """POST: disable an account (back to the list), or reset its password (the page shows the
    new one-time password)."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    operation = ACTIONS.get(request.path_params["action"])
    if operation is None:
        return failed(request, OperationFailed("NOT_FOUND", "No such action", "Không có thao tác"))
    form = await posted_form(request, 2)
    if isinstance(form, Response):
        return form
    username = request.path_params["username"]
    variables = {"provinceCode": admin.province["code"], "username": username}
    data = await _mutate(request, admin, "accounts", operation, variables, {})
    if isinstance(data, Response):
        return data
    if operation == "ConsoleDisableAccount":
        return RedirectResponse(
            f"{context_of(admin, '')['here']}/tai-khoan?xong={username}", status_code=303
        )
    reset = data["resetAccountPassword"]
    shown = {"username": username, "password": reset["password"], "new": False}
    return await _page(request, admin, "accounts", {"shown": shown})


async def clients(request: Request) -> Response:
    """GET: the province's integration clients and the form for a new one. POST: create it;
    the page then shows its secret, once."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    if request.method == "GET":
        return await _page(request, admin, "clients", {})
    form = await posted_form(request, 4 + len(SCOPES))
    if isinstance(form, Response):
        return form
    scopes = [scope for scope in form.getlist("scope") if scope in SCOPES]
    values: dict[str, Any] = {
        "name": str(form.get("name") or "").strip(),
        "agency": str(form.get("agency") or ""),
        "scopes": scopes,
    }
    variables = {
        "provinceCode": admin.province["code"],
        "name": values["name"],
        "scopes": scopes,
        "agencyCode": values["agency"] or None,
    }
    data = await _mutate(request, admin, "clients", "ConsoleCreateClient", variables, values)
    if isinstance(data, Response):
        return data
    made = data["createIntegrationClient"]
    shown = {"client_id": made["client"]["clientId"], "secret": made["secret"]}
    return await _page(request, admin, "clients", {"shown": shown})


async def client_disable(request: Request) -> Response:
    """POST: disable an integration client of the province."""
    admin = await admin_of(request)
    if isinstance(admin, Response):
        return admin
    form = await posted_form(request, 2)
    if isinstance(form, Response):
        return form
    client_id = request.path_params["client"]
    variables = {"provinceCode": admin.province["code"], "clientId": client_id}
    data = await _mutate(request, admin, "clients", "ConsoleDisableClient", variables, {})
    if isinstance(data, Response):
        return data
    return RedirectResponse(
        f"{context_of(admin, '')['here']}/ung-dung?xong={client_id}", status_code=303
    )
