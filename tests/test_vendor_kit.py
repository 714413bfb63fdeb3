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


async def test_the_kit_drives_a_dossier_from_receipt_to_return_with_hook_delivery(
    eiso_province, eiso_events
):
    from eiso_vendor_demo import plugin

    province = await eiso_province("vendor_demo")
    agency = await province.agency(name="Ủy ban nhân dân phường Hồng Gai")
    await agency.adopt("1.001612")
    dossier = await agency.receive(
        "1.001612",
        {"business_name": "Hộ kinh doanh Minh Châu", "owner_name": "Lê Minh", "capital_vnd": 0},
    )
    assert dossier.status == "RECEIVED"
    await agency.move(dossier, "assignDossier", assignee="officer-2")
    await agency.move(dossier, "completeStep", note="Đã kiểm tra")
    await agency.move(dossier, "completeStep", role="leader", note="Cấp giấy")
    assert dossier.status == "PROCESSED"
    await agency.move(dossier, "returnResult")
    assert dossier.status == "RETURNED"

    before = len(plugin.EVENTS)
    assert await eiso_events() == {"vendor_demo": 5}
    heard = plugin.EVENTS[before:]
    assert [e.data["action"] for e in heard] == [
        "received",
        "assigned",
        "step_completed",
        "processed",
        "returned",
    ]
    assert {(e.dossier_code, e.module) for e in heard} == {(dossier.code, "vendor_demo")}
    assert heard[-1].to_status == 10
    assert await eiso_events() == {"vendor_demo": 0}  # each event once

    # GraphQL as any role of the province or of the agency.
    for role in ("officer", "leader", "province_admin"):
        answer = await province.graphql("{ vendorDemo { greeting } }", role=role)
        assert answer == {"data": {"vendorDemo": {"greeting": "Xin chào từ mô-đun mẫu"}}}
    mine = await agency.graphql("{ dossiers(first: 5) { totalCount } }")
    assert mine["data"]["dossiers"]["totalCount"] == 1


async def test_a_refused_kit_step_says_why(eiso_province):
    from eiso.core.testing import KitDossier, KitError

    agency = await (await eiso_province()).agency()  # vendor_demo is off in this province
    await agency.adopt("1.001612")
    data = {"business_name": "Hộ kinh doanh Sao Mai", "owner_name": "Lê Minh", "capital_vnd": 0}
    with pytest.raises(KitError) as refused:
        await agency.receive("1.001612", data)
    assert refused.value.args[0][0]["extensions"]["code"] == "MODULE_DISABLED"
    with pytest.raises(KitError, match="takes no argument"):
        await agency.move(KitDossier("x", "HS", 1, "RECEIVED"), "assignDossier", who="officer-2")


async def test_the_kit_gives_each_province_its_module_store(eiso_province):
    """`province.store(module)`: the province's `ModuleStore` of the module (what the module's
    `module_store(...)` reaches there), to arrange or check what a hook kept."""
    one, two = await eiso_province("vendor_demo"), await eiso_province("vendor_demo")
    store = one.store("vendor_demo")
    assert (store.province_id, store.module) == (one.id, "vendor_demo")
    assert await store.incr("sent") == 1
    assert await store.add_once("sent:1") is True
    assert await two.store("vendor_demo").keys() == []
    assert await one.store("vendor_demo").keys() == ["sent", "sent:1"]
