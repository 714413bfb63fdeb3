"""The QR code of slip 01 carries the lookup URL, which opens the portal's lookup page."""

from __future__ import annotations

from eiso.core.dossiers.lookup_qr import lookup_url, qr_png, qr_svg
from tests.web.support import keys_of, submit


def test_lookup_url():
    assert lookup_url("A1-261205-0001", "AB12CD34EF", "https://dvc.example.gov.vn/") == (
        "https://dvc.example.gov.vn/tra-cuu?code=A1-261205-0001&key=AB12CD34EF"
    )


def test_qr_code_as_svg_and_png():
    url = lookup_url("A1-261205-0001", "AB12CD34EF", "https://dvc.example.gov.vn")
    assert qr_svg(url).startswith("<svg")
    assert qr_png(url).startswith(b"\x89PNG")


async def test_the_qr_url_opens_the_lookup(web, places):
    a, _ = places
    code, key = keys_of((await submit(web, a)).text)
    page = await web.get(lookup_url(code, key))
    assert page.status_code == 200 and code in page.text
