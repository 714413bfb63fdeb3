"""A province's accounts and integration clients over GraphQL (issue 21), with real tokens: the
administrator creates an account whose one-time password signs in, resets it (the old one no
longer does), disables it (no sign-in); creates a client whose secret gets a token, disables it
(no token). Another province's accounts and clients are invisible and untouchable (NOT_FOUND),
and bad input changes nothing."""

from __future__ import annotations

import httpx
import pytest

from eiso.core.auth.models import Client, User
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import (
    app_fixtures,
    authorize_query,
    login_form,
    make_frontend,
    make_integration,
    make_tenant,
    make_user,
    pkce,
    user_token,
)

jwt_app_fixture, http_fixture = app_fixtures()

ACCOUNT = "{ username displayName roles active agency { code name } }"


async def graphql(http: httpx.AsyncClient, token: str, query: str, **variables) -> dict:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def signs_in(http: httpx.AsyncClient, client_id: str, username: str, password: str) -> bool:
    page = await http.get("/oauth/authorize?" + authorize_query(client_id, pkce()[1]))
    answer = await http.post("/oauth/authorize", data=login_form(page.text, username, password))
    return answer.status_code == 302


@pytest.fixture
async def two_provinces(resources, http):
    """Two provinces, each with an agency and an administrator signed in (their tokens)."""
    frontend, _ = await make_frontend(resources)
    found = []
    for _ in range(2):
        province, agency = await make_tenant(resources)
        admin = await make_user(resources, "province_admin", province=province)
        token = (await user_token(http, frontend, admin.username))["access_token"]
        found.append((province, agency, token))
    return frontend, found


CREATE = (
    "mutation($p: String!, $u: String!, $r: Role!, $a: String) { createAccount("
    'provinceCode: $p, username: $u, role: $r, agencyCode: $a, displayName: "Nguyễn Văn An") '
    "{ password account " + ACCOUNT + " } }"
)
RESET = (
    "mutation($p: String!, $u: String!) { resetAccountPassword(provinceCode: $p, username: $u) "
    "{ password account { active } } }"
)
DISABLE = (
    "mutation($p: String!, $u: String!) { disableAccount(provinceCode: $p, username: $u) "
    "{ active } }"
)
LIST = "query($p: String!) { accounts(provinceCode: $p) " + ACCOUNT + " }"


async def test_create_reset_and_disable_an_account(http, two_provinces):
    frontend, [(province, agency, token), _] = two_provinces
    username = f"an.{agency.code.lower()}"
    body = await graphql(
        http, token, CREATE, p=province.code, u=username, r="OFFICER", a=agency.code
    )
    created = body["data"]["createAccount"]
    assert created["account"] == {
        "username": username,
        "displayName": "Nguyễn Văn An",
        "roles": ["OFFICER"],
        "active": True,
        "agency": {"code": agency.code, "name": agency.name},
    }
    first = created["password"]
    assert len(first) >= 16 and await signs_in(http, frontend, username, first)
    listed = (await graphql(http, token, LIST, p=province.code))["data"]["accounts"]
    assert username in [row["username"] for row in listed]

    reset = (await graphql(http, token, RESET, p=province.code, u=username))["data"]
    second = reset["resetAccountPassword"]["password"]
    assert second != first
    assert not await signs_in(http, frontend, username, first)
    assert await signs_in(http, frontend, username, second)

    disabled = await graphql(http, token, DISABLE, p=province.code, u=username)
    assert disabled["data"]["disableAccount"] == {"active": False}
    assert not await signs_in(http, frontend, username, second)


async def test_another_provinces_accounts_are_invisible_and_untouchable(
    http, resources, two_provinces
):
    _frontend, [(mine, _, token), (theirs, their_agency, their_token)] = two_provinces
    officer = await make_user(resources, "officer", agency=their_agency)
    listed = (await graphql(http, token, LIST, p=mine.code))["data"]["accounts"]
    assert officer.username not in str(listed)
    for query in (RESET, DISABLE):
        body = await graphql(http, token, query, p=mine.code, u=officer.username)
        assert codes(body) == ["NOT_FOUND"]
        body = await graphql(http, token, query, p=theirs.code, u=officer.username)
        assert codes(body) == ["FORBIDDEN"]
    body = await graphql(
        http, token, CREATE, p=mine.code, u="x.isolation", r="OFFICER", a=their_agency.code
    )
    assert codes(body) == ["NOT_FOUND"]
    async with resources.session(TenantScope.nation()) as session:
        row = await session.get(User, officer.id)
        assert row is not None and row.active and row.password_hash == officer.password_hash
    # Their own administrator sees it.
    listed = (await graphql(http, their_token, LIST, p=theirs.code))["data"]["accounts"]
    assert officer.username in str(listed)


@pytest.mark.parametrize(
    ("role", "username", "field"),
    [
        ("NATIONAL_ADMIN", "ok.name", "role"),
        ("OFFICER", "x", None),  # too short
        ("PROVINCE_ADMIN", "ok.agency.admin", None),  # a province admin of an agency
    ],
)
async def test_bad_accounts_are_refused(http, resources, two_provinces, role, username, field):
    _frontend, [(province, agency, token), _] = two_provinces
    body = await graphql(http, token, CREATE, p=province.code, u=username, r=role, a=agency.code)
    assert codes(body) == ["BAD_INPUT"]
    assert body["errors"][0]["extensions"]["message_vi"]
    if field:
        assert body["errors"][0]["extensions"]["field"] == field
    assert await make_user_count(resources, username) == 0


async def make_user_count(resources, username: str) -> int:
    async with resources.session(TenantScope.nation()) as session:
        from sqlalchemy import func, select

        return int(
            (
                await session.execute(
                    select(func.count()).select_from(User).where(User.username == username)
                )
            ).scalar_one()
        )


async def test_a_taken_username_is_a_conflict(http, resources, two_provinces):
    _frontend, [(province, _, token), (_, their_agency, _)] = two_provinces
    taken = await make_user(resources, "officer", agency=their_agency)
    body = await graphql(http, token, CREATE, p=province.code, u=taken.username, r="AUDITOR")
    assert codes(body) == ["CONFLICT"]


CLIENT = (
    "mutation($p: String!, $n: String!, $s: [String!]!, $a: String) { createIntegrationClient("
    "provinceCode: $p, name: $n, scopes: $s, agencyCode: $a) { secret client { clientId name "
    "scopes active agency { code } } } }"
)
DISABLE_CLIENT = (
    "mutation($p: String!, $c: String!) { disableIntegrationClient(provinceCode: $p, "
    "clientId: $c) { active } }"
)
CLIENTS = "query($p: String!) { integrationClients(provinceCode: $p) { clientId name active } }"


async def client_token(http: httpx.AsyncClient, client_id: str, secret: str) -> int:
    answer = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return answer.status_code


async def test_create_and_disable_an_integration_client(http, resources, two_provinces):
    _frontend, [(province, agency, token), (theirs, their_agency, _)] = two_provinces
    body = await graphql(
        http, token, CLIENT, p=province.code, n="Cổng dịch vụ công", s=["qms:read"], a=agency.code
    )
    made = body["data"]["createIntegrationClient"]
    client_id, secret = made["client"]["clientId"], made["secret"]
    assert made["client"]["scopes"] == ["qms:read"] and made["client"]["agency"] == {
        "code": agency.code
    }
    assert await client_token(http, client_id, secret) == 200
    listed = (await graphql(http, token, CLIENTS, p=province.code))["data"]["integrationClients"]
    assert {"clientId": client_id, "name": "Cổng dịch vụ công", "active": True} in listed
    assert secret not in str(listed)

    # Another province's client: not listed, not disabled.
    their_client, their_secret = await make_integration(
        resources, ["qms:read"], agency=their_agency
    )
    assert their_client not in str(listed)
    body = await graphql(http, token, DISABLE_CLIENT, p=province.code, c=their_client)
    assert codes(body) == ["NOT_FOUND"]
    body = await graphql(http, token, DISABLE_CLIENT, p=theirs.code, c=their_client)
    assert codes(body) == ["FORBIDDEN"]
    assert await client_token(http, their_client, their_secret) == 200

    body = await graphql(http, token, DISABLE_CLIENT, p=province.code, c=client_id)
    assert body["data"]["disableIntegrationClient"] == {"active": False}
    assert await client_token(http, client_id, secret) == 401
    async with resources.session(TenantScope.nation()) as session:
        row = await session.get(Client, client_id)
        assert row is not None and not row.active


async def test_a_bad_scope_creates_no_client(http, resources, two_provinces):
    _frontend, [(province, _, token), _] = two_provinces
    body = await graphql(http, token, CLIENT, p=province.code, n="X", s=["everything"])
    assert codes(body) == ["BAD_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "scopes"
    listed = (await graphql(http, token, CLIENTS, p=province.code))["data"]["integrationClients"]
    assert listed == []


def _claims(token: str) -> dict:
    import base64
    import json

    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


async def test_an_administrator_cannot_disable_or_reset_their_own_account(http, two_provinces):
    _frontend, [(province, _agency, token), _] = two_provinces
    me = _claims(token)["preferred_username"]
    for mutation in (DISABLE, RESET):
        body = await graphql(http, token, mutation, p=province.code, u=me)
        assert codes(body) == ["OWN_ACCOUNT"] and body["data"] is None
        refused = body["errors"][0]
        assert "your own account" in refused["message"]
        assert "tài khoản của chính mình" in refused["extensions"]["message_vi"]
    # Nothing changed: the account is active and its token still works.
    listed = (await graphql(http, token, LIST, p=province.code))["data"]["accounts"]
    assert {"username": me, "active": True}.items() <= next(
        row for row in listed if row["username"] == me
    ).items()


async def _chain(resources, agency_id: int) -> list:
    from sqlmodel import col, select

    from eiso.core import audit

    async with resources.session(TenantScope.nation()) as session, session.begin():
        assert await audit.verify(session, agency_id) == []
        rows = await session.execute(
            select(audit.AuditEntry)
            .where(col(audit.AuditEntry.agency_id) == agency_id)
            .order_by(col(audit.AuditEntry.seq))
        )
        return list(rows.scalars())


async def test_account_and_client_changes_enter_the_audit_chain(http, resources, two_provinces):
    """Each change is appended, in its own transaction, to the chain of the account's (or
    client's) agency, or of the province's People's Committee for the province's own; the
    chains verify, and no password, secret or name is in them."""
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.services import ensure_agency
    from tests.auth_helpers import code

    _frontend, [(province, agency, token), _] = two_provinces
    admin = _claims(token)["sub"]
    username = f"kt.{agency.code.lower()}"
    made = await graphql(
        http, token, CREATE, p=province.code, u=username, r="OFFICER", a=agency.code
    )
    reset = await graphql(http, token, RESET, p=province.code, u=username)
    await graphql(http, token, DISABLE, p=province.code, u=username)
    client = await graphql(
        http, token, CLIENT, p=province.code, n="Cổng kiểm toán", s=["qms:read"], a=agency.code
    )
    client_id = client["data"]["createIntegrationClient"]["client"]["clientId"]
    await graphql(http, token, DISABLE_CLIENT, p=province.code, c=client_id)

    entries = await _chain(resources, agency.id)
    assert [(e.action, e.actor) for e in entries] == [
        ("account.created", admin),
        ("account.password_reset", admin),
        ("account.disabled", admin),
        ("client.created", admin),
        ("client.disabled", admin),
    ]
    assert entries[0].entity_type == "auth_users" and entries[0].data == {
        "username": username,
        "roles": ["officer"],
        "agency": agency.code,
    }
    assert entries[3].entity_id == client_id and entries[3].data["scopes"] == ["qms:read"]
    kept = str([e.data for e in entries])
    secrets_ = (
        made["data"]["createAccount"]["password"],
        reset["data"]["resetAccountPassword"]["password"],
        client["data"]["createIntegrationClient"]["secret"],
        "Nguyễn Văn An",
    )
    assert not any(secret in kept for secret in secrets_)

    # The province's own account: the People's Committee's chain.
    async with resources.session(TenantScope.nation()) as session, session.begin():
        committee = await ensure_agency(
            session, province, code("UB"), "Ủy ban nhân dân tỉnh", AgencyKind.people_committee
        )
    own = f"tinh.{agency.code.lower()}"
    body = await graphql(http, token, CREATE, p=province.code, u=own, r="PROVINCE_ADMIN")
    assert "errors" not in body, body
    entries = await _chain(resources, committee.id)
    assert [(e.action, e.data["username"]) for e in entries] == [("account.created", own)]
