"""Trusted (persisted) documents over HTTP, the websocket and the CLI: registration by national
administrators, calls by hash (Apollo's extension, `documentId`), and the trusted-only mode."""

from __future__ import annotations

import hashlib
import json
import re
import secrets

import httpx
import pytest
import pytest_asyncio

from eiso.core.auth.principal import Principal, Role
from eiso.tenants.scope import TenantScope
from tests.test_cli import eiso
from tests.ws_client import GraphQLWS, error_codes, served

REGISTER = """mutation($documents: [String!]!, $client: String) {
  registerTrustedDocuments(documents: $documents, client: $client) {
    sha256Hash documentId operationNames client
  }
}"""
REMOVE = "mutation($ids: [String!]!) { removeTrustedDocuments(ids: $ids) }"


def national_admin() -> Principal:
    return Principal(
        subject="nation-admin", tenant=TenantScope.nation(), roles=frozenset({Role.national_admin})
    )


def province_admin() -> Principal:
    return Principal(
        subject="province-admin",
        tenant=TenantScope.province(1),
        roles=frozenset({Role.province_admin}),
        province_id=1,
    )


def probe() -> str:
    """A document no other test registered (the database is shared by the run)."""
    return f"query Probe{secrets.token_hex(4)} {{ version }}"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(hexdigest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": hexdigest}}


async def register(client, callers, *documents: str, principal=None, client_name=None) -> dict:
    response = await client.post(
        "/graphql",
        json={"query": REGISTER, "variables": {"documents": documents, "client": client_name}},
        headers=callers.issue(principal or national_admin()),
    )
    assert response.status_code == 200, response.text
    return response.json()


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_a_registered_document_is_called_by_its_hash_in_every_form(client, callers):
    text = probe()
    body = await register(client, callers, text, client_name="portal")
    [node] = body["data"]["registerTrustedDocuments"]
    assert node["sha256Hash"] == sha(text) and node["documentId"] == "sha256:" + sha(text)
    assert node["operationNames"] == [text.split()[1]] and node["client"] == "portal"
    expected = (await client.post("/graphql", json={"query": text})).json()
    assert expected == {"data": {"version": expected["data"]["version"]}}
    for request in (
        {"extensions": persisted(sha(text))},
        {"documentId": "sha256:" + sha(text)},
        {"documentId": sha(text)},
        {"documentId": "SHA256:" + sha(text).upper()},
        {"query": text, "extensions": persisted(sha(text))},  # both: they agree
    ):
        response = await client.post("/graphql", json=request)
        assert response.status_code == 200 and response.json() == expected, request
    # GET, as Apollo's link sends it (useGETForHashedQueries) and with documentId.
    extension = json.dumps(persisted(sha(text)))
    by_get = await client.get("/graphql", params={"extensions": extension})
    assert by_get.status_code == 200 and by_get.json() == expected
    by_id = await client.get("/graphql", params={"documentId": "sha256:" + sha(text)})
    assert by_id.status_code == 200 and by_id.json() == expected
    # Registering again is idempotent: same hash, one row.
    again = await register(client, callers, text)
    assert again["data"]["registerTrustedDocuments"][0]["sha256Hash"] == sha(text)


async def test_unknown_hash_mismatch_and_malformed_ids_are_refused(client):
    unknown = sha(probe())
    for request in ({"extensions": persisted(unknown)}, {"documentId": "sha256:" + unknown}):
        response = await client.post("/graphql", json=request)
        assert response.status_code == 404 and code_of(response) == "PERSISTED_QUERY_NOT_FOUND"
        error = response.json()["errors"][0]
        assert error["message"] == "PersistedQueryNotFound"  # what Apollo's link looks for
        assert "Không tìm thấy" in error["extensions"]["message_vi"]
    by_get = await client.get("/graphql", params={"extensions": json.dumps(persisted(unknown))})
    assert by_get.status_code == 404 and code_of(by_get) == "PERSISTED_QUERY_NOT_FOUND"
    mismatch = await client.post(
        "/graphql", json={"query": "{ version }", "extensions": persisted(unknown)}
    )
    assert mismatch.status_code == 400 and code_of(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert mismatch.json()["errors"][0]["extensions"]["message_vi"]
    for request in (
        {"documentId": "md5:abc"},
        {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": unknown}}},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "zz"}}},
    ):
        response = await client.post("/graphql", json=request)
        assert response.status_code == 400 and code_of(response) == "BAD_DOCUMENT_ID", request
    # A documentId that is no string is a malformed GraphQL-over-HTTP request.
    response = await client.post("/graphql", json={"documentId": 12})
    assert response.status_code == 400 and code_of(response) == "BAD_REQUEST"


async def test_a_bad_document_registers_none_and_names_its_line(client, callers):
    good, bad = probe(), "query Bad {\n  version\n  noSuchField\n}"
    body = await register(client, callers, good, bad)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID_DOCUMENT"
    assert error["extensions"]["field"] == "documents.1" and error["extensions"]["line"] == 3
    assert "noSuchField" in error["message"] and error["extensions"]["message_vi"]
    response = await client.post("/graphql", json={"documentId": sha(good)})
    assert code_of(response) == "PERSISTED_QUERY_NOT_FOUND"  # the good one was not stored
    schema_text = await register(client, callers, "type Foo { a: Int }")
    assert schema_text["errors"][0]["extensions"]["code"] == "INVALID_DOCUMENT"
    # The limits every request meets apply at registration too: no document that cannot run.
    aliased = "query Aliased { " + " ".join(f"a{i}: version" for i in range(40)) + " }"
    limited = await register(client, callers, probe(), aliased)
    assert limited["errors"][0]["extensions"]["field"] == "documents.1"
    assert "aliases" in limited["errors"][0]["message"]


async def test_only_the_nation_registers_or_removes(client, callers):
    text = probe()
    body = await register(client, callers, text, principal=province_admin())
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await client.post(
        "/graphql", json={"query": REGISTER, "variables": {"documents": [text]}}
    )
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await client.post("/graphql", json={"documentId": sha(text)})
    assert code_of(response) == "PERSISTED_QUERY_NOT_FOUND"  # nothing was stored
    await register(client, callers, text)
    refused = await client.post(
        "/graphql",
        json={"query": REMOVE, "variables": {"ids": [sha(text)]}},
        headers=callers.issue(province_admin()),
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await client.post("/graphql", json={"documentId": sha(text)})).status_code == 200


async def test_a_removed_document_is_no_longer_found(client, callers):
    text = probe()
    await register(client, callers, text)
    assert (await client.post("/graphql", json={"documentId": sha(text)})).status_code == 200
    removed = await client.post(
        "/graphql",
        json={"query": REMOVE, "variables": {"ids": ["sha256:" + sha(text)]}},
        headers=callers.issue(national_admin()),
    )
    assert removed.json() == {"data": {"removeTrustedDocuments": [sha(text)]}}
    response = await client.post("/graphql", json={"documentId": sha(text)})
    assert response.status_code == 404 and code_of(response) == "PERSISTED_QUERY_NOT_FOUND"


@pytest_asyncio.fixture(scope="module")
async def trusted_only_app(resources, callers):
    from eiso.core.app import create_app

    settings = resources.settings.model_copy(update={"graphql_trusted_only": True})
    application = create_app(settings, resources, authenticator=callers.authenticate)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def trusted_only(trusted_only_app):
    transport = httpx.ASGITransport(app=trusted_only_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def counted(metrics: str, outcome: str) -> float:
    found = re.search(
        rf'^eiso_graphql_trusted_documents_total\{{outcome="{outcome}"\}} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_trusted_only_refuses_everything_unregistered(
    trusted_only_app, trusted_only, callers
):
    before = (await trusted_only.get("/metrics")).text
    text = probe()
    for request in (
        {"query": text},
        {"query": "{ __schema { queryType { name } } }"},  # introspection too
        {"query": text, "documentId": sha(text)},
    ):
        response = await trusted_only.post("/graphql", json=request)
        assert response.status_code == 403 and code_of(response) == "TRUSTED_DOCUMENT_REQUIRED"
        assert "đã đăng ký" in response.json()["errors"][0]["extensions"]["message_vi"]
    by_get = await trusted_only.get("/graphql", params={"query": text})
    assert by_get.status_code == 403 and code_of(by_get) == "TRUSTED_DOCUMENT_REQUIRED"
    # Registration itself is an operation: the national administrators' tool must register
    # the registering mutation first, by the CLI. Here: by the CLI's own function.
    await register_in_store(trusted_only_app, REGISTER)
    registered = await register(trusted_only, callers, text)
    assert registered["data"]["registerTrustedDocuments"][0]["sha256Hash"] == sha(text)
    by_hash = await trusted_only.post("/graphql", json={"extensions": persisted(sha(text))})
    assert by_hash.status_code == 200 and by_hash.json()["data"]["version"]
    as_text = await trusted_only.post("/graphql", json={"query": text})  # registered text
    assert as_text.status_code == 200 and as_text.json()["data"]["version"]
    missing = await trusted_only.post("/graphql", json={"documentId": sha(probe())})
    assert missing.status_code == 404
    after = (await trusted_only.get("/metrics")).text
    assert counted(after, "refused") - counted(before, "refused") == 4
    assert counted(after, "hit") - counted(before, "hit") == 1
    assert counted(after, "miss") - counted(before, "miss") == 1


async def register_in_store(app, text: str) -> None:
    """`text` registered straight in the table, as `eiso graphql documents add` does from
    another process; the worker forgets its cached miss (else seen within seconds)."""
    from eiso.core import trusted_documents as store
    from eiso.core.trusted_documents import NewDocument

    async with app.state.resources.session(TenantScope.nation()) as session, session.begin():
        await store.store(session, [NewDocument(text, ("op",))], client=None, actor="test")
    app.state.trusted_documents.forget([sha(text)])


async def test_trusted_only_over_the_websocket(trusted_only_app):
    text = probe()
    async with served(trusted_only_app) as url, GraphQLWS.open(url) as ws:
        assert (await ws.acknowledged())["type"] == "connection_ack"
        refused = await ws.first_answer(text)
        assert refused["type"] == "error" and error_codes(refused) == ["TRUSTED_DOCUMENT_REQUIRED"]
        await register_in_store(trusted_only_app, text)
        await ws.send(
            {"id": "by-id", "type": "subscribe", "payload": {"documentId": "sha256:" + sha(text)}}
        )
        answer = await answer_for(ws, "by-id")
        assert answer["type"] == "next", answer
        assert answer["payload"]["data"]["version"]
        await ws.send(
            {"id": "unknown", "type": "subscribe", "payload": {"documentId": sha(probe())}}
        )
        unknown = await answer_for(ws, "unknown")
        assert error_codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]


async def answer_for(ws: GraphQLWS, op: str) -> dict:
    """The first message of operation `op` (messages of earlier operations are skipped)."""
    while True:
        message = await ws.receive()
        if message.get("id") == op:
            return message


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("trusted-cli") / "eiso.db"
    env = {"EISO_DATABASE_URL": f"sqlite:///{path}", "EISO_LOG_JSON": "false"}
    assert eiso("db", "upgrade", env=env).returncode == 0
    return env


def test_cli_adds_lists_and_removes_documents(cli_db, tmp_path):
    first, second = tmp_path / "first.graphql", tmp_path / "second.graphql"
    first.write_text("query First { version }\n")
    second.write_text("query Second { activeModules }\nquery Third { version }\n")
    added = eiso(
        "graphql", "documents", "add", str(first), str(second), "--client", "web", env=cli_db
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        f"{sha(first.read_text())}  {first}",
        f"{sha(second.read_text())}  {second}",
    ]
    listed = json.loads(eiso("graphql", "documents", "list", env=cli_db).stdout)
    by_hash = {row["sha256Hash"]: row for row in listed}
    assert by_hash[sha(second.read_text())]["operations"] == ["Second", "Third"]
    assert by_hash[sha(first.read_text())]["client"] == "web"
    removed = eiso("graphql", "documents", "remove", "sha256:" + sha(first.read_text()), env=cli_db)
    assert removed.returncode == 0 and removed.stdout.split() == [sha(first.read_text())]
    listed = json.loads(eiso("graphql", "documents", "list", "--client", "web", env=cli_db).stdout)
    assert [row["sha256Hash"] for row in listed] == [sha(second.read_text())]
    unknown = eiso("graphql", "documents", "remove", sha("nothing"), env=cli_db)
    assert unknown.returncode == 1 and "no such document" in unknown.stderr


def test_cli_refuses_a_bad_file_naming_it_and_its_line(cli_db, tmp_path):
    good, bad = tmp_path / "good.graphql", tmp_path / "bad.graphql"
    good.write_text("query Good { version }\n")
    bad.write_text("query Bad {\n  version\n  nope\n}\n")
    result = eiso("graphql", "documents", "add", str(good), str(bad), env=cli_db)
    assert result.returncode == 1 and result.stdout == ""
    assert f"{bad}:3:" in result.stderr and "nope" in result.stderr
    assert "nothing registered" in result.stderr
    syntax = tmp_path / "syntax.graphql"
    syntax.write_text("query {\n  version\n")
    result = eiso("graphql", "documents", "add", str(syntax), env=cli_db)
    assert result.returncode == 1 and f"{syntax}:3:" in result.stderr
    listed = json.loads(eiso("graphql", "documents", "list", env=cli_db).stdout)
    assert sha(good.read_text()) not in {row["sha256Hash"] for row in listed}
