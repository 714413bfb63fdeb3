"""The fixtures eiso.core.testing gives module authors, used as a vendor would use them."""

from __future__ import annotations

import pytest

QUERY = '{ vendorDemo { nameAvailable(name: "Hộ kinh doanh Minh Châu") } }'


@pytest.fixture
def eiso_plugins():
    return ["vendor_demo"]


async def test_the_kit_serves_the_vendor_module(eiso_client, eiso_province, eiso_registry):
    assert eiso_registry.records["vendor_demo"].loaded
    on, off = await eiso_province("vendor_demo"), await eiso_province()
    answer = await eiso_client.post(
        "/graphql", json={"query": QUERY}, headers=on.headers("officer")
    )
    assert answer.json() == {"data": {"vendorDemo": {"nameAvailable": True}}}
    refused = await eiso_client.post(
        "/graphql", json={"query": QUERY}, headers=off.headers("leader")
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_dossier_events_reach_the_vendor_hook(eiso_registry):
    import datetime as dt

    from eiso_vendor_demo import plugin

    from eiso.core.sdk import DossierEvent

    event = DossierEvent(
        province_id=1,
        agency_id=2,
        dossier_id=3,
        dossier_code="HS-0003",
        procedure_code="1.001612",
        from_status=1,
        to_status=2,
        actor="officer",
        at=dt.datetime.now(dt.UTC),
    )
    before = len(plugin.EVENTS)
    assert await eiso_registry.dispatch_dossier_event(event, {"vendor_demo"}) == {}
    assert plugin.EVENTS[before:] == [event]


def test_plugins_are_not_autoloaded_in_eiso_test_runs(resources):
    assert resources.settings.plugins == []
