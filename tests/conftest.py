"""Shared fixtures: each test run gets throwaway databases, on SQLite and (where reachable)
PostgreSQL, with Redis in-process and (where reachable) real.

Outside CI a missing PostgreSQL or Redis skips the tests that need it and says so; with CI=true
they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings

import eiso.core.qms  # noqa: F401 - the QMS listens to the dossier engine, as in the app
from eiso.core.auth.authenticator import Caller
from eiso.core.dossiers import slips as _slips  # noqa: F401 - issued at their event
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra import migrate
from eiso.tenants.scope import TenantScope
from tests.shared_catalogue import session_catalogue

# CI runs the property tests on a fixed seed (a red run is then reproducible); elsewhere they
# explore, and what they find becomes an example in the test.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("EISO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EISO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
APP_ROLE = "eiso_app"
BACKENDS = ("sqlite+memory", "postgresql+redis")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def need(service: str, url: str, port: int) -> None:
    """Skip (or, in CI, fail) when `service` is not reachable."""
    if _reachable(url, port):
        return
    message = f"{service} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}: CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; these tests need it")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "only_backend(name): run only on that backend (e.g. postgresql+redis)"
    )


def _backend_of(item) -> str | None:
    return getattr(item, "callspec", None) and item.callspec.params.get("backend")


@pytest.hookimpl(trylast=True)  # after pytest's own order (tests grouped by backend)
def pytest_collection_modifyitems(config, items) -> None:
    """Drop the parametrizations a test does not apply to, instead of skipping them; then
    run the slow tests first within each backend's run of tests. The backends stay grouped
    (a change of backend sets the session's databases and apps up again), and with the
    workers of `make test` (pytest-xdist, `--dist worksteal`) the slow ones (browsers,
    clusters) start early instead of leaving one worker busy after the other is done."""
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only_backend")
        param = _backend_of(item)
        (drop if marker and param and param not in marker.args else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    blocks = list(dict.fromkeys(_backend_of(item) for item in keep))
    keep.sort(
        key=lambda item: (blocks.index(_backend_of(item)), not item.get_closest_marker("slow"))
    )
    items[:] = keep


def pytest_report_header(config) -> list[str]:
    lines = []
    if not _reachable(PG_ADMIN_URL, 5432):
        lines.append(f"eiso: PostgreSQL unreachable at {PG_ADMIN_URL}: its tests will skip")
    if not _reachable(REDIS_URL, 6379):
        lines.append(f"eiso: Redis unreachable at {REDIS_URL}: its tests will skip")
    return lines


async def _pg_admin(sql: str, url: str = PG_ADMIN_URL) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.split('@', 1)[-1]}"
    return parts._replace(netloc=netloc, path=f"/{database}").geturl()


async def _ensure_app_role() -> None:
    await _pg_admin(
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        END $$;"""
    )


class Database:
    """A throwaway database: `owner_url` migrates, `app_url` is what the app connects as."""

    def __init__(self, owner_url: str, app_url: str, drop=None) -> None:
        self.owner_url, self.app_url, self._drop = owner_url, app_url, drop

    async def drop(self) -> None:
        if self._drop:
            await self._drop()


def _upgrade(owner_url: str, app_url: str | None = None) -> None:
    """The core's migrations, then the installed modules' own tables (`eiso db upgrade`)."""
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.plugins.tables import upgrade_database

    upgrade_database(PluginRegistry.load(None), owner_url, app_url)


async def create_database(kind: str, tmp_path_factory, modules: bool = True) -> Database:
    """A new migrated database; `modules=False`: the core's migrations only."""
    upgrade = _upgrade if modules else migrate.upgrade
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / "eiso.db"
        url = f"sqlite:///{path}"
        await asyncio.to_thread(upgrade, url)
        return Database(url, url)
    name = f"eiso_test_{secrets.token_hex(6)}"
    await _ensure_app_role()
    await _pg_admin(f'CREATE DATABASE "{name}"')
    owner_url = _with_database(PG_ADMIN_URL, name)
    app_url = _with_database(PG_ADMIN_URL, name, user=APP_ROLE)
    await asyncio.to_thread(upgrade, owner_url, app_url)

    async def drop() -> None:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return Database(owner_url, app_url, drop)


@pytest.fixture(scope="session", autouse=True)
def shared_catalogue():
    """A test's catalogue sync leaves other tests' procedures active (tests/shared_catalogue.py):
    autouse and session-wide, so it is in place before any fixture syncs."""
    with session_catalogue():
        yield


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """Which stack a test runs on: SQLite with in-process Redis, or PostgreSQL with real Redis."""
    if request.param == "postgresql+redis":
        need("PostgreSQL", PG_ADMIN_URL, 5432)
        need("Redis", REDIS_URL, 6379)
    return request.param


@pytest_asyncio.fixture(scope="session")
async def database(backend, tmp_path_factory) -> AsyncIterator[Database]:
    db = await create_database(backend.split("+")[0], tmp_path_factory)
    yield db
    await db.drop()


@pytest_asyncio.fixture(scope="session")
async def resources(backend, database) -> AsyncIterator[Resources]:
    prefix = f"eiso-test-{secrets.token_hex(4)}:"
    redis_url = "memory://" + prefix if backend.endswith("memory") else REDIS_URL
    settings = load_settings(
        env="test",
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        log_json=False,
        plugins=[],  # installed plugins load only where a test asks (eiso.core.testing)
    )
    res = Resources.open(settings)
    yield res
    async for key in res.redis.scan_iter(match=prefix + "*", count=500):
        await res.redis.delete(key)
    await res.close()


class Callers:
    """A test double for the token issuer: `issue(principal)` gives a bearer token that the
    test app's authenticator maps back to that principal."""

    def __init__(self) -> None:
        self._by_token: dict[str, object] = {}

    def issue(self, principal) -> dict[str, str]:
        token = "test-" + secrets.token_hex(8)
        self._by_token[token] = principal
        return {"authorization": f"Bearer {token}"}

    async def authenticate(self, caller: Caller):
        """An `Authenticator` (core/auth/authenticator.py): reads the caller's headers only."""
        header = caller.headers.get("authorization", "")
        return self._by_token.get(header.removeprefix("Bearer ").strip())


@pytest.fixture(scope="session")
def callers() -> Callers:
    return Callers()


@pytest_asyncio.fixture(scope="session")
async def app(resources, callers):
    from eiso.core.app import create_app

    application = create_app(resources.settings, resources, authenticator=callers.authenticate)
    async with application.router.lifespan_context(application):
        yield application


# Each test's requests come from an address of its own (198.19.0.0/16, a benchmarking range):
# the public lookup's per-address limit (60 a minute) counts one test's calls, not those of
# every test the worker ran that minute.
_ADDRESSES = itertools.count(1)


@pytest_asyncio.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    n = next(_ADDRESSES)
    address = f"198.19.{n // 250 % 250}.{n % 250 + 1}"
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest_asyncio.fixture
async def nation_session(resources):
    """A session with the nation's scope, for arranging test data."""
    async with resources.session(TenantScope.nation()) as session:
        yield session


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}{secrets.token_hex(4).upper()}"
