"""The web room's fixtures: two provinces with an agency each that offers the test module's
procedure (support.py), and the app as `eiso serve` builds it with that module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.web.support import REGISTRY, Place, place


@pytest_asyncio.fixture(scope="session")
async def places(resources) -> tuple[Place, Place]:
    a = await place(resources, "Tỉnh Quảng Ninh Thử", "UBND phường Hòa Bình Thử")
    b = await place(resources, "Tỉnh Bến Tre Thử", "UBND xã Đông Hải Thử")
    return a, b


@pytest_asyncio.fixture(scope="session")
async def web_app(resources, callers):
    from eiso.core.app import create_app

    app = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def web(web_app) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client: cookies kept, no redirects followed."""
    transport = httpx.ASGITransport(app=web_app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
