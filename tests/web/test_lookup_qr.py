"""The QR code of slip 01 carries the lookup URL, which opens the portal's lookup page."""

from __future__ import annotations

import io

import pypdf
import segno

from eiso.core.dossiers.lookup_qr import lookup_url, qr_png, qr_svg
from eiso.core.dossiers.slips.documents import Document, Line
from eiso.core.dossiers.slips.markup import render_html
from eiso.core.dossiers.slips.printing import render_pdf
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


FONTS = "/usr/share/fonts/truetype/dejavu"


def _slip_01() -> Document:
    return Document(
        "01",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "UBND TỈNH THỬ",
        "UBND xã Hòa Bình",
        "ngày 05 tháng 12 năm 2026",
        "A1-261205-0001",
        "(Liên)",
        [Line("AB12CD34EF", "Mã tra cứu hồ sơ: ")],
    )


def _modules(image, size: int) -> list[list[bool]]:
    """The dark modules of a QR code image of `size` modules and a border of 2 (qr_png)."""
    scale = image.width // (size + 4)
    assert image.width == image.height == (size + 4) * scale
    grey = image.convert("L")
    middle = scale // 2
    return [
        [
            grey.getpixel(((c + 2) * scale + middle, (r + 2) * scale + middle)) < 128
            for c in range(size)
        ]
        for r in range(size)
    ]


def test_slip_01_pdf_carries_the_qr_code_of_the_lookup_url():
    url = lookup_url("A1-261205-0001", "AB12CD34EF", "https://dvc.example.gov.vn")
    page = pypdf.PdfReader(io.BytesIO(render_pdf(_slip_01(), FONTS, url))).pages[0]
    (image,) = page.images
    # The image holds exactly the modules segno encodes the URL into (error correction M).
    matrix = segno.make(url, error="m", micro=False).matrix
    assert _modules(image.image, len(matrix)) == [[bool(m) for m in row] for row in matrix]
    # The URL is printed beside it, for a reader without a camera.
    assert url in "".join(page.extract_text().split())
    # A slip without the key (any later print) has no QR code.
    later = pypdf.PdfReader(io.BytesIO(render_pdf(_slip_01(), FONTS))).pages[0]
    assert len(later.images) == 0


def test_slip_01_html_carries_the_qr_code_of_the_lookup_url():
    url = lookup_url("A1-261205-0001", "AB12CD34EF", "https://dvc.example.gov.vn")
    html = render_html(_slip_01(), url)
    assert qr_svg(url) in html and 'aria-label="Mã QR tra cứu hồ sơ"' in html
    assert url.replace("&", "&amp;") in html
    assert "<svg" not in render_html(_slip_01())
