"""Thông báo cho người nộp hồ sơ qua thư điện tử và SMS / Notifications to applicants by e-mail
and SMS.

A bundled module coded against `eiso.core.sdk` only, exactly as a vendor's (the worked example
of docs/plugins.md): it hears every dossier of the provinces that enabled it
(`dossier_events="all"`) and tells the applicant who gave an e-mail address or a phone number
that the dossier was received, that a supplement is requested, that the agency apologises for
a delay (slip 04 attached as a PDF) and that the result is ready. The province's settings
(sender, SMTP server, SMS provider, templates, retries) are its `config_model`; the delivery
status of every message is kept per province in the module's storage and shown to the agency
(`Query.notifications.deliveries`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from eiso.core.sdk import (
    DossierEvent,
    LocalizedText,
    ModuleInfo,
    SlipFile,
    dossier_contact,
    dossier_slip,
    hookimpl,
    module_config,
)
from eiso.plugins.notifications import store
from eiso.plugins.notifications.config import Kind, NotificationsConfig
from eiso.plugins.notifications.delivery import deliver, reclaim_stale
from eiso.plugins.notifications.messages import KIND_OF_ACTION, Message, compose
from eiso.plugins.notifications.schema import NotificationsQuery

NAME = "notifications"
VERSION = "0.1.0"
log = logging.getLogger("eiso.plugins.notifications")


@hookimpl
def eiso_module() -> ModuleInfo:
    return ModuleInfo(
        name=NAME,
        title=LocalizedText(
            vi="Thông báo cho người nộp hồ sơ (thư điện tử, SMS)",
            en="Notifications to applicants (e-mail, SMS)",
        ),
        version=VERSION,
        sector="notifications",
        core_api=">=1.6,<2",
        config_model=NotificationsConfig,
        dossier_events="all",  # every procedure's applicants are told
    )


async def _config(event: DossierEvent) -> NotificationsConfig | None:
    try:
        return NotificationsConfig.model_validate(await module_config(event, NAME))
    except ValidationError as error:  # stored under an older model: say where, not what
        where = sorted({".".join(map(str, e["loc"])) for e in error.errors()})
        log.error("province %s: notifications settings invalid at %s", event.province_id, where)
        return None


def _message(
    event: DossierEvent, kind: Kind, config: NotificationsConfig, addressee: str | None
) -> Message:
    return compose(
        kind,
        config,
        addressee=addressee,
        dossier_code=event.dossier_code,
        procedure_code=event.procedure_code,
        at=event.at,
    )


def _slips(event: DossierEvent) -> Callable[[int], Awaitable[SlipFile]]:
    async def slip(number: int) -> SlipFile:
        return await dossier_slip(event, number, module=NAME)

    return slip


async def _sweep(event: DossierEvent, book: store.StoreBook) -> None:
    """Send again what a dead worker left `sending` past its lease in the event's province
    (one cheap read when nothing is left: the usual case)."""
    if not await book.sending(event):
        return
    config = await _config(event)
    if config is None:
        return
    for delivery in await reclaim_stale(event, book, config.lease_seconds):
        then = delivery.replayed()
        try:
            contact = await dossier_contact(then)
            message = _message(then, Kind(delivery.kind), config, contact.addressee)
            await deliver(then, config, contact, message, book, _slips(then), reclaimed=delivery)
        except Exception as error:  # noqa: BLE001 - the event at hand still goes; retried next lease
            log.error(
                "notification %s of dossier %s (%s) not sent again: %s",
                delivery.channel,
                delivery.dossier_code,
                delivery.kind,
                type(error).__name__,
            )


@hookimpl
async def eiso_on_dossier_event(event: DossierEvent) -> None:
    book = store.book()
    await _sweep(event, book)
    kind = KIND_OF_ACTION.get(event.action or "")
    if kind is None:
        return
    config = await _config(event)
    if config is None or kind not in config.events:
        return
    contact = await dossier_contact(event)
    if not (contact.email or contact.phone):
        return
    message = _message(event, kind, config, contact.addressee)
    await deliver(event, config, contact, message, book, _slips(event))


@hookimpl
async def eiso_sweep(event: DossierEvent) -> None:
    """The core's periodic pass over the province (core API 1.6): a message left SENDING goes
    once its lease expired, though no new event of the province arrives."""
    await _sweep(event, store.book())


@hookimpl
def eiso_graphql_query() -> type[NotificationsQuery]:
    return NotificationsQuery
