"""The JWKS publishes the signing key from the first start: a resource server that starts
before anyone signs in finds a key, and workers starting together create one key, not one each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from sqlalchemy import func, select

from eiso.core.auth.models import SigningKey
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.resources import Resources
from eiso.core.settings import Settings, load_settings
from eiso.tenants.scope import TenantScope
from tests.conftest import create_database

WORKERS = 4


@pytest_asyncio.fixture
async def fresh_settings(backend, tmp_path_factory) -> AsyncIterator[Settings]:
    """A database just migrated: no key, no token ever issued."""
    db = await create_database(backend.split("+")[0], tmp_path_factory)
    yield load_settings(
        env="test", database_url=db.app_url, redis_url="memory://", log_json=False, plugins=[]
    )
    await db.drop()


@contextlib.asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """One worker of its own (engine, Redis), through its start-up, as `eiso serve` runs one."""
    from eiso.core.app import create_app

    resources = Resources.open(settings)
    app = create_app(settings, resources, plugins=PluginRegistry.load([]))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://w") as http:
                yield http
    finally:
        await resources.close()


async def stored_keys(settings: Settings) -> int:
    resources = Resources.open(settings)
    try:
        async with resources.session(TenantScope.nation()) as session:
            return int(await session.scalar(select(func.count()).select_from(SigningKey)) or 0)
    finally:
        await resources.close()


async def jwks_kids(http: httpx.AsyncClient) -> list[str]:
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return [key["kid"] for key in response.json()["keys"]]


async def test_the_first_start_publishes_a_key_before_any_token(fresh_settings):
    assert await stored_keys(fresh_settings) == 0
    async with started(fresh_settings) as http:
        kids = await jwks_kids(http)
    assert len(kids) == 1
    # A restart keeps the key it found.
    async with started(fresh_settings) as http:
        assert await jwks_kids(http) == kids
    assert await stored_keys(fresh_settings) == 1


async def test_workers_starting_together_create_one_key(fresh_settings):
    async with contextlib.AsyncExitStack() as stack:
        clients = await asyncio.gather(
            *(stack.enter_async_context(started(fresh_settings)) for _ in range(WORKERS))
        )
        published = [await jwks_kids(http) for http in clients]
    assert await stored_keys(fresh_settings) == 1
    assert all(kids == published[0] for kids in published) and len(published[0]) == 1
