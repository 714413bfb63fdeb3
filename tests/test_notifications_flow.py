"""The notifications module end to end, driven by eiso's test kit as a vendor would: dossiers
received and moved through GraphQL, the hook delivered by `eiso_events()`, e-mail to a real
local SMTP server (aiosmtpd) with slip 04 attached to the apology, SMS to a provider's HTTP
API on 127.0.0.1, the delivery status read through `Query.notifications.deliveries` by the
agency (and never by another province), nothing sent twice for one event, no personal data in
any log line; on SQLite and on PostgreSQL, and across a Redis outage."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from pypdf import PdfReader

from eiso.core.plugins.testing import TestAgency, TestProvince, data_of
from eiso.core.workdays import VN_TZ, WorkingCalendar
from tests.notifications_support import SmsApi, SmtpServer, sms_api, smtp_server

__all__ = ["sms_api", "smtp_server"]  # fixtures

PROCEDURE = "1.001612"
QUICK = {"attempts": 3, "first_delay_seconds": 0.01, "max_delay_seconds": 0.02}
APPLICANT = {"fullName": "Trần Thị Lan", "email": "lan.tran@example.vn", "phone": "0912345678"}
PERSONAL = ("Trần", "Thị Lan", "lan.tran", "0912345678", "345678")
DELIVERIES = (
    "query($c: String) { notificationsDeliveries(dossierCode: $c) "
    "{ dossierCode kind channel recipient status attempts error } }"
)


def data(name: str = "Hộ kinh doanh Hoa Sen") -> dict:
    return {
        "business_name": name,
        "business_lines": ["Bán lẻ hoa tươi"],
        "capital_vnd": 50_000_000,
        "address": "Số 1 phố Hạ Long",
        "owner_citizen_id": "001203004005",
    }


@pytest.fixture
def eiso_plugins() -> list[str]:
    return ["notifications", "business_registration"]


@pytest.fixture
def eiso_resources(resources):
    """The kit on this run's backends (SQLite + in-process Redis, PostgreSQL + Redis)."""
    return resources


def settings(smtp: SmtpServer, api: SmsApi) -> dict:
    return {
        "office": "Bộ phận Một cửa UBND xã Hòa Bình",
        "email": smtp.config(),
        "sms": api.config(),
        "retry": QUICK,
    }


async def notifying_agency(
    eiso_province, smtp: SmtpServer, api: SmsApi
) -> tuple[TestProvince, TestAgency]:
    """A new province with the module on (set up for the test's servers) and the household
    business procedure, and an agency of it offering that procedure."""
    province = await eiso_province(
        "notifications", "business_registration", config={"notifications": settings(smtp, api)}
    )
    agency = await province.agency()
    await agency.adopt(PROCEDURE)
    return province, agency


async def through_the_lifecycle(agency: TestAgency, name: str = "Hộ kinh doanh Hoa Sen"):
    dossier = await agency.receive(PROCEDURE, data(name), APPLICANT)
    await agency.move(dossier, "requestSupplement", reason="Thiếu bản sao căn cước")
    await agency.move(dossier, "supplementReceived")
    new = WorkingCalendar().add_working_days(dt.datetime.now(VN_TZ), 10).replace(hour=16, minute=0)
    await agency.move(
        dossier, "recordApology", reason="Chờ xác minh địa điểm", newAppointment=new.isoformat()
    )
    await agency.move(dossier, "assignDossier", assignee="officer-2")
    await agency.move(dossier, "completeStep", note="Đã tiếp nhận")
    await agency.move(dossier, "completeStep", note="Hợp lệ")
    await agency.move(dossier, "completeStep", role="leader", note="Cấp giấy")
    assert dossier.status == "PROCESSED"
    return dossier


async def test_the_applicant_hears_of_each_step_once_by_email_and_sms(
    eiso_province, eiso_events, smtp_server: SmtpServer, sms_api: SmsApi, caplog
):
    _, agency = await notifying_agency(eiso_province, smtp_server, sms_api)
    smtp_server.inbox.refuse = ["451 4.3.0 busy, try again"]  # the first send is retried
    sms_api.statuses = [503]
    # INFO: what production logs (a database driver's DEBUG lines echo its parameters)
    with caplog.at_level(logging.INFO):
        dossier = await through_the_lifecycle(agency)
        # received, supplement requested and received, apology, assigned, 2 steps, processed
        assert await eiso_events() == {"notifications": 8}
        assert await eiso_events() == {"notifications": 0}

    subjects = [m["Subject"] for m in smtp_server.inbox.messages]
    assert subjects == [
        f"Hồ sơ {dossier.code} đã được tiếp nhận",
        f"Hồ sơ {dossier.code} cần bổ sung, hoàn thiện",
        f"Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {dossier.code}",
        f"Đã có kết quả giải quyết hồ sơ {dossier.code}",
    ]
    assert {m["To"] for m in smtp_server.inbox.messages} == {"lan.tran@example.vn"}
    apology = smtp_server.inbox.messages[2]
    (slip,) = list(apology.iter_attachments())
    assert slip.get_filename() == f"{dossier.code}-mau-04.pdf"
    import io

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(slip.get_content())).pages)
    assert "Chờ xác minh địa điểm" in text  # the apology's reason, on slip 04
    assert [s["to"] for s in sms_api.received] == ["0912345678"] * 4
    assert all(dossier.code in s["text"] for s in sms_api.received)

    answer = data_of(await agency.graphql(DELIVERIES, {"c": dossier.code}))
    rows = answer["notificationsDeliveries"]
    assert sorted((r["kind"], r["channel"], r["status"]) for r in rows) == sorted(
        (kind, channel, "SENT")
        for kind in ("RECEIVED", "SUPPLEMENT_REQUESTED", "APOLOGY", "RESULT_READY")
        for channel in ("EMAIL", "SMS")
    )
    assert {r["recipient"] for r in rows} == {"l***@example.vn", "*******678"}
    assert sorted(r["attempts"] for r in rows if r["kind"] == "RECEIVED") == [2, 2]

    mine = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.name == "eiso.plugins.notifications" for r in mine)
    for record in mine:
        line = f"{record.getMessage()} {record.args!r} {record.exc_text}"
        assert not any(p in line for p in PERSONAL), (record.name, record.getMessage())


async def test_another_province_never_sees_the_deliveries(
    eiso_province, eiso_events, smtp_server: SmtpServer, sms_api: SmsApi
):
    mine, agency = await notifying_agency(eiso_province, smtp_server, sms_api)
    other, _ = await notifying_agency(eiso_province, smtp_server, sms_api)
    dossier = await agency.receive(PROCEDURE, data("Hộ kinh doanh Sen Vàng"), APPLICANT)
    await eiso_events()
    seen = data_of(await agency.graphql(DELIVERIES, {"c": dossier.code}))
    assert len(seen["notificationsDeliveries"]) == 2
    for role in ("officer", "leader", "province_admin"):
        answer = data_of(await other.graphql(DELIVERIES, {"c": dossier.code}, role=role))
        assert answer["notificationsDeliveries"] == []
    # the province's own administrator sees its agencies' deliveries; another agency of the
    # province does not see this agency's
    own = data_of(await mine.graphql(DELIVERIES, {"c": dossier.code}, role="province_admin"))
    assert len(own["notificationsDeliveries"]) == 2
    neighbour = await mine.agency(name="Ủy ban nhân dân xã Bên Cạnh")
    beside = data_of(await neighbour.graphql(DELIVERIES, {"c": dossier.code}))
    assert beside["notificationsDeliveries"] == []
    # a national caller names no province: refused, with a stable code
    national = await mine.graphql(DELIVERIES, role="national_admin")
    assert national["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    # anonymous: the core schema only
    anonymous = await mine.graphql(DELIVERIES, headers={"x-anonymous": "1"})
    assert anonymous["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_province_without_the_module_hears_nothing_and_has_no_field(
    eiso_province, eiso_events, smtp_server: SmtpServer, sms_api: SmsApi
):
    province = await eiso_province("business_registration")
    agency = await province.agency()
    await agency.adopt(PROCEDURE)
    await agency.receive(PROCEDURE, data("Hộ kinh doanh Trúc Xanh"), APPLICANT)
    await eiso_events()
    assert smtp_server.inbox.messages == [] and sms_api.received == []
    refused = await province.graphql(DELIVERIES)
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_an_event_delivered_again_or_twice_at_once_sends_nothing_more(
    eiso_province,
    eiso_events,
    eiso_resources,
    eiso_registry,
    smtp_server: SmtpServer,
    sms_api: SmsApi,
):
    """At-least-once delivery (a worker dying mid-hook, the relay's double send) and two
    workers at the same moment: the store's add-once claim lets one message out per event
    and channel."""
    import asyncio

    from sqlmodel import col, select

    from eiso.core.dossiers.hooks import HookRunner
    from eiso.core.plugins.activation import ActiveModules
    from eiso.infra.outbox import OutboxEvent
    from eiso.infra.stream_reader import StreamEvent
    from eiso.tenants.scope import TenantScope

    province, agency = await notifying_agency(eiso_province, smtp_server, sms_api)
    dossier = await agency.receive(PROCEDURE, data("Hộ kinh doanh Mai Vàng"), APPLICANT)
    async with eiso_resources.session(TenantScope.province(province.id)) as session:
        (row,) = (
            (
                await session.execute(
                    select(OutboxEvent).where(col(OutboxEvent.agency_id) == agency.id)
                )
            )
            .scalars()
            .all()
        )
    event = StreamEvent("0-1", row.id, row.topic, row.agency_id, row.payload)
    runners = [
        HookRunner(eiso_resources, eiso_registry, ActiveModules(eiso_registry), "notifications")
        for _ in range(2)
    ]
    await asyncio.gather(*(r.deliver(event) for r in runners))  # two workers, one event
    await runners[0].deliver(event)  # and once more, later
    assert await eiso_events() == {"notifications": 1}  # the stream's own copy
    mine = [m for m in smtp_server.inbox.messages if dossier.code in m["Subject"]]
    assert len(mine) == 1
    assert len([s for s in sms_api.received if dossier.code in s["text"]]) == 1
    rows = data_of(await agency.graphql(DELIVERIES, {"c": dossier.code}))
    assert len(rows["notificationsDeliveries"]) == 2


class _WorkerDied(Exception):
    """The worker's end between the claim and the send."""


async def dies_after_its_claims(eiso_events, monkeypatch) -> None:
    """The hook's run of the waiting event claims its two messages (e-mail, SMS), then its
    worker dies before either leaves: both stay SENDING."""
    import asyncio

    from eiso.plugins.notifications import delivery

    died = []

    async def dies(*args, **kwargs):
        died.append(1)
        raise _WorkerDied

    sending = delivery.with_retries
    monkeypatch.setattr(delivery, "with_retries", dies)
    assert await eiso_events() == {"notifications": 1}  # the hook raised after its claims
    for _ in range(100):  # the other channel's task, still on its way to the send
        if len(died) == 2:
            break
        await asyncio.sleep(0.05)
    monkeypatch.setattr(delivery, "with_retries", sending)


async def test_a_message_a_dead_worker_left_sending_goes_once_its_lease_expires(
    eiso_province, eiso_events, smtp_server: SmtpServer, sms_api: SmsApi, monkeypatch
):
    """The hook claims the receipt's messages in the store, then its worker dies before they
    leave: they stay SENDING. Within the lease the next events of the province send only their
    own; after it, the next event's run of the hook claims them again and sends each once."""

    from eiso.plugins.notifications import delivery

    now = [dt.datetime.now(dt.UTC)]
    monkeypatch.setattr(delivery, "clock", lambda: now[0])
    _, agency = await notifying_agency(eiso_province, smtp_server, sms_api)
    dossier = await agency.receive(PROCEDURE, data("Hộ kinh doanh Cúc Vàng"), APPLICANT)

    await dies_after_its_claims(eiso_events, monkeypatch)

    async def statuses() -> list[tuple[str, str]]:
        rows = data_of(await agency.graphql(DELIVERIES, {"c": dossier.code}))
        return sorted((r["kind"], r["status"]) for r in rows["notificationsDeliveries"])

    assert await statuses() == [("RECEIVED", "SENDING")] * 2
    now[0] += dt.timedelta(seconds=599)  # within the lease (600 s): left alone
    await agency.move(dossier, "requestSupplement", reason="Thiếu bản sao căn cước")
    assert await eiso_events() == {"notifications": 1}
    subjects = [m["Subject"] for m in smtp_server.inbox.messages if dossier.code in m["Subject"]]
    assert subjects == [f"Hồ sơ {dossier.code} cần bổ sung, hoàn thiện"]

    now[0] += dt.timedelta(seconds=2)  # the lease has expired
    await agency.move(dossier, "supplementReceived")
    await eiso_events()
    await agency.move(dossier, "assignDossier", assignee="officer-2")
    await eiso_events()
    subjects = [m["Subject"] for m in smtp_server.inbox.messages if dossier.code in m["Subject"]]
    assert sorted(subjects) == sorted(
        [f"Hồ sơ {dossier.code} cần bổ sung, hoàn thiện", f"Hồ sơ {dossier.code} đã được tiếp nhận"]
    )
    texts = [s["text"] for s in sms_api.received if dossier.code in s["text"]]
    assert len(texts) == 2  # the supplement request's, and the receipt's, once
    assert await statuses() == sorted(
        [("RECEIVED", "SENT")] * 2 + [("SUPPLEMENT_REQUESTED", "SENT")] * 2
    )


async def test_a_message_a_dead_worker_left_sending_goes_though_no_event_follows(
    eiso_province, eiso_events, smtp_server: SmtpServer, sms_api: SmsApi, monkeypatch
):
    """The worker dies between the claim and the send, and the province's dossiers then stay
    still: the hook worker's periodic sweep (`eiso_sweep`, here the kit's pass) sends the
    messages once their (short) lease expired, and not before."""

    from eiso.plugins.notifications import delivery

    now = [dt.datetime.now(dt.UTC)]
    monkeypatch.setattr(delivery, "clock", lambda: now[0])
    province = await eiso_province(
        "notifications",
        "business_registration",
        config={"notifications": {**settings(smtp_server, sms_api), "lease_seconds": 60}},
    )
    agency = await province.agency()
    await agency.adopt(PROCEDURE)
    dossier = await agency.receive(PROCEDURE, data("Hộ kinh doanh Sen Hồng"), APPLICANT)
    await dies_after_its_claims(eiso_events, monkeypatch)

    async def statuses() -> list[str]:
        rows = data_of(await agency.graphql(DELIVERIES, {"c": dossier.code}))
        return sorted(r["status"] for r in rows["notificationsDeliveries"])

    now[0] += dt.timedelta(seconds=59)  # within the lease: the sweep leaves them
    assert await eiso_events() == {"notifications": 0}
    assert await statuses() == ["SENDING", "SENDING"]
    now[0] += dt.timedelta(seconds=2)  # expired, and still no new event
    assert await eiso_events() == {"notifications": 0}
    assert await statuses() == ["SENT", "SENT"]
    subjects = [m["Subject"] for m in smtp_server.inbox.messages if dossier.code in m["Subject"]]
    assert subjects == [f"Hồ sơ {dossier.code} đã được tiếp nhận"]
    assert len([s for s in sms_api.received if dossier.code in s["text"]]) == 1
