"""Online dossiers before acceptance, through GraphQL: acceptDossier (new → received, slips
01 and 06), a supplement asked at intake (no clock, slip 02, the text on the public lookup)
and its arrival (back to new), the citizen's withdrawal by code and lookup key, the staff's
withdrawal from new; each refused move with its code and message_vi, changing nothing; each
move with its timeline row, audit entry and outbox event. And the status table of
docs/dossiers.md against the engine and the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from eiso.core.audit import AuditEntry
from eiso.core.dossiers.models import DossierEventRow
from eiso.core.dossiers.statuses import ALLOWED, Status
from eiso.core.global_ids import decode_id
from eiso.infra.outbox import OutboxEvent
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC, REGISTRY
from tests.test_dossier_graphql import APPLICANT, DATA, Caller, codes, officer_of

RECEIVE = (
    f'mutation($online: Boolean!) {{ receiveDossier(input: {{procedureCode: "{PROC}", '
    f"applicant: {APPLICANT}, sectorData: {DATA}, online: $online}}) {{ lookupKey "
    "applicant { fullName phone citizenId } dossier { id code status version } } }"
)
FIELDS = "id status version appointmentAt slips { number }"
MOVE = "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v%s) { " + FIELDS + " } }"
LOOKUP = (
    "query($c: String!, $k: String!) { publicDossier(code: $c, lookupKey: $k) { status "
    "statusLabelVi statusLabelEn supplementRequest { text requestedAt } "
    "timeline { action status statusLabelVi } } }"
)
WITHDRAW = (
    "mutation($c: String!, $k: String!, $r: String!) { withdrawOnlineDossier(code: $c, "
    "lookupKey: $k, reason: $r) { status statusLabelVi timeline { action } } }"
)


@pytest.fixture
async def app(resources, callers):
    from eiso.core.app import create_app

    application = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with application.router.lifespan_context(application):
        yield application


class Desk:
    """An officer's desk with the procedure adopted, and a citizen without an account."""

    def __init__(self, app, callers, officer) -> None:
        self.officer = officer
        self.gql = Caller(app, callers.issue(officer))
        self.public = Caller(app, {}, address=unique_code("10.9.0."))

    async def online(self) -> tuple[dict, str]:
        got = (await self.gql(RECEIVE, {"online": True}))["data"]["receiveDossier"]
        return got["dossier"], got["lookupKey"]

    async def move(self, name: str, dossier: dict, extra: str = "") -> dict:
        return await self.gql(MOVE % (name, extra), {"id": dossier["id"], "v": dossier["version"]})

    async def moved(self, name: str, dossier: dict, extra: str = "") -> dict:
        body = await self.move(name, dossier, extra)
        assert "errors" not in body, body
        return body["data"][name]

    async def look(self, code: str, key: str) -> dict:
        return (await self.public(LOOKUP, {"c": code, "k": key}))["data"]["publicDossier"]


@pytest.fixture
async def desk(app, callers, resources) -> Desk:
    officer = await officer_of(resources, "Quảng Yên")
    made = Desk(app, callers, officer)
    await made.gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    return made


async def _records(resources, officer, gid: str) -> tuple[list[str], list[str], list[dict]]:
    """The dossier's timeline actions, audit actions and outbox payloads, in order."""
    province_id, dossier_id = decode_id(gid, "Dossier")
    async with resources.session(TenantScope.nation()) as session:
        timeline = (
            await session.execute(
                select(DossierEventRow.action)
                .where(
                    DossierEventRow.province_id == province_id,
                    DossierEventRow.dossier_id == dossier_id,
                )
                .order_by(DossierEventRow.id)
            )
        ).scalars()
        trail = (
            await session.execute(
                select(AuditEntry.action)
                .where(
                    AuditEntry.agency_id == officer.agency_id,
                    AuditEntry.entity_type == "dossier",
                    AuditEntry.entity_id == str(dossier_id),
                )
                .order_by(AuditEntry.seq)
            )
        ).scalars()
        outbox = (
            await session.execute(
                select(OutboxEvent.payload)
                .where(OutboxEvent.agency_id == officer.agency_id, OutboxEvent.topic == "dossier")
                .order_by(OutboxEvent.id)
            )
        ).scalars()
        events = [p for p in outbox if p["dossier_id"] == dossier_id]
        return list(timeline), list(trail), events


async def test_accept_an_online_dossier(desk, resources):
    d, key = await desk.online()
    assert d["status"] == "NEW"
    assert (await desk.look(d["code"], key))["statusLabelVi"] == "Mới đăng ký"
    accepted = await desk.moved("acceptDossier", d)
    assert accepted["status"] == "RECEIVED" and accepted["appointmentAt"]
    assert [s["number"] for s in accepted["slips"]] == [1, 6]  # receipt and process control
    seen = await desk.look(d["code"], key)
    assert (seen["status"], seen["statusLabelVi"], seen["statusLabelEn"]) == (
        "RECEIVED",
        "Được tiếp nhận",
        "Received",
    )
    assert [e["statusLabelVi"] for e in seen["timeline"]] == ["Mới đăng ký", "Được tiếp nhận"]
    timeline, trail, events = await _records(resources, desk.officer, d["id"])
    assert timeline == ["registered", "received"]
    assert trail == ["dossier.registered", "dossier.received"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("registered", None, 1),
        ("received", 1, 2),
    ]
    assert events[-1]["actor"] == desk.officer.subject
    assert "Nguyễn Thị Hoa" not in str(events) + str(trail)
    # Accepted once: a second accept is refused, with its Vietnamese message, changing nothing.
    body = await desk.move("acceptDossier", accepted)
    assert codes(body) == ["INVALID_TRANSITION"]
    error = body["errors"][0]["extensions"]
    assert error["message_vi"].startswith("hồ sơ không thể chuyển") and error["from"] == "received"
    assert (await _records(resources, desk.officer, d["id"]))[0] == timeline
    assert codes(await desk.move("acceptDossier", {**accepted, "version": 1})) == ["CONFLICT"]


async def test_a_counter_dossier_cannot_be_accepted_again(desk, resources):
    got = (await desk.gql(RECEIVE, {"online": False}))["data"]["receiveDossier"]
    assert got["applicant"] == {
        "fullName": "Nguyễn Thị Hoa",
        "phone": "0912345678",
        "citizenId": None,
    }
    body = await desk.move("acceptDossier", got["dossier"])
    assert codes(body) == ["INVALID_TRANSITION"] and body["errors"][0]["extensions"]["message_vi"]
    timeline, _, _ = await _records(resources, desk.officer, got["dossier"]["id"])
    assert timeline == ["received"]


async def test_supplement_before_acceptance(desk, resources):
    d, key = await desk.online()
    asked = await desk.moved(
        "requestSupplement", d, ', reason: "Bổ sung bản sao giấy chứng sinh có chứng thực"'
    )
    # No clock runs before acceptance: no appointment, no receipt slip; the request slip (02).
    assert asked["status"] == "SUPPLEMENT_REQUESTED" and asked["appointmentAt"] is None
    assert [s["number"] for s in asked["slips"]] == [2]
    seen = await desk.look(d["code"], key)
    assert seen["statusLabelVi"] == "Yêu cầu bổ sung giấy tờ"
    assert seen["supplementRequest"]["text"] == "Bổ sung bản sao giấy chứng sinh có chứng thực"
    assert seen["supplementRequest"]["requestedAt"]
    # While it waits, stopping or accepting it (not accepted: nothing to stop) is refused.
    for name, extra in (("stopDossier", ', reason: "x"'), ("acceptDossier", "")):
        body = await desk.move(name, asked, extra)
        assert codes(body) == ["INVALID_TRANSITION"], name
        assert body["errors"][0]["extensions"]["message_vi"]
    back = await desk.moved("supplementReceived", asked)
    assert back["status"] == "NEW" and back["appointmentAt"] is None
    assert (await desk.look(d["code"], key))["supplementRequest"] is None
    # Once at intake.
    body = await desk.move("requestSupplement", back, ', reason: "lần hai"')
    assert codes(body) == ["SUPPLEMENT_ALREADY_USED"]
    assert body["errors"][0]["extensions"]["message_vi"]
    accepted = await desk.moved("acceptDossier", back)
    assert accepted["appointmentAt"] and [s["number"] for s in accepted["slips"]] == [1, 2, 6]
    # After acceptance the handling stage has its own one supplement, which stops the clock.
    assigned = await desk.moved("assignDossier", accepted, ', assignee: "officer-2"')
    paused = await desk.moved("requestSupplement", assigned, ', reason: "Thiếu tờ khai"')
    assert paused["status"] == "SUPPLEMENT_REQUESTED"
    body = await desk.move("requestSupplement", paused, ', reason: "lần ba"')
    assert codes(body) == ["INVALID_TRANSITION"]
    resumed = await desk.moved("supplementReceived", paused)
    body = await desk.move("requestSupplement", resumed, ', reason: "lần ba"')
    assert codes(body) == ["SUPPLEMENT_ALREADY_USED"]
    timeline, trail, events = await _records(resources, desk.officer, d["id"])
    expected = [
        "registered",
        "supplement_requested",
        "supplement_received",
        "received",
        "assigned",
        "supplement_requested",
        "supplement_received",
    ]
    assert timeline == expected and trail == [f"dossier.{a}" for a in expected]
    assert [e["to_status"] for e in events] == [1, 5, 1, 2, 4, 5, 4]


async def test_the_citizen_withdraws_before_acceptance(desk, resources):
    d, key = await desk.online()
    wrong = await desk.public(WITHDRAW, {"c": d["code"], "k": "WRONG", "r": "Nộp nhầm"})
    assert codes(wrong) == ["NOT_FOUND"]
    blank = await desk.public(WITHDRAW, {"c": d["code"], "k": key, "r": " "})
    assert codes(blank) == ["BAD_INPUT"] and blank["errors"][0]["extensions"]["message_vi"]
    done = (await desk.public(WITHDRAW, {"c": d["code"], "k": key, "r": "Nộp nhầm thủ tục"}))[
        "data"
    ]["withdrawOnlineDossier"]
    assert done["status"] == "WITHDRAWN" and done["statusLabelVi"] == "Công dân yêu cầu rút hồ sơ"
    assert [e["action"] for e in done["timeline"]] == ["REGISTERED", "WITHDRAWN"]
    again = await desk.public(WITHDRAW, {"c": d["code"], "k": key, "r": "lại"})
    assert codes(again) == ["INVALID_TRANSITION"]
    timeline, trail, events = await _records(resources, desk.officer, d["id"])
    assert timeline == ["registered", "withdrawn"] and trail[-1] == "dossier.withdrawn"
    assert (events[-1]["actor"], events[-1]["from_status"], events[-1]["to_status"]) == (
        "citizen",
        1,
        7,
    )
    # An accepted dossier is withdrawn by the agency on the citizen's request, not online.
    other, other_key = await desk.online()
    accepted = await desk.moved("acceptDossier", other)
    late = await desk.public(WITHDRAW, {"c": other["code"], "k": other_key, "r": "Rút"})
    assert codes(late) == ["ALREADY_ACCEPTED"]
    assert late["errors"][0]["extensions"]["message_vi"].startswith("hồ sơ")
    assert (await desk.look(other["code"], other_key))["status"] == "RECEIVED"
    withdrawn = await desk.moved("withdrawDossier", accepted, ', reason: "Đơn xin rút hồ sơ"')
    assert withdrawn["status"] == "WITHDRAWN"


async def test_staff_withdraw_a_new_dossier_on_request(desk, resources):
    d, _ = await desk.online()
    withdrawn = await desk.moved(
        "withdrawDossier", d, ', reason: "Công dân đề nghị qua điện thoại"'
    )
    assert withdrawn["status"] == "WITHDRAWN" and withdrawn["slips"] == []
    _, _, events = await _records(resources, desk.officer, d["id"])
    assert events[-1]["actor"] == desk.officer.subject and events[-1]["from_status"] == 1


# -- the status table of docs/dossiers.md --------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "dossiers.md"
_NAMES = {s.name.replace("_", " "): s for s in Status}
_NAMES["result returned"] = Status.returned


def _table() -> list[tuple[Status, Status, set[str]]]:
    """(from, to, mutations) of each row of the table of moves."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Statuses and moves", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in section.splitlines()[3:]:  # the heading, the table's head and its rule
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        source, target, mutations = cells[0], cells[1], cells[2]
        rows.append(
            (
                _NAMES[source.split(" (")[0]],
                _NAMES[target.split(" (")[0]],
                set(re.findall(r"`(\w+)`", mutations)),
            )
        )
    return rows


def test_every_move_of_the_engine_has_a_mutation_in_the_table():
    from eiso.graphql.schema import build_schema

    rows = _table()
    moves = {(source, target) for source, targets in ALLOWED.items() for target in targets}
    assert {(s, t) for s, t, _ in rows} == moves
    mutations = set(build_schema()._schema.mutation_type.fields)
    for source, target, named in rows:
        assert named, f"{source.name} → {target.name}: name its mutation"
        assert named <= mutations, f"{source.name} → {target.name}: {named - mutations}"


async def test_the_applicant_is_typed(desk, resources):
    """ApplicantInput: a wrong field is BAD_INPUT naming it, in Vietnamese too, and nothing is
    stored; an organisation may file without a person's name; the answer reads it back."""
    receive = (
        "mutation($a: ApplicantInput!) { receiveDossier(input: {procedureCode: "
        f'"{PROC}", applicant: $a, sectorData: {DATA}}}) {{ applicant {{ fullName organisation '
        "taxCode } dossier { code } } }"
    )
    before = (await desk.gql("{ dossiers(first: 1) { totalCount } }"))["data"]["dossiers"]
    for applicant, field in (
        ({"fullName": "Nguyễn Văn An", "citizenId": "12AB"}, "applicant.citizenId"),
        ({"fullName": "Nguyễn Văn An", "email": "không-phải-thư"}, "applicant.email"),
        ({"phone": "0912345678"}, "applicant.fullName"),
        ({}, "applicant"),
    ):
        body = await desk.gql(receive, {"a": applicant})
        assert codes(body) == ["BAD_INPUT"], body
        error = body["errors"][0]["extensions"]
        assert error["field"] == field and error["message_vi"]
    after = (await desk.gql("{ dossiers(first: 1) { totalCount } }"))["data"]["dossiers"]
    assert after == before
    body = await desk.gql(
        receive, {"a": {"organisation": "Công ty TNHH Hạ Long Xanh", "taxCode": "5700123456"}}
    )
    assert body["data"]["receiveDossier"]["applicant"] == {
        "fullName": None,
        "organisation": "Công ty TNHH Hạ Long Xanh",
        "taxCode": "5700123456",
    }
