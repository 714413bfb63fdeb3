"""Citizens' feedback and petitions through GraphQL: submitted and followed without an account,
assigned and answered by the agency within the province's deadline, rated; bad input, another
agency's and province's staff, the rate limit; and the counts reaching Decision 766 and the
management review."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.auth.rules import RULES
from eiso.core.dossiers import catalogue
from eiso.core.feedback import rules, service
from eiso.core.global_ids import encode_id
from eiso.core.qms import feedback_ncs, figures, index766
from eiso.core.qms.management_review import dossier_figures
from eiso.core.workdays import VN_TZ
from eiso.graphql.feedback import nodes
from eiso.tenants.models import Agency, AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC, REGISTRY, enable_test_module
from tests.test_dossier_graphql import Caller, codes


@pytest.fixture
async def app(resources, callers):
    from eiso.core.app import create_app

    application = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with application.router.lifespan_context(application):
        yield application


@dataclasses.dataclass
class Office:
    agency: Agency
    province_code: str

    @property
    def gid(self) -> str:
        return encode_id("Agency", self.agency.province_id, self.agency.id)

    def staff(self, role: Role) -> Principal:
        return Principal(
            f"{role.value}-{self.agency.code}",
            TenantScope.agencies([self.agency.id], [self.agency.province_id]),
            frozenset({role}),
            province_id=self.agency.province_id,
            agency_id=self.agency.id,
        )

    def province_admin(self) -> Principal:
        return Principal(
            f"admin-{self.agency.province_id}",
            TenantScope.province(self.agency.province_id),
            frozenset({Role.province_admin}),
            province_id=self.agency.province_id,
        )


async def offices(resources, count: int = 1, province=None) -> list[Office]:
    """`count` agencies of one (new) province that offer the test procedure."""
    made = []
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        if province is None:
            province = await ensure_province(session, unique_code("P"), "Tỉnh Phản Ánh")
            await enable_test_module(session, province.id)
        for n in range(count):
            agency = await ensure_agency(
                session, province, unique_code("A"), f"UBND xã Góp Ý {n}", AgencyKind.commune
            )
            await catalogue.adopt(
                session,
                province_id=agency.province_id,
                agency_id=agency.id,
                procedure_code=PROC,
                actor="test",
            )
            made.append(Office(agency, province.code))
    return made


SUBMIT = (
    "mutation($input: FeedbackInput!) { submitFeedback(input: $input) { code lookupKey dueAt } }"
)
FOLLOW = (
    "query($code: String!, $key: String!) { publicFeedback(code: $code, lookupKey: $key) "
    "{ code kind subject procedureCode state dueAt answeredAt answer late rating } }"
)
LIST = (
    "query($overdue: Boolean) { feedbacks(overdue: $overdue) { id code state contactName "
    "contactPhone content overdue assignee answer onTime rating dueAt } }"
)
ASSIGN = (
    "mutation($id: ID!, $who: String!) { assignFeedback(id: $id, assignee: $who) "
    "{ state assignee } }"
)
ANSWER = (
    "mutation($id: ID!, $text: String!) { answerFeedback(id: $id, answer: $text) "
    "{ state answer onTime overdue } }"
)
RATE = (
    "mutation($code: String!, $key: String!, $r: Int!) { rateFeedbackAnswer(code: $code, "
    'lookupKey: $key, rating: $r, comment: "Cảm ơn") { state rating } }'
)


def about_procedure(office: Office, **extra) -> dict:
    return {
        "input": {
            "agencyId": office.gid,
            "kind": "FEEDBACK",
            "subject": "PROCEDURE",
            "procedureCode": PROC,
            "content": "Bộ phận một cửa yêu cầu thêm giấy tờ không có trong thủ tục.",
            "contact": {"name": "Lê Văn Dân", "phone": "0987654321"},
            **extra,
        }
    }


async def test_submit_follow_assign_answer_rate(app, callers, resources):
    (office,) = await offices(resources)
    citizen = Caller(app, {}, address=unique_code("10.3."))
    got = (await citizen(SUBMIT, about_procedure(office)))["data"]["submitFeedback"]
    code, key = got["code"], got["lookupKey"]
    assert code.startswith("PAKN-") and len(key) == 10 and got["dueAt"]

    seen = (await citizen(FOLLOW, {"code": code, "key": key}))["data"]["publicFeedback"]
    assert seen["state"] == "RECEIVED" and seen["answer"] is None and not seen["late"]
    assert (seen["kind"], seen["subject"], seen["procedureCode"]) == ("FEEDBACK", "PROCEDURE", PROC)
    assert "Lê Văn Dân" not in str(seen)  # no contact data in the public view

    # A wrong key and an unknown code answer alike, with nothing of the feedback.
    wrong = await citizen(FOLLOW, {"code": code, "key": "0000000000"})
    unknown = await citizen(FOLLOW, {"code": "PAKN-000000-000000", "key": key})
    assert codes(wrong) == codes(unknown) == ["NOT_FOUND"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert wrong["errors"][0]["extensions"]["message_vi"]
    assert wrong["data"] is None and code not in str(wrong)

    secretary = Caller(app, callers.issue(office.staff(Role.iso_secretary)))
    officer = Caller(app, callers.issue(office.staff(Role.officer)))
    (row,) = (await officer(LIST))["data"]["feedbacks"]
    assert (row["code"], row["state"], row["contactName"]) == (code, "RECEIVED", "Lê Văn Dân")

    # Only the ISO secretary or leader assigns; the citizen cannot rate before the answer.
    assert codes(await officer(ASSIGN, {"id": row["id"], "who": "cb-1"})) == ["FORBIDDEN"]
    assert codes(await citizen(RATE, {"code": code, "key": key, "r": 5})) == ["INVALID_TRANSITION"]
    assigned = (await secretary(ASSIGN, {"id": row["id"], "who": "cb-1"}))["data"]
    assert assigned["assignFeedback"] == {"state": "ASSIGNED", "assignee": "cb-1"}

    answer = "Đã nhắc nhở công chức; hồ sơ chỉ cần các giấy tờ trong thủ tục đã công bố."
    answered = (await officer(ANSWER, {"id": row["id"], "text": answer}))["data"]
    assert answered["answerFeedback"] == {
        "state": "ANSWERED",
        "answer": answer,
        "onTime": True,
        "overdue": False,
    }
    assert codes(await officer(ANSWER, {"id": row["id"], "text": "lần hai"})) == [
        "INVALID_TRANSITION"
    ]

    seen = (await citizen(FOLLOW, {"code": code, "key": key}))["data"]["publicFeedback"]
    assert seen["state"] == "ANSWERED" and seen["answer"] == answer and seen["answeredAt"]
    assert codes(await citizen(RATE, {"code": code, "key": "0000000000", "r": 5})) == ["NOT_FOUND"]
    rated = (await citizen(RATE, {"code": code, "key": key, "r": 5}))["data"]
    assert rated["rateFeedbackAnswer"] == {"state": "RATED", "rating": 5}
    assert codes(await citizen(RATE, {"code": code, "key": key, "r": 4})) == ["INVALID_TRANSITION"]
    (row,) = (await officer(LIST))["data"]["feedbacks"]
    assert (row["state"], row["rating"]) == ("RATED", 5)


async def test_an_answer_is_published_only_with_the_citizens_consent(app, callers, resources):
    (office,) = await offices(resources)
    (elsewhere,) = await offices(resources)
    citizen = Caller(app, {}, address=unique_code("10.10."))
    publish = (
        'mutation($id: ID!) { answerFeedback(id: $id, answer: "Đã sửa quy trình.", '
        "publish: true) { state published } }"
    )
    listing = (
        "query($p: String!) { publishedFeedback(provinceCode: $p) { code kind subject "
        "procedureCode agency content answer answeredAt } }"
    )
    leader = Caller(app, callers.issue(office.staff(Role.leader)))
    silent = (await citizen(SUBMIT, about_procedure(office)))["data"]["submitFeedback"]
    (row,) = (await leader(LIST))["data"]["feedbacks"]
    refused = await leader(publish, {"id": row["id"]})
    assert codes(refused) == ["NO_PUBLISH_CONSENT"]
    assert refused["errors"][0]["extensions"]["message_vi"]
    (row,) = (await leader(LIST))["data"]["feedbacks"]
    assert (row["state"], row["answer"]) == ("RECEIVED", None)  # nothing changed

    agreed = (await citizen(SUBMIT, about_procedure(office, publishConsent=True)))["data"][
        "submitFeedback"
    ]
    (row,) = [r for r in (await leader(LIST))["data"]["feedbacks"] if r["code"] == agreed["code"]]
    done = (await leader(publish, {"id": row["id"]}))["data"]["answerFeedback"]
    assert done == {"state": "ANSWERED", "published": True}
    (shown,) = (await citizen(listing, {"p": office.province_code}))["data"]["publishedFeedback"]
    assert (shown["code"], shown["agency"], shown["answer"]) == (
        agreed["code"],
        office.agency.name,
        "Đã sửa quy trình.",
    )
    assert "Lê Văn Dân" not in str(shown) and "0987654321" not in str(shown)
    assert silent["code"] not in str(shown)
    other = await citizen(listing, {"p": elsewhere.province_code})
    assert other["data"]["publishedFeedback"] == []


async def test_bad_input_answers_stable_codes_and_changes_nothing(app, callers, resources):
    office, other = await offices(resources, 2)
    citizen = Caller(app, {}, address=unique_code("10.4."))
    content = about_procedure(office)["input"]["content"]
    cases = [
        ({"content": "   "}, "BAD_INPUT", "content"),
        ({"content": "x" * (rules.CONTENT_MAX + 1)}, "BAD_INPUT", "content"),
        ({"procedureCode": None}, "BAD_INPUT", "procedureCode"),
        ({"procedureCode": "1.000000"}, "BAD_INPUT", "procedureCode"),
        ({"subject": "DOSSIER", "procedureCode": None}, "BAD_INPUT", "dossierCode"),
        ({"contact": {"email": "a" * 201}}, "BAD_INPUT", "contact.email"),
        ({"agencyId": "bm9uZQ=="}, "NOT_FOUND", None),
        ({"agencyId": encode_id("Agency", office.agency.province_id, 1)}, "NOT_FOUND", None),
    ]
    for change, code, field in cases:
        body = await citizen(SUBMIT, about_procedure(office, **change))
        assert codes(body) == [code], (change, body)
        error = body["errors"][0]["extensions"]
        assert error["message_vi"] and error.get("field") == field, (change, error)
    body = await citizen(SUBMIT, {"input": {**about_procedure(office)["input"], "kind": "RANT"}})
    assert body["errors"] and body.get("data") is None  # not an enum value: refused by GraphQL

    # Nothing was written.
    for each in (office, other):
        officer = Caller(app, callers.issue(each.staff(Role.officer)))
        assert (await officer(LIST))["data"]["feedbacks"] == []

    # Staff input: an empty answer, an empty assignee; a rating out of range.
    got = (await citizen(SUBMIT, about_procedure(office)))["data"]["submitFeedback"]
    leader = Caller(app, callers.issue(office.staff(Role.leader)))
    (row,) = (await leader(LIST))["data"]["feedbacks"]
    for body, field in (
        (await leader(ANSWER, {"id": row["id"], "text": " "}), "answer"),
        (await leader(ASSIGN, {"id": row["id"], "who": ""}), "assignee"),
    ):
        assert codes(body) == ["BAD_INPUT"] and body["errors"][0]["extensions"]["field"] == field
    body = await citizen(RATE, {"code": got["code"], "key": got["lookupKey"], "r": 6})
    assert codes(body) == ["BAD_INPUT"]
    (row,) = (await leader(LIST))["data"]["feedbacks"]
    assert (row["state"], row["answer"], row["assignee"]) == ("RECEIVED", None, None)
    assert content == row["content"]


async def test_deadline_is_the_provinces_in_working_days_and_overdue_counts(
    app, callers, resources, monkeypatch
):
    (office,) = await offices(resources)
    admin = Caller(app, callers.issue(office.province_admin()))
    days = "mutation($d: Int!) { setFeedbackAnswerDays(days: $d) }"
    too_long = await admin(days, {"d": rules.DEFAULT_ANSWER_DAYS + 1})
    assert codes(too_long) == ["BAD_INPUT"] and too_long["errors"][0]["extensions"]["message_vi"]
    assert codes(await admin(days, {"d": 0})) == ["BAD_INPUT"]
    assert (await admin(days, {"d": 2}))["data"]["setFeedbackAnswerDays"] == 2
    officer = Caller(app, callers.issue(office.staff(Role.officer)))
    assert codes(await officer(days, {"d": 1})) == ["FORBIDDEN"]

    citizen = Caller(app, {}, address=unique_code("10.5."))
    got = (await citizen(SUBMIT, about_procedure(office)))["data"]["submitFeedback"]
    (row,) = (await officer(LIST))["data"]["feedbacks"]
    due = dt.datetime.fromisoformat(row["dueAt"])
    async with resources.session(TenantScope.nation()) as session:
        stored = await service.answer_days(session, office.agency.province_id)
    assert stored == 2
    # Two working days after the counting start: never sooner than two calendar days.
    assert due - dt.datetime.now(dt.UTC) > dt.timedelta(days=1)

    # A day after the deadline: overdue on the desk and to the citizen, answered late.
    later = due + dt.timedelta(days=1)
    for module in (service, nodes):
        monkeypatch.setattr(module, "utcnow", lambda: later)
    assert [r["code"] for r in (await officer(LIST, {"overdue": True}))["data"]["feedbacks"]] == [
        got["code"]
    ]
    assert (await officer(LIST, {"overdue": False}))["data"]["feedbacks"] == []
    follow = {"code": got["code"], "key": got["lookupKey"]}
    assert (await citizen(FOLLOW, follow))["data"]["publicFeedback"]["late"] is True

    # Decision 766 and the management review see it open and overdue at the period's end ...
    today = later.astimezone(VN_TZ).date()  # periods are Vietnam's days
    period = figures.Period.of(start=today - dt.timedelta(days=30), to=today)
    scope = TenantScope.agencies([office.agency.id], [office.agency.province_id])
    async with resources.session(scope) as session:
        (row_766,) = await figures.figures(session, scope, period)
    assert (row_766.feedback_received, row_766.feedback_overdue) == (1, 1)
    assert _criterion(row_766, "HL-2")["points"] == 0.0

    answered = (await officer(ANSWER, {"id": row["id"], "text": "Trả lời muộn."}))["data"]
    assert answered["answerFeedback"]["onTime"] is False
    assert (await citizen(FOLLOW, follow))["data"]["publicFeedback"]["late"] is True
    assert (await citizen(RATE, {**follow, "r": 4}))["data"]["rateFeedbackAnswer"]["rating"] == 4

    # ... and then answered late, rated satisfied.
    async with resources.session(scope) as session:
        (row_766,) = await figures.figures(session, scope, period)
        inputs = await dossier_figures(
            session, office.agency.province_id, office.agency.id, period.start, period.last_day
        )
    assert (row_766.feedback_answered, row_766.feedback_on_time, row_766.feedback_overdue) == (
        1,
        0,
        0,
    )
    assert _criterion(row_766, "HL-2")["points"] == 0.0
    assert _criterion(row_766, "HL-3")["points"] == index766.FEEDBACK_RATING_POINTS
    body = await Caller(app, callers.issue(office.staff(Role.leader)))(
        "query($period: PeriodInput!) { figures(period: $period, groupBy: NATION) { "
        "feedbackReceived feedbackAnswered feedbackOnTime feedbackOverdue feedbackRated "
        "feedbackSatisfied index766Groups { criteria { code points } } } }",
        {"period": {"from": period.start.isoformat(), "to": period.last_day.isoformat()}},
    )
    (shown,) = body["data"]["figures"]
    assert [shown[f"feedback{n}"] for n in ("Received", "Answered", "OnTime", "Overdue")] == [
        1,
        1,
        0,
        0,
    ]
    assert (shown["feedbackRated"], shown["feedbackSatisfied"]) == (1, 1)
    points = {c["code"]: c["points"] for g in shown["index766Groups"] for c in g["criteria"]}
    assert (points["HL-2"], points["HL-3"]) == (0.0, index766.FEEDBACK_RATING_POINTS)
    # The late answer opens one nonconformity in the agency's register (the sweep, idempotent).
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await feedback_ncs.sweep_overdue(session, now=later)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await feedback_ncs.sweep_overdue(session, now=later)
    secretary = Caller(app, callers.issue(office.staff(Role.iso_secretary)))
    body = await secretary(
        "{ nonconformities(first: 10) { edges { node { source sourceRef cause title } } } }"
    )
    ncs = [e["node"] for e in body["data"]["nonconformities"]["edges"]]
    assert [(n["source"], n["sourceRef"], n["cause"]) for n in ncs] == [
        ("FEEDBACK", got["code"], "OVERDUE")
    ]
    assert "Lê Văn Dân" not in str(ncs)
    assert inputs["feedback_petitions"] == {
        "received": 1,
        "answered": 1,
        "answered_on_time": 0,
        "overdue": 0,
        "rated": 1,
        "satisfied": 1,
    }


def _criterion(row: figures.Figures, code: str) -> dict:
    (found,) = [c for group in index766.scores(row) for c in group["criteria"] if c["code"] == code]
    return found


async def test_the_sweep_leaves_feedback_within_its_deadline_alone(app, callers, resources):
    (office,) = await offices(resources)
    got = (await Caller(app, {}, address=unique_code("10.9."))(SUBMIT, about_procedure(office)))[
        "data"
    ]["submitFeedback"]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await feedback_ncs.sweep_overdue(session)
    secretary = Caller(app, callers.issue(office.staff(Role.iso_secretary)))
    body = await secretary("{ nonconformities(first: 10) { edges { node { sourceRef } } } }")
    assert got["code"] and body["data"]["nonconformities"]["edges"] == []


async def test_another_agency_or_province_sees_and_answers_nothing(app, callers, resources):
    office, sibling = await offices(resources, 2)
    (stranger,) = await offices(resources)  # another province
    citizen = Caller(app, {}, address=unique_code("10.6."))
    got = (await citizen(SUBMIT, about_procedure(office)))["data"]["submitFeedback"]
    mine = Caller(app, callers.issue(office.staff(Role.officer)))
    (row,) = (await mine(LIST))["data"]["feedbacks"]

    for other in (sibling, stranger):
        for role in (Role.officer, Role.leader, Role.iso_secretary):
            them = Caller(app, callers.issue(other.staff(role)))
            body = await them(LIST)
            assert body["data"]["feedbacks"] == [] and got["code"] not in str(body)
            body = await them(ANSWER, {"id": row["id"], "text": "Không phải của tôi"})
            assert codes(body) == ["NOT_FOUND"] and got["code"] not in str(body)
        boss = Caller(app, callers.issue(other.province_admin()))
        assert (
            got["code"] in str(await boss(LIST)) if other is sibling else True
        )  # the same province's administrator reads its agencies' feedback
        if other is stranger:
            body = await boss(LIST)
            assert body["data"]["feedbacks"] == []
            province_gid = encode_id(
                "Province", office.agency.province_id, office.agency.province_id
            )
            body = await boss(
                "mutation($p: ID!) { setFeedbackAnswerDays(days: 1, provinceId: $p) }",
                {"p": province_gid},
            )
            assert codes(body) == ["FORBIDDEN"]
    # A province administrator reads but does not answer.
    boss = Caller(app, callers.issue(office.province_admin()))
    assert codes(await boss(ANSWER, {"id": row["id"], "text": "x"})) == ["FORBIDDEN"]
    (row,) = (await mine(LIST))["data"]["feedbacks"]
    assert row["state"] == "RECEIVED" and row["answer"] is None


async def test_public_operations_are_rate_limited_with_the_lookup(
    app, callers, resources, monkeypatch
):
    from types import SimpleNamespace

    from eiso.infra import rate_limit

    (office,) = await offices(resources)
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    citizen = Caller(app, {}, address=unique_code("10.7."))
    lookups = [codes(await citizen(FOLLOW, {"code": "none", "key": "x"})) for _ in range(60)]
    assert set(map(tuple, lookups)) == {("NOT_FOUND",)}
    body = await citizen(SUBMIT, about_procedure(office))
    assert codes(body) == ["RATE_LIMITED"] and body["errors"][0]["extensions"]["retry_after"]
    assert codes(await citizen(RATE, {"code": "none", "key": "x", "r": 5})) == ["RATE_LIMITED"]
    officer = Caller(app, callers.issue(office.staff(Role.officer)))
    assert (await officer(LIST))["data"]["feedbacks"] == []  # the refused one was not written
    other = Caller(app, {}, address=unique_code("10.8."))
    assert codes(await other(FOLLOW, {"code": "none", "key": "x"})) == ["NOT_FOUND"]


def test_who_may_move_is_the_same_in_the_rules_and_the_permissions():
    assert RULES["answerFeedback"].roles == rules.MOVES["answer"].actors
    assert RULES["assignFeedback"].roles == rules.MOVES["assign"].actors
    assert rules.MOVES["rate"].actors == {rules.CITIZEN} and RULES["rateFeedbackAnswer"].public
    # Every state is reached by a move or is the first, and only open states take an answer.
    reached = {move.target for move in rules.MOVES.values()} | {rules.State.received}
    assert reached == set(rules.State)
    assert rules.MOVES["answer"].sources == rules.OPEN
