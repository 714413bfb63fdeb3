"""GraphiQL is served from eiso's own files: the page names no other host, every file it loads
answers from eiso with its licences beside it; it is on in dev, off in test and prod unless
EISO_GRAPHIQL enables it. (tests/clients/test_graphiql_browser.py loads it in Chromium.)"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from eiso.core.app import create_app

HTML = {"accept": "text/html"}


@contextlib.asynccontextmanager
async def browser(resources, **settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(resources.settings.model_copy(update=settings), resources)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://eiso.test") as http,
    ):
        yield http


async def page_and_assets(resources, **settings) -> tuple[int, str, dict[str, int]]:
    async with browser(resources, **settings) as http:
        page = await http.get("/graphql", headers=HTML)
        loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        statuses = {url: (await http.get(url)).status_code for url in loaded if url != "data:,"}
        statuses["/graphiql/LICENSES.txt"] = (await http.get("/graphiql/LICENSES.txt")).status_code
    return page.status_code, page.text, statuses


async def test_graphiql_and_its_files_come_from_eiso(resources):
    status, text, statuses = await page_and_assets(resources, env="dev")
    assert status == 200 and "GraphiQLPluginExplorer" in text
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), "a file from another host"
    assert len(statuses) == 7
    assert set(statuses.values()) == {200}, statuses


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        ({"env": "test"}, False),
        ({"env": "prod", "secret_key": SecretStr("s" * 40)}, False),
        ({"env": "prod", "secret_key": SecretStr("s" * 40), "graphiql": True}, True),
        ({"env": "dev", "graphiql": False}, False),
    ],
)
async def test_graphiql_is_on_in_dev_only_unless_told(resources, settings, served):
    async with browser(resources, **settings) as http:
        page = await http.get("/graphql", headers=HTML)
        asset = await http.get("/graphiql/graphiql.min.js")
    assert ("GraphiQL" in page.text) is served
    assert (asset.status_code == 200) is served
