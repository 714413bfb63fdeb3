"""`eiso users create`, `eiso clients create`, `eiso keys rotate`, run as an operator runs them."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

EISO = str(pathlib.Path(sys.executable).parent / "eiso")


def eiso(env, *args: str, stdin: str | None = None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    full_env.update(env)
    return subprocess.run(
        [EISO, *args], env=full_env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    path = tmp_path_factory.mktemp("authcli") / "eiso.db"
    env = {"EISO_DATABASE_URL": f"sqlite:///{path}", "EISO_LOG_JSON": "false"}
    assert eiso(env, "db", "upgrade").returncode == 0
    assert eiso(env, "demo").returncode == 0
    return env


def test_users_create(env):
    result = eiso(
        env,
        "users",
        "create",
        "--username",
        "thuky.xaydung",
        "--role",
        "iso_secretary",
        "--agency",
        "000.00.22.H49",
        "--password-stdin",
        stdin="mật-khẩu-mạnh-123\n",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["roles"] == ["iso_secretary"]
    again = eiso(
        env,
        "users",
        "create",
        "--username",
        "thuky.xaydung",
        "--role",
        "officer",
        "--agency",
        "000.00.22.H49",
    )
    assert again.returncode == 1 and "already exists" in again.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--role", "king", "--nation"], "role: unknown role 'king'"),
        (["--role", "officer", "--agency", "NOPE"], "agency: no agency with code 'NOPE'"),
        (["--role", "officer", "--nation", "--province", "22"], "tenant: give exactly one"),
        (["--role", "national_admin", "--province", "22"], "role: national_admin cannot belong"),
    ],
)
def test_users_create_bad_input(env, args, message):
    result = eiso(env, "users", "create", "--username", "someone", *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_clients_create_prints_the_secret_once(env):
    result = eiso(
        env,
        "clients",
        "create",
        "--agency",
        "000.00.22.H49",
        "--scope",
        "dossiers:read",
        "--scope",
        "dossiers:write",
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["client_id"].startswith("cli_") and len(created["client_secret"]) > 30
    bad = eiso(env, "clients", "create", "--province", "22", "--scope", "everything")
    assert bad.returncode == 1 and "scope: unknown scope 'everything'" in bad.stderr


def test_keys_rotate(env):
    first = json.loads(eiso(env, "keys", "rotate").stdout)
    second = json.loads(eiso(env, "keys", "rotate").stdout)
    assert first["kid"] != second["kid"] and second["alg"] == "RS256"


def test_federation_set(env):
    result = eiso(
        env,
        "federation",
        "set",
        "--province",
        "22",
        "--issuer",
        "https://sso.quangninh.example/realms/staff",
        "--client-id",
        "eiso",
        "--map",
        "role=roles",
        stdin="bí-mật\n",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["claim_mapping"]["role"] == "roles" and out["redirect_uri"].endswith(
        "/auth/callback/22"
    )
    bad = eiso(
        env,
        "federation",
        "set",
        "--province",
        "22",
        "--issuer",
        "https://x",
        "--client-id",
        "eiso",
        "--map",
        "colour=blue",
        stdin="s\n",
    )
    assert bad.returncode == 1 and "claim_mapping: unknown field" in bad.stderr


def test_set_password_takes_up_an_invitation(env):
    created = eiso(
        env,
        "users",
        "create",
        "--username",
        "moi.moi",
        "--role",
        "officer",
        "--agency",
        "000.00.22.H49",
    )
    assert created.returncode == 0, created.stderr
    assert (
        eiso(env, "users", "set-password", "--username", "moi.moi", stdin="short\n").returncode == 1
    )
    done = eiso(env, "users", "set-password", "--username", "moi.moi", stdin="mật-khẩu-đủ-dài\n")
    assert done.returncode == 0, done.stderr
    missing = eiso(
        env, "users", "set-password", "--username", "nobody.here", stdin="mật-khẩu-đủ-dài\n"
    )
    assert missing.returncode == 1 and "no such account" in missing.stderr
