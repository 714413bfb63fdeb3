"""The lookup QR code printed on slip 01: it carries the URL of the portal's lookup page
(web/portal.py serves `/tra-cuu?code=...&key=...`) so a citizen opens the dossier's status by
scanning the receipt. Only slip 01 printed at receipt knows the key (eiso keeps its hash):
later prints have no QR code, as they have no key."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import segno

LOOKUP_PATH = "/tra-cuu"  # the portal's lookup page (English alias: /lookup)


def lookup_url(code: str, lookup_key: str, base: str = "") -> str:
    """The lookup page of a dossier; `base` the site's URL (the issuer, e.g.
    https://dichvucong.tinh.gov.vn), empty for a path alone."""
    return f"{base.rstrip('/')}{LOOKUP_PATH}?{urlencode({'code': code, 'key': lookup_key})}"


def qr_svg(url: str, scale: int = 3) -> str:
    """`url` as an inline SVG QR code (error correction M: survives a crease or a stamp),
    for an HTML slip; `qr_png` for a PDF."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=scale, border=2)


def qr_png(url: str, scale: int = 4) -> bytes:
    """`url` as a PNG QR code (for fpdf2's `image`)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
