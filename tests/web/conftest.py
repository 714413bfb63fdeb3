"""The web room's fixtures: two provinces with an agency each that offers the test module's
procedure (support.py), and the app as `eiso serve` builds it with that module."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from tests.clients.conftest import CHROMIUM, need
from tests.web.support import AXE, LAUNCH_ARGS, REGISTRY, Place, place
from tests.ws_client import served

_HOSTS = itertools.count(1)  # one test address per client (198.18.0.0/15: benchmarking)


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
    """A browser-like client: cookies kept, no redirects followed, from an address of its own
    (the public rate limit counts per address)."""
    transport = httpx.ASGITransport(app=web_app, client=(f"198.18.{next(_HOSTS)}.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One headless Chromium (and one Playwright driver) for the session's browser tests:
    starting them is the slow part of a short test. Each test works in contexts of its own
    (`browser`), so no cookie, page or route carries over from one test to the next."""
    need(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    need(AXE.is_file(), "tests/clients/node_modules is missing: `make test` runs `npm ci` there")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def browser(chromium) -> AsyncIterator[Any]:
    """The session's Chromium; every context the test opened is closed after it."""
    assert not chromium.contexts, "a browser context outlived its test"
    try:
        yield chromium
    finally:
        for context in chromium.contexts:
            await context.close()


@pytest_asyncio.fixture
async def site(web_app) -> AsyncIterator[str]:
    async with served(web_app) as ws_url:
        yield ws_url.replace("ws://", "http://", 1).removesuffix("/graphql")


@pytest_asyncio.fixture(scope="session")
async def desk_app(resources):
    """The app with its own token verification (no test authenticator): the desk signs in
    through eiso's OAuth server and runs its pages with the token it got."""
    from eiso.core.app import create_app

    app = create_app(resources.settings, resources, plugins=REGISTRY)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def desk_web(desk_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=desk_app, client=(f"198.18.{next(_HOSTS)}.2", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest_asyncio.fixture(scope="session")
async def officers(resources, places) -> tuple[str, str]:
    """An officer of each place's agency (password tests.auth_helpers.PASSWORD)."""
    from tests.auth_helpers import make_user

    a, b = places
    first = await make_user(resources, "officer", agency=a.agency)
    second = await make_user(resources, "officer", agency=b.agency)
    return first.username, second.username


@pytest_asyncio.fixture
async def desk_site(desk_app) -> AsyncIterator[str]:
    """The desk's app on a real socket (its own token verification)."""
    async with served(desk_app) as ws_url:
        yield ws_url.replace("ws://", "http://", 1).removesuffix("/graphql")
