"""The vendor module of tests/vendor_walkthrough/ (`queue_tickets`), written from
docs/plugins.md alone, driven with the test kit as the docs tell a vendor to: a dossier from
receipt to return with its events delivered to the hook, the ticket kept in the module's
store, the GraphQL fields (named by the module naming rule) as several roles, and other
provinces seeing nothing of it."""

from __future__ import annotations

import pytest

pytest.importorskip("eiso_vendor_queue_tickets")  # make .venv/.test-plugin installs it

MODULE = "queue_tickets"
PROCEDURE = "QUEUE-TICKETS-01"
DATA = {"counter": 2}
APPLICANT = {"fullName": "Nguyễn Văn An"}
ISSUED = "{ queueTicketsIssued }"
TICKET = "query($code: String!) { queueTicketsTicket(dossierCode: $code) }"
RESET = "mutation { queueTicketsReset }"
ROLES = ("officer", "leader", "province_admin", "auditor")


@pytest.fixture
def eiso_plugins():
    return [MODULE]


async def test_a_dossier_from_receipt_to_return_takes_a_ticket(eiso_province, eiso_events):
    province = await eiso_province(MODULE)
    agency = await province.agency(name="Ủy ban nhân dân phường Hồng Gai")
    await agency.adopt(PROCEDURE)
    first = await agency.receive(PROCEDURE, DATA, APPLICANT)
    second = await agency.receive(PROCEDURE, {"counter": 3}, {"fullName": "Lê Thị Bình"})
    assert first.status == second.status == "RECEIVED"
    store = province.store(MODULE)
    assert await store.get("issued") is None  # nothing delivered yet: hooks run on demand

    await agency.move(first, "assignDossier", assignee="officer-2")
    await agency.move(first, "completeStep", note="Hồ sơ hợp lệ")
    await agency.move(first, "completeStep", role="leader")
    await agency.move(first, "returnResult")
    assert first.status == "RETURNED"
    # two receipts, then assigned, step_completed, processed, returned of the first
    assert await eiso_events() == {MODULE: 6}
    assert await eiso_events() == {MODULE: 0}
    assert await store.get("issued") == 2
    assert await store.get(f"ticket:{first.code}") == 1
    assert await store.get(f"ticket:{second.code}") == 2

    for role in ROLES:
        assert await province.graphql(ISSUED, role=role) == {"data": {"queueTicketsIssued": 2}}
        answer = await agency.graphql(TICKET, {"code": second.code}, role=role)
        assert answer == {"data": {"queueTicketsTicket": 2}}
    listed = await province.graphql("{ queueTicketsProcedures { code name timeLimitDays } }")
    assert listed["data"]["queueTicketsProcedures"] == [
        {"code": PROCEDURE, "name": "Cấp số thứ tự tiếp nhận", "timeLimitDays": 1}
    ]

    # another province with the module on has its own counter and none of these tickets
    other = await eiso_province(MODULE)
    assert await other.graphql(ISSUED) == {"data": {"queueTicketsIssued": 0}}
    assert await other.graphql(TICKET, {"code": first.code}) == {
        "data": {"queueTicketsTicket": None}
    }
    assert await other.store(MODULE).keys() == []
    # a province without the module does not even have the fields
    off = await eiso_province()
    refused = await off.graphql(ISSUED)
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_only_a_leader_or_the_province_admin_resets_their_own_counter(
    eiso_province, eiso_events, eiso_client
):
    province, other = await eiso_province(MODULE), await eiso_province(MODULE)
    agency = await province.agency(name="Ủy ban nhân dân xã Quảng La")
    await agency.adopt(PROCEDURE)
    await agency.receive(PROCEDURE, DATA, APPLICANT)
    await other.store(MODULE).set("issued", 7)  # arranged: the other province's count
    assert await eiso_events() == {MODULE: 1}

    for role in ("officer", "auditor"):
        refused = await province.graphql(RESET, role=role)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert refused["errors"][0]["extensions"]["message_vi"].startswith("Chỉ lãnh đạo")
    assert await province.graphql(RESET, role="leader") == {"data": {"queueTicketsReset": 1}}
    assert await province.graphql(RESET, role="province_admin") == {
        "data": {"queueTicketsReset": 0}
    }
    assert await province.store(MODULE).get("issued") == 0
    assert await other.store(MODULE).get("issued") == 7  # untouched
    assert await other.graphql(ISSUED, role="leader") == {"data": {"queueTicketsIssued": 7}}

    # the next receipt counts from the reset
    await agency.receive(PROCEDURE, DATA, APPLICANT)
    assert await eiso_events() == {MODULE: 1}
    assert await province.graphql(ISSUED) == {"data": {"queueTicketsIssued": 1}}

    # an anonymous caller sees the core only
    anonymous = await eiso_client.post("/graphql", json={"query": ISSUED})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
