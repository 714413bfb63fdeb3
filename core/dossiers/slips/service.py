"""Slips on demand: load the dossier in the caller's tenant scope (another tenant's dossier is
NOT_FOUND, like one that never existed), check the slip exists in its state, render it."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core import audit
from eiso.core.auth.issuer import issuer
from eiso.core.dossiers.lookup_qr import lookup_url
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.slips import facts as dossier_facts
from eiso.core.dossiers.slips import forms, issued
from eiso.core.dossiers.slips.documents import KEY_ON_ORIGINAL, Document, build
from eiso.core.dossiers.slips.markup import render_html
from eiso.core.dossiers.slips.printing import render_pdf
from eiso.core.resources import Resources
from eiso.core.settings import Settings
from eiso.core.workdays.overrides import load_calendar
from eiso.tenants.scope import TenantScope

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclasses.dataclass
class Rendered:
    body: bytes
    media_type: str
    filename: str


async def render_loaded(
    session: AsyncSession,
    settings: Settings,
    dossier: Dossier,
    number: int,
    fmt: str,
    lookup_key: str | None = None,
) -> Rendered:
    """Render slip `number` of a dossier already loaded in `session` as it was issued (the
    receipt uses this to print slip 01 with the lookup key, inside its own transaction)."""
    forms.check_format(fmt)
    chosen = forms.require(dossier, number)
    calendar = await load_calendar(session, settings)
    slip = await issued.issue(session, dossier, number, calendar)
    if slip is None:  # the state says it exists, the timeline has no event for it
        raise forms.not_available(dossier, chosen)
    rebuilt = None
    if slip.content is None:  # not frozen (06), or issued by a stage that could not build it
        rebuilt = build(await dossier_facts.load(session, dossier, calendar), chosen)
    doc = _with_key(issued.document(session, slip, rebuilt), lookup_key)
    # Slip 01 printed at receipt: its QR code opens the portal's lookup with code and key, at
    # the site's public address (EISO_ISSUER; in dev and test the address being served).
    qr = lookup_url(dossier.code, lookup_key, issuer(settings)) if lookup_key else None
    if fmt == "html":
        body = render_html(doc, qr).encode()
    else:
        # A PDF takes a few hundred milliseconds of CPU (font subsetting): off the event loop.
        body = await asyncio.to_thread(render_pdf, doc, settings.slip_font_dir, qr)
    return Rendered(body, MEDIA[fmt], f"{dossier.code}-mau-{chosen.label}.{fmt}")


def _with_key(doc: Document, lookup_key: str | None) -> Document:
    """Slip 01 printed at receipt shows the lookup key; every other print says where it is."""
    if lookup_key is not None:
        for line in doc.lines:
            if line.text == KEY_ON_ORIGINAL:
                line.text = lookup_key
    return doc


async def render(
    resources: Resources,
    scope: TenantScope,
    number: int,
    fmt: str,
    *,
    actor: str,
    province_id: int | None = None,
    dossier_id: int | None = None,
    code: str | None = None,
) -> Rendered:
    """Render a slip for `actor`; the print is recorded in the audit trail (slips 01-05 show
    the applicant's personal data), in the same transaction."""
    async with resources.session(scope) as session, session.begin():
        dossier = await dossier_facts.load_dossier(
            session, province_id=province_id, dossier_id=dossier_id, code=code
        )
        rendered = await render_loaded(session, resources.settings, dossier, number, fmt)
        await audit.append_row(
            session,
            dossier,
            actor,
            "dossier.slip_printed",
            {"code": dossier.code, "number": number, "format": fmt},
            about=("dossier", dossier.id),
        )
        return rendered
