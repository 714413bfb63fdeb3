"""Attachments of an online dossier over plain HTTP (no browser): the citizen attaches files
to the procedure's components on the portal's form (multipart, CSRF), they go through the
file storage (infra/storage.py) and `dossier_attachments`; refusals (type by content, size,
count, component) say why in Vietnamese next to the input and store nothing; the officer of
the dossier's agency downloads them from the desk's dossier page, another agency's officer
gets 404 (the desk and `/dossiers/{id}/attachments/{id}` alike)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlmodel import col, func, select

from eiso.core.dossiers import attachments
from eiso.core.dossiers.models import Dossier, DossierAttachment
from eiso.tenants.scope import TenantScope
from tests.web.support import GOOD_FORM, PROC, keys_of, token_of
from tests.web.test_desk import dossier_link, sign_in

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + b"x" * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
TEXT = b"#!/bin/sh\necho not a pdf\n"


@pytest_asyncio.fixture
async def storage_dir(resources, tmp_path, monkeypatch) -> AsyncIterator[str]:
    """The file storage in a folder of this test's own (the settings are the session's)."""
    monkeypatch.setattr(resources.settings, "storage_dir", str(tmp_path))
    yield str(tmp_path)


def stored_files(root: str) -> list[str]:
    import pathlib

    return sorted(p.name for p in pathlib.Path(root).rglob("*") if p.is_file())


async def post_form(
    http: httpx.AsyncClient,
    where,
    files: list[tuple[str, tuple[str, bytes, str]]],
    form: dict[str, str] | None = None,
    csrf: bool = True,
) -> httpx.Response:
    page = await http.get(f"/tinh/{where.province_code}/thu-tuc/{PROC}")
    assert page.status_code == 200, page.text
    assert 'enctype="multipart/form-data"' in page.text
    agency = re.search(r'<option value="([^"]+)" selected>', page.text)
    assert agency
    body = {"agency": agency.group(1), **(form or GOOD_FORM)}
    if csrf:
        body["csrf_token"] = token_of(page.text)
    return await http.post(
        f"/tinh/{where.province_code}/thu-tuc/{PROC}", data=body, files=files or None
    )


async def counts(resources, where) -> tuple[int, int]:
    """(dossiers, attachments) of the place's agency."""
    scope = TenantScope.agencies([where.agency.id], [where.agency.province_id])
    async with resources.session(scope) as session:
        dossiers = (await session.execute(select(func.count()).select_from(Dossier))).scalar_one()
        files = (
            await session.execute(select(func.count()).select_from(DossierAttachment))
        ).scalar_one()
    return dossiers, files


async def test_form_offers_one_file_input_per_component(web, places):
    a, _ = places
    page = await web.get(f"/tinh/{a.province_code}/thu-tuc/{PROC}")
    assert 'type="file" id="attachment-tk" name="attachments.tk"' in page.text
    assert 'type="file" id="attachment-gcs" name="attachments.gcs"' in page.text
    assert "PDF, JPEG hoặc PNG" in page.text


async def test_citizen_attaches_and_the_officer_downloads(
    web, desk_web, desk_app, places, officers, storage_dir
):
    a, _ = places
    filed = await post_form(
        web,
        a,
        [
            ("attachments.gcs", ("giấy chứng sinh.pdf", PDF, "application/pdf")),
            ("attachments.tk", ("to-khai.png", PNG, "image/png")),
            ("attachments.tk", ("", b"", "application/octet-stream")),  # an input left empty
        ],
    )
    assert filed.status_code == 200, filed.text
    code, _ = keys_of(filed.text)
    assert "giấy chứng sinh.pdf" in filed.text and "to-khai.png" in filed.text
    assert stored_files(storage_dir) == sorted(hashlib.sha256(c).hexdigest() for c in (PDF, PNG))

    queue = await sign_in(desk_web, officers[0])
    link = dossier_link(queue, code)
    page = await desk_web.get(link)
    assert page.status_code == 200
    files = re.findall(
        r'<a href="(/ban-lam-viec/ho-so/[^"]+/tep/[^"]+)" download>([^<]+)<', page.text
    )
    assert [name for _, name in files] == ["giấy chứng sinh.pdf", "to-khai.png"]
    assert "Giấy chứng sinh" in page.text and "Tờ khai đăng ký khai sinh" in page.text
    got = await desk_web.get(files[0][0])
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "no-store"

    # Another agency's officer: the dossier, its file (through the desk or the API) are 404.
    transport = httpx.ASGITransport(app=desk_app, client=("198.18.250.2", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, officers[1])
        assert (await other.get(link)).status_code == 404
        refused = await other.get(files[0][0])
        assert refused.status_code == 404
        assert "giấy chứng sinh" not in refused.text and PDF not in refused.content


@pytest.mark.parametrize(
    ("files", "reason", "field", "message"),
    [
        (
            [("attachments.gcs", ("giay.pdf", TEXT, "application/pdf"))],
            "type",
            "attachments.gcs",
            "không phải tệp thuộc định dạng được chấp nhận",
        ),
        (  # the content is a PNG, the name says PDF
            [("attachments.gcs", ("giay.pdf", PNG, "application/pdf"))],
            "type",
            "attachments.gcs",
            "không phải tệp thuộc định dạng được chấp nhận",
        ),
        (
            [("attachments.khac", ("giay.pdf", PDF, "application/pdf"))],
            "component",
            "",
            "không phải thành phần hồ sơ của thủ tục này",
        ),
        (
            [("attachments.gcs", ("lon.pdf", PDF + b"y" * 4096, "application/pdf"))],
            "too_large",
            "attachments.gcs",
            "lớn hơn",
        ),
        (
            [
                ("attachments.tk", (f"{i}.pdf", PDF + bytes([i]), "application/pdf"))
                for i in range(3)
            ],
            "too_many",
            "",
            "chỉ được đính kèm tối đa 2 tệp",
        ),
    ],
)
async def test_refused_files_store_nothing(
    web, places, resources, storage_dir, monkeypatch, files, reason, field, message
):
    a, _ = places
    monkeypatch.setattr(resources.settings, "attachment_max_bytes", 2048)
    monkeypatch.setattr(resources.settings, "attachment_max_count", 2)
    before = await counts(resources, a)
    answer = await post_form(web, a, files)
    assert answer.status_code == 422, answer.text
    assert message in answer.text
    assert 'role="alert"' in answer.text
    if field:
        input_id = field.replace("attachments.", "attachment-")
        assert f'id="{input_id}"' in answer.text
        tag = re.search(rf'<input type="file" id="{input_id}"[^>]*>', answer.text)
        assert tag and 'aria-invalid="true"' in tag.group(0), answer.text
        assert f'id="{input_id}-error"' in answer.text
    assert GOOD_FORM["sector.child_name"] in answer.text  # what was typed is kept
    assert await counts(resources, a) == before
    assert stored_files(storage_dir) == []
    del reason


async def test_without_the_csrf_token_nothing_is_filed(web, places, resources, storage_dir):
    a, _ = places
    before = await counts(resources, a)
    answer = await post_form(
        web, a, [("attachments.gcs", ("giay.pdf", PDF, "application/pdf"))], csrf=False
    )
    assert answer.status_code == 403
    assert await counts(resources, a) == before
    assert stored_files(storage_dir) == []


async def test_a_body_over_the_limits_is_refused_before_reading(
    web, places, resources, storage_dir, monkeypatch
):
    a, _ = places
    monkeypatch.setattr(resources.settings, "attachment_max_bytes", 1024)
    monkeypatch.setattr(resources.settings, "attachment_max_count", 1)
    big = PDF + b"z" * (2 * 1024 * 1024)
    answer = await post_form(web, a, [("attachments.gcs", ("giay.pdf", big, "application/pdf"))])
    assert answer.status_code == 422
    assert "các tệp quá lớn" in answer.text
    assert stored_files(storage_dir) == []


async def test_a_transaction_that_does_not_commit_removes_its_files(
    places, resources, storage_dir, monkeypatch
):
    """The files are written just before the dossier commits: a failing commit removes them
    (a file some committed row already names is never written again, so never removed)."""
    from sqlalchemy.orm.session import SessionTransaction

    from eiso.core.dossiers import portal

    a, _ = places
    kept = PDF + b"kept"
    storage = attachments.storage_of(resources.settings)
    storage.put(kept)  # already there: not written by the failing filing, so not removed
    real_commit, real_store = SessionTransaction.commit, attachments.store
    written: list[str] = []

    def commit(self, *args, **kwargs):
        if written and self._parent is None and not self.nested:  # the filing's own
            raise RuntimeError("the database went away at commit")
        return real_commit(self, *args, **kwargs)

    def store(*args):
        written.extend(real_store(*args))
        return list(written)

    monkeypatch.setattr(SessionTransaction, "commit", commit)
    monkeypatch.setattr(attachments, "store", store)
    uploads = [
        attachments.Upload("gcs", "a.pdf", PDF),
        attachments.Upload("tk", "b.pdf", kept),
    ]
    with pytest.raises(RuntimeError):
        await portal.file_online(
            resources,
            province_id=a.agency.province_id,
            agency_id=a.agency.id,
            procedure_code=PROC,
            applicant={"full_name": "Nguyễn Văn A"},
            sector_data={},
            data_model=None,
            unique_fields=(),
            idempotency_key=None,
            uploads=uploads,
        )
    assert written == [hashlib.sha256(PDF).hexdigest()]  # written, then removed
    assert stored_files(storage_dir) == [hashlib.sha256(kept).hexdigest()]


def test_sniffing_reads_the_content_not_the_name():
    assert attachments.sniff(PDF) == "application/pdf"
    assert attachments.sniff(PNG) == "image/png"
    assert attachments.sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert attachments.sniff(TEXT) is None
    assert attachments.sniff(b"") is None


SUBMIT = """mutation($a: ID!, $p: String!, $files: [AttachmentInput!]) {
  submitOnlineDossier(agencyId: $a, procedureCode: $p, applicant: {fullName: "Nguyễn Văn A"},
    sectorData: {child_name: "B", birth_date: "2026-11-01", sex: "nam", weight_grams: 3000},
    attachments: $files) { code }
}"""
ATTACHED = """query($id: ID!) { dossier(id: $id) { attachments { id filename mediaType size sha256
  componentCode url } } }"""


async def test_the_api_lists_and_serves_them_to_the_agency_only(
    web, callers, places, resources, storage_dir
):
    """`submitOnlineDossier(attachments:)`, `Dossier.attachments` and the download route, with
    the other agency's officer refused (NOT_FOUND, 404) and bad base64 refused."""
    from eiso.core.auth.principal import Principal, Role
    from eiso.core.global_ids import encode_id

    a, b = places
    agency = encode_id("Agency", a.agency.province_id, a.agency.id)
    bad = await web.post(
        "/graphql",
        json={
            "query": SUBMIT,
            "variables": {
                "a": agency,
                "p": PROC,
                "files": [{"componentCode": "gcs", "filename": "x.pdf", "contentBase64": "%%"}],
            },
        },
    )
    error = bad.json()["errors"][0]["extensions"]
    assert (error["code"], error["reason"], error["field"]) == (
        "ATTACHMENT_REFUSED",
        "base64",
        "attachments.gcs",
    )
    files = [
        {
            "componentCode": "gcs",
            "filename": "a.pdf",
            "contentBase64": base64.b64encode(PDF).decode(),
        }
    ]
    made = await web.post(
        "/graphql", json={"query": SUBMIT, "variables": {"a": agency, "p": PROC, "files": files}}
    )
    code = made.json()["data"]["submitOnlineDossier"]["code"]
    scope = TenantScope.agencies([a.agency.id], [a.agency.province_id])
    async with resources.session(scope) as session:
        dossier = (
            await session.execute(select(Dossier).where(col(Dossier.code) == code))
        ).scalar_one()
    gid = encode_id("Dossier", dossier.province_id, dossier.id)

    def officer(place) -> Principal:
        return Principal(
            f"officer-{place.agency.code}",
            TenantScope.agencies([place.agency.id], [place.agency.province_id]),
            frozenset({Role.officer}),
            province_id=place.agency.province_id,
            agency_id=place.agency.id,
        )

    mine, theirs = callers.issue(officer(a)), callers.issue(officer(b))
    seen = await web.post(
        "/graphql", json={"query": ATTACHED, "variables": {"id": gid}}, headers=mine
    )
    [row] = seen.json()["data"]["dossier"]["attachments"]
    assert (row["filename"], row["mediaType"], row["size"], row["componentCode"]) == (
        "a.pdf",
        "application/pdf",
        len(PDF),
        "gcs",
    )
    assert row["sha256"] == hashlib.sha256(PDF).hexdigest()
    got = await web.get(row["url"], headers=mine)
    assert got.status_code == 200 and got.content == PDF
    hidden = await web.post(
        "/graphql", json={"query": ATTACHED, "variables": {"id": gid}}, headers=theirs
    )
    assert hidden.json()["data"]["dossier"] is None
    assert (await web.get(row["url"], headers=theirs)).status_code == 404
    # An attachment id of another dossier under this dossier's path: 404.
    wrong = row["url"].replace(gid, encode_id("Dossier", dossier.province_id, dossier.id + 1))
    assert (await web.get(wrong, headers=mine)).status_code == 404
