"""The one-stop slips 01-06 and the tracking book 07, through GraphQL, HTTP and the CLI:
each slip renders (HTML with the agency and the code, PDF with extractable Vietnamese text),
only in the states where it exists, the lookup key only on slip 01 at receipt, personal data
only on the slips handed to the applicant, another agency's dossier answers 404."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from eiso.core.audit import AuditEntry
from eiso.core.dossiers import engine
from eiso.core.dossiers.models import ProcedureRecord
from eiso.core.global_ids import encode_id
from eiso.core.workdays import VN_TZ, WorkingCalendar
from eiso.tenants.models import Agency, Province
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC, REGISTRY
from tests.test_dossier_graphql import Caller, officer_of

APPLICANT = (
    '{fullName: "Nguyễn Thị Hoa", phone: "0912345678", address: "Thôn Đông, xã Hòa Bình", '
    'citizenId: "001199012345"}'
)
DATA = '{child_name: "Trần Minh Khôi", birth_date: "2026-11-01"}'
RECEIVE = (
    'mutation($online: Boolean!) { receiveDossier(input: {procedureCode: "'
    + PROC
    + '", applicant: '
    + APPLICANT
    + ", sectorData: "
    + DATA
    + ", online: $online}) { lookupKey receiptSlipHtml"
    " dossier { id code version slips { number titleVi htmlUrl pdfUrl } } } }"
)
MOVE = (
    "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v%s) { version slips { number } "
    "} }"
)


@pytest.fixture
async def app(resources, callers):
    from eiso.core.app import create_app

    application = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=REGISTRY
    )
    async with application.router.lifespan_context(application):
        yield application


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "eiso"), *args],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


class Desk:
    """One agency's officer: GraphQL and HTTP with its token."""

    def __init__(self, app, headers, principal):
        self.app, self.headers, self.principal = app, headers, principal
        self.gql = Caller(app, headers)

    async def get(self, path: str, headers: dict | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.get(path, headers=self.headers if headers is None else headers)

    async def move(self, name: str, dossier: dict, extra: str = "") -> dict:
        body = await self.gql(MOVE % (name, extra), {"id": dossier["id"], "v": dossier["version"]})
        assert "errors" not in body, body
        dossier["version"] = body["data"][name]["version"]
        return body["data"][name]

    async def agency(self, resources) -> Agency:
        async with resources.session(TenantScope.nation()) as session:
            return await session.get(Agency, (self.principal.province_id, self.principal.agency_id))


async def desk(app, resources, callers, name="Hòa Bình") -> Desk:
    principal = await officer_of(resources, name)
    made = Desk(app, callers.issue(principal), principal)
    body = await made.gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    assert "errors" not in body, body
    return made


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF")
    # Lines wrap wherever the page ends them: compare with single spaces.
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split()
    )


async def test_counter_dossier_slips_through_its_life(app, resources, callers):
    me = await desk(app, resources, callers)
    agency = await me.agency(resources)
    got = (await me.gql(RECEIVE, {"online": False}))["data"]["receiveDossier"]
    dossier, key = got["dossier"], got["lookupKey"]
    receipt = got["receiptSlipHtml"]
    # Slip 01 at receipt: the key is printed once, with the applicant's name; never the id number.
    for text in (
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        agency.name,
        dossier["code"],
        key,
        "Nguyễn Thị Hoa",
        "Đăng ký khai sinh",
    ):
        assert text in receipt, text
    assert "001199012345" not in receipt
    assert [s["number"] for s in dossier["slips"]] == [1, 6]

    later = await me.get(dossier["slips"][0]["htmlUrl"])
    assert later.status_code == 200 and later.headers["content-type"].startswith("text/html")
    assert later.headers["cache-control"] == "no-store"
    assert agency.name in later.text and dossier["code"] in later.text
    assert key not in later.text and "xem trên phiếu gốc" in later.text
    pdf = await me.get(dossier["slips"][0]["pdfUrl"])
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in text and "Nguyễn Thị Hoa" in text and dossier["code"] in text

    gid = dossier["id"]
    refused = await me.get(f"/dossiers/{gid}/slips/02.html")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "SLIP_NOT_AVAILABLE"
    assert (await me.get(f"/dossiers/{gid}/slips/03.pdf")).json()["error"][
        "code"
    ] == "SLIP_NOT_AVAILABLE"
    assert (await me.get(f"/dossiers/{gid}/slips/9.html")).json()["error"]["code"] == "BAD_INPUT"
    assert (await me.get(f"/dossiers/{gid}/slips/01.docx")).json()["error"]["code"] == "BAD_INPUT"

    await me.move("assignDossier", dossier, ', assignee: "Lê Văn Bình"')
    reason = "Thiếu bản sao giấy chứng sinh có chứng thực"
    moved = await me.move("requestSupplement", dossier, f', reason: "{reason}"')
    assert [s["number"] for s in moved["slips"]] == [1, 2, 6]
    supplement = await me.get(f"/dossiers/{gid}/slips/02.html")
    assert (
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in supplement.text and reason in supplement.text
    )
    assert "Nguyễn Thị Hoa" in supplement.text
    assert reason in pdf_text((await me.get(f"/dossiers/{gid}/slips/02.pdf")).content)

    await me.move("supplementReceived", dossier)
    await me.move("completeStep", dossier)
    await me.move("completeStep", dossier)
    await me.move("returnResult", dossier)

    control = await me.get(f"/dossiers/{gid}/slips/06.html")
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in control.text
    for text in (
        "Lê Văn Bình",
        me.principal.subject,
        "Thẩm định",
        "Ký duyệt",
        "Trả kết quả",
        "Trước hạn",
        "Yêu cầu bổ sung: " + reason,
    ):
        assert text in control.text, text
    # Internal record: officers, never the applicant's personal data.
    for private in ("Nguyễn Thị Hoa", "0912345678", "Thôn Đông", "001199012345", key):
        assert private not in control.text, private
    text = pdf_text((await me.get(f"/dossiers/{gid}/slips/06.pdf")).content)
    assert "PHIẾU KIỂM SOÁT" in text and "Lê Văn Bình" in text and "Nguyễn Thị Hoa" not in text

    # Every print is in the audit trail (who, which slip), never the personal data it showed.
    async with resources.session(TenantScope.nation()) as session:
        entries = (
            (
                await session.execute(
                    select(AuditEntry).where(
                        AuditEntry.agency_id == agency.id,
                        AuditEntry.action == "dossier.slip_printed",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert {(e.actor, e.data["number"], e.data["format"]) for e in entries} >= {
        (me.principal.subject, 1, "html"),
        (me.principal.subject, 1, "pdf"),
        (me.principal.subject, 6, "pdf"),
    }
    assert all("Nguyễn" not in str(e.data) for e in entries)


async def test_online_dossier_refused_has_only_the_refusal(app, resources, callers):
    me = await desk(app, resources, callers)
    got = (await me.gql(RECEIVE, {"online": True}))["data"]["receiveDossier"]
    dossier = got["dossier"]
    assert got["receiptSlipHtml"] is None and dossier["slips"] == []
    gid = dossier["id"]
    assert (await me.get(f"/dossiers/{gid}/slips/01.html")).status_code == 409
    reason = "Hồ sơ không thuộc thẩm quyền giải quyết của xã <script>alert(1)</script>"
    moved = await me.move("refuseDossier", dossier, f', reason: "{reason}"')
    assert [s["number"] for s in moved["slips"]] == [3]
    html = await me.get(f"/dossiers/{gid}/slips/03.html")
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in html.text
    assert (
        "<script>" not in html.text
        and "thẩm quyền giải quyết của xã &lt;script&gt;alert(1)&lt;/script&gt;" in html.text
    )
    assert "Nguyễn Thị Hoa" in html.text
    assert reason in pdf_text((await me.get(f"/dossiers/{gid}/slips/03.pdf")).content)
    assert (await me.get(f"/dossiers/{gid}/slips/06.html")).json()["error"][
        "code"
    ] == "SLIP_NOT_AVAILABLE"


async def _overdue_dossier(resources, principal, received_at: dt.datetime):
    """A dossier received weeks ago, so it is overdue now (the engine takes `now` for that)."""
    scope = TenantScope.agencies([principal.agency_id], [principal.province_id])
    async with resources.session(scope) as session, session.begin():
        agency = await session.get(Agency, (principal.province_id, principal.agency_id))
        got = await engine.receive(
            session,
            agency=agency,
            procedure_code=PROC,
            applicant={"full_name": "Phạm Văn Long"},
            sector_data={"child_name": "Phạm Minh An", "birth_date": "2026-09-01"},
            actor=principal.subject,
            calendar=WorkingCalendar(),
            now=received_at,
        )
        return got.dossier


async def test_apology_slip_shows_reason_and_new_date(app, resources, callers):
    me = await desk(app, resources, callers)
    dossier = await _overdue_dossier(
        resources, me.principal, dt.datetime(2026, 10, 1, 9, 0, tzinfo=VN_TZ)
    )
    gid = encode_id("Dossier", dossier.province_id, dossier.id)
    assert (await me.get(f"/dossiers/{gid}/slips/04.html")).json()["error"][
        "code"
    ] == "SLIP_NOT_AVAILABLE"
    # a working day's office hours: an apology's new appointment is working time (issue 17)
    new = WorkingCalendar().add_working_days(dt.datetime.now(VN_TZ), 5).replace(hour=16, minute=30)
    reason = "Chờ kết quả xác minh của cơ quan công an"
    body = await me.gql(
        "mutation($id: ID!, $r: String!, $d: DateTime!) { recordApology(id: $id, expectedVersion: "
        "1,"
        " reason: $r, newAppointment: $d) { slips { number } } }",
        {"id": gid, "r": reason, "d": new.isoformat()},
    )
    assert [s["number"] for s in body["data"]["recordApology"]["slips"]] == [1, 4, 6]
    html = (await me.get(f"/dossiers/{gid}/slips/04.html")).text
    assert (
        "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT" in html
        and reason in html
        and "Phạm Văn Long" in html
    )
    assert f"16 giờ 30 phút, ngày {new:%d} tháng {new:%m} năm {new:%Y}" in html
    assert (
        "ngày 06 tháng 10 năm 2026" in html
    )  # the first appointment: 3 working days after 1 October
    assert reason in pdf_text((await me.get(f"/dossiers/{gid}/slips/04.pdf")).content)
    control = (await me.get(f"/dossiers/{gid}/slips/06.html")).text
    assert "Quá hạn" in control and "Xin lỗi và hẹn lại ngày trả kết quả" in control


async def test_rename_after_receipt_leaves_the_issued_slip_unchanged(app, resources, callers):
    """Slip 01 is issued with the facts of its receipt and built at its first print: the
    agency, its province and the procedure renamed after the receipt (before any print) do not
    change it, and every later print is the same document, to the byte."""
    me = await desk(app, resources, callers, name=unique_code("Đổi tên "))
    receive = RECEIVE.replace("lookupKey receiptSlipHtml", "lookupKey")  # no print at receipt
    dossier = (await me.gql(receive, {"online": False}))["data"]["receiveDossier"]["dossier"]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        agency = await session.get(Agency, (me.principal.province_id, me.principal.agency_id))
        province = await session.get(Province, me.principal.province_id)
        procedure = (
            await session.execute(select(ProcedureRecord).where(ProcedureRecord.code == PROC))
        ).scalar_one()
        before = (agency.name, province.name, procedure.name_vi)
        agency.name, province.name = "UBND xã Tên Mới", "Tỉnh Tên Mới"
        procedure.name_vi = "Thủ tục đã đổi tên"
    try:
        html = (await me.get(dossier["slips"][0]["htmlUrl"])).text
        pdf = (await me.get(f"/dossiers/{dossier['id']}/slips/01.pdf")).content
        assert pdf == (await me.get(f"/dossiers/{dossier['id']}/slips/01.pdf")).content
        assert (await me.get(dossier["slips"][0]["htmlUrl"])).text == html
    finally:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            procedure = (
                await session.execute(select(ProcedureRecord).where(ProcedureRecord.code == PROC))
            ).scalar_one()
            procedure.name_vi = before[2]
    for printed in (html, pdf_text(pdf)):
        for kept in before:
            assert kept in printed or kept.upper() in printed, kept
        assert "Tên Mới" not in printed and "TÊN MỚI" not in printed
        assert "đã đổi tên" not in printed


async def test_slips_of_another_agency_are_not_found(app, resources, callers):
    mine = await desk(app, resources, callers)
    theirs = await desk(app, resources, callers, "Khác")
    dossier = (await theirs.gql(RECEIVE, {"online": False}))["data"]["receiveDossier"]["dossier"]
    for number in (1, 6):
        for fmt in ("html", "pdf"):
            answer = await mine.get(f"/dossiers/{dossier['id']}/slips/{number:02d}.{fmt}")
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "NOT_FOUND"
            assert dossier["code"] not in answer.text
    assert (
        await mine.get(f"/dossiers/{dossier['id']}/slips/01.html", headers={})
    ).status_code == 401
    assert (await mine.get("/dossiers/not-an-id/slips/01.html")).status_code == 404


async def test_tracking_book_csv_and_xlsx(app, resources, callers):
    me = await desk(app, resources, callers)
    other = await desk(app, resources, callers, "Khác")
    await other.gql(RECEIVE, {"online": False})
    first = (await me.gql(RECEIVE, {"online": False}))["data"]["receiveDossier"]["dossier"]
    await me.move("assignDossier", first, ', assignee: "Lê Văn Bình"')
    tricky = RECEIVE.replace("Nguyễn Thị Hoa", "=HYPERLINK(1)")
    second = (await me.gql(tricky, {"online": False}))["data"]["receiveDossier"]["dossier"]
    agency = await me.agency(resources)
    gid = encode_id("Agency", agency.province_id, agency.id)
    today = dt.datetime.now(VN_TZ).date()
    period = f"from={today - dt.timedelta(days=1)}&to={today}"

    answer = await me.get(f"/agencies/{gid}/tracking-book.csv?{period}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:5] == [
        "STT",
        "Mã hồ sơ",
        "Tên thủ tục hành chính",
        "Số lượng hồ sơ (bộ)",
        "Tên cá nhân, tổ chức",
    ]
    assert len(rows[0]) == 13
    assert [r[1] for r in rows[1:]] == [
        first["code"],
        second["code"],
    ]  # only mine, in receipt order
    assert rows[1][4] == "Nguyễn Thị Hoa" and rows[1][5] == "Thôn Đông, xã Hòa Bình, 0912345678"
    assert (
        rows[1][6] == agency.name and rows[1][9] and not rows[1][11]
    )  # handed over, not returned yet
    assert rows[2][4] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert "001199012345" not in answer.text

    answer = await me.get(f"/agencies/{gid}/tracking-book.xlsx?{period}")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "SỔ THEO DÕI HỒ SƠ" in values[0][0] and values[2][1] == "Mã hồ sơ"
    assert [row[1] for row in values[3:]] == [first["code"], second["code"]]

    empty = await me.get(f"/agencies/{gid}/tracking-book.csv?from=2020-01-01&to=2020-01-31")
    assert len(list(csv.reader(io.StringIO(empty.content.decode("utf-8-sig"))))) == 1
    for bad in (
        "",
        "from=2026-01-01",
        "from=2026-02-01&to=2026-01-01",
        "from=2024-01-01&to=2026-01-01",
        "from=hôm-qua&to=2026-01-01",
    ):
        answer = await me.get(f"/agencies/{gid}/tracking-book.csv?{bad}")
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "BAD_INPUT", bad
    assert (await me.get(f"/agencies/{gid}/tracking-book.ods?{period}")).status_code == 400
    # Another agency's officer: 404, nothing of the book.
    answer = await other.get(f"/agencies/{gid}/tracking-book.csv?{period}")
    assert answer.status_code == 404 and first["code"] not in answer.text


@pytest.mark.only_backend("sqlite+memory")
async def test_cli_prints_a_slip(app, resources, database, callers, tmp_path):
    me = await desk(app, resources, callers)
    dossier = (await me.gql(RECEIVE, {"online": False}))["data"]["receiveDossier"]["dossier"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update(EISO_DATABASE_URL=database.app_url, EISO_LOG_JSON="false")
    result = await asyncio.to_thread(
        run, "dossiers", "slip", dossier["code"], "--number", "6", "--format", "pdf", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "PHIẾU KIỂM SOÁT" in pdf_text(result.stdout)
    result = await asyncio.to_thread(
        run, "dossiers", "slip", dossier["code"], "--number", "2", env=env
    )
    assert result.returncode == 1 and b"SLIP_NOT_AVAILABLE" in result.stderr
    result = await asyncio.to_thread(
        run, "dossiers", "slip", unique_code("X"), "--number", "1", env=env
    )
    assert result.returncode == 1 and b"NOT_FOUND" in result.stderr


def test_pdf_without_fonts_is_a_clear_error(tmp_path):
    from eiso.core.dossiers.slips.documents import Document
    from eiso.core.dossiers.slips.printing import render_pdf
    from eiso.core.errors import DomainError

    doc = Document("01", "GIẤY TIẾP NHẬN", "TỈNH", "Xã", "ngày", "A-1", "(Liên)", [])
    with pytest.raises(DomainError) as caught:
        render_pdf(doc, str(tmp_path))
    assert caught.value.code == "PDF_FONTS_MISSING" and "fonts-dejavu-core" in caught.value.message
    assert render_pdf(doc, "/usr/share/fonts/truetype/dejavu").startswith(b"%PDF")


def test_process_control_judges_each_step_on_the_working_calendar():
    """Slip 06's verdicts: a step over its budget is late, the paused time for a supplement is
    added to the budget, the return is judged against the appointment."""
    from eiso.core.dossiers.models import Dossier, DossierEventRow, ProcedureRecord
    from eiso.core.dossiers.slips import control
    from eiso.core.dossiers.slips.facts import Facts

    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(2026, 12, day, hour, minute, tzinfo=VN_TZ)

    budget = {"amount": 1, "unit": "working_days"}
    procedure = ProcedureRecord(
        code="1.x",
        name_vi="Thủ tục",
        name_en="P",
        sector="s",
        level="commune",
        time_limit_amount=3,
        time_limit_unit="working_days",
        module="m",
        steps=[
            {"code": "review", "name": {"vi": "Thẩm định", "en": "Review"}, "budget": budget},
            {"code": "sign", "name": {"vi": "Ký duyệt", "en": "Sign"}, "budget": budget},
        ],
    )
    dossier = Dossier(
        province_id=1,
        agency_id=1,
        code="X-1",
        lookup_hash="0",
        procedure_code="1.x",
        status=10,
        appointment_at=at(4, 17),
        assignee="Lê Văn Bình",
    )
    moves = [
        ("received", at(1, 9)),
        ("assigned", at(1, 9, 30)),
        ("step_completed", at(3, 10)),  # review: 1 working day from 1 Dec 09:30, done 3 Dec: late
        ("supplement_requested", at(3, 11)),
        ("supplement_received", at(7, 11)),
        # sign: from 3 Dec 10:00, 7.5 h of office time plus the 15 h paused: due 8 Dec 10:00
        ("processed", at(7, 16)),
        ("returned", at(9, 10)),
    ]  # the appointment (4 Dec) passed: late
    events = [
        DossierEventRow(
            province_id=1,
            agency_id=1,
            dossier_id=1,
            at=moment,
            actor="7",
            action=action,
            to_status=2,
        )
        for action, moment in moves
    ]
    facts = Facts(
        dossier=dossier,
        agency=None,
        province=None,
        procedure=procedure,
        events=events,
        calendar=WorkingCalendar(),
        names={"7": "Trần Văn Nam"},
        step_units={"sign": "Lãnh đạo UBND"},
        apology=None,
    )
    rows = control.trail(facts)
    assert [r.result for r in rows] == ["", "", "Quá hạn", "", "", "Trước hạn", "Quá hạn"]
    assert (rows[1].given_by, rows[1].taken_by) == ("Trần Văn Nam", "Lê Văn Bình")
    assert (
        rows[2].taken_by == "Lãnh đạo UBND (Ký duyệt)"
        and rows[5].unit == "Lãnh đạo UBND (Ký duyệt)"
    )
    assert control.step_due(facts, 1, at(3, 10), at(8, 9), [(at(3, 11), at(7, 11))]) == at(8, 10)
    assert (
        control.verdict(at(4, 17), at(4, 17)) == "Đúng hạn"
        and control.verdict(at(4, 9), at(4, 17)) == "Đúng hạn"
    )
    assert control.verdict(at(3, 16), at(4, 17)) == "Trước hạn"
