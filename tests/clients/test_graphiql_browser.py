"""GraphiQL in headless Chromium with the network cut to anything but 127.0.0.1: the page
loads from eiso alone and its documentation explorer lists the fields of `Query`."""

from __future__ import annotations

import pytest

from tests.clients.conftest import run_node

# One backend is enough: the client tests check the protocols, not the storage.
pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]


async def test_graphiql_works_offline_in_chromium(node, chromium, live):
    got = await run_node(node, "graphiql.mjs", live.graphql, chromium)
    assert got["blocked"] == []  # nothing asked for another host
    assert got["errors"] == []
    assert {"version", "me", "dossiers"} <= set(got["fields"]), got["fields"]
