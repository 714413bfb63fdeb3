"""The frontend tools themselves against a real eiso server: uvicorn on 127.0.0.1 on a free
port, the app with its own (JWT) authentication on the test run's fresh database. The Node
clients are pinned in package-lock.json (`make test` runs `npm ci`), Chromium is Debian's.
Without them these tests skip, saying why; with CI=true they fail instead."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pathlib
import shutil
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import pytest_asyncio

from eiso.core.global_ids import encode_id
from eiso.core.settings import Settings
from tests.auth_helpers import make_frontend, make_user, user_token
from tests.conftest import IN_CI
from tests.test_dossier_engine import PROC, REGISTRY
from tests.test_dossier_hooks import agency_with
from tests.ws_client import served

HERE = pathlib.Path(__file__).parent
CHROMIUM = os.environ.get("EISO_TEST_CHROMIUM", "/usr/bin/chromium")
# How long one client run may take before the test fails (a loaded machine starts slowly).
CLIENT_SECONDS = 180


def need(ready: bool, why: str) -> None:
    if ready:
        return
    if IN_CI:
        pytest.fail(f"{why}: CI=true runs every client test", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    need(found is not None, "node is not installed (Debian: apt-get install nodejs npm)")
    need(
        (HERE / "node_modules" / "graphql-http").is_dir(),
        "tests/clients/node_modules is missing: `make test` runs `npm ci` there",
    )
    assert found is not None
    return found


@pytest.fixture(scope="session")
def chromium(node) -> str:
    need(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    return CHROMIUM


async def run_node(node: str, script: str, *args: str, env: dict | None = None) -> dict | list:
    """`node tests/clients/<script> args...`; its last stdout line, parsed as JSON."""
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / script),
        *args,
        cwd=HERE,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLIENT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = out.decode().strip().splitlines()
    assert lines, f"{script} printed nothing (exit {process.returncode}): {err.decode()[-3000:]}"
    return orjson.loads(lines[-1])


@dataclasses.dataclass(frozen=True)
class Live:
    http: str  # http://127.0.0.1:<port>
    settings: Settings

    @property
    def graphql(self) -> str:
        return self.http + "/graphql"

    @property
    def ws(self) -> str:
        return self.graphql.replace("http://", "ws://", 1)


def unset_issuer(settings: Settings) -> Settings:
    """`settings` as with EISO_ISSUER unset (the field's default)."""
    return settings.model_copy(update={"issuer": Settings.model_fields["issuer"].default})


@pytest_asyncio.fixture
async def live(resources) -> AsyncIterator[Live]:
    """The app as `eiso serve` builds it (JWT authentication, GraphiQL on, the outbox relay
    running), with the test procedure's module, on a real socket."""
    from eiso.core.app import create_app

    settings = unset_issuer(resources.settings).model_copy(
        update={"events_relay": True, "events_relay_interval": 0.2, "graphiql": True}
    )
    app = create_app(settings, resources, plugins=REGISTRY)
    async with app.router.lifespan_context(app), served(app) as ws_url:
        yield Live(ws_url.replace("ws://", "http://", 1).removesuffix("/graphql"), settings)


@dataclasses.dataclass(frozen=True)
class Officer:
    authorization: str
    agency_id: str  # global id
    procedure: str


@pytest_asyncio.fixture
async def officer(resources, live) -> Officer:
    """An officer of a fresh agency that adopted the test procedure, signed in through the
    authorization-code flow with PKCE on the live server."""
    agency = await agency_with(resources, [])
    user = await make_user(resources, "officer", agency=agency)
    client_id, _ = await make_frontend(resources)
    async with httpx.AsyncClient(base_url=live.http) as http:
        token = await user_token(http, client_id, user.username)
    return Officer(
        f"Bearer {token['access_token']}",
        encode_id("Agency", agency.province_id, agency.id),
        PROC,
    )
