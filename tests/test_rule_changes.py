"""A module declares the successor of a procedure's legal basis and the rules it brings from its
start date (`sdk.RuleChange`, core API 1.5, issue 17): a dossier received before the date keeps
the rules in force at its receipt, one received on or after it gets the new ones (its
appointment, its later moves); when the old basis expires the agencies that adopted the
procedure are told, with the successor, and no other agency or province sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from eiso.core.auth.principal import Role
from eiso.core.dossiers import catalogue, engine
from eiso.core.dossiers.models import ProcedureRecord
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.qms import legal
from eiso.core.sdk import (
    CountingRules,
    Extension,
    LegalBasis,
    LocalizedText,
    ModuleInfo,
    Procedure,
    RuleChange,
    Step,
    TimeLimit,
    hookimpl,
)
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.infra.clock import aware, utcnow
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_counting_engine import APPLICANT, CountingProc, act, refused, scope
from tests.test_dossier_engine import TestProc
from tests.test_qms_loop import gql, person

T = LocalizedText
CAL = WorkingCalendar()
TODAY = utcnow().astimezone(VN_TZ).date()
SWITCH = dt.date(2026, 7, 1)  # the successor's start: Wed 1 Jul 2026
OLD_REF = unique_code("LXD") + "/2014/QH13"
NEW_REF = unique_code("LXD") + "/2025/QH15"
CODE = unique_code("9.")
# The same procedure, its basis ended a month ago (the notice test runs as of today).
ENDED = unique_code("9.")
ENDED_OLD, ENDED_NEW = unique_code("NDC") + "/2020/NĐ-CP", unique_code("NDM") + "/2026/NĐ-CP"


def at(m: int, d: int, hh: int = 9) -> dt.datetime:
    return dt.datetime(2026, m, d, hh, tzinfo=VN_TZ)


def _step(code: str) -> Step:
    return Step(
        code=code, name=T(vi=code, en=code), responsible_role="officer", budget=TimeLimit(amount=1)
    )


def procedure(code: str, old: str, new: str, until: dt.date, **overrides) -> Procedure:
    """3 working days under `old` (in force until `until`); from the day after, `new` brings
    5 working days and a +5 extension to verify."""
    change = RuleChange(
        effective_from=until + dt.timedelta(days=1),
        legal_basis=(LegalBasis(reference=new, title="Luật mới", valid_from=until),),
        time_limit=TimeLimit(amount=5),
        counting=CountingRules(
            extensions=(Extension(code="verify", reason=T(vi="Xác minh", en="Verify"), amount=5),)
        ),
        note="Luật mới thay thế",
    )
    values = {
        "code": code,
        "name": T(vi="Cấp phép thử", en="Permit test"),
        "sector": "thu",
        "legal_basis": (LegalBasis(reference=old, title="Luật cũ", valid_until=until),),
        "time_limit": TimeLimit(amount=3),
        "steps": (_step("check"), _step("sign")),
        "result": T(vi="Giấy phép", en="Permit"),
        "revisions": (change,),
    }
    return Procedure(**{**values, **overrides})


class SuccessorProc:
    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name="test_successor",
            title=T(vi="Thử căn cứ kế tiếp", en="Successor test"),
            version="1.0",
            sector="thu",
            core_api=">=1.5,<2",
        )

    @hookimpl
    def eiso_procedures(self):
        return [
            procedure(CODE, OLD_REF, NEW_REF, SWITCH - dt.timedelta(days=1)),
            procedure(ENDED, ENDED_OLD, ENDED_NEW, TODAY - dt.timedelta(days=30)),
        ]


# The other test modules too: a sync deactivates what its registry lacks.
REGISTRY = PluginRegistry.load(
    None,
    [
        PluginSource.of("test_proc", TestProc()),
        PluginSource.of("test_counting", CountingProc()),
        PluginSource.of("test_successor", SuccessorProc()),
    ],
)


def test_rule_changes_are_checked_when_declared():
    with pytest.raises(ValidationError, match="effective_from dates must increase"):
        procedure(
            CODE,
            OLD_REF,
            NEW_REF,
            SWITCH,
            revisions=(RuleChange(effective_from=SWITCH), RuleChange(effective_from=SWITCH)),
        )
    bad = RuleChange(effective_from=SWITCH, counting=CountingRules(stop_steps=("posting",)))
    with pytest.raises(ValidationError, match=r"revisions\.counting\.stop_steps: no step posting"):
        procedure(CODE, OLD_REF, NEW_REF, SWITCH, revisions=(bad,))
    same_day = RuleChange(
        effective_from=SWITCH, time_limit=TimeLimit(amount=2, unit="same_working_day")
    )
    with pytest.raises(ValidationError, match=r"revisions\.time_limit: same_working_day"):
        procedure(CODE, OLD_REF, NEW_REF, SWITCH, revisions=(same_day,))


def _record(amount: int, unit: str = "working_days") -> ProcedureRecord:
    return ProcedureRecord(
        code="x",
        name_vi="x",
        name_en="x",
        sector="thu",
        level="commune",
        time_limit_amount=amount,
        time_limit_unit=unit,
        module="m",
    )


@pytest.mark.parametrize(
    ("new", "unit", "adopted", "expected"),
    [
        (3, "working_days", 2, 2),  # the limit did not change: the agency's own
        (5, "working_days", 3, 5),  # not shortened: the new statutory limit
        (5, "working_days", 2, 2),  # shortened, still shorter than the new limit
        (2, "working_days", 3, 2),  # a shorter law
        (1, "working_days", 2, 1),  # shortened, but the law is now shorter still
        (15, "calendar_days", 2, 15),  # a new unit: the agency's days mean nothing there
    ],
)
def test_the_adopted_limit_under_the_new_rules(new, unit, adopted, expected):
    base = _record(3)
    assert catalogue.amount_in_force(base, _record(new, unit), adopted) == expected
    assert catalogue.amount_in_force(base, base, adopted) == adopted


@pytest.fixture
async def agencies(resources):
    """Two communes of one province (the first adopts) and one of another province."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        made = []
        for name in ("Một", "Khác"):
            province = await ensure_province(session, unique_code("P"), f"Tỉnh {name}")
            await set_module(session, province.id, "test_successor", True, by="test")
            made.append((province, name))
        first, sibling = [
            await ensure_agency(
                session, made[0][0], unique_code("A"), f"UBND xã {n}", AgencyKind.commune
            )
            for n in ("Một", "Hai")
        ]
        other = await ensure_agency(
            session, made[1][0], unique_code("A"), "UBND xã Ba", AgencyKind.commune
        )
    async with resources.session(scope(first)) as session, session.begin():
        for code in (CODE, ENDED):
            await catalogue.adopt(
                session,
                province_id=first.province_id,
                agency_id=first.id,
                procedure_code=code,
                actor="leader-1",
            )
    return first, sibling, other


async def receive(resources, agency, now, **extra):
    async with resources.session(scope(agency)) as session, session.begin():
        got = await engine.receive(
            session,
            agency=agency,
            procedure_code=CODE,
            applicant=APPLICANT,
            sector_data={},
            actor="officer-1",
            calendar=CAL,
            now=now,
            **extra,
        )
    return got.dossier


async def test_dossiers_keep_the_rules_in_force_at_their_receipt(resources, agencies):
    agency, _, _ = agencies
    # The last day of the old law: 3 working days (Wed, Thu, Fri).
    before = await receive(resources, agency, at(6, 30))
    assert aware(before.appointment_at) == at(7, 3, 17)
    assert before.time_limit_amount == 3
    # The first day of the new one: 5 working days (Thu 2 .. Wed 8 Jul).
    after = await receive(resources, agency, at(7, 1))
    assert aware(after.appointment_at) == at(7, 8, 17)
    assert after.time_limit_amount == 5

    # Later moves keep each dossier's rules: the new law's extension only for the new one.
    extend = engine.record_extension
    error = await refused(
        act(
            resources, agency, before, extend, code="verify", reason="x", calendar=CAL, now=at(7, 2)
        )
    )
    assert error.code == "EXTENSION_NOT_ALLOWED"
    after = await act(
        resources,
        agency,
        after,
        extend,
        code="verify",
        reason="Xác minh",
        calendar=CAL,
        now=at(7, 2),
    )
    assert aware(after.appointment_at) == at(7, 15, 17)

    # A supplement round trip recounts the old dossier under the old rules.
    before = await act(
        resources, agency, before, engine.request_supplement, reason="Thiếu", now=at(7, 1)
    )
    before = await act(
        resources, agency, before, engine.supplement_received, calendar=CAL, now=at(7, 2)
    )
    assert before.time_limit_amount == 3
    assert aware(before.appointment_at) == at(7, 6, 17)  # one working day stood still

    # Filed online the day before, accepted on the first day: the rules at its receipt.
    online = await receive(resources, agency, at(6, 30), online=True)
    online = await act(resources, agency, online, engine.accept, calendar=CAL, now=at(7, 1))
    assert aware(online.appointment_at) == at(7, 8, 17)
    assert online.time_limit_amount == 5


FLAGS = (
    "{ reviewFlags(first: 10) { edges { node { id subject cause reference validUntil noticeVi "
    "successor { effectiveFrom timeLimit legalBasis { reference } counting { extensions "
    "{ code } } } } } } }"
)


async def _flags(client, headers) -> list[dict]:
    body = await gql(client, headers, FLAGS)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["reviewFlags"]["edges"]]


async def test_the_adopting_agency_is_told_with_the_successor(resources, client, callers, agencies):
    first, sibling, other = agencies
    roles = (Role.iso_secretary, Role.leader)
    keeper = callers.issue(person(first, *roles))
    ours = [f for f in await _flags(client, keeper) if f["subject"] == ENDED]
    flag_id = ours[0].pop("id")
    until = TODAY - dt.timedelta(days=30)
    start = until + dt.timedelta(days=1)
    assert ours == [
        {
            "subject": ENDED,
            "cause": "EXPIRED",
            "reference": ENDED_OLD,
            "validUntil": until.isoformat(),
            "noticeVi": f"Căn cứ pháp lý {ENDED_OLD} hết hiệu lực (hiệu lực đến hết ngày "
            f"{until:%d/%m/%Y}): cần rà soát thủ tục {ENDED}. Quy định mới theo {ENDED_NEW} "
            f"áp dụng cho hồ sơ tiếp nhận từ ngày {start:%d/%m/%Y}; hồ sơ tiếp nhận trước "
            "ngày đó giữ quy định cũ.",
            "successor": {
                "effectiveFrom": start.isoformat(),
                "timeLimit": 5,
                "legalBasis": [{"reference": ENDED_NEW}],
                "counting": {"extensions": [{"code": "verify"}]},
            },
        }
    ]
    # The same notice through the relay node (a single flag, loaded on its own), to its
    # agency only: not to a sibling agency of the province, nor to another province.
    node = "query($id: ID!) { node(id: $id) { ... on ReviewFlagNode { noticeVi } } }"
    body = await gql(client, keeper, node, {"id": flag_id})
    assert body["data"]["node"] == {"noticeVi": ours[0]["noticeVi"]}
    for outsider in (sibling, other):
        body = await gql(client, callers.issue(person(outsider, *roles)), node, {"id": flag_id})
        assert body["data"]["node"] is None
    assert await _flags(client, callers.issue(person(sibling, *roles))) == []
    assert await _flags(client, callers.issue(person(other, *roles))) == []

    # The daily sweep raises nothing new; the sibling that adopts it later is told on its own.
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await legal.sweep_expired(session)
    async with resources.session(scope(sibling)) as session, session.begin():
        await catalogue.adopt(
            session,
            province_id=sibling.province_id,
            agency_id=sibling.id,
            procedure_code=ENDED,
            actor="leader-2",
        )
    theirs = await _flags(client, callers.issue(person(sibling, *roles)))
    assert [(f["subject"], f["noticeVi"]) for f in theirs] == [(ENDED, ours[0]["noticeVi"])]
    assert [f["id"] for f in await _flags(client, keeper) if f["subject"] == ENDED] == [flag_id]

    # The catalogue shows the change to come with its start date.
    procedure = await gql(
        client,
        keeper,
        "query($c: String!) { procedure(code: $c) { ruleChanges { effectiveFrom note "
        "timeLimit timeLimitUnit legalBasis { reference validFrom } } } }",
        {"c": ENDED},
    )
    assert procedure["data"]["procedure"]["ruleChanges"] == [
        {
            "effectiveFrom": start.isoformat(),
            "note": "Luật mới thay thế",
            "timeLimit": 5,
            "timeLimitUnit": "WORKING_DAYS",
            "legalBasis": [{"reference": ENDED_NEW, "validFrom": until.isoformat()}],
        }
    ]
