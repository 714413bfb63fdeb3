"""The ISO workspace's model set and process documents over plain HTTP (web/iso_models.py): the
province's model set and what the agency adopted (the secretary adopts an effective model from
the page), the generated process document of each adopted procedure (its state, its review flag,
its versions and their HTML and PDF). Another agency's process document is a 404, an officer is
offered no adoption, and every form needs its CSRF token."""

from __future__ import annotations

import re

from sqlmodel import col, select

from eiso.core.auth.principal import Principal, Role
from eiso.core.qms import model_qms, process_docs
from eiso.core.qms.documents import Document, DocumentVersion, VersionStatus
from eiso.tenants.models import AgencyKind, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency
from tests.conftest import unique_code
from tests.web.support import PROC, token_of
from tests.web.test_iso_conformity import as_user
from tests.web.test_iso_workspace import Office, office

PAGE = "/iso/quy-trinh"


async def install_models(resources, staff: Office, effective: str = "CSCL") -> None:
    """The province installs eiso's model set (its People's Committee owns it) and makes the
    model `effective` effective."""
    province_id = staff.agency.province_id
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, province_id)
        await ensure_agency(
            session, province, unique_code("UB"), "UBND tỉnh", AgencyKind.people_committee
        )
    admin = Principal(
        f"admin-{province_id}",
        TenantScope.province(province_id),
        frozenset({Role.province_admin}),
        province_id=province_id,
    )
    async with resources.session(TenantScope.province(province_id)) as session, session.begin():
        created = await model_qms.install(session, admin, province_id)
        for document, version in created:
            if document.code == effective:
                version.status = VersionStatus.effective
                session.add(version)


async def process_versions(resources, staff: Office) -> list[DocumentVersion]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(DocumentVersion)
            .join(Document, col(Document.id) == col(DocumentVersion.document_id))
            .where(
                col(Document.agency_id) == staff.agency.id,
                col(Document.code) == process_docs.document_code(PROC),
            )
        )
        return list(rows.scalars())


async def test_model_set_adopted_and_process_documents_shown(desk_web, resources):
    staff = await office(resources, "Xã Bộ Mẫu")
    await install_models(resources, staff)
    await as_user(desk_web, staff.secretary, PAGE)
    page = await desk_web.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Bộ tài liệu mẫu của tỉnh" in html and "CSCL" in html and "MTCL" in html
    assert html.count("Áp dụng</button>") == 1  # only the effective model is offered
    # The adopted procedure's process document, generated on adoption (a draft, not effective).
    assert f"thu-tuc/{PROC}" in html and f"QT-{PROC}" in html
    assert "Dự thảo" in html
    # The secretary adopts the effective policy: the register has its own draft of it.
    version = re.search(r'name="version" value="([^"]+)"', html)
    assert version
    adopted = await desk_web.post(
        f"{PAGE}/ap-dung", data={"csrf_token": token_of(html), "version": version.group(1)}
    )
    assert adopted.status_code == 303, adopted.text
    html = (await desk_web.get(PAGE)).text
    assert "Áp dụng</button>" not in html and "Đã áp dụng" in html
    register = (await desk_web.get("/iso/tai-lieu")).text
    assert "CSCL" in register
    # Adopting it again is refused with the API's message (the code is taken).
    again = await desk_web.post(
        f"{PAGE}/ap-dung", data={"csrf_token": token_of(html), "version": version.group(1)}
    )
    assert again.status_code in (409, 422) and 'role="alert"' in again.text

    # One procedure's page: its generated versions with HTML and PDF.
    detail = (await desk_web.get(f"{PAGE}/thu-tuc/{PROC}")).text
    files = re.findall(rf'href="({PAGE}/tep/[^"]+\.(?:html|pdf))"', detail)
    assert len(files) == 2, detail
    got = await desk_web.get(files[0])
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    assert f"QT-{PROC}" in got.text
    pdf = await desk_web.get(files[1])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Generating again leaves the unsubmitted draft refreshed in place, not stacked.
    generated = await desk_web.post(f"{PAGE}/tao", data={"csrf_token": token_of(detail)})
    assert generated.status_code == 303
    assert len(await process_versions(resources, staff)) == 1


async def test_an_officer_reads_but_is_offered_no_adoption(desk_web, resources):
    staff = await office(resources, "Xã Bộ Mẫu Cán Bộ")
    await install_models(resources, staff)
    await as_user(desk_web, staff.officer, PAGE)
    html = (await desk_web.get(PAGE)).text
    assert "CSCL" in html and "Áp dụng</button>" not in html and "/tao" not in html
    version = (await process_versions(resources, staff))[0]
    answer = await desk_web.post(f"{PAGE}/tao", data={"csrf_token": token_of(html)})
    assert answer.status_code == 403
    assert version.status == VersionStatus.draft


async def test_another_agencys_process_document_is_a_404(desk_web, resources):
    mine = await office(resources, "Xã Quy Trình Một")
    theirs = await office(resources, "Xã Quy Trình Hai")
    [version] = await process_versions(resources, theirs)
    from eiso.core.global_ids import encode_id

    vid = encode_id("DocumentVersion", version.province_id, version.id)
    await as_user(desk_web, mine.secretary, PAGE)
    for path in (f"{PAGE}/tep/{vid}.html", f"{PAGE}/tep/{vid}.pdf", f"{PAGE}/thu-tuc/NO-SUCH"):
        answer = await desk_web.get(path)
        assert answer.status_code == 404, path
    assert (await desk_web.get(f"{PAGE}/tep/{vid}.exe")).status_code == 404
    # Its owner reads it.
    await as_user(desk_web, theirs.secretary, PAGE)
    assert (await desk_web.get(f"{PAGE}/tep/{vid}.html")).status_code == 200


async def test_model_forms_without_their_csrf_token_are_refused(desk_web, resources):
    staff = await office(resources, "Xã Bộ Mẫu CSRF")
    await install_models(resources, staff)
    await as_user(desk_web, staff.secretary, PAGE)
    for move in ("ap-dung", "tao"):
        answer = await desk_web.post(f"{PAGE}/{move}", data={"version": "x"})
        assert answer.status_code == 403 and "Biểu mẫu đã hết hạn" in answer.text
