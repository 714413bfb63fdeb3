"""An integration client with the `modules:admin` scope switches modules of its own province
(enableModule / disableModule), never another province's, and never when it is bound to one
agency or lacks the scope."""

from __future__ import annotations

import pytest

from eiso.core.auth.principal import Principal
from eiso.core.global_ids import encode_id
from eiso.core.plugins.testing import TestProvince, TokenIssuer
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import app_fixtures, make_integration, make_tenant

MODULE = "vendor_demo"
ENABLE = 'mutation($p: ID) { enableModule(module: "vendor_demo", provinceId: $p) { name } }'
DISABLE = 'mutation($p: ID) { disableModule(module: "vendor_demo", provinceId: $p) { name } }'
QUERY = {"query": "{ vendorDemo { greeting } }"}


@pytest.fixture
def eiso_plugins():
    return [MODULE]


def client_of(
    tokens: TokenIssuer, province: TestProvince, scopes=("modules:admin",), agency_id=None
) -> dict[str, str]:
    """A client-credentials caller (no roles) bound to `province` (or one of its agencies)."""
    tenant = (
        TenantScope.province(province.id)
        if agency_id is None
        else TenantScope.agencies([agency_id], [province.id])
    )
    return tokens.issue(
        Principal(
            subject="cli_modules",
            tenant=tenant,
            scopes=frozenset(scopes),
            client_id="cli_modules",
            province_id=province.id,
            agency_id=agency_id,
        )
    )


async def switch(http, document, headers, province_gid=None) -> dict:
    body = {"query": document, "variables": {"p": province_gid}}
    return (await http.post("/graphql", json=body, headers=headers)).json()


async def sees_module(http, province: TestProvince) -> bool:
    body = (await http.post("/graphql", json=QUERY, headers=province.headers("officer"))).json()
    return "errors" not in body


def code(answer: dict) -> str:
    return answer["errors"][0]["extensions"]["code"]


async def province_gid(http, province: TestProvince) -> str:
    body = (
        await http.post(
            "/graphql",
            json={"query": "{ me { provinces { id } } }"},
            headers=province.headers("province_admin"),
        )
    ).json()
    return body["data"]["me"]["provinces"][0]["id"]


async def test_a_client_with_modules_admin_switches_its_own_province(
    eiso_client, eiso_province, eiso_tokens
):
    mine, theirs = await eiso_province(), await eiso_province()
    headers = client_of(eiso_tokens, mine)
    enabled = await switch(eiso_client, ENABLE, headers)
    assert enabled == {"data": {"enableModule": {"name": MODULE}}}, enabled
    assert await sees_module(eiso_client, mine)
    assert not await sees_module(eiso_client, theirs)
    disabled = await switch(eiso_client, DISABLE, headers)
    assert disabled == {"data": {"disableModule": {"name": MODULE}}}, disabled
    assert not await sees_module(eiso_client, mine)


async def test_a_client_cannot_switch_another_province(eiso_client, eiso_province, eiso_tokens):
    mine, theirs = await eiso_province(), await eiso_province(MODULE)
    target = await province_gid(eiso_client, theirs)
    headers = client_of(eiso_tokens, mine)
    for document in (ENABLE, DISABLE):
        refused = await switch(eiso_client, document, headers, target)
        assert code(refused) == "FORBIDDEN", refused
        assert "modules:admin" in refused["errors"][0]["extensions"]["message_vi"]
    assert await sees_module(eiso_client, theirs)  # still on
    assert not await sees_module(eiso_client, mine)


async def test_without_the_scope_or_bound_to_an_agency_a_client_is_refused(
    eiso_client, eiso_province, eiso_tokens
):
    mine = await eiso_province()
    without = client_of(eiso_tokens, mine, scopes=("dossiers:write",))
    refused = await switch(eiso_client, ENABLE, without)
    assert code(refused) == "FORBIDDEN"
    assert refused["errors"][0]["extensions"]["scope"] == "modules:admin"
    agency_bound = client_of(eiso_tokens, mine, agency_id=12345)
    assert code(await switch(eiso_client, ENABLE, agency_bound)) == "FORBIDDEN"
    assert not await sees_module(eiso_client, mine)


jwt_app, http = app_fixtures()


async def test_a_real_client_token_switches_only_its_own_province(http, resources):
    """Through the OAuth client-credentials grant and the JWT authenticator, on both stacks.
    This app loads no module: passing the permission check, the own province's switch meets
    UNKNOWN_MODULE, while another province's is FORBIDDEN before that."""
    mine, _agency = await make_tenant(resources)
    theirs, _their_agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["modules:admin"], province=mine)
    grant = {"grant_type": "client_credentials", "scope": "modules:admin"}
    token = (await http.post("/oauth/token", data=grant, auth=(client_id, secret))).json()
    headers = {"authorization": f"Bearer {token['access_token']}"}

    own = await switch(http, ENABLE, headers)
    assert code(own) == "UNKNOWN_MODULE", own
    other = await switch(http, ENABLE, headers, encode_id("Province", theirs.id, theirs.id))
    assert code(other) == "FORBIDDEN", other
    other_off = await switch(http, DISABLE, headers, encode_id("Province", theirs.id, theirs.id))
    assert code(other_off) == "FORBIDDEN", other_off
