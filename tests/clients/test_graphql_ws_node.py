"""graphql-ws, the Node client docs/graphql.md recommends: a subscription to dossierEvents
hears every move of a dossier made over HTTP, in order."""

from __future__ import annotations

import pytest

from tests.clients.conftest import run_node

# One backend is enough: the client tests check the protocols, not the storage.
pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]


async def test_graphql_ws_hears_a_dossier_through_five_statuses(node, live, officer):
    got = await run_node(
        node,
        "subscribe.mjs",
        live.graphql,
        live.ws,
        officer.agency_id,
        officer.procedure,
        env={"EISO_TOKEN": officer.authorization},
    )
    moves = [status.lower() for status in got["moves"]]
    assert moves == [
        "received",
        "in_progress",
        "supplement_requested",
        "in_progress",
        "in_progress",
        "processed",
        "returned",
    ]
    assert len(set(moves)) == 5
    events = got["events"]
    assert {e["dossierCode"] for e in events} == {got["code"]}
    assert [e["toStatus"].lower() for e in events] == moves  # every event, in order
    assert [(e["fromStatus"] or "").lower() for e in events] == ["", *moves[:-1]]
