"""The model QMS of Decision 101/QĐ-BKHCN adopted in bulk, the ISO process documents generated
from adopted procedures (and regenerated when the procedure's rules change), and the conformity
announcement as a document (issue 20)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from sqlalchemy import func, select

from eiso.core import audit
from eiso.core.audit import AuditEntry
from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue
from eiso.core.global_ids import encode_id
from eiso.core.qms import process_docs
from eiso.core.qms.documents import Document, DocumentVersion
from eiso.core.qms.model_qms_data import TEMPLATES
from eiso.core.sdk import (
    LegalBasis,
    RuleChange,
    TimeLimit,
)
from eiso.tenants.models import AgencyKind, Province, TenantStatus
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency
from tests.conftest import unique_code
from tests.test_conformity import meet_prerequisites, today
from tests.test_dossier_engine import PROC
from tests.test_qms_loop import (
    adopt_in,
    codes,
    gql,
    legal_registry,
    make_agency,
    person,
    run_eiso,
)

ADOPT = (
    "mutation($ids: [ID!], $kind: AgencyKind, $codes: [String!]) { adoptModelQms(agencyIds: "
    "$ids, agencyKind: $kind, codes: $codes) { agencies created skipped documentIds } }"
)
VERSIONS = (
    "query($p: String!) { processDocumentVersions(procedureCode: $p) { versionId documentId "
    "number status htmlUrl pdfUrl } }"
)


def admin_of(province_id: int) -> Principal:
    return Principal(
        f"admin-{province_id}",
        TenantScope.province(province_id),
        frozenset({Role.province_admin}),
        province_id=province_id,
    )


def agency_id(agency) -> str:
    return encode_id("Agency", agency.province_id, agency.id)


async def agencies_in_one_province(resources, count: int):
    first = await make_agency(resources)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, first.province_id)
        more = [
            await ensure_agency(
                session, province, unique_code("A"), f"UBND xã Số {n}", AgencyKind.commune
            )
            for n in range(count - 1)
        ]
        ward = await ensure_agency(session, province, unique_code("W"), "UBND phường", "ward")
    return [first, *more], ward


async def documents_of(resources, agency) -> dict[str, str]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(Document.code, DocumentVersion.content)
            .join(DocumentVersion, DocumentVersion.document_id == Document.id)
            .where(Document.province_id == agency.province_id, Document.agency_id == agency.id)
        )
        return dict(rows.all())


async def test_model_qms_adopted_by_every_commune_at_once(resources, client, callers):
    agencies, ward = await agencies_in_one_province(resources, 4)
    admin = callers.issue(admin_of(agencies[0].province_id))
    body = await gql(client, admin, ADOPT, {"kind": "COMMUNE"})
    assert not body.get("errors"), body
    got = body["data"]["adoptModelQms"]
    assert (got["agencies"], got["created"], got["skipped"]) == (4, 4 * len(TEMPLATES), 0)
    for agency in agencies:
        docs = await documents_of(resources, agency)
        assert {t.code for t in TEMPLATES} <= set(docs)
        assert agency.name in docs["CSCL"] and "{agency}" not in docs["CSCL"]
    assert not {t.code for t in TEMPLATES} & set(await documents_of(resources, ward))
    # Again, with the ward named: the communes' documents are left alone, the ward gets its own.
    ids = [agency_id(a) for a in agencies] + [agency_id(ward)]
    again = (await gql(client, admin, ADOPT, {"ids": ids, "codes": ["CSCL", "QT-TL"]}))["data"]
    assert again["adoptModelQms"] == {
        "agencies": 5,
        "created": 2,
        "skipped": 8,
        "documentIds": again["adoptModelQms"]["documentIds"],
    }
    # Each created document has its "document.create" entry in its agency's audit chain, and
    # the chains the bulk insert appended to are whole.
    async with resources.session(TenantScope.nation()) as session:
        entries = await session.execute(
            select(AuditEntry.agency_id, AuditEntry.entity_id).where(
                AuditEntry.province_id == ward.province_id,
                AuditEntry.action == "document.create",
                AuditEntry.entity_type == "documents",
            )
        )
        logged = {(a, int(e)) for a, e in entries.all()}
        adopted = await session.execute(
            select(Document.agency_id, Document.id).where(Document.province_id == ward.province_id)
        )
        assert set(adopted.all()) <= logged
        for agency in [*agencies, ward]:
            assert await audit.verify(session, agency.id) == []
    # Each adopted document is a draft of the agency's register: its leader approves it.
    leader = callers.issue(person(ward, Role.leader, Role.iso_secretary))
    listed = await gql(
        client, leader, "{ documents(first: 10) { edges { node { code versions { status } } } } }"
    )
    statuses = {
        e["node"]["code"]: e["node"]["versions"][0]["status"]
        for e in listed["data"]["documents"]["edges"]
    }
    assert statuses["CSCL"] == statuses["QT-TL"] == "DRAFT"


async def test_bulk_adoption_is_all_or_nothing_with_clear_errors(resources, client, callers):
    agencies, _ = await agencies_in_one_province(resources, 2)
    stranger = await make_agency(resources)  # another province
    admin = callers.issue(admin_of(agencies[0].province_id))
    ids = [agency_id(agencies[0]), agency_id(stranger), agency_id(agencies[1])]
    body = await gql(client, admin, ADOPT, {"ids": ids})
    assert codes(body) == ["AGENCY_NOT_FOUND"]
    assert body["errors"][0]["extensions"]["field"] == "agencyIds[1]"
    assert body["errors"][0]["extensions"]["message_vi"]
    for variables, field in (
        ({}, "agencyIds"),
        ({"ids": []}, "agencyIds"),
        ({"ids": ids[:1], "kind": "COMMUNE"}, "agencyIds"),
        ({"kind": "DEPARTMENT"}, "agencyKind"),
        ({"ids": ids[:1], "codes": ["CSCL", "NOPE"]}, "codes[1]"),
    ):
        body = await gql(client, admin, ADOPT, variables)
        assert codes(body) == ["BAD_INPUT"], (variables, body)
        assert body["errors"][0]["extensions"]["field"] == field
    # Nothing changed anywhere.
    assert "CSCL" not in await documents_of(resources, agencies[0])
    # Only the province's administrators adopt in bulk; another province's admin sees nothing.
    keeper = callers.issue(person(agencies[0], Role.leader, Role.iso_secretary))
    assert codes(await gql(client, keeper, ADOPT, {"kind": "COMMUNE"})) == ["FORBIDDEN"]
    other = callers.issue(admin_of(stranger.province_id))
    body = await gql(client, other, ADOPT, {"ids": ids[:1]})
    assert codes(body) == ["AGENCY_NOT_FOUND"]


async def test_province_model_text_is_what_agencies_adopt(resources, client, callers):
    agencies, _ = await agencies_in_one_province(resources, 1)
    agency = agencies[0]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, agency.province_id)
        committee = await ensure_agency(
            session, province, unique_code("UB"), "UBND tỉnh", AgencyKind.people_committee
        )
    admin = callers.issue(admin_of(agency.province_id))
    installed = await gql(client, admin, "mutation { installModelQms }")
    assert installed["data"]["installModelQms"] == [t.code for t in TEMPLATES]
    assert (await gql(client, admin, "mutation { installModelQms }"))["data"] == {
        "installModelQms": []
    }
    # The province adapts its policy and makes it effective (its leader approves).
    async with resources.session(TenantScope.nation()) as session:
        version = (
            await session.execute(
                select(DocumentVersion)
                .join(Document, Document.id == DocumentVersion.document_id)
                .where(Document.agency_id == committee.id, Document.code == "CSCL")
            )
        ).scalar_one()
    leader = callers.issue(person(committee, Role.leader))
    adapted = await gql(
        client,
        leader,
        "mutation($id: ID!) { createDocumentVersion(documentId: $id, "
        'content: "Chính sách của tỉnh cho {agency}") { id } }',
        {"id": encode_id("Document", version.province_id, version.document_id)},
    )
    vid = adapted["data"]["createDocumentVersion"]["id"]
    for move in ("submitDocumentVersion", "approveDocumentVersion", "makeDocumentVersionEffective"):
        await gql(
            client, leader, f"mutation($id: ID!) {{ {move}(id: $id) {{ status }} }}", {"id": vid}
        )
    body = await gql(client, admin, ADOPT, {"ids": [agency_id(agency)], "codes": ["CSCL"]})
    assert body["data"]["adoptModelQms"]["created"] == 1
    docs = await documents_of(resources, agency)
    assert docs["CSCL"] == f"Chính sách của tỉnh cho {agency.name}"
    async with resources.session(TenantScope.nation()) as session:
        adopted = (
            await session.execute(
                select(Document).where(Document.agency_id == agency.id, Document.code == "CSCL")
            )
        ).scalar_one()
    assert adopted.model_version_id is not None  # linked: the province sees who adopted it


async def _regenerate_with(
    resources, code: str, reference: str, revisions: tuple[RuleChange, ...] = ()
) -> None:
    registry = legal_registry({code: LegalBasis(reference=reference)}, revisions)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry)


async def test_process_document_generated_and_regenerated_on_rule_change(
    resources, client, callers
):
    agency = await make_agency(resources)
    code, reference = unique_code("9."), unique_code("LB") + "/2026/NĐ-CP"
    await _regenerate_with(resources, code, reference)
    await adopt_in(resources, agency, code)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary))
    versions = (await gql(client, keeper, VERSIONS, {"p": code}))["data"]["processDocumentVersions"]
    assert [(v["number"], v["status"]) for v in versions] == [(1, "DRAFT")]
    first = versions[0]
    html = await client.get(first["htmlUrl"], headers=keeper)
    assert html.status_code == 200 and "<svg" in html.text
    assert "Thẩm định" in html.text and reference in html.text and "3 ngày làm việc" in html.text
    pdf = await client.get(first["pdfUrl"], headers=keeper)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # A sync that changes nothing writes nothing.
    await _regenerate_with(resources, code, reference)
    assert (
        len((await gql(client, keeper, VERSIONS, {"p": code}))["data"]["processDocumentVersions"])
        == 1
    )
    # The version is submitted and approved; then the procedure's rules change (a successor
    # legal basis with a longer limit): a new DRAFT version says so, the approved one stays.
    for move in ("submitDocumentVersion", "approveDocumentVersion", "makeDocumentVersionEffective"):
        await gql(
            client,
            keeper,
            f"mutation($id: ID!) {{ {move}(id: $id) {{ status }} }}",
            {"id": first["versionId"]},
        )
    change = RuleChange(
        effective_from=dt.date(2027, 1, 1),
        legal_basis=(LegalBasis(reference="99/2026/NĐ-CP"),),
        time_limit=TimeLimit(amount=5),
    )
    await _regenerate_with(resources, code, reference, (change,))
    versions = (await gql(client, keeper, VERSIONS, {"p": code}))["data"]["processDocumentVersions"]
    assert [(v["number"], v["status"]) for v in versions] == [(2, "DRAFT"), (1, "EFFECTIVE")]
    assert versions[0]["documentId"] == first["documentId"]
    html = await client.get(versions[0]["htmlUrl"], headers=keeper)
    assert "99/2026/NĐ-CP" in html.text and "5 ngày làm việc" in html.text
    # The old version still prints as it was.
    old = await client.get(first["htmlUrl"], headers=keeper)
    assert "99/2026/NĐ-CP" not in old.text


async def test_process_documents_isolation_and_backfill(resources, client, callers):
    agency = await make_agency(resources)
    other = await make_agency(resources)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary))
    versions = (await gql(client, keeper, VERSIONS, {"p": PROC}))["data"]["processDocumentVersions"]
    assert versions and versions[0]["number"] == 1
    stranger = callers.issue(person(other, Role.leader, Role.iso_secretary))
    for fmt in ("htmlUrl", "pdfUrl"):
        response = await client.get(versions[0][fmt], headers=stranger)
        assert response.status_code == 404
        assert response.json()["error"]["message_vi"]
    assert (await client.get(versions[0]["htmlUrl"])).status_code == 401
    bad = await client.get(versions[0]["htmlUrl"].replace(".html", ".docx"), headers=keeper)
    assert bad.status_code == 400
    # A hand-written document's version is no process document.
    made = await gql(
        client,
        keeper,
        'mutation { createDocument(kind: FORM, code: "BM-01", title: "Biểu mẫu") '
        "{ versions { id } } }",
    )
    plain = made["data"]["createDocument"]["versions"][0]["id"]
    response = await client.get(f"/process-documents/{plain}.html", headers=keeper)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_A_PROCESS_DOCUMENT"
    # The backfill writes nothing when every document is up to date.
    body = await gql(client, keeper, "mutation { generateProcessDocuments }")
    assert body["data"]["generateProcessDocuments"] == 0
    officer = callers.issue(person(agency, Role.officer))
    assert codes(await gql(client, officer, "mutation { generateProcessDocuments }")) == [
        "FORBIDDEN"
    ]


async def test_flow_chart_escapes_text():
    spec = {
        "title": "Quy trình <b>",
        "time_limit": "3 ngày làm việc",
        "steps": [
            {
                "number": 1,
                "name": "Nhận <script>",
                "who": "Lãnh đạo",
                "unit": "",
                "budget": "1 ngày",
            }
        ],
    }
    svg = process_docs.flow_svg(spec)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 3


async def test_conformity_announcement_form_and_public_list(resources, client, callers):
    agency = await make_agency(resources)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary, Role.auditor))
    async with resources.session(TenantScope.nation()) as session:
        province = await session.get(Province, agency.province_id)
    listed = (
        "query($p: String!) { publicConformity(provinceCode: $p) { agencyName status statusVi "
        "decisionNumber htmlUrl procedures { code name } } }"
    )
    before = (await gql(client, {}, listed, {"p": province.code}))["data"]["publicConformity"]
    assert [(a["status"], a["htmlUrl"]) for a in before] == [("not_started", None)]
    url = f"/conformity-announcements/{agency_id(agency)}.html"
    assert (await client.get(url)).status_code == 404
    await gql(
        client, keeper, 'mutation { startConformityBuilding(since: "2026-01-05") { status } }'
    )
    await meet_prerequisites(client, keeper, [PROC])
    body = await gql(
        client,
        keeper,
        'mutation($d: Date!) { announceConformity(decisionNumber: "15/QĐ-UBND", '
        "announcedOn: $d) { status } }",
        {"d": today().isoformat()},
    )
    assert not body.get("errors"), body
    after = (await gql(client, {}, listed, {"p": province.code}))["data"]["publicConformity"]
    assert after[0]["decisionNumber"] == "15/QĐ-UBND" and after[0]["statusVi"] == "Đã công bố"
    assert after[0]["procedures"][0]["code"] == PROC
    page = await client.get(url)
    assert page.status_code == 200
    assert (
        "15/QĐ-UBND" in page.text and "TCVN ISO 9001:2015" in page.text and "Điều 1." in page.text
    )
    assert PROC in page.text
    pdf = await client.get(url.replace(".html", ".pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    missing = await gql(client, {}, listed, {"p": "NO-SUCH"})
    assert codes(missing) == ["NOT_FOUND"]


async def test_generation_keeps_one_source_row_per_version(resources):
    agency = await make_agency(resources)
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(func.count())
            .select_from(process_docs.ProcessDocumentSource)
            .where(process_docs.ProcessDocumentSource.agency_id == agency.id)
        )
        assert rows.scalar() == 1


async def test_cli_adopts_from_a_file_naming_the_bad_line(resources, database, tmp_path):
    agencies, _ = await agencies_in_one_province(resources, 2)
    async with resources.session(TenantScope.nation()) as session:
        province = await session.get(Province, agencies[0].province_id)
    listing = tmp_path / "agencies.txt"
    listing.write_text(f"# xã\n{agencies[0].code}\nNO-SUCH\n{agencies[1].code}\n")
    args = ("qms", "adopt-model", "--province", province.code, "--agencies-file", str(listing))
    bad = await asyncio.to_thread(run_eiso, database, *args)
    assert bad.returncode == 1
    assert f"{listing}:3: no agency 'NO-SUCH'" in bad.stderr
    assert "CSCL" not in await documents_of(resources, agencies[0])  # nothing changed
    listing.write_text(f"{agencies[0].code}\n{agencies[1].code}\n")
    good = await asyncio.to_thread(run_eiso, database, *args, "--codes", "CSCL,MTCL")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["created"] == 4
    again = await asyncio.to_thread(run_eiso, database, *args, "--codes", "CSCL,NOPE")
    assert again.returncode == 1 and "codes[1]" in again.stderr
    # An agency that is no longer active (merged) is named by its line too.
    async with resources.session(TenantScope.nation()) as session, session.begin():
        home = await session.get(Province, agencies[0].province_id)
        gone = await ensure_agency(
            session, home, unique_code("M"), "UBND xã cũ", AgencyKind.commune
        )
        gone.status = TenantStatus.merged
        session.add(gone)
    listing.write_text(f"{agencies[0].code}\n\n{gone.code}\n")
    merged = await asyncio.to_thread(run_eiso, database, *args)
    assert merged.returncode == 1
    assert f"{listing}:3: agency {gone.code!r}: not an active agency" in merged.stderr
