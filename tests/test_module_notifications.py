"""The bundled notifications module, piece by piece: the Vietnamese messages and a province's
templates, the config model, retries with backoff, e-mail to a real local SMTP server
(aiosmtpd) with slip 04 attached, the SMS providers (the logging one, and the HTTP JSON
adapter against a local HTTP server), masking, and one delivery per event and channel.
The whole path, through dossiers and hooks, is tests/test_notifications_flow.py."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from pydantic import ValidationError

from eiso.core.sdk import ApplicantContact, DossierEvent, SlipFile
from eiso.plugins.notifications import mail
from eiso.plugins.notifications.config import Kind, NotificationsConfig, RetrySettings
from eiso.plugins.notifications.delivery import Delivery, Senders, deliver
from eiso.plugins.notifications.errors import SendError
from eiso.plugins.notifications.messages import compose
from eiso.plugins.notifications.privacy import mask_email, mask_phone
from eiso.plugins.notifications.retry import delays, with_retries
from eiso.plugins.notifications.sms import HttpJsonSmsProvider, LogSmsProvider, Sms
from tests.notifications_support import MemoryBook, SmsApi, SmtpServer, sms_api, smtp_server
from tests.sector_support import assert_loads_through_entry_point

__all__ = ["sms_api", "smtp_server"]  # fixtures

AT = dt.datetime(2026, 12, 4, 2, 30, tzinfo=dt.UTC)  # 09:30 in Hà Nội, 4 December 2026
PDF = SlipFile(
    number=4,
    body=b"%PDF-1.7 phieu xin loi",
    media_type="application/pdf",
    filename="HS-1-mau-04.pdf",
)
QUICK = {"attempts": 3, "first_delay_seconds": 0.01, "max_delay_seconds": 0.02}


def event(action: str = "received", outbox_id: int = 7, province_id: int = 1) -> DossierEvent:
    return DossierEvent(
        province_id=province_id,
        agency_id=2,
        dossier_id=3,
        dossier_code="000.00.01.H22-261204-0003",
        procedure_code="1.001612",
        from_status=None,
        to_status=2,
        actor="officer-1",
        at=AT,
        data={"action": action, "outbox_id": outbox_id},
    )


def test_the_module_loads_through_its_entry_point_and_hears_every_procedure():
    registry = assert_loads_through_entry_point("notifications")
    info = registry.records["notifications"].info
    assert info is not None and info.dossier_events == "all"
    assert info.config_model is NotificationsConfig


def test_messages_are_vietnamese_with_the_dossier_code_and_date():
    config = NotificationsConfig(office="Bộ phận Một cửa UBND xã Hòa Bình")
    message = compose(
        Kind.RECEIVED,
        config,
        addressee="Trần Thị Lan",
        dossier_code="HS-1",
        procedure_code="1.001612",
        at=AT,
    )
    assert message.subject == "Hồ sơ HS-1 đã được tiếp nhận"
    assert message.email.startswith("Kính gửi Trần Thị Lan,")
    assert (
        "ngày 04/12/2026" in message.email and "Bộ phận Một cửa UBND xã Hòa Bình" in message.email
    )
    # SMS: Vietnamese without diacritics (GSM 7-bit) by default
    assert (
        message.sms
        == "Bo phan Mot cua UBND xa Hoa Binh: da tiep nhan ho so so HS-1 ngay 04/12/2026."
    )
    assert message.attach_slip is None
    apology = compose(
        Kind.APOLOGY, config, addressee=None, dossier_code="HS-1", procedure_code="1.001612", at=AT
    )
    assert apology.attach_slip == 4 and "Kính gửi ông/bà," in apology.email
    assert "Mẫu số 04" in apology.email


def test_a_province_words_its_own_templates_and_unknown_placeholders_are_refused():
    config = NotificationsConfig.model_validate(
        {
            "templates": {"result_ready": {"sms": "Hồ sơ $dossier_code xong. $$0"}},
            "sms": {"ascii_only": False},
        }
    )
    message = compose(
        Kind.RESULT_READY, config, addressee="An", dossier_code="HS-2", procedure_code="X", at=AT
    )
    assert message.sms == "Hồ sơ HS-2 xong. $0"
    assert message.subject == "Đã có kết quả giải quyết hồ sơ HS-2"  # the default stays
    with pytest.raises(ValidationError, match="unknown placeholder citizen_id"):
        NotificationsConfig.model_validate({"templates": {"received": {"sms": "$citizen_id"}}})
    with pytest.raises(ValidationError, match=r"sms\.http is required"):
        NotificationsConfig.model_validate({"sms": {"provider": "http"}})
    with pytest.raises(ValidationError):
        NotificationsConfig.model_validate({"smtp_host": "x"})  # unknown keys are refused


def test_backoff_doubles_up_to_its_cap():
    settings = RetrySettings(attempts=5, first_delay_seconds=0.5, max_delay_seconds=1.5)
    assert delays(settings) == [0.5, 1.0, 1.5, 1.5]


async def test_retries_go_on_after_transient_failures_and_stop_at_a_final_one():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    calls = []

    async def flaky(left: float) -> None:
        calls.append(left)
        if len(calls) < 3:
            raise SendError("smtp_451", transient=True)

    settings = RetrySettings(attempts=4, first_delay_seconds=0.5)
    outcome = await with_retries(flaky, settings, sleep=sleep)
    assert (outcome.sent, outcome.attempts, slept) == (True, 3, [0.5, 1.0])

    async def refused(left: float) -> None:
        raise SendError("smtp_550", transient=False)

    outcome = await with_retries(refused, settings, sleep=sleep)
    assert (outcome.sent, outcome.attempts, outcome.error) == (False, 1, "smtp_550")

    async def down(left: float) -> None:
        raise SendError("smtp_unreachable", transient=True)

    outcome = await with_retries(
        down, RetrySettings(attempts=2, first_delay_seconds=0), sleep=sleep
    )
    assert (outcome.sent, outcome.attempts, outcome.error) == (False, 2, "smtp_unreachable")


async def test_no_attempt_outlives_the_budget():
    async def hangs(left: float) -> None:
        import asyncio

        await asyncio.sleep(10)

    outcome = await with_retries(hangs, RetrySettings(attempts=3, budget_seconds=0.2))
    assert (outcome.sent, outcome.error) == (False, "timeout")


async def test_email_reaches_a_real_smtp_server_with_slip_04_attached(smtp_server: SmtpServer):
    settings = NotificationsConfig.model_validate({"email": smtp_server.config()}).email
    assert settings is not None
    message = mail.build(
        settings,
        "lan.tran@example.vn",
        "Thư xin lỗi hồ sơ HS-1",
        "Kính gửi Trần Thị Lan,\n\nXin lỗi.",
        (PDF,),
        "7:email",
    )
    await mail.send(settings, message, seconds_left=5)
    (got,) = smtp_server.inbox.messages
    assert got["To"] == "lan.tran@example.vn"
    assert got["Subject"] == "Thư xin lỗi hồ sơ HS-1"
    assert "Bộ phận Một cửa tỉnh thử" in got["From"]
    body = got.get_body(("plain",))
    assert body is not None and "Kính gửi Trần Thị Lan" in body.get_content()
    (attachment,) = list(got.iter_attachments())
    assert attachment.get_filename() == "HS-1-mau-04.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF.body


async def test_smtp_replies_are_sorted_into_retry_or_give_up(smtp_server: SmtpServer):
    settings = NotificationsConfig.model_validate({"email": smtp_server.config()}).email
    assert settings is not None
    message = mail.build(settings, "an@example.vn", "S", "B")
    smtp_server.inbox.refuse = ["451 4.3.0 try again later"]
    with pytest.raises(SendError) as transient:
        await mail.send(settings, message, seconds_left=5)
    assert (transient.value.code, transient.value.transient) == ("smtp_451", True)
    smtp_server.inbox.refuse = ["554 5.7.1 rejected"]
    with pytest.raises(SendError) as final:
        await mail.send(settings, message, seconds_left=5)
    assert (final.value.code, final.value.transient) == ("smtp_554", False)
    closed = settings.model_copy(update={"smtp": settings.smtp.model_copy(update={"port": 1})})
    with pytest.raises(SendError) as unreachable:
        await mail.send(closed, message, seconds_left=5)
    assert (unreachable.value.code, unreachable.value.transient) == ("smtp_unreachable", True)


async def test_the_http_sms_adapter_posts_json_and_retries_a_busy_provider(sms_api: SmsApi):
    config = NotificationsConfig.model_validate({"sms": sms_api.config()})
    assert config.sms.http is not None
    provider = HttpJsonSmsProvider(config.sms.http)
    sms_api.statuses = [503, 429]
    outcome = await with_retries(
        lambda left: provider.send(Sms("0912345678", "Ho so HS-1 da co ket qua", "7:sms"), left),
        RetrySettings(**QUICK),
    )
    assert (outcome.sent, outcome.attempts) == (True, 3)
    assert sms_api.received == [
        {
            "to": "0912345678",
            "text": "Ho so HS-1 da co ket qua",
            "sender": "TINHTHU",
            "reference": "7:sms",
        }
    ]
    assert sms_api.headers[-1]["authorization"] == "Bearer bi-mat-thu"
    sms_api.statuses = [400]
    with pytest.raises(SendError) as final:
        await provider.send(Sms("0912345678", "x", "8:sms"), 5)
    assert (final.value.code, final.value.transient) == ("sms_http_400", False)


def test_masks_keep_too_little_to_reach_anyone():
    assert mask_email("lan.tran@example.vn") == "l***@example.vn"
    assert mask_phone("0912 345 678") == "*******678"
    contact = ApplicantContact(full_name="Trần Thị Lan", email="lan@example.vn", phone="0912345678")
    assert "Lan" not in repr(contact) and "0912" not in str(contact)


def _config(smtp: SmtpServer) -> NotificationsConfig:
    return NotificationsConfig.model_validate({"email": smtp.config(), "retry": QUICK})


async def test_one_event_sends_once_per_channel_even_when_delivered_again(
    smtp_server: SmtpServer, caplog
):
    book, config = MemoryBook(), _config(smtp_server)
    contact = ApplicantContact(full_name="Trần Thị Lan", email="lan@example.vn", phone="0912345678")
    apology = event("apology")
    message = compose(
        Kind.APOLOGY,
        config,
        addressee=contact.addressee,
        dossier_code=apology.dossier_code,
        procedure_code="1.001612",
        at=AT,
    )

    async def slip(number: int) -> SlipFile:
        return PDF

    LogSmsProvider.sent.clear()
    smtp_server.inbox.refuse = ["421 4.7.0 busy"]
    with caplog.at_level(logging.DEBUG):
        first = await deliver(apology, config, contact, message, book, slip)
        again = await deliver(apology, config, contact, message, book, slip)
    assert again == []
    by_channel = {d.channel: d for d in first}
    assert by_channel["email"].status == "sent" and by_channel["email"].attempts == 2
    assert by_channel["email"].recipient == "l***@example.vn"
    assert by_channel["sms"].status == "sent" and by_channel["sms"].recipient == "*******678"
    assert len(smtp_server.inbox.messages) == 1 and len(LogSmsProvider.sent) == 1
    assert (smtp_server.inbox.messages[0].get_payload()[1].get_filename()) == "HS-1-mau-04.pdf"
    leaks = ("Trần", "Lan", "lan@example", "0912345678", "345678")
    mine = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert mine, "the module logs its deliveries"
    for record in mine:
        text = record.getMessage() + repr(record.args) + str(record.__dict__.get("exc_text"))
        assert not any(leak in text for leak in leaks), record.getMessage()


async def test_a_failed_channel_is_recorded_and_the_other_still_goes(smtp_server: SmtpServer):
    book = MemoryBook()
    config = _config(smtp_server)
    contact = ApplicantContact(full_name="An", email="an@example.vn", phone="0912345678")
    message = compose(
        Kind.RECEIVED, config, addressee="An", dossier_code="HS-1", procedure_code="X", at=AT
    )
    smtp_server.inbox.refuse = ["550 5.1.1 no such user"]

    async def no_slip(number: int) -> SlipFile:
        raise AssertionError("a receipt attaches no slip")

    done = await deliver(event(outbox_id=8), config, contact, message, book, no_slip, Senders())
    by_channel = {d.channel: d for d in done}
    assert (by_channel["email"].status, by_channel["email"].error) == ("failed", "smtp_550")
    assert by_channel["sms"].status == "sent"
    assert Delivery.from_dict(by_channel["email"].to_dict()) == by_channel["email"]


@pytest.mark.parametrize(
    "address", ["a@b.vn, c@d.vn", "Lan <lan@x.vn>", "lan@x.vn\r\nBcc: z@x.vn", "@x.vn"]
)
def test_an_address_that_is_not_one_mailbox_is_refused_without_quoting_it(address):
    settings = NotificationsConfig.model_validate(
        {"email": {"sender": "s@x.vn", "smtp": {"host": "127.0.0.1"}}}
    ).email
    assert settings is not None
    with pytest.raises(SendError) as refused:
        mail.build(settings, address, "S", "B")
    assert (refused.value.code, refused.value.transient) == ("email_address_invalid", False)
    assert address not in str(refused.value)


async def test_the_event_readers_work_only_while_an_event_is_delivered():
    from eiso.core.errors import DomainError
    from eiso.core.sdk import dossier_contact, dossier_slip, module_config

    for read in (
        dossier_contact(event()),
        dossier_slip(event(), 4, module="notifications"),
        module_config(event(), "notifications"),
    ):
        with pytest.raises(DomainError, match="hook"):
            await read


class _WorkerDied(Exception):
    """The worker's end between the claim and the send (a crash, a kill)."""


async def test_a_message_left_sending_is_sent_once_after_its_lease(
    smtp_server: SmtpServer, monkeypatch
):
    """A worker that dies between the claim and the send leaves the message SENDING; once its
    lease has expired the next run of the hook in the province claims it again (one worker
    per lease) and sends it, once."""
    import asyncio

    from eiso.plugins.notifications import delivery as module
    from eiso.plugins.notifications.delivery import reclaim_stale

    now = [dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(module, "clock", lambda: now[0])
    book = MemoryBook()
    config = NotificationsConfig.model_validate(
        {"email": smtp_server.config(), "retry": QUICK, "lease_seconds": 60}
    )
    contact = ApplicantContact(full_name="An", email="an@example.vn")
    received = event("received", outbox_id=21)
    message = compose(
        Kind.RECEIVED,
        config,
        addressee="An",
        dossier_code=received.dossier_code,
        procedure_code="1.001612",
        at=AT,
    )

    async def no_slip(number: int) -> SlipFile:
        raise AssertionError("a receipt attaches no slip")

    async def dies(*args) -> None:
        raise _WorkerDied

    with pytest.raises(_WorkerDied):
        await deliver(received, config, contact, message, book, no_slip, Senders(email=dies))
    (left,) = await book.sending(received)
    assert (left.status, left.lease, left.outbox_id) == ("sending", 1, 21)
    # Delivered again at once (the hook's at-least-once), or swept within the lease: nothing.
    assert await deliver(received, config, contact, message, book, no_slip) == []
    now[0] += dt.timedelta(seconds=59)
    later = event("assigned", outbox_id=22)  # the next event the province's hook hears
    assert await reclaim_stale(later, book, config.lease_seconds) == []
    assert smtp_server.inbox.messages == []

    now[0] += dt.timedelta(seconds=2)  # the lease has expired
    swept = await asyncio.gather(*(reclaim_stale(later, book, 60) for _ in range(2)))
    assert sorted(len(taken) for taken in swept) == [0, 1]  # two workers: one takes it
    (again,) = swept[0] or swept[1]
    assert again.lease == 2 and again.claimed_at == now[0].isoformat()
    then = again.replayed()
    assert (then.outbox_id, then.action, then.at, then.dossier_id) == (21, "received", AT, 3)
    (done,) = await deliver(then, config, contact, message, book, no_slip, reclaimed=again)
    assert (done.status, done.attempts) == ("sent", 1)
    assert [m["Subject"] for m in smtp_server.inbox.messages] == [message.subject]
    now[0] += dt.timedelta(hours=1)
    assert await reclaim_stale(later, book, 60) == [] and await book.sending(later) == []
    assert len(smtp_server.inbox.messages) == 1


def test_the_lease_outlasts_the_hooks_time():
    assert NotificationsConfig().lease_seconds == 600
    with pytest.raises(ValidationError):
        NotificationsConfig.model_validate({"lease_seconds": 10})  # shorter than a send
