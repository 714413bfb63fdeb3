"""The dossier engine: catalogue sync and adoption, the lifecycle, every refused move,
supplement-once, apology, optimistic locking, idempotency (also 20 identical receipts at once),
the audit chain and the outbox rows of each transition, the public lookup and rating."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from pydantic import BaseModel, Field
from sqlmodel import select

from eiso.core import audit
from eiso.core.dossiers import catalogue, engine, service
from eiso.core.dossiers.models import Dossier, DossierEventRow
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.sdk import LocalizedText, ModuleInfo, Procedure, Step, TimeLimit, hookimpl
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.infra.clock import aware
from eiso.infra.outbox import OutboxEvent
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code

PROC = unique_code("1.")  # procedure codes are global; tests share one database


class Birth(BaseModel):
    child_name: str = Field(min_length=1)
    birth_date: dt.date


def _step(code: str, vi: str) -> Step:
    return Step(
        code=code,
        name=LocalizedText(vi=vi, en=code),
        responsible_role="officer",
        budget=TimeLimit(amount=1),
    )


class TestProc:
    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name="test_proc",
            title=LocalizedText(vi="Hộ tịch thử", en="Test civil status"),
            version="1.0",
            sector="ho_tich",
        )

    @hookimpl
    def eiso_procedures(self):
        return [
            Procedure(
                code=PROC,
                name=LocalizedText(vi="Đăng ký khai sinh", en="Birth registration"),
                sector="ho_tich",
                time_limit=TimeLimit(amount=3),
                result=LocalizedText(vi="Giấy khai sinh", en="Birth certificate"),
                steps=(_step("review", "Thẩm định"), _step("sign", "Ký duyệt")),
                data_model=Birth,
            )
        ]


REGISTRY = PluginRegistry.load(None, [PluginSource.of("test_proc", TestProc())])


async def enable_test_module(session, province_id: int) -> None:
    """A province receives dossiers only of the modules it switched on (MODULE_DISABLED)."""
    await set_module(session, province_id, "test_proc", True, by="test")


CAL = WorkingCalendar()
APPLICANT = {"full_name": "Nguyễn Thị Hoa", "phone": "0912345678"}
DATA = {"child_name": "Trần Minh Khôi", "birth_date": "2026-11-01"}
# A Tuesday morning in Hà Nội, far from Tết (24 Nov is Culture Day, a holiday from 2026).
MONDAY = dt.datetime(2026, 12, 1, 9, 0, tzinfo=VN_TZ)


@pytest.fixture
async def agency(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Thử Nghiệm")
        made = await ensure_agency(
            session, province, unique_code("A"), "UBND xã Hòa Bình", AgencyKind.commune
        )
        await enable_test_module(session, province.id)
    async with resources.session(scope(made)) as session, session.begin():
        await catalogue.adopt(
            session,
            province_id=made.province_id,
            agency_id=made.id,
            procedure_code=PROC,
            actor="leader-1",
        )
    return made


def scope(agency):
    return TenantScope.agencies([agency.id], [agency.province_id])


async def receive(resources, agency, key=None, data=DATA, now=MONDAY, online=False):
    async with resources.session(scope(agency)) as session, session.begin():
        return await engine.receive(
            session,
            agency=agency,
            procedure_code=PROC,
            applicant=APPLICANT,
            sector_data=data,
            actor="officer-1",
            calendar=CAL,
            data_model=Birth,
            idempotency_key=key,
            online=online,
            now=now,
        )


async def act(resources, agency, received, move, version=None, **kw):
    d = received.dossier if hasattr(received, "dossier") else received
    return await service.act(
        resources,
        scope(agency),
        d.id,
        version if version is not None else d.version,
        move,
        actor="officer-1",
        **kw,
    )


async def test_adoption_may_only_shorten(resources, agency):
    async with resources.session(scope(agency)) as session, session.begin():
        with pytest.raises(DomainError) as error:
            await catalogue.adopt(
                session,
                province_id=agency.province_id,
                agency_id=agency.id,
                procedure_code=PROC,
                actor="leader-1",
                time_limit=4,
            )
    assert error.value.code == "TIME_LIMIT_TOO_LONG"
    async with resources.session(scope(agency)) as session, session.begin():
        row = await catalogue.adopt(
            session,
            province_id=agency.province_id,
            agency_id=agency.id,
            procedure_code=PROC,
            actor="leader-1",
            time_limit=2,
        )
    assert row.time_limit_amount == 2


async def test_sector_data_errors_name_the_field(resources, agency):
    with pytest.raises(DomainError) as error:
        await receive(resources, agency, data={"child_name": "Khôi", "birth_date": "not a date"})
    assert error.value.code == "INVALID_SECTOR_DATA"
    assert error.value.details["field"] == "sectorData.birth_date"


async def test_whole_lifecycle_audit_and_outbox(resources, agency):
    got = await receive(resources, agency, now=MONDAY)
    d = got.dossier
    assert d.status == Status.received and d.code.startswith(agency.code + "-261201-")
    assert got.lookup_key and d.lookup_hash != got.lookup_key
    # 3 working days from Tuesday 1 Dec 09:00: office close on Friday 4 Dec
    assert d.appointment_at.astimezone(VN_TZ).date() == dt.date(2026, 12, 4)
    during = MONDAY + dt.timedelta(hours=1)
    d = await act(resources, agency, d, engine.assign, assignee="officer-2", now=during)
    d = await act(
        resources, agency, d, engine.request_supplement, reason="Thiếu bản sao CCCD", now=during
    )
    with pytest.raises(DomainError) as error:
        await act(resources, agency, d, engine.request_supplement, reason="lần hai", now=during)
    assert error.value.code == "INVALID_TRANSITION"
    resumed = dt.datetime(2026, 12, 3, 9, 0, tzinfo=VN_TZ)  # two days later
    old = d.appointment_at
    d = await act(resources, agency, d, engine.supplement_received, calendar=CAL, now=resumed)
    assert d.appointment_at > old
    with pytest.raises(DomainError) as error:
        await act(resources, agency, d, engine.request_supplement, reason="lần hai", now=resumed)
    assert error.value.code == "SUPPLEMENT_ALREADY_USED"
    d = await act(resources, agency, d, engine.request_fee, now=resumed)
    d = await act(resources, agency, d, engine.fee_paid, now=resumed)
    d = await act(resources, agency, d, engine.complete_step, now=resumed)
    assert d.status == Status.in_progress and d.current_step == 1
    d = await act(resources, agency, d, engine.complete_step, now=resumed)
    assert d.status == Status.processed
    d = await act(resources, agency, d, engine.return_result, now=resumed)
    assert d.status == Status.returned and not d.was_late

    async with resources.session(scope(agency)) as session, session.begin():
        assert await audit.verify(session, agency.id) == []
        events = (
            (
                await session.execute(
                    select(DossierEventRow).where(DossierEventRow.dossier_id == d.id)
                )
            )
            .scalars()
            .all()
        )
        outbox = (
            (
                await session.execute(
                    select(OutboxEvent).where(
                        OutboxEvent.agency_id == agency.id, OutboxEvent.topic == "dossier"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(events) == len(outbox) == 9
    for row in outbox:
        assert "Nguyễn Thị Hoa" not in str(row.payload) and "0912345678" not in str(row.payload)

    seen = await service.public_dossier(resources, d.code, got.lookup_key)
    assert seen["status"] == Status.returned and len(seen["timeline"]) == 9
    assert "Nguyễn" not in str(seen) and "officer" not in str(seen)
    with pytest.raises(DomainError) as error:
        await service.public_dossier(resources, d.code, "WRONGKEY")
    assert error.value.code == "NOT_FOUND"
    await service.rate_dossier(resources, d.code, got.lookup_key, 5, "Rất nhanh")
    with pytest.raises(DomainError) as error:
        await service.rate_dossier(resources, d.code, got.lookup_key, 4)
    assert error.value.code == "ALREADY_RATED"


@pytest.mark.parametrize(
    "move,kw",
    [
        (engine.return_result, {}),
        (engine.supplement_received, {"calendar": CAL}),
        (engine.fee_paid, {}),
        (engine.refuse, {"reason": "Sai thẩm quyền"}),
    ],
)
async def test_refused_moves_change_nothing(resources, agency, move, kw):
    d = (await receive(resources, agency)).dossier
    before = await _written(resources, agency)
    with pytest.raises(DomainError) as error:
        await act(resources, agency, d, move, now=MONDAY, **kw)
    assert error.value.code == "INVALID_TRANSITION"
    assert error.value.details["from"] == "received"
    async with resources.session(scope(agency)) as session:
        again = await session.get(Dossier, (agency.province_id, d.id))
    assert again.status == Status.received and again.version == d.version
    assert await _written(resources, agency) == before  # no outbox, audit or timeline row


async def _written(resources, agency) -> tuple[int, int, int]:
    async with resources.session(scope(agency)) as session:
        outbox = (
            await session.execute(select(OutboxEvent).where(OutboxEvent.agency_id == agency.id))
        ).all()
        trail = (
            await session.execute(
                select(audit.AuditEntry).where(audit.AuditEntry.agency_id == agency.id)
            )
        ).all()
        events = (
            await session.execute(
                select(DossierEventRow).where(DossierEventRow.agency_id == agency.id)
            )
        ).all()
    return len(outbox), len(trail), len(events)


async def test_finished_dossiers_refuse_every_move(resources, agency):
    d = (await receive(resources, agency)).dossier
    d = await act(resources, agency, d, engine.withdraw, reason="Công dân rút hồ sơ", now=MONDAY)
    for move, kw in [
        (engine.assign, {"assignee": "x"}),
        (engine.stop, {"reason": "x"}),
        (engine.complete_step, {}),
    ]:
        with pytest.raises(DomainError) as error:
            await act(resources, agency, d, move, now=MONDAY, **kw)
        assert error.value.code == "INVALID_TRANSITION"


async def test_online_refusal_needs_a_reason(resources, agency):
    d = (await receive(resources, agency, online=True)).dossier
    assert d.status == Status.new and d.appointment_at is None
    with pytest.raises(DomainError) as error:
        await act(resources, agency, d, engine.refuse, reason="  ", now=MONDAY)
    assert error.value.code == "BAD_INPUT"
    d = await act(
        resources, agency, d, engine.refuse, reason="Hồ sơ không thuộc thẩm quyền", now=MONDAY
    )
    assert d.status == Status.not_received


async def test_overdue_moves_on_and_stays_late(resources, agency):
    d = (await receive(resources, agency)).dossier
    d = await act(resources, agency, d, engine.assign, assignee="officer-2", now=MONDAY)
    late = aware(d.appointment_at) + dt.timedelta(days=1)  # Friday 4 Dec 17:00 + 1 day
    # No move is refused for being overdue (issue 17); the dossier is late from now on.
    d = await act(resources, agency, d, engine.complete_step, now=late)
    assert d.was_late and aware(d.late_since) == late - dt.timedelta(days=1)
    d = await act(resources, agency, d, engine.complete_step, now=late)
    assert d.status == Status.processed and d.was_late and d.on_time is False
    # the return of the overdue result is not refused either
    d = await act(resources, agency, d, engine.return_result, now=late)
    assert d.status == Status.returned


async def test_stale_version_is_a_conflict(resources, agency):
    d = (await receive(resources, agency)).dossier
    await act(resources, agency, d, engine.assign, assignee="officer-2", now=MONDAY)
    with pytest.raises(DomainError) as error:
        await act(resources, agency, d, engine.stop, version=d.version, reason="x", now=MONDAY)
    assert error.value.code == "CONFLICT"


async def test_idempotent_receipt(resources, agency):
    key = unique_code("K")
    first = await receive(resources, agency, key=key)
    again = await receive(resources, agency, key=key)
    assert again.replayed and again.dossier.id == first.dossier.id
    with pytest.raises(DomainError) as error:
        await receive(resources, agency, key=key, data={**DATA, "child_name": "Khác"})
    assert error.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_twenty_identical_receipts_make_one_dossier(resources, agency):
    key = unique_code("K")
    answers = await asyncio.gather(*(receive(resources, agency, key=key) for _ in range(20)))
    assert len({a.dossier.id for a in answers}) == 1
    assert sum(not a.replayed for a in answers) == 1
    async with resources.session(scope(agency)) as session:
        rows = (
            (await session.execute(select(Dossier).where(Dossier.idempotency_key == key)))
            .scalars()
            .all()
        )
    assert len(rows) == 1


async def test_other_tenant_cannot_touch_a_dossier(resources, agency):
    d = (await receive(resources, agency)).dossier
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Khác")
        other = await ensure_agency(
            session, province, unique_code("A"), "UBND xã Khác", AgencyKind.commune
        )
    with pytest.raises(DomainError) as error:
        await service.act(
            resources, scope(other), d.id, d.version, engine.stop, actor="x", reason="x"
        )
    assert error.value.code == "NOT_FOUND"


async def test_stored_times_read_back_as_the_same_moment(resources, agency):
    # SQLite keeps a datetime's wall time without its offset: a Hà Nội time stored as such
    # would read back seven hours late, and overdue checks with it.
    got = await receive(resources, agency, now=MONDAY)
    expected = engine.appointment(CAL, await _procedure(resources), 3, MONDAY)
    async with resources.session(scope(agency)) as session:
        row = (
            await session.execute(select(Dossier).where(Dossier.id == got.dossier.id))
        ).scalar_one()
    assert aware(row.received_at) == MONDAY
    assert aware(row.appointment_at) == expected
    assert expected.astimezone(VN_TZ).date() == dt.date(2026, 12, 4)


async def _procedure(resources):
    async with resources.session(TenantScope.nation()) as session:
        return await catalogue.get_procedure(session, PROC)
