"""The demo's citizens' feedback and petitions (issue 20), through the feedback service: in
Quảng Ninh one answered, published and rated, one answered and published, one answered but not
published (the citizen did not agree), one waiting for its answer, and one left past its
deadline, whose nonconformity the overdue sweep opens (core/qms/feedback_ncs.py); in Hưng Yên
one answered and published. Dated in the past like the demo dossiers (whole hours before the
run). Each is found again by its agency and text, so a second run adds nothing; the codes and
lookup keys are drawn by the service (random), the rest is fixed."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlmodel import col

from eiso.core.auth.principal import Principal, Role
from eiso.core.feedback import service
from eiso.core.feedback.models import Feedback
from eiso.core.qms import feedback_ncs
from eiso.core.qms.nonconformities import NcSource, Nonconformity
from eiso.core.resources import Resources
from eiso.infra.db import find_one
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope

ANONYMOUS = service.Contact()


@dataclasses.dataclass(frozen=True)
class Item:
    agency: str  # agency code
    officer: str  # who answers (a demo account)
    kind: str
    procedure: str | None  # about this procedure when the agency adopted it, else the agency
    content: str
    days_ago: int  # received this many days before the run
    outcome: str  # "rated", "published", "answered", "open" or "overdue"
    contact: service.Contact = ANONYMOUS
    answer: str = ""
    rating: int = 0
    comment: str = ""


ITEMS = (
    Item(
        "000.31.01.H49",
        "chuyenvien.halong",
        "feedback",
        "1.001193",
        "Tôi nộp hồ sơ đăng ký khai sinh trực tuyến nhưng cổng dịch vụ công không cho tải lên "
        "bản chụp Giấy chứng sinh định dạng PDF.",
        40,
        "rated",
        service.Contact("Nguyễn Thị Thu Hà", "0912 468 135"),
        "Phường đã phối hợp với đơn vị vận hành khắc phục lỗi tải tệp PDF từ ngày 12; đề nghị "
        "bà nộp lại bản chụp, cán bộ một cửa sẽ hỗ trợ khi cần.",
        5,
        "Được trả lời nhanh, đã nộp lại được hồ sơ.",
    ),
    Item(
        "000.31.02.H49",
        "chuyenvien.baichay",
        "petition",
        None,
        "Đề nghị Bộ phận Một cửa phường bố trí thêm ghế chờ và máy lấy số thứ tự vào buổi sáng "
        "thứ Hai, khi người dân đến đông.",
        30,
        "published",
        service.Contact("Phạm Văn Long"),
        "Phường tiếp thu kiến nghị: từ tháng sau bố trí thêm 10 ghế chờ và một quầy tiếp nhận "
        "vào sáng thứ Hai hằng tuần.",
    ),
    Item(
        "000.32.01.H49",
        "chuyenvien.tienyen",
        "feedback",
        "1.001612",
        "Cán bộ tiếp nhận yêu cầu nộp bản sao chứng thực căn cước công dân, trong khi thủ tục "
        "không quy định giấy tờ này.",
        25,
        "answered",
        answer="Xã đã nhắc nhở cán bộ tiếp nhận; thành phần hồ sơ thực hiện đúng theo thủ tục "
        "đã công bố, không yêu cầu bản sao căn cước công dân.",
    ),
    Item(
        "000.00.22.H49",
        "chuyenvien.soxaydung.qn",
        "petition",
        None,
        "Đề nghị Sở công khai trên cổng dịch vụ công mẫu bản vẽ đủ điều kiện để cấp giấy phép "
        "xây dựng nhà ở riêng lẻ.",
        2,
        "open",
        service.Contact(email="kts.minhquan@example.vn"),
    ),
    Item(
        "000.32.02.H49",
        "chuyenvien.damha",
        "feedback",
        None,
        "Gọi điện nhiều lần đến số đường dây nóng của xã vào giờ hành chính nhưng không có "
        "người nghe máy.",
        35,
        "overdue",
    ),
    Item(
        "000.41.01.H31",
        "chuyenvien.phohien",
        "feedback",
        "1.001612",
        "Kết quả đăng ký hộ kinh doanh ghi sai tên ngành nghề so với giấy đề nghị đã nộp.",
        20,
        "published",
        service.Contact("Lê Minh Tuấn", "0983 251 774"),
        "Phường đã đính chính và cấp lại Giấy chứng nhận đăng ký hộ kinh doanh cho ông, không "
        "thu lệ phí; lỗi do nhập liệu đã được rút kinh nghiệm.",
    ),
)
ANSWER_AFTER = dt.timedelta(days=3)  # the answered ones, well within the deadline


def _officer(agency: Agency, username: str) -> Principal:
    return Principal(
        username,
        TenantScope.agencies([agency.id], [agency.province_id]),
        frozenset({Role.officer}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


async def _present(resources: Resources, agency: Agency, content: str) -> bool:
    async with resources.session(TenantScope.nation()) as session:
        keys = {"province_id": agency.province_id, "agency_id": agency.id, "content": content}
        return await find_one(session, Feedback, **keys) is not None


async def _add(
    resources: Resources, item: Item, agency: Agency, adopted: list[str], anchor: dt.datetime
) -> None:
    about = item.procedure if item.procedure in adopted else None
    received = anchor - dt.timedelta(days=item.days_ago)
    sent = await service.submit(
        resources,
        province_id=agency.province_id,
        agency_id=agency.id,
        kind=item.kind,
        subject="procedure" if about else "agency",
        content=item.content,
        procedure_code=about,
        contact=item.contact,
        publish_consent=item.outcome in ("rated", "published"),
        now=received,
    )
    if item.outcome in ("open", "overdue"):
        return
    who = _officer(agency, item.officer)
    async with resources.session(who.tenant) as session, session.begin():
        row = (
            await session.execute(select(Feedback).where(col(Feedback.code) == sent.code))
        ).scalar_one()
        await service.answer(
            session,
            who,
            agency.province_id,
            row.id,
            item.answer,
            publish=item.outcome != "answered",
            now=received + ANSWER_AFTER,
        )
    if item.rating:
        await service.rate(resources, sent.code, sent.lookup_key, item.rating, item.comment)


async def load(
    resources: Resources,
    agencies: dict[str, Agency],
    adoptions: dict[str, list[str]],
    anchor: dt.datetime,
) -> dict[str, int]:
    """Returns the demo's feedback and the nonconformities they opened (the same every run)."""
    for item in ITEMS:
        agency = agencies.get(item.agency)
        if agency is not None and not await _present(resources, agency, item.content):
            await _add(resources, item, agency, adoptions.get(item.agency, []), anchor)
    # The demo's provinces only (the session's scope hides the others' rows): in a database
    # shared with other data, the sweep and the counts leave the rest alone.
    demo = TenantScope.province(*sorted({a.province_id for a in agencies.values()}))
    async with resources.session(demo) as session, session.begin():
        # As `eiso qms sweep-overdue` does: the one past its deadline opens a nonconformity.
        await feedback_ncs.sweep_overdue(session)
        total = await session.scalar(select(func.count()).select_from(Feedback))
        opened = await session.scalar(
            select(func.count())
            .select_from(Nonconformity)
            .where(col(Nonconformity.source) == NcSource.feedback.value)
        )
    return {"feedback": int(total or 0), "feedback_nonconformities": int(opened or 0)}
