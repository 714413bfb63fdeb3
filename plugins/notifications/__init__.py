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
from eiso.plugins.notifications.config import NotificationsConfig
from eiso.plugins.notifications.delivery import deliver
from eiso.plugins.notifications.messages import KIND_OF_ACTION, compose
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
        core_api=">=1.4,<2",
        config_model=NotificationsConfig,
        dossier_events="all",  # every procedure's applicants are told
    )


@hookimpl
async def eiso_on_dossier_event(event: DossierEvent) -> None:
    kind = KIND_OF_ACTION.get(event.action or "")
    if kind is None:
        return
    try:
        config = NotificationsConfig.model_validate(await module_config(event, NAME))
    except ValidationError as error:  # stored under an older model: say where, not what
        where = sorted({".".join(map(str, e["loc"])) for e in error.errors()})
        log.error("province %s: notifications settings invalid at %s", event.province_id, where)
        return
    if kind not in config.events:
        return
    contact = await dossier_contact(event)
    if not (contact.email or contact.phone):
        return
    message = compose(
        kind,
        config,
        addressee=contact.addressee,
        dossier_code=event.dossier_code,
        procedure_code=event.procedure_code,
        at=event.at,
    )

    async def slip(number: int) -> SlipFile:
        return await dossier_slip(event, number, module=NAME)

    await deliver(event, config, contact, message, store.book(), slip)


@hookimpl
def eiso_graphql_query() -> type[NotificationsQuery]:
    return NotificationsQuery
