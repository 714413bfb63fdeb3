"""Slips as HTML: Jinja2 templates with autoescaping (every value comes from user input)."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from eiso.core.dossiers.lookup_qr import qr_svg
from eiso.core.dossiers.slips.documents import MOTTO, NATION, Document


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("eiso.core.dossiers.slips", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )


def render_html(doc: Document, qr_url: str | None = None) -> str:
    """`qr_url`: slip 01 printed at receipt, with the QR code of its lookup URL."""
    # segno's SVG holds only the code's modules (no text of the URL): safe to inline.
    qr = Markup(qr_svg(qr_url)) if qr_url else None
    return (
        _environment()
        .get_template("slip.html")
        .render(doc=doc, nation=NATION, motto=MOTTO, qr=qr, qr_url=qr_url)
    )
