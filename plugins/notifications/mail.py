"""Thư điện tử qua SMTP / E-mail through the province's SMTP server, with aiosmtplib."""

from __future__ import annotations

import email.errors
import email.policy
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from eiso.core.sdk import SlipFile
from eiso.plugins.notifications.config import EmailSettings
from eiso.plugins.notifications.errors import SendError

# SMTP line endings; headers folded only past 998 characters: Python's folder splits a
# Vietnamese subject into encoded words at a space and loses that space on decoding
# ("trả kết" → "trảkết"), so a subject stays one encoded word.
POLICY = email.policy.SMTP.clone(max_line_length=998)


def build(
    settings: EmailSettings,
    to: str,
    subject: str,
    body: str,
    attachments: tuple[SlipFile, ...] = (),
    reference: str = "",
) -> EmailMessage:
    """The message: UTF-8 plain text, the slips attached (a PDF each). An address that is not
    one mailbox (a list, a display name, a header break) is refused, without quoting it."""
    try:
        mailbox = Address(addr_spec=to)
    except (ValueError, IndexError, TypeError, email.errors.MessageError):
        raise SendError("email_address_invalid", transient=False) from None
    if mailbox.addr_spec != to or any(c in to for c in ',;<>\r\n"') or not mailbox.domain:
        raise SendError("email_address_invalid", transient=False)
    message = EmailMessage()
    message["From"] = formataddr((settings.sender_name, settings.sender))
    message["To"] = mailbox.addr_spec
    message["Subject"] = subject
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    domain = Address(addr_spec=settings.sender).domain
    message["Message-ID"] = make_msgid(idstring=reference or None, domain=domain)
    message.set_content(body, charset="utf-8")
    for slip in attachments:
        maintype, _, subtype = slip.media_type.partition(";")[0].partition("/")
        message.add_attachment(
            slip.body, maintype=maintype, subtype=subtype, filename=slip.filename
        )
    return message


def _error(error: Exception) -> SendError:
    """A stable code for the agency and the logs; 5xx replies are final, the rest transient."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        return SendError(f"smtp_{codes[0] if codes else 550}_recipient", transient=False)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return SendError(f"smtp_{error.code}", transient=not 500 <= error.code < 600)
    if isinstance(error, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return SendError("smtp_timeout", transient=True)
    if isinstance(error, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return SendError("smtp_unreachable", transient=True)
    if isinstance(error, ssl.SSLError):
        return SendError("smtp_tls", transient=False)
    if isinstance(error, OSError):
        return SendError("smtp_unreachable", transient=True)
    return SendError(f"smtp_{type(error).__name__}", transient=True)


async def send(settings: EmailSettings, message: EmailMessage, seconds_left: float) -> None:
    """Send through the province's server; `SendError` when it did not take the message."""
    smtp = settings.smtp
    raw = message.as_bytes(policy=POLICY)
    try:
        await aiosmtplib.send(
            raw,
            sender=settings.sender,
            recipients=[str(message["To"])],
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            timeout=min(seconds_left, smtp.timeout_seconds),
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        raise _error(error) from None
