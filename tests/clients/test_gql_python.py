"""python `gql` with its websockets transport (graphql-transport-ws) and
`fetch_schema_from_transport=True`: the schema comes by introspection, then a query, a mutation
and a subscription, each checked against that schema by gql itself."""

from __future__ import annotations

import asyncio

import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

RECEIVE = gql(
    """mutation($p: String!) {
      receiveDossier(input: {procedureCode: $p,
        applicant: {fullName: "Nguyễn Thị Hoa", phone: "0912345678"},
        sectorData: {child_name: "Trần Minh Khôi", birth_date: "2026-11-01"}}) {
        dossier { code status }
      }
    }"""
)
EVENTS = gql(
    "subscription($a: ID!) { dossierEvents(agencyId: $a) { dossierCode action toStatus } }"
)

# One backend is enough: the client tests check the protocols, not the storage.
pytestmark = [pytest.mark.only_backend("sqlite+memory"), pytest.mark.slow]


async def test_gql_fetches_the_schema_and_runs_each_operation_type(live, officer):
    transport = WebsocketsTransport(
        url=live.ws,
        init_payload={"authorization": officer.authorization},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    client = Client(transport=transport, fetch_schema_from_transport=True)
    async with client as session:
        assert client.schema is not None and client.schema.subscription_type is not None
        assert {"version", "me"} <= set(client.schema.query_type.fields)

        assert (await session.execute(gql("{ version }")))["version"]

        heard: asyncio.Queue[dict] = asyncio.Queue()

        async def listen() -> None:
            async for event in session.subscribe(EVENTS, variable_values={"a": officer.agency_id}):
                await heard.put(event["dossierEvents"])

        listener = asyncio.create_task(listen())
        try:
            await asyncio.sleep(0.5)  # the subscription is registered before the receipt
            received = await session.execute(RECEIVE, variable_values={"p": officer.procedure})
            dossier = received["receiveDossier"]["dossier"]
            assert dossier["status"].lower() == "received"
            event = await asyncio.wait_for(heard.get(), 20)
        finally:
            listener.cancel()
        assert (event["dossierCode"], event["toStatus"].lower()) == (dossier["code"], "received")
