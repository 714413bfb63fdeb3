"""The engine under the counting rules of issue 17: the apology (once, before the return, a
working time after the old deadline, late after the close of the working day before the
deadline), overdue dossiers that still move (withdrawal, return), counter refusal, a stop at
the applicant's request, clock stops by status and by step, extensions, and the supplement
limit per stage of an interlinked dossier."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from eiso.core.dossiers import catalogue, engine
from eiso.core.dossiers.models import DossierEventRow
from eiso.core.dossiers.slips import forms as slip_forms
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.sdk import (
    CountingRules,
    Extension,
    LocalizedText,
    ModuleInfo,
    Procedure,
    Step,
    TimeLimit,
    hookimpl,
)
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.infra.clock import aware
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_dossier_engine import TestProc

T = LocalizedText
CAL = WorkingCalendar()
RULED = unique_code("9.")  # 3 working days; fee and posting stop the clock; +5 to verify
TWICE = unique_code("9.")  # 15 calendar days, two supplement notices per stage
CUT = unique_code("9.")  # 3 working days, 15:00 cut-off, two (test_counting_tightened.py)


def at(m: int, d: int, hh: int = 9, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, m, d, hh, mm, tzinfo=VN_TZ)


def _step(code: str, budget: TimeLimit) -> Step:
    return Step(code=code, name=T(vi=code, en=code), responsible_role="officer", budget=budget)


class CountingProc:
    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name="test_counting",
            title=T(vi="Thủ tục thử đếm hạn", en="Counting test"),
            version="1.0",
            sector="thu",
            core_api=">=1.3,<2",
        )

    @hookimpl
    def eiso_procedures(self):
        return [
            Procedure(
                code=RULED,
                name=T(vi="Thủ tục có dừng đếm", en="Procedure with clock stops"),
                sector="thu",
                time_limit=TimeLimit(amount=3),
                counting=CountingRules(
                    stop_statuses=(6,),
                    stop_steps=("posting",),
                    extensions=(
                        Extension(
                            code="verify",
                            reason=T(vi="Cần xác minh", en="Needs verifying"),
                            amount=5,
                        ),
                    ),
                ),
                steps=(
                    _step("check", TimeLimit(amount=1)),
                    _step("posting", TimeLimit(amount=1)),
                    _step("sign", TimeLimit(amount=1)),
                ),
                result=T(vi="Kết quả", en="Result"),
            ),
            Procedure(
                code=TWICE,
                name=T(vi="Cấp phép thử", en="Permit test"),
                sector="thu",
                time_limit=TimeLimit(amount=15, unit="calendar_days"),
                counting=CountingRules(supplements_per_stage=2),
                steps=(
                    _step("appraise", TimeLimit(amount=10, unit="calendar_days")),
                    _step("decide", TimeLimit(amount=5, unit="calendar_days")),
                ),
                result=T(vi="Giấy phép", en="Permit"),
            ),
            Procedure(
                code=CUT,
                name=T(vi="Thủ tục có giờ chốt", en="Procedure with a cut-off"),
                sector="thu",
                time_limit=TimeLimit(amount=3, cutoff="15:00"),
                counting=CountingRules(supplements_per_stage=2),
                steps=(_step("check", TimeLimit(amount=3)),),
                result=T(vi="Kết quả", en="Result"),
            ),
        ]


# TestProc too: a sync deactivates what its registry lacks, and other files use TestProc.
REGISTRY = PluginRegistry.load(
    None,
    [PluginSource.of("test_proc", TestProc()), PluginSource.of("test_counting", CountingProc())],
)
APPLICANT = {"full_name": "Lê Văn Tám", "phone": "0912345678"}


def scope(agency):
    return TenantScope.agencies([agency.id], [agency.province_id])


@pytest.fixture
async def agencies(resources):
    """Two communes of one province: the second holds the `decide` step of TWICE."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Đếm Hạn")
        first, second = [
            await ensure_agency(session, province, unique_code("A"), name, AgencyKind.commune)
            for name in ("UBND xã Một", "UBND xã Hai")
        ]
        # A province receives dossiers only of the modules it switched on (MODULE_DISABLED).
        for module in ("test_proc", "test_counting"):
            await set_module(session, province.id, module, True, by="test")
    for made in (first, second):
        async with resources.session(scope(made)) as session, session.begin():
            for code in (RULED, TWICE):
                await catalogue.adopt(
                    session,
                    province_id=made.province_id,
                    agency_id=made.id,
                    procedure_code=code,
                    actor="leader-1",
                    step_agencies={"decide": second.id} if code == TWICE else None,
                    known_agencies=frozenset({second.id}),
                )
    return first, second


async def receive(resources, agency, now, code=RULED, **extra):
    async with resources.session(scope(agency)) as session, session.begin():
        got = await engine.receive(
            session,
            agency=agency,
            procedure_code=code,
            applicant=APPLICANT,
            sector_data={},
            actor="officer-1",
            calendar=CAL,
            now=now,
            **extra,
        )
    return got.dossier


async def act(resources, agency, dossier, move, **kw):
    from eiso.core.dossiers import service

    return await service.act(
        resources, scope(agency), dossier.id, dossier.version, move, actor="officer-1", **kw
    )


async def causes(resources, agency, dossier) -> list[str]:
    async with resources.session(scope(agency)) as session:
        rows = await session.execute(
            select(Nonconformity.cause)
            .where(Nonconformity.source_ref == dossier.code)
            .order_by(Nonconformity.raised_at)
        )
        return list(rows.scalars())


async def actions(resources, agency, dossier) -> list[tuple[str, str]]:
    async with resources.session(scope(agency)) as session:
        rows = await session.execute(
            select(DossierEventRow.action, DossierEventRow.note)
            .where(DossierEventRow.dossier_id == dossier.id)
            .order_by(DossierEventRow.at, DossierEventRow.id)
        )
        return [tuple(r) for r in rows.all()]


async def refused(coro) -> DomainError:
    with pytest.raises(DomainError) as error:
        await coro
    return error.value


# -- the apology -----------------------------------------------------------------------------

# Received Tue 1 Dec 09:00, 3 working days: due Fri 4 Dec 17:00; the apology is on time until
# the close of Thu 3 Dec.
RECEIVED, DEADLINE = at(12, 1), at(12, 4, 17)


async def test_apology_on_time_once_with_a_working_time_after_the_deadline(resources, agencies):
    agency, _ = agencies
    d = await receive(resources, agency, RECEIVED)
    assert aware(d.appointment_at) == DEADLINE
    apologise = engine.record_apology
    for bad in (at(12, 4, 16), at(12, 5, 10), at(12, 7, 21, 26), dt.datetime(2026, 12, 7, 10)):
        # before the old deadline, a Saturday, 21:26, no time zone
        error = await refused(
            act(resources, agency, d, apologise, reason="x", new_appointment=bad, now=at(12, 2))
        )
        assert (error.code, error.details["field"]) == ("BAD_INPUT", "newAppointment"), bad
    d = await act(
        resources,
        agency,
        d,
        apologise,
        reason="Chờ cơ quan thuế",
        new_appointment=at(12, 7, 10),
        calendar=CAL,
        now=at(12, 2, 10),
    )
    assert aware(d.appointment_at) == at(12, 7, 10) and d.was_late and not d.apology_late
    assert slip_forms.FORMS[4].exists(d)
    error = await refused(
        act(resources, agency, d, apologise, reason="x", new_appointment=at(12, 8, 10))
    )
    assert error.code == "APOLOGY_ALREADY_RECORDED" and error.message_vi
    assert await causes(resources, agency, d) == ["overdue"]


async def test_a_late_apology_is_recorded_late_with_its_nonconformity(resources, agencies):
    agency, _ = agencies
    d = await receive(resources, agency, RECEIVED)
    d = await act(
        resources,
        agency,
        d,
        engine.record_apology,
        reason="Chờ xác minh",
        new_appointment=at(12, 8, 16),
        calendar=CAL,
        now=at(12, 4, 8),  # the deadline's own day: later than one working day before
    )
    assert d.apology_late
    assert await causes(resources, agency, d) == ["overdue", "late_apology"]
    [*_, (action, note)] = await actions(resources, agency, d)
    assert (action, note) == ("apology", "Chờ xác minh")


async def test_no_apology_after_the_return_or_before_acceptance(resources, agencies):
    agency, _ = agencies
    online = await receive(resources, agency, RECEIVED, online=True)
    error = await refused(
        act(resources, agency, online, engine.record_apology, reason="x", new_appointment=at(12, 7))
    )
    assert error.code == "APOLOGY_NOT_NEEDED"
    d = await receive(resources, agency, RECEIVED)
    for _ in range(3):
        d = await act(resources, agency, d, engine.complete_step, now=at(12, 2), calendar=CAL)
    d = await act(resources, agency, d, engine.return_result, now=at(12, 2))
    error = await refused(
        act(resources, agency, d, engine.record_apology, reason="x", new_appointment=at(12, 7))
    )
    assert error.code == "APOLOGY_NOT_NEEDED"


# -- overdue dossiers still move -----------------------------------------------------------------


async def test_an_overdue_dossier_is_withdrawn_or_returned_and_counts_late(resources, agencies):
    agency, _ = agencies
    late = at(12, 8, 10)  # past Fri 4 Dec 17:00, no apology
    withdrawn = await receive(resources, agency, RECEIVED)
    withdrawn = await act(
        resources, agency, withdrawn, engine.withdraw, reason="Công dân rút", now=late
    )
    assert withdrawn.status == Status.withdrawn and withdrawn.was_late
    assert aware(withdrawn.late_since) == DEADLINE
    assert await causes(resources, agency, withdrawn) == ["overdue"]
    d = await receive(resources, agency, RECEIVED)
    for _ in range(3):
        d = await act(resources, agency, d, engine.complete_step, now=late, calendar=CAL)
    d = await act(resources, agency, d, engine.return_result, now=late)
    assert d.status == Status.returned and d.was_late and d.on_time is False
    assert await causes(resources, agency, d) == ["overdue"]


# -- counter refusal, stop at the applicant's request ---------------------------------------------


async def test_counter_refusal_is_recorded_not_received_with_slip_03(resources, agencies):
    agency, _ = agencies
    d = await receive(resources, agency, RECEIVED, refusal_reason="Không thuộc thẩm quyền của xã")
    assert d.status == Status.not_received and d.appointment_at is None
    assert aware(d.finished_at) == RECEIVED
    assert [f.number for f in slip_forms.available(d)] == [3]
    assert await actions(resources, agency, d) == [("refused", "Không thuộc thẩm quyền của xã")]
    assert await causes(resources, agency, d) == []
    error = await refused(receive(resources, agency, RECEIVED, refusal_reason="  "))
    assert (error.code, error.details["field"]) == ("BAD_INPUT", "reason")


async def test_a_stop_at_the_applicants_request_raises_no_nonconformity(resources, agencies):
    agency, _ = agencies
    asked = await receive(resources, agency, RECEIVED)
    asked = await act(
        resources,
        agency,
        asked,
        engine.stop,
        reason="Người nộp đề nghị dừng",
        on_request=True,
        now=at(12, 2),
    )
    assert asked.status == Status.stopped
    assert (await actions(resources, agency, asked))[-1] == (
        "stopped_on_request",
        "Người nộp đề nghị dừng",
    )
    assert await causes(resources, agency, asked) == []
    decided = await receive(resources, agency, RECEIVED)
    decided = await act(
        resources, agency, decided, engine.stop, reason="Không đủ điều kiện", now=at(12, 2)
    )
    assert await causes(resources, agency, decided) == ["refused_after_acceptance"]


# -- clock stops and extensions -------------------------------------------------------------------


async def test_a_stopping_status_stops_the_clock(resources, agencies):
    agency, _ = agencies
    d = await receive(resources, agency, RECEIVED)  # due Fri 4 Dec
    d = await act(resources, agency, d, engine.request_fee, now=at(12, 2, 10))  # Wed: 2 days left
    assert d.paused_at is not None and not engine.is_overdue(d, at(12, 10))
    d = await act(resources, agency, d, engine.fee_paid, now=at(12, 9, 9))  # Wed 9 Dec
    assert d.paused_at is None and aware(d.appointment_at) == at(12, 11, 17)  # Thu 10, Fri 11
    assert not d.was_late


async def test_a_stopping_step_stops_the_clock(resources, agencies):
    agency, _ = agencies
    d = await receive(resources, agency, RECEIVED)
    d = await act(resources, agency, d, engine.complete_step, now=at(12, 1, 10), calendar=CAL)
    assert d.current_step == 1 and d.paused_at is not None  # the public posting
    d = await act(resources, agency, d, engine.complete_step, now=at(12, 16, 9), calendar=CAL)
    # 3 days left after Tue 1 Dec (2, 3, 4 Dec); the posting ended Wed 16 Dec: 17, 18, 21 Dec
    assert d.paused_at is None and aware(d.appointment_at) == at(12, 21, 17)
    assert [r[2] for r in d.pauses] == ["step:posting"]


async def test_an_extension_is_recorded_once_before_the_deadline(resources, agencies):
    agency, _ = agencies
    d = await receive(resources, agency, RECEIVED)
    extend = engine.record_extension
    d = await act(
        resources, agency, d, extend, code="verify", reason="Xác minh", calendar=CAL, now=at(12, 2)
    )
    assert aware(d.appointment_at) == at(12, 11, 17)  # Fri 4 Dec + 5 working days
    assert (await actions(resources, agency, d))[-1] == ("extended", "Xác minh")
    for code in ("verify", "other"):
        error = await refused(act(resources, agency, d, extend, code=code, reason="x"))
        assert error.code == "EXTENSION_NOT_ALLOWED"
    late = await receive(resources, agency, RECEIVED)
    error = await refused(
        act(resources, agency, late, extend, code="verify", reason="x", now=at(12, 7))
    )
    assert error.code == "EXTENSION_NOT_ALLOWED"


# -- supplements per stage -------------------------------------------------------------------------


async def test_supplements_per_stage_of_an_interlinked_dossier(resources, agencies):
    first, second = agencies
    d = await receive(resources, first, RECEIVED, code=TWICE)
    assert aware(d.appointment_at) == at(12, 16, 17)  # 1 Dec + 15 days
    for n in range(2):  # the Construction Law's second notice
        d = await act(
            resources, first, d, engine.request_supplement, reason=f"Lần {n + 1}", now=at(12, 2)
        )
        d = await act(resources, first, d, engine.supplement_received, calendar=CAL, now=at(12, 3))
    error = await refused(
        act(resources, first, d, engine.request_supplement, reason="Lần 3", now=at(12, 3))
    )
    assert error.code == "SUPPLEMENT_ALREADY_USED" and error.details["limit"] == 2
    assert await causes(resources, first, d) == ["second_supplement"]
    d = await act(resources, first, d, engine.complete_step, now=at(12, 3), calendar=CAL)
    # the second agency's stage has its own two
    for n in range(2):
        d = await act(
            resources, second, d, engine.request_supplement, reason=f"B{n}", now=at(12, 4)
        )
        d = await act(
            resources, second, d, engine.supplement_received, calendar=CAL, now=at(12, 4, 10)
        )
    assert d.supplement_count == 4
    error = await refused(
        act(resources, second, d, engine.request_supplement, reason="B3", now=at(12, 4))
    )
    assert error.code == "SUPPLEMENT_ALREADY_USED"


# -- through GraphQL -------------------------------------------------------------------------------

MOVE = "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v, %s) { status version } }"


async def gql(client, callers, agency, query, variables=None) -> dict:
    from eiso.core.auth.principal import Principal, Role

    officer = Principal(
        f"officer-{agency.code}",
        scope(agency),
        frozenset({Role.officer}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=callers.issue(officer),
    )
    return response.json()


def gid(dossier) -> str:
    from eiso.core.global_ids import encode_id

    return encode_id("Dossier", dossier.province_id, dossier.id)


async def test_the_new_moves_through_graphql(resources, client, callers, agencies):
    agency, _ = agencies
    body = await gql(
        client,
        callers,
        agency,
        "mutation($p: String!) { refuseAtCounter(input: {procedureCode: $p, applicant: "
        '{fullName: "Lê Văn Tám"}, sectorData: {}}, reason: "Không thuộc thẩm quyền") '
        "{ dossier { status appointmentAt slips { number } } lookupKey } }",
        {"p": RULED},
    )
    refused_at_counter = body["data"]["refuseAtCounter"]
    assert refused_at_counter["dossier"] == {
        "status": "NOT_RECEIVED",
        "appointmentAt": None,
        "slips": [{"number": 3}],
    }, body
    d = await receive(resources, agency, dt.datetime.now(dt.UTC))
    extended = await gql(
        client,
        callers,
        agency,
        MOVE % ("recordExtension", 'code: "verify", reason: "Xác minh"'),
        {"id": gid(d), "v": d.version},
    )
    assert extended["data"]["recordExtension"]["status"] == "RECEIVED", extended
    again = await gql(
        client,
        callers,
        agency,
        MOVE % ("recordExtension", 'code: "verify", reason: "Lần hai"'),
        {"id": gid(d), "v": d.version + 1},
    )
    [error] = again["errors"]
    assert error["extensions"]["code"] == "EXTENSION_NOT_ALLOWED"
    assert error["extensions"]["message_vi"].startswith("code: ")
    stopped = await gql(
        client,
        callers,
        agency,
        MOVE % ("stopDossier", 'reason: "Người nộp đề nghị", onRequest: true'),
        {"id": gid(d), "v": d.version + 1},
    )
    assert stopped["data"]["stopDossier"]["status"] == "STOPPED", stopped
    assert await causes(resources, agency, d) == []


async def test_a_procedures_counting_rules_are_public(client, agencies):
    query = (
        "query($c: String!) { procedure(code: $c) { timeLimit timeLimitUnit cutoff counting "
        "{ stopStatuses stopSteps supplementsPerStage extensions { code reasonVi amount unit } } "
        "} }"
    )
    ruled = (await client.post("/graphql", json={"query": query, "variables": {"c": RULED}})).json()
    assert ruled["data"]["procedure"] == {
        "timeLimit": 3,
        "timeLimitUnit": "WORKING_DAYS",
        "cutoff": None,
        "counting": {
            "stopStatuses": ["FINANCIAL_OBLIGATION_REQUESTED"],
            "stopSteps": ["posting"],
            "supplementsPerStage": 1,
            "extensions": [
                {"code": "verify", "reasonVi": "Cần xác minh", "amount": 5, "unit": "WORKING_DAYS"}
            ],
        },
    }, ruled
    twice = (await client.post("/graphql", json={"query": query, "variables": {"c": TWICE}})).json()
    assert twice["data"]["procedure"]["timeLimitUnit"] == "CALENDAR_DAYS"
    assert twice["data"]["procedure"]["counting"]["supplementsPerStage"] == 2
