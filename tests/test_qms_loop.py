"""The improvement loop end to end: nonconformities the dossier engine raises by itself
(overdue, stopped after acceptance, a second supplement; one per dossier and cause; the sweep
command), legal changes that flag procedures and documents and send the agency back to
"to be re-announced", the conformity announcement of an agency and of a province, the
management review with its compiled inputs and tracked actions, and the remaining document and
risk mutations with their refusals."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import pathlib
import subprocess

import pytest
from sqlalchemy import select

from eiso.core.audit import AuditEntry
from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue, engine
from eiso.core.dossiers.statuses import Status
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.qms import dossier_ncs
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.sdk import (
    LegalBasis,
    LocalizedText,
    ModuleInfo,
    Procedure,
    RuleChange,
    TimeLimit,
    hookimpl,
)
from eiso.tenants.models import AgencyKind, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_dossier_engine import (
    APPLICANT,
    CAL,
    DATA,
    PROC,
    REGISTRY,
    Birth,
    _step,
    act,
    enable_test_module,
    scope,
)
from tests.test_qms_documents import audit_count

EISO = str(pathlib.Path(__file__).resolve().parents[1] / ".venv" / "bin" / "eiso")
PAST = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)  # before "now": its appointment has passed
FUTURE = dt.datetime(2030, 12, 2, 2, 0, tzinfo=dt.UTC)  # a Monday morning in Hà Nội: not overdue


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def make_agency(resources, kind=AgencyKind.commune, province=None):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = province or await ensure_province(session, unique_code("P"), "Tỉnh Cải Tiến")
        made = await ensure_agency(session, province, unique_code("A"), "UBND xã Cải Tiến", kind)
        await enable_test_module(session, province.id)
    async with resources.session(scope(made)) as session, session.begin():
        await catalogue.adopt(
            session,
            province_id=made.province_id,
            agency_id=made.id,
            procedure_code=PROC,
            actor="leader-1",
        )
    return made


def person(agency, *roles: Role) -> Principal:
    return Principal(
        f"{roles[0].value}-{agency.code}",
        scope(agency),
        frozenset(roles),
        province_id=agency.province_id,
        agency_id=agency.id,
    )


async def receive(resources, agency, now, **extra):
    async with resources.session(scope(agency)) as session, session.begin():
        received = await engine.receive(
            session,
            agency=agency,
            procedure_code=PROC,
            applicant=APPLICANT,
            sector_data=DATA,
            actor="officer-1",
            calendar=CAL,
            data_model=Birth,
            now=now,
            **extra,
        )
    return received.dossier


async def dossier_ncs_of(resources, agency, code=None) -> list[Nonconformity]:
    async with resources.session(scope(agency)) as session:
        where = [Nonconformity.agency_id == agency.id] + (
            [Nonconformity.source_ref == code] if code else []
        )
        return list(
            (
                await session.execute(
                    select(Nonconformity).where(*where).order_by(Nonconformity.raised_at)
                )
            ).scalars()
        )


# --- 1. nonconformities from dossiers -----------------------------------------------------------


async def test_overdue_dossier_raises_one_nonconformity(resources):
    agency = await make_agency(resources)
    dossier = await receive(resources, agency, PAST)
    # A move on the overdue dossier goes through (issue 17) and opens its nonconformity.
    moved = await act(resources, agency, dossier, engine.assign, assignee="chuyen-vien-2")
    assert moved.status == Status.in_progress and moved.was_late
    [nc] = await dossier_ncs_of(resources, agency, dossier.code)
    assert (nc.source, nc.cause, nc.procedure_code, nc.status) == (
        "dossier",
        "overdue",
        PROC,
        "open",
    )
    assert nc.step.startswith("review") and nc.officer == "chuyen-vien-2"
    # The apology slip finds the overdue one already there; recorded after the deadline, it is
    # late and opens its own.
    await act(
        resources,
        agency,
        moved,
        engine.record_apology,
        reason="Chờ xác minh",
        new_appointment=CAL.add_working_days(dt.datetime.now(dt.UTC), 3),
        calendar=CAL,
    )
    causes = [nc.cause for nc in await dossier_ncs_of(resources, agency, dossier.code)]
    assert causes == ["overdue", "late_apology"]


async def test_apology_raises_the_overdue_nonconformity_in_its_own_transaction(resources):
    agency = await make_agency(resources)
    dossier = await receive(resources, agency, PAST)
    await act(
        resources,
        agency,
        dossier,
        engine.record_apology,
        reason="Chờ xác minh",
        new_appointment=CAL.add_working_days(dt.datetime.now(dt.UTC), 3),
        calendar=CAL,
    )
    ncs = await dossier_ncs_of(resources, agency, dossier.code)
    assert [nc.cause for nc in ncs] == ["overdue", "late_apology"]
    async with resources.session(scope(agency)) as session:
        actions = list(
            (
                await session.execute(
                    select(AuditEntry.action)
                    .where(AuditEntry.agency_id == agency.id)
                    .order_by(AuditEntry.seq)
                )
            ).scalars()
        )
    assert actions[-3:] == ["dossier.apology", "nonconformity.raise", "nonconformity.raise"]


async def test_stopped_after_acceptance_names_step_and_officer(resources):
    agency = await make_agency(resources)
    dossier = await receive(resources, agency, FUTURE)
    dossier = await act(resources, agency, dossier, engine.assign, assignee="chuyen-vien-2")
    dossier = await act(resources, agency, dossier, engine.complete_step)
    await act(resources, agency, dossier, engine.stop, reason="Hồ sơ không đủ điều kiện")
    [nc] = await dossier_ncs_of(resources, agency, dossier.code)
    assert (nc.cause, nc.officer) == ("refused_after_acceptance", "chuyen-vien-2")
    assert nc.step.startswith("sign")


async def test_refusal_before_acceptance_and_withdrawal_raise_nothing(resources):
    agency = await make_agency(resources)
    online = await receive(resources, agency, FUTURE, online=True)
    await act(resources, agency, online, engine.refuse, reason="Thiếu giấy tờ")
    withdrawn = await receive(resources, agency, FUTURE)
    await act(resources, agency, withdrawn, engine.withdraw, reason="Công dân rút hồ sơ")
    assert await dossier_ncs_of(resources, agency) == []


async def test_second_supplement_is_refused_but_its_nonconformity_survives(resources):
    agency = await make_agency(resources)
    dossier = await receive(resources, agency, FUTURE)
    dossier = await act(resources, agency, dossier, engine.assign, assignee="chuyen-vien-3")
    dossier = await act(
        resources, agency, dossier, engine.request_supplement, reason="Thiếu bản sao"
    )
    dossier = await act(resources, agency, dossier, engine.supplement_received, calendar=CAL)
    for _ in range(2):  # twice: still one nonconformity
        with pytest.raises(Exception) as refused:
            await act(resources, agency, dossier, engine.request_supplement, reason="Lần hai")
        assert refused.value.code == "SUPPLEMENT_ALREADY_USED"
    [nc] = await dossier_ncs_of(resources, agency, dossier.code)
    assert (nc.cause, nc.officer) == ("second_supplement", "chuyen-vien-3")


async def test_sweep_raises_once_for_untouched_overdue_dossiers(resources, database):
    agency = await make_agency(resources)
    late = await receive(resources, agency, PAST)
    on_time = await receive(resources, agency, FUTURE)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        first = await dossier_ncs.sweep_overdue(session)
    assert first["raised"] >= 1
    assert [nc.cause for nc in await dossier_ncs_of(resources, agency, late.code)] == ["overdue"]
    assert await dossier_ncs_of(resources, agency, on_time.code) == []
    # The command does the same, and a second run finds nothing new.
    result = await asyncio.to_thread(run_eiso, database, "qms", "sweep-overdue")
    assert result.returncode == 0, result.stderr
    assert '"raised": 0' in result.stdout
    assert len(await dossier_ncs_of(resources, agency, late.code)) == 1


async def test_the_app_opens_dossier_nonconformities(resources, client, callers):
    """Through the app (GraphQL, the dossier service, the engine): the QMS hears the engine in
    the app's process. A stop after acceptance and a move on an overdue dossier (not refused
    since issue 17) each open their nonconformity."""
    agency = await make_agency(resources)
    headers = callers.issue(person(agency, Role.officer))
    stopped, late = await receive(resources, agency, FUTURE), await receive(resources, agency, PAST)
    page = "{ dossiers(first: 10) { edges { node { id code version } } } }"
    listing = await gql(client, headers, page)
    nodes = {e["node"]["code"]: e["node"] for e in listing["data"]["dossiers"]["edges"]}
    move = "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v, %s) { version } }"
    body = await gql(
        client,
        headers,
        move % ("stopDossier", 'reason: "Hồ sơ không đủ điều kiện"'),
        {"id": nodes[stopped.code]["id"], "v": nodes[stopped.code]["version"]},
    )
    assert "errors" not in body, body
    body = await gql(
        client,
        headers,
        move % ("assignDossier", 'assignee: "chuyen-vien-2"'),
        {"id": nodes[late.code]["id"], "v": nodes[late.code]["version"]},
    )
    assert "errors" not in body, body
    assert [nc.cause for nc in await dossier_ncs_of(resources, agency, stopped.code)] == [
        "refused_after_acceptance"
    ]
    assert [nc.cause for nc in await dossier_ncs_of(resources, agency, late.code)] == ["overdue"]


# --- 2. nonconformity sources and closure ------------------------------------------------------


async def test_nonconformity_sources_and_closure_through_graphql(resources, client, callers):
    agency = await make_agency(resources)
    headers = callers.issue(person(agency, Role.iso_secretary, Role.leader))
    raise_nc = (
        'mutation($r: String) { raiseNonconformity(title: "Khiếu nại", source: COMPLAINT, '
        "sourceRef: $r) { id source sourceRef status } }"
    )
    body = (
        await client.post(
            "/graphql", json={"query": raise_nc, "variables": {"r": None}}, headers=headers
        )
    ).json()
    assert codes(body) == ["BAD_INPUT"] and body["errors"][0]["extensions"]["field"] == "sourceRef"
    body = (
        await client.post(
            "/graphql", json={"query": raise_nc, "variables": {"r": "KN-2026/17"}}, headers=headers
        )
    ).json()
    nc = body["data"]["raiseNonconformity"]
    assert (nc["source"], nc["sourceRef"]) == ("COMPLAINT", "KN-2026/17")
    close = "mutation($id: ID!) { closeNonconformity(id: $id) { status } }"
    body = (
        await client.post(
            "/graphql", json={"query": close, "variables": {"id": nc["id"]}}, headers=headers
        )
    ).json()
    assert codes(body) == ["EFFECTIVENESS_CHECK_REQUIRED"]
    body = (
        await client.post(
            "/graphql",
            json={
                "query": 'mutation { raiseNonconformity(title: "x", source: MANUAL) '
                "{ cause sourceRef } }"
            },
            headers=headers,
        )
    ).json()
    assert body["data"]["raiseNonconformity"] == {"cause": None, "sourceRef": None}


# --- 3 and 5. legal change, review flags, conformity -------------------------------------------


def legal_registry(
    bases: dict[str, LegalBasis], revisions: tuple[RuleChange, ...] = ()
) -> PluginRegistry:
    """One module whose procedures (code → its one legal basis, and the rule changes to come)
    are given."""

    class LegalProc:
        @hookimpl
        def eiso_module(self):
            return ModuleInfo(
                name="legal_proc",
                title=LocalizedText(vi="Thử pháp lý", en="Legal test"),
                version="1.0",
                sector="thu",
            )

        @hookimpl
        def eiso_procedures(self):
            return [
                Procedure(
                    code=code,
                    name=LocalizedText(vi="Thủ tục thử", en="Test procedure"),
                    sector="thu",
                    time_limit=TimeLimit(amount=3),
                    result=LocalizedText(vi="Kết quả", en="Result"),
                    steps=(_step("review", "Thẩm định"),),
                    legal_basis=(basis,),
                    revisions=revisions,
                )
                for code, basis in bases.items()
            ]

    return PluginRegistry.load(None, [PluginSource.of("legal_proc", LegalProc())])


def _registry(code: str, reference: str, title: str) -> PluginRegistry:
    return legal_registry({code: LegalBasis(reference=reference, title=title)})


async def adopt_in(resources, agency, *codes: str) -> None:
    """The agency adopts the procedures (one transaction, the agency's scope)."""
    async with resources.session(scope(agency)) as session, session.begin():
        for code in codes:
            await catalogue.adopt(
                session,
                province_id=agency.province_id,
                agency_id=agency.id,
                procedure_code=code,
                actor="leader-1",
            )


def run_eiso(database, *args: str) -> subprocess.CompletedProcess[str]:
    """The `eiso` command against the test database (run it in a thread)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update({"EISO_DATABASE_URL": database.app_url, "EISO_LOG_JSON": "false"})
    return subprocess.run(
        [EISO, *args], check=False, env=env, capture_output=True, text=True, timeout=120
    )


async def record_legal_change(client, callers, reference: str) -> dict:
    """The national administrator records a new version of the legal basis `reference`."""
    nation = callers.issue(
        Principal("national", TenantScope.nation(), frozenset({Role.national_admin}))
    )
    return await gql(
        client,
        nation,
        'mutation($r: String!) { recordLegalChange(reference: $r, title: "Sửa đổi", '
        'validFrom: "2026-12-01") { flagged version { version source } } }',
        {"r": reference},
    )


async def gql(client, headers, query, variables=None):
    return (
        await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    ).json()


async def test_legal_change_flags_and_requires_reannouncement(resources, client, callers):
    code, reference = unique_code("9."), unique_code("LB") + "/2026/NĐ-CP"
    agency = await make_agency(resources)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, _registry(code, reference, "Nghị định gốc"))
    await adopt_in(resources, agency, code)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary))
    doc = await gql(
        client,
        keeper,
        'mutation($r: String) { createDocument(kind: PROCEDURE, code: "QT-01", '
        'title: "Quy trình", legalReference: $r) { id legalReference } }',
        {"r": reference},
    )
    doc_id = doc["data"]["createDocument"]["id"]
    body = await gql(
        client,
        keeper,
        'mutation { announceConformity(decisionNumber: "12/QĐ-UBND", '
        'announcedOn: "2026-06-01") { status } }',
    )
    assert codes(body) == ["INVALID_TRANSITION"]  # not building yet
    await gql(
        client, keeper, 'mutation { startConformityBuilding(since: "2026-01-05") { status } }'
    )
    from tests.test_conformity import (  # it imports this module
        meet_prerequisites,
        process_documents_effective,
        today,
    )

    staff = callers.issue(person(agency, Role.leader, Role.iso_secretary, Role.auditor))
    await meet_prerequisites(client, staff, [code])
    # PROC, adopted outside the scope (make_agency), needs its process document effective too.
    await process_documents_effective(client, staff, [PROC])
    on = today().isoformat()
    body = await gql(
        client,
        keeper,
        'mutation($d: Date!) { announceConformity(decisionNumber: "12/QĐ-UBND", '
        "announcedOn: $d) { status decisionNumber announcedOn } }",
        {"d": on},
    )
    assert body["data"]["announceConformity"] == {
        "status": "ANNOUNCED",
        "decisionNumber": "12/QĐ-UBND",
        "announcedOn": on,
    }

    body = await record_legal_change(client, callers, reference)
    # The procedure, the document, and the procedure's generated ISO process document
    # (core/qms/process_docs.py), which rests on the same basis.
    assert body["data"]["recordLegalChange"] == {
        "flagged": 3,
        "version": {"version": 2, "source": "NATIONAL_ADMIN"},
    }
    assert (await gql(client, keeper, "{ conformity { status reannounceReason } }"))["data"][
        "conformity"
    ] == {"status": "TO_BE_REANNOUNCED", "reannounceReason": f"{reference} v2"}
    flags = await gql(
        client, keeper, "{ reviewFlags(first: 10) { totalCount edges { node { kind subject } } } }"
    )
    found = sorted(
        (e["node"]["kind"], e["node"]["subject"]) for e in flags["data"]["reviewFlags"]["edges"]
    )
    [process_doc] = [s for k, s in found if k == "DOCUMENT" and s != doc_id]
    assert [f for f in found if f[1] != process_doc] == [("DOCUMENT", doc_id), ("PROCEDURE", code)]
    announce = (
        'mutation($d: Date!) { announceConformity(decisionNumber: "30/QĐ-UBND", announcedOn: $d) '
        "{ status } }"
    )
    assert codes(await gql(client, keeper, announce, {"d": on})) == ["REVIEW_PENDING"]
    await gql(
        client,
        keeper,
        'mutation($c: String!) { reviewProcedure(procedureCode: $c, note: "Đã cập nhật") '
        "{ reviewedAt } }",
        {"c": code},
    )
    body = await gql(
        client,
        keeper,
        "mutation($id: ID!) { reviewDocument(id: $id) { reviewedBy } }",
        {"id": doc_id},
    )
    assert body["data"]["reviewDocument"][0]["reviewedBy"].startswith("leader-")
    await gql(
        client, keeper, "mutation($id: ID!) { reviewDocument(id: $id) { id } }", {"id": process_doc}
    )
    assert codes(
        await gql(
            client, keeper, "mutation($id: ID!) { reviewDocument(id: $id) { id } }", {"id": doc_id}
        )
    ) == ["NO_REVIEW_PENDING"]
    assert (await gql(client, keeper, announce, {"d": on}))["data"]["announceConformity"][
        "status"
    ] == "ANNOUNCED"

    # A module update that changes the legal basis does the same at catalogue sync.
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(
            session, _registry(code, reference, "Nghị định sửa đổi lần 2")
        )
    versions = await gql(
        client,
        keeper,
        "query($r: String!) { legalBasisVersions(reference: $r) { version source } }",
        {"r": reference},
    )
    assert versions["data"]["legalBasisVersions"][0] == {"version": 3, "source": "MODULE"}
    assert (await gql(client, keeper, "{ conformity { status } }"))["data"]["conformity"][
        "status"
    ] == "TO_BE_REANNOUNCED"
    # A sync with nothing changed adds no version.
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(
            session, _registry(code, reference, "Nghị định sửa đổi lần 2")
        )
    assert (
        len(
            (
                await gql(
                    client,
                    keeper,
                    "query($r: String!) { legalBasisVersions(reference: $r) { version } }",
                    {"r": reference},
                )
            )["data"]["legalBasisVersions"]
        )
        == 3
    )


async def test_province_conformity_progress(resources, client, callers):
    first = await make_agency(resources)
    async with resources.session(TenantScope.nation()) as session:
        province = await session.get(Province, first.province_id)
    second = await make_agency(resources, AgencyKind.ward, province)
    await gql(
        client,
        callers.issue(person(second, Role.leader)),
        'mutation { startConformityBuilding(since: "2026-03-01") { status } }',
    )
    admin = callers.issue(
        Principal(
            "admin",
            TenantScope.province(first.province_id),
            frozenset({Role.province_admin}),
            province_id=first.province_id,
        )
    )
    body = await gql(
        client,
        admin,
        "{ provinceConformity { total counts { status count } "
        "agencies { agencyCode status buildingSince } } }",
    )
    progress = body["data"]["provinceConformity"]
    assert progress["total"] == 2
    assert {c["status"]: c["count"] for c in progress["counts"]} == {
        "NOT_STARTED": 1,
        "BUILDING": 1,
        "ANNOUNCED": 0,
        "TO_BE_REANNOUNCED": 0,
    }
    assert {
        "agencyCode": second.code,
        "status": "BUILDING",
        "buildingSince": "2026-03-01",
    } in progress["agencies"]


# --- 4. management review ------------------------------------------------------------------------


async def test_management_review_compiles_inputs_and_tracks_actions(resources, client, callers):
    agency = await make_agency(resources)
    await receive(resources, agency, PAST)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary, Role.auditor))
    await gql(
        client,
        keeper,
        'mutation { registerRisk(title: "Mất dữ liệu", likelihood: 4, impact: 4, '
        'treatment: "Sao lưu", owner: "Văn phòng", reviewDate: "2027-01-01") { level } }',
    )
    await gql(client, keeper, 'mutation { raiseNonconformity(title: "Thiếu biểu mẫu") { id } }')
    body = await gql(
        client,
        keeper,
        'mutation { holdManagementReview(periodStart: "2026-11-30", '
        'periodEnd: "2026-11-01", heldOn: "2026-12-15", chairedBy: "Chủ tịch") { id } }',
    )
    assert codes(body) == ["BAD_INPUT"]
    body = await gql(
        client,
        keeper,
        'mutation { holdManagementReview(periodStart: "2026-01-01", '
        'periodEnd: "2026-12-31", heldOn: "2026-12-20", chairedBy: "Chủ tịch UBND") { id inputs } '
        "}",
    )
    review = body["data"]["holdManagementReview"]
    inputs = review["inputs"]
    assert inputs["dossiers"]["received"] == 1 and inputs["dossiers"]["backlog"] == 1
    assert inputs["nonconformities"]["open"] == 1 and inputs["nonconformities"][
        "raised_by_source"
    ] == {"manual": 1}
    assert inputs["risks_above_threshold"] == [
        {"title": "Mất dữ liệu", "level": 16, "owner": "Văn phòng"}
    ]
    assert inputs["feedback"] == {"ratings": 0, "mean_rating": None, "satisfied_share": None}
    body = await gql(
        client,
        keeper,
        'mutation($id: ID!) { addReviewAction(reviewId: $id, decision: "Bổ sung '
        'chuyên viên một cửa", owner: "Văn phòng", dueDate: "2027-03-01") { actions { id status } '
        "} }",
        {"id": review["id"]},
    )
    [action] = body["data"]["addReviewAction"]["actions"]
    done = (
        'mutation($id: ID!) { completeReviewAction(id: $id, result: "Đã bổ sung 1 người") { '
        "status } }"
    )
    assert (await gql(client, keeper, done, {"id": action["id"]}))["data"]["completeReviewAction"][
        "status"
    ] == "DONE"
    assert codes(await gql(client, keeper, done, {"id": action["id"]})) == ["INVALID_TRANSITION"]
    listed = await gql(
        client,
        keeper,
        "{ managementReviews(first: 5) { totalCount edges { node { actions { status } } } } }",
    )
    assert listed["data"]["managementReviews"]["edges"][0]["node"]["actions"] == [
        {"status": "DONE"}
    ]


# --- 6. document and risk mutations --------------------------------------------------------------


async def test_document_moves_attachments_and_risk_review(resources, client, callers):
    agency = await make_agency(resources)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary))
    created = await gql(
        client,
        keeper,
        'mutation { createDocument(kind: FORM, code: "BM-01", title: "Biểu mẫu") '
        "{ id versions { id } } }",
    )
    version = created["data"]["createDocument"]["versions"][0]["id"]
    attach = (
        "mutation($id: ID!, $c: String!) { attachDocumentFile(versionId: $id, filename: "
        '"bm01.pdf", '
        "contentBase64: $c) { attachmentName attachmentSha256 } }"
    )
    assert codes(await gql(client, keeper, attach, {"id": version, "c": "không phải base64"})) == [
        "BAD_INPUT"
    ]
    body = await gql(
        client, keeper, attach, {"id": version, "c": base64.b64encode(b"%PDF-1.7 mau").decode()}
    )
    assert body["data"]["attachDocumentFile"]["attachmentName"] == "bm01.pdf"
    move = "mutation($id: ID!) { %s(id: $id) { status } }"
    for name, status in (
        ("submitDocumentVersion", "IN_REVIEW"),
        ("rejectDocumentVersion", "DRAFT"),
        ("submitDocumentVersion", "IN_REVIEW"),
        ("approveDocumentVersion", "APPROVED"),
        ("makeDocumentVersionEffective", "EFFECTIVE"),
        ("withdrawDocumentVersion", "OBSOLETE"),
    ):
        body = await gql(client, keeper, move % name, {"id": version})
        assert body["data"][name]["status"] == status, body
    body = await gql(client, keeper, move % "makeDocumentVersionEffective", {"id": version})
    assert codes(body) == [
        "INVALID_TRANSITION"
    ]  # an obsolete version never becomes effective again
    assert body["errors"][0]["extensions"]["current"] == "obsolete"
    document_id = created["data"]["createDocument"]["id"]
    body = await gql(
        client,
        keeper,
        'mutation($id: ID!) { createDocumentVersion(documentId: $id, summary: "Sửa đổi") '
        "{ number status summary } }",
        {"id": document_id},
    )
    assert body["data"]["createDocumentVersion"] == {
        "number": 2,
        "status": "DRAFT",
        "summary": "Sửa đổi",
    }
    risk = await gql(
        client,
        keeper,
        'mutation { registerRisk(title: "Quá tải", likelihood: 3, impact: 3, '
        'treatment: "", owner: "Văn phòng", reviewDate: "2027-01-01") { id } }',
    )
    review = (
        "mutation($id: ID!, $l: Int!) { reviewRisk(id: $id, likelihood: $l, impact: 2, treatment: "
        '"Thêm ca", reviewDate: "2027-06-01") { level } }'
    )
    rid = risk["data"]["registerRisk"]["id"]
    assert codes(await gql(client, keeper, review, {"id": rid, "l": 6})) == ["BAD_INPUT"]
    assert (await gql(client, keeper, review, {"id": rid, "l": 2}))["data"]["reviewRisk"][
        "level"
    ] == 4


async def test_province_publishes_a_model_document(resources, client, callers):
    agency = await make_agency(resources)
    admin = callers.issue(
        Principal(
            "admin",
            TenantScope.province(agency.province_id),
            frozenset({Role.province_admin}),
            province_id=agency.province_id,
        )
    )
    publish = (
        'mutation { publishModelDocument(kind: POLICY, code: "CS-MAU", title: "Chính sách mẫu") { '
        "isModel } }"
    )
    assert codes(await gql(client, admin, publish)) == ["NO_MODEL_OWNER"]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, agency.province_id)
        await ensure_agency(
            session, province, unique_code("UB"), "UBND tỉnh", AgencyKind.people_committee
        )
    assert (await gql(client, admin, publish))["data"]["publishModelDocument"] == {"isModel": True}
    models = await gql(
        client,
        callers.issue(person(agency, Role.iso_secretary)),
        "{ modelDocuments(first: 5) { edges { node { code } } } }",
    )
    assert [e["node"]["code"] for e in models["data"]["modelDocuments"]["edges"]] == ["CS-MAU"]


async def test_audit_chain_counts_each_change(resources):
    agency = await make_agency(resources)
    dossier = await receive(resources, agency, FUTURE)
    dossier = await act(resources, agency, dossier, engine.assign, assignee="cv")
    before = await audit_count(resources, agency)
    await act(resources, agency, dossier, engine.stop, reason="Dừng")
    after = await audit_count(resources, agency)
    assert after == before + 2  # the stop and its nonconformity


@pytest.mark.only_backend("postgresql+redis")
async def test_concurrent_raises_for_one_dossier_make_one_nonconformity(resources):
    agency = await make_agency(resources)
    dossier = await receive(resources, agency, FUTURE)

    async def raise_once():
        async with resources.session(scope(agency)) as session, session.begin():
            return (
                await dossier_ncs.raise_for(session, dossier, dossier_ncs.REFUSED, "officer-1")
            ).id

    ids = await asyncio.gather(*(raise_once() for _ in range(6)))
    assert len(set(ids)) == 1
    assert len(await dossier_ncs_of(resources, agency, dossier.code)) == 1
