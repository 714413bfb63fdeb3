"""Client secrets checked with a keyed hash (issue 18): old argon2 secrets still work and are
rewritten on use; the client-credentials grant runs on the event loop (no thread hop); people's
passwords use argon2id at OWASP's parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from eiso.core.auth.client_secrets import (
    PREFIX,
    check_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from eiso.core.auth.models import Client
from eiso.core.auth.passwords import hash_password, verify_password
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import app_fixtures, make_integration, make_tenant

jwt_app_fixture, http_fixture = app_fixtures()
GRANT = {"grant_type": "client_credentials"}


async def stored_hash(resources, client_id: str) -> str | None:
    async with resources.session(TenantScope.nation()) as session:
        row = await session.get(Client, client_id)
        return row.secret_hash if row else None


async def set_hash(resources, client_id: str, value: str) -> None:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        row = await session.get(Client, client_id)
        row.secret_hash = value


def test_the_keyed_hash_is_stable_keyed_and_constant_form():
    stored = hash_client_secret("key-a", "s3cret")
    assert stored.startswith(PREFIX) and len(stored) == len(PREFIX) + 64
    assert verify_client_secret("key-a", stored, "s3cret")
    assert not verify_client_secret("key-a", stored, "s3cret!")
    assert not verify_client_secret("key-b", stored, "s3cret")  # another deployment's key
    assert not verify_client_secret("key-a", "$argon2id$v=19$...", "s3cret")
    assert not verify_client_secret("key-a", None, "s3cret")


async def test_an_argon2_secret_is_checked_off_the_loop_and_given_its_keyed_form():
    legacy = PasswordHasher().hash("s3cret")
    assert verify_client_secret("key-a", legacy, "s3cret")
    assert await check_client_secret("key-a", legacy, "sai") == (False, None)
    assert await check_client_secret("key-a", legacy, "s3cret") == (
        True,
        hash_client_secret("key-a", "s3cret"),
    )
    keyed = hash_client_secret("key-a", "s3cret")
    assert await check_client_secret("key-a", keyed, "s3cret") == (True, None)


def test_passwords_use_owasp_argon2id_parameters():
    hashed = hash_password("mật-khẩu-đủ-dài")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(hashed, "mật-khẩu-đủ-dài")
    assert not verify_password(hashed, "sai")
    # A hash made with the earlier defaults (64 MiB, t=3, p=4) still verifies.
    assert verify_password(PasswordHasher().hash("cũ"), "cũ")


async def test_a_new_client_secret_is_stored_keyed_and_checked(http, resources):
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
    assert (await stored_hash(resources, client_id) or "").startswith(PREFIX)
    good = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret))
    assert good.status_code == 200 and good.json()["token_type"].lower() == "bearer"
    posted = await http.post(
        "/oauth/token", data={**GRANT, "client_id": client_id, "client_secret": secret}
    )
    assert posted.status_code == 200
    bad = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret + "x"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    unknown = await http.post("/oauth/token", data=GRANT, auth=("cli_nobody", secret))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


async def test_an_argon2_secret_still_works_and_is_rehashed_on_use(http, resources):
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
    legacy = PasswordHasher().hash(secret)  # how secrets were stored before issue 18
    await set_hash(resources, client_id, legacy)
    wrong = await http.post("/oauth/token", data=GRANT, auth=(client_id, "not-it"))
    assert wrong.status_code == 401
    assert await stored_hash(resources, client_id) == legacy  # a failure rewrites nothing
    good = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret))
    assert good.status_code == 200
    rehashed = await stored_hash(resources, client_id)
    assert rehashed is not None and rehashed.startswith(PREFIX)
    again = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret))
    assert again.status_code == 200


async def test_the_client_credentials_grant_needs_no_worker_thread(
    http, jwt_app, resources, monkeypatch
):
    _province, agency = await make_tenant(resources)
    client_id, secret = await make_integration(resources, ["qms:read"], agency=agency)
    server = jwt_app.state.auth.server

    async def no_thread(*_args, **_kwargs):
        raise AssertionError("the client-credentials grant went through the worker thread")

    monkeypatch.setattr(server, "run", no_thread)
    answer = await http.post("/oauth/token", data=GRANT, auth=(client_id, secret))
    assert answer.status_code == 200
    bad = await http.post("/oauth/token", data=GRANT, auth=(client_id, "nope"))
    assert bad.status_code == 401
    with pytest.raises(AssertionError):  # the other grants still use it
        await http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x"})


async def test_the_desks_argon2_secret_is_rewritten_in_the_keyed_form(resources):
    """web/desk_auth.py: the desk's own confidential client, registered by the app itself."""
    import secrets

    from eiso.web import desk_auth

    await desk_auth.ensure_client(resources, f"http://desk-{secrets.token_hex(4)}.test/xong")
    secret = desk_auth.client_secret(resources)
    await set_hash(resources, desk_auth.CLIENT_ID, PasswordHasher().hash(secret))
    await desk_auth.ensure_client(resources, f"http://desk-{secrets.token_hex(4)}.test/xong")
    stored = await stored_hash(resources, desk_auth.CLIENT_ID)
    key = resources.settings.secret_key.get_secret_value()
    assert stored is not None and stored.startswith(PREFIX)
    assert verify_client_secret(key, stored, secret)
