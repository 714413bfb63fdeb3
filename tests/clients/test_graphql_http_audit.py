"""The `graphql-http` server audit (GraphQL over HTTP): every MUST and every SHOULD passes."""

from __future__ import annotations

import pytest

from tests.clients.conftest import run_node

# One backend is enough: the client tests check the protocols, not the storage.
pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]


async def test_the_graphql_over_http_audit_passes_every_must_and_should(node, live):
    results = await run_node(node, "audit.mjs", live.graphql)
    assert len(results) > 30, results  # the audit ran its checks
    failed = [(r["status"], r["name"], r["reason"]) for r in results if r["status"] != "ok"]
    assert failed == []
