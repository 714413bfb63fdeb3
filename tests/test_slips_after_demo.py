"""Each one-stop slip (forms 01-06 of Circular 03/2025/TT-VPCP) rendered after `eiso demo`, in
HTML and PDF: every field and sentence of its form is there, the header names the receiving
unit, the slip is dated by the event it records (not the print), nothing is garbled, and a
reprint is the same document (byte-identical PDF). Slip 01 keeps what it said at receipt
even after an apology moved the appointment."""

from __future__ import annotations

import re
from html import unescape

import pytest_asyncio
from sqlalchemy import select

from eiso.core.dossiers.models import Dossier, DossierEventRow
from eiso.core.dossiers.slips import service
from eiso.core.dossiers.slips.documents import day, moment
from eiso.core.dossiers.slips.issued import IssuedSlip
from eiso.core.dossiers.statuses import Status
from eiso.core.workdays import VN_TZ
from eiso.infra.clock import aware
from eiso.tenants.models import Agency, Province, receiving_unit
from eiso.tenants.reorganisation import AgencyLineage, Reorganisation
from eiso.tenants.scope import TenantScope
from tests.test_demo import DEMO_TIMEOUT, demo_db, eiso  # noqa: F401 - demo_db: a fixture
from tests.test_dossier_slips import pdf_text

COMMON = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Mã hồ sơ:")
CONTACT = ("Địa chỉ:", "Số điện thoại:", "Email:", "Nội dung yêu cầu giải quyết:")
# Every field and fixed sentence of each form, as the slip must print it.
FORM_TEXT: dict[int, tuple[str, ...]] = {
    1: (
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "tiếp nhận hồ sơ của:",
        *CONTACT,
        "1. Thành phần hồ sơ nộp gồm:",
        "2. Số lượng hồ sơ:",
        "3. Thời gian giải quyết hồ sơ theo quy định là:",
        "4. Thời gian nhận hồ sơ:",
        "5. Thời gian trả kết quả giải quyết hồ sơ:",
        "6. Đăng ký nhận kết quả tại:",
        "Vào Sổ theo dõi hồ sơ, Quyển số:",
        "Số thứ tự:",
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ),
    2: (
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        "Hồ sơ của:",
        *CONTACT,
        "đề nghị Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
        "Nội dung, lý do yêu cầu bổ sung:",
        "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ",
        "NGƯỜI HƯỚNG DẪN",
    ),
    3: (
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        "Hồ sơ của:",
        *CONTACT,
        "thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
        "Lý do:",
        "Xin thông báo để Ông/Bà được biết và thực hiện.",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ),
    4: (
        "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
        "Kính gửi:",
        "Thời gian hẹn trả kết quả giải quyết hồ sơ:",
        "chưa trả kết quả giải quyết hồ sơ của Ông/Bà.",
        "Lý do:",
        "Sự chậm trễ này đã gây phiền hà cho Ông/Bà.",
        "đề nghị gia hạn thời gian giải quyết",
        "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà.",
        "THỦ TRƯỞNG CƠ QUAN",
    ),
    5: (
        "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
        "Hồ sơ của:",
        *CONTACT,
        "thông báo dừng giải quyết hồ sơ nêu trên kể từ",
        "Lý do dừng giải quyết:",
        "Ông/Bà nhận lại hồ sơ tại",
        "THỦ TRƯỞNG CƠ QUAN",
    ),
    6: (
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "Cơ quan (bộ phận) giải quyết hồ sơ:",
        "Cơ quan phối hợp giải quyết hồ sơ:",
        "Thủ tục hành chính:",
        "Thời gian hẹn trả kết quả:",
        "TÊN CƠ QUAN, BỘ PHẬN",
        "THỜI GIAN GIAO, NHẬN HỒ SƠ",
        "KẾT QUẢ GIẢI QUYẾT HỒ SƠ",
        "GHI CHÚ",
        "Người giao:",
        "Người nhận:",
    ),
}
# The event each slip is dated by.
DATED_BY = {
    1: "received",
    2: "supplement_requested",
    3: "refused",
    4: "apology",
    5: "stopped",
    6: "received",
}
GARBLED = re.compile(r"Ngày \d\d giờ|\(chưa có\)")


@pytest_asyncio.fixture(scope="module")
async def demoed(demo_db):  # noqa: F811 - the imported fixture
    env, resources = demo_db
    result = eiso("demo", env=env, timeout=DEMO_TIMEOUT)
    assert result.returncode == 0, result.stderr
    return resources


def visible(page: str) -> str:
    """The text a reader sees in an HTML page, with single spaces."""
    return " ".join(
        unescape(re.sub(r"<(head|title)>.*?</\1>|<[^>]+>", "", page, flags=re.S)).split()
    )


async def _one(resources, *where) -> Dossier:
    async with resources.session(TenantScope.nation()) as session:
        return (
            await session.execute(
                select(Dossier)
                .join(Province, Province.id == Dossier.province_id)
                .where(Province.code == "22", *where)
                .order_by(Dossier.received_at)
                .limit(1)
            )
        ).scalar_one()


def _sample(number: int):
    return {
        1: (Dossier.status == int(Status.returned),),
        2: (Dossier.supplement_count >= 1, Dossier.appointment_at.is_not(None)),
        3: (Dossier.status == int(Status.not_received),),
        4: (Dossier.was_late.is_(True),),
        5: (Dossier.status == int(Status.stopped),),
        6: (Dossier.status == int(Status.returned),),
    }[number]


async def _print(resources, code: str, number: int, fmt: str) -> bytes:
    rendered = await service.render(
        resources, TenantScope.nation(), number, fmt, actor="test", code=code
    )
    return rendered.body


async def test_every_slip_prints_every_field_of_its_form(demoed):
    resources = demoed
    for number, expected in FORM_TEXT.items():
        dossier = await _one(resources, *_sample(number))
        async with resources.session(TenantScope.nation()) as session:
            agency = await session.get(Agency, (dossier.province_id, dossier.agency_id))
            province = await session.get(Province, dossier.province_id)
            event = (
                (
                    await session.execute(
                        select(DossierEventRow)
                        .where(
                            DossierEventRow.dossier_id == dossier.id,
                            DossierEventRow.action == DATED_BY[number],
                        )
                        .order_by(DossierEventRow.at)
                    )
                )
                .scalars()
                .all()
            )
        at = event[0].at if number in (1, 6) else event[-1].at
        html = (await _print(resources, dossier.code, number, "html")).decode()
        pdf = await _print(resources, dossier.code, number, "pdf")
        text = pdf_text(pdf)
        unit = receiving_unit(agency, province.name)
        for printed in (visible(html), text):
            for sentence in (*COMMON, *expected, dossier.code, f"Mẫu số {number:02d}"):
                assert sentence in printed, (number, sentence)
            assert unit.upper() in printed or unit in printed, (number, unit)
            assert day(at) in printed, (number, "dated by its event")
            assert not GARBLED.search(printed), (number, GARBLED.search(printed))
        assert "Bộ phận tiếp nhận và trả kết quả" not in html  # the unit's own name instead
        assert "09/2024" not in html
        # A reprint is the same document, to the byte.
        assert await _print(resources, dossier.code, number, "pdf") == pdf, number
        assert (await _print(resources, dossier.code, number, "html")).decode() == html, number


async def test_slips_are_kept_as_issued(demoed):
    """Slip 01 of an apologised dossier still shows the first appointment, and the book's
    volume (year) and number it was given at receipt; slips are issued at their event."""
    resources = demoed
    dossier = await _one(resources, Dossier.was_late.is_(True), Dossier.late_since.is_not(None))
    html = visible((await _print(resources, dossier.code, 1, "html")).decode())
    assert moment(dossier.late_since) in html  # the appointment of the receipt
    assert moment(dossier.appointment_at) not in html  # not the apology's new one
    assert re.search(r"Quyển số: 20\d\d, Số thứ tự: [1-9]\d*", html)
    async with resources.session(TenantScope.nation()) as session:
        numbers = set(
            (
                await session.execute(
                    select(IssuedSlip.number).where(IssuedSlip.dossier_id == dossier.id)
                )
            ).scalars()
        )
    assert {1, 4, 6} <= numbers


async def test_demo_has_special_zones_h49_and_the_thai_binh_merge(demoed):
    resources = demoed
    async with resources.session(TenantScope.nation()) as session:
        quang_ninh = (
            await session.execute(select(Province).where(Province.code == "22"))
        ).scalar_one()
        codes = dict(
            (
                await session.execute(
                    select(Agency.code, Agency.kind).where(Agency.province_id == quang_ninh.id)
                )
            ).all()
        )
        assert codes and all(code.endswith(".H49") for code in codes)
        assert sorted(c for c, k in codes.items() if k == "special_zone") == [
            "000.33.01.H49",
            "000.33.02.H49",
        ]
        thai_binh = (
            await session.execute(select(Province).where(Province.code == "34"))
        ).scalar_one()
        hung_yen = (
            await session.execute(select(Province).where(Province.code == "33"))
        ).scalar_one()
        assert (thai_binh.status, thai_binh.merged_into_id) == ("merged", hung_yen.id)
        record = (
            (
                await session.execute(
                    select(Reorganisation).where(Reorganisation.from_codes.is_not(None))
                )
            )
            .scalars()
            .all()
        )
        [merge] = [r for r in record if r.from_codes == ["34"]]
        assert (
            merge.into_code == "33"
            and aware(merge.done_at).astimezone(VN_TZ).date().isoformat() == "2025-07-01"
        )
        moved = (
            (
                await session.execute(
                    select(Agency.code).where(
                        Agency.province_id == hung_yen.id, Agency.code.like("%.H54")
                    )
                )
            )
            .scalars()
            .all()
        )
        assert "000.00.00.H54" in moved
        lineage = (
            (
                await session.execute(
                    select(AgencyLineage).where(AgencyLineage.reorganisation_id == merge.id)
                )
            )
            .scalars()
            .all()
        )
        assert {row.from_province_id for row in lineage} == {thai_binh.id}
        assert len(lineage) == len(moved)
