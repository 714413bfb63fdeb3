"""Conformity with a QMS scope (issue 20), through GraphQL: the scope set and read, the
prerequisites of an announcement (every unmet one listed, nothing changed), the announcement
with its notice to the DOST, re-announcement after a scope change (an adoption outside the
scope, a merge of agencies), isolation and bad input."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue
from eiso.core.qms.conformity import TOPIC_ANNOUNCED
from eiso.core.sdk import LegalBasis
from eiso.core.workdays import VN_TZ
from eiso.infra.outbox import OutboxEvent
from eiso.tenants.models import AgencyKind, Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency
from tests.conftest import unique_code
from tests.test_dossier_engine import PROC
from tests.test_qms_loop import adopt_in, codes, gql, legal_registry, make_agency, person
from tests.test_reorganisation import merge_two

SCOPE = (
    "mutation($p: [String!]!, $a: [String!]) { setConformityScope(procedures: $p, "
    "activities: $a) { status scope { procedures activities setBy changedAt changeReason } } }"
)
READ = (
    "{ conformity { agencyCode status decisionNumber announcedOn announcedBy announcedScope "
    "dostNotifiedAt reannounceReason scope { procedures activities setBy } } }"
)
ANNOUNCE = (
    "mutation($n: String!, $d: Date!) { announceConformity(decisionNumber: $n, "
    "announcedOn: $d) { status decisionNumber announcedOn dostNotifiedAt reannounceReason } }"
)
BUILD = 'mutation { startConformityBuilding(since: "2026-01-05") { status } }'
PREREQUISITE_CODES = [
    "SCOPE_NOT_SET",
    "DOCUMENTS_NOT_EFFECTIVE",
    "PROCESS_DOCUMENTS_NOT_EFFECTIVE",
    "INTERNAL_AUDIT_MISSING",
    "MANAGEMENT_REVIEW_MISSING",
]


def today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


async def another_procedure(resources) -> str:
    """A second procedure in the catalogue (its own module, one legal basis)."""
    code = unique_code("7.")
    registry = legal_registry({code: LegalBasis(reference=unique_code("LB") + "/2026/NĐ-CP")})
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry)
    return code


async def documents_effective(client, keeper) -> None:
    """An effective quality policy, quality objectives and one QMS procedure."""
    for kind in ("POLICY", "OBJECTIVES", "PROCEDURE"):
        made = await gql(
            client,
            keeper,
            "mutation($k: DocumentKind!, $c: String!) { createDocument(kind: $k, code: $c, "
            'title: "Tài liệu") { versions { id } } }',
            {"k": kind, "c": unique_code("QT")},
        )
        version = made["data"]["createDocument"]["versions"][0]["id"]
        for move in ("submitDocumentVersion", "approveDocumentVersion"):
            await gql(
                client,
                keeper,
                f"mutation($id: ID!) {{ {move}(id: $id) {{ status }} }}",
                {"id": version},
            )
        done = await gql(
            client,
            keeper,
            "mutation($id: ID!) { makeDocumentVersionEffective(id: $id) { status } }",
            {"id": version},
        )
        assert done["data"]["makeDocumentVersionEffective"]["status"] == "EFFECTIVE"


PROCESS_VERSIONS = (
    "query($c: String!) { processDocumentVersions(procedureCode: $c) { versionId status } }"
)


async def process_documents_effective(client, keeper, procedures: list[str]) -> None:
    """The generated ISO process document of each procedure (generated on adoption; made here
    when missing) submitted, approved and made effective."""
    for code in procedures:
        found = await gql(client, keeper, PROCESS_VERSIONS, {"c": code})
        versions = found["data"]["processDocumentVersions"]
        if not versions:
            await gql(client, keeper, "mutation { generateProcessDocuments }")
            found = await gql(client, keeper, PROCESS_VERSIONS, {"c": code})
            versions = found["data"]["processDocumentVersions"]
        newest = versions[0]
        if newest["status"] == "EFFECTIVE":
            continue
        for move in (
            "submitDocumentVersion",
            "approveDocumentVersion",
            "makeDocumentVersionEffective",
        ):
            done = await gql(
                client,
                keeper,
                f"mutation($id: ID!) {{ {move}(id: $id) {{ status }} }}",
                {"id": newest["versionId"]},
            )
            assert not done.get("errors"), done


async def audit_and_review(client, keeper, on: dt.date) -> None:
    """An internal audit with a finding and a management review, both dated `on`."""
    plan = await gql(
        client,
        keeper,
        'mutation($d: Date!) { createAuditPlan(date: $d, scope: "Toàn bộ HTQLCL", '
        'auditors: ["Lê Thị Bình"]) { id } }',
        {"d": on.isoformat()},
    )
    finding = await gql(
        client,
        keeper,
        'mutation($id: ID!) { recordAuditFinding(planId: $id, clause: "8.5", kind: CONFORMITY, '
        'description: "Đúng quy trình") { id } }',
        {"id": plan["data"]["createAuditPlan"]["id"]},
    )
    assert not finding.get("errors"), finding
    review = await gql(
        client,
        keeper,
        "mutation($s: Date!, $d: Date!) { holdManagementReview(periodStart: $s, periodEnd: $d, "
        'heldOn: $d, chairedBy: "Chủ tịch UBND") { id } }',
        {"s": on.replace(month=1, day=1).isoformat(), "d": on.isoformat()},
    )
    assert not review.get("errors"), review


async def meet_prerequisites(client, keeper, procedures: list[str]) -> None:
    """Scope, effective documents (and the process document of each procedure), then an audit
    and a review after the scope."""
    body = await gql(client, keeper, SCOPE, {"p": procedures, "a": []})
    assert not body.get("errors"), body
    await documents_effective(client, keeper)
    await process_documents_effective(client, keeper, procedures)
    await audit_and_review(client, keeper, today())


async def keeper_of(resources, callers, agency=None):
    agency = agency or await make_agency(resources)
    return agency, callers.issue(person(agency, Role.leader, Role.iso_secretary, Role.auditor))


def province_admin(province_id: int) -> Principal:
    return Principal(
        f"admin-{province_id}",
        TenantScope.province(province_id),
        frozenset({Role.province_admin}),
        province_id=province_id,
    )


async def dost_notices(resources, agency) -> list[dict]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(OutboxEvent.payload).where(
                OutboxEvent.topic == TOPIC_ANNOUNCED, OutboxEvent.agency_id == agency.id
            )
        )
        return list(rows.scalars())


async def test_scope_set_and_read(resources, client, callers):
    agency, keeper = await keeper_of(resources, callers)
    body = await gql(
        client, keeper, SCOPE, {"p": [PROC, PROC], "a": [" Quản lý văn thư ", "", "Tiếp dân"]}
    )
    scope = body["data"]["setConformityScope"]["scope"]
    assert scope["procedures"] == [PROC]
    assert scope["activities"] == ["Quản lý văn thư", "Tiếp dân"]
    assert scope["setBy"].startswith("leader-") and scope["changeReason"]
    read = (await gql(client, keeper, READ))["data"]["conformity"]
    assert read["scope"] == {
        "procedures": [PROC],
        "activities": ["Quản lý văn thư", "Tiếp dân"],
        "setBy": scope["setBy"],
    }
    # The same lists again are no change: the last change stays where it was.
    again = await gql(client, keeper, SCOPE, {"p": [PROC], "a": ["Quản lý văn thư", "Tiếp dân"]})
    assert again["data"]["setConformityScope"]["scope"]["changedAt"] == scope["changedAt"]
    # An officer reads it but cannot set it.
    officer = callers.issue(person(agency, Role.officer))
    assert (await gql(client, officer, READ))["data"]["conformity"]["scope"]["procedures"] == [PROC]
    assert codes(await gql(client, officer, SCOPE, {"p": [PROC]})) == ["FORBIDDEN"]


async def test_bad_scope_input_has_stable_codes(resources, client, callers):
    _, keeper = await keeper_of(resources, callers)
    other = await another_procedure(resources)  # in the catalogue, not adopted here
    cases = {
        "UNKNOWN_PROCEDURE": [PROC, "no-such-procedure"],
        "PROCEDURE_NOT_ADOPTED": [PROC, other],
        "EMPTY_SCOPE": [" "],
    }
    for code, procedures in cases.items():
        body = await gql(client, keeper, SCOPE, {"p": procedures})
        assert codes(body) == [code], body
        assert body["errors"][0]["extensions"]["message_vi"]
    body = await gql(client, keeper, SCOPE, {"p": [PROC], "a": ["x" * 301]})
    assert codes(body) == ["BAD_INPUT"]
    assert (await gql(client, keeper, READ))["data"]["conformity"]["scope"] is None


async def test_announcement_lists_every_unmet_prerequisite_then_succeeds(
    resources, client, callers
):
    agency, keeper = await keeper_of(resources, callers)
    await gql(client, keeper, BUILD)
    variables = {"n": "15/QĐ-UBND", "d": today().isoformat()}
    body = await gql(client, keeper, ANNOUNCE, variables)
    assert codes(body) == ["PREREQUISITES_UNMET"]
    extensions = body["errors"][0]["extensions"]
    assert [p["code"] for p in extensions["problems"]] == PREREQUISITE_CODES
    assert all(p["message_vi"] for p in extensions["problems"])
    assert "chính sách chất lượng" in extensions["message_vi"]
    # Nothing changed: still building, no decision, no notice.
    read = (await gql(client, keeper, READ))["data"]["conformity"]
    assert (read["status"], read["decisionNumber"], read["dostNotifiedAt"]) == (
        "BUILDING",
        None,
        None,
    )
    assert await dost_notices(resources, agency) == []

    # The scope alone: the rest is still listed.
    await gql(client, keeper, SCOPE, {"p": [PROC]})
    body = await gql(client, keeper, ANNOUNCE, variables)
    assert [p["code"] for p in body["errors"][0]["extensions"]["problems"]] == (
        PREREQUISITE_CODES[1:]
    )
    # An audit and a review dated after the announcement do not count.
    await documents_effective(client, keeper)
    await audit_and_review(client, keeper, today() + dt.timedelta(days=1))
    body = await gql(client, keeper, ANNOUNCE, variables)
    assert [p["code"] for p in body["errors"][0]["extensions"]["problems"]] == (
        PREREQUISITE_CODES[2:]
    )
    await audit_and_review(client, keeper, today())
    # Only the adopted procedure's process document is left (generated as a draft on adoption).
    body = await gql(client, keeper, ANNOUNCE, variables)
    [problem] = body["errors"][0]["extensions"]["problems"]
    assert problem["code"] == "PROCESS_DOCUMENTS_NOT_EFFECTIVE"
    assert PROC in problem["message"] and PROC in problem["message_vi"]
    assert problem["message_vi"].startswith("chưa có quy trình ISO có hiệu lực")
    await process_documents_effective(client, keeper, [PROC])
    body = await gql(client, keeper, ANNOUNCE, variables)
    announced = body["data"]["announceConformity"]
    assert announced["status"] == "ANNOUNCED" and announced["decisionNumber"] == "15/QĐ-UBND"
    assert announced["dostNotifiedAt"]
    read = (await gql(client, keeper, READ))["data"]["conformity"]
    assert read["announcedBy"].startswith("leader-")
    assert read["announcedScope"] == {"procedures": [PROC], "activities": []}
    [notice] = await dost_notices(resources, agency)
    assert notice["decision_number"] == "15/QĐ-UBND" and notice["recipient"] == "dost"
    assert notice["scope"]["procedures"] == [PROC] and notice["reannouncement"] is False


async def test_adoption_outside_the_scope_requires_reannouncement(resources, client, callers):
    agency, keeper = await keeper_of(resources, callers)
    await gql(client, keeper, BUILD)
    await meet_prerequisites(client, keeper, [PROC])
    first = {"n": "15/QĐ-UBND", "d": today().isoformat()}
    assert (await gql(client, keeper, ANNOUNCE, first))["data"]["announceConformity"][
        "status"
    ] == "ANNOUNCED"
    # Re-adopting a procedure inside the scope is no scope change.
    await adopt_in(resources, agency, PROC)
    assert (await gql(client, keeper, READ))["data"]["conformity"]["status"] == "ANNOUNCED"

    other = await another_procedure(resources)
    await adopt_in(resources, agency, other)
    read = (await gql(client, keeper, READ))["data"]["conformity"]
    assert read["status"] == "TO_BE_REANNOUNCED"
    assert other in read["reannounceReason"]
    # The audit and review before the change no longer count, and the new procedure's process
    # document is a draft.
    again = {"n": "40/QĐ-UBND", "d": today().isoformat()}
    body = await gql(client, keeper, ANNOUNCE, again)
    assert [p["code"] for p in body["errors"][0]["extensions"]["problems"]] == [
        "PROCESS_DOCUMENTS_NOT_EFFECTIVE",
        "INTERNAL_AUDIT_MISSING",
        "MANAGEMENT_REVIEW_MISSING",
    ]
    assert other in body["errors"][0]["extensions"]["problems"][0]["message_vi"]
    # The scope extended to the new procedure, its process document effective, a new audit and
    # review: re-announced.
    await gql(client, keeper, SCOPE, {"p": [PROC, other]})
    await process_documents_effective(client, keeper, [other])
    await audit_and_review(client, keeper, today())
    announced = (await gql(client, keeper, ANNOUNCE, again))["data"]["announceConformity"]
    assert announced["status"] == "ANNOUNCED" and announced["reannounceReason"] is None
    notices = await dost_notices(resources, agency)
    assert [n["reannouncement"] for n in notices] == [False, True]
    assert notices[1]["scope"]["procedures"] == sorted([PROC, other])


async def announced_with_two(resources, client, callers):
    """An agency that announced conformity with two procedures in its scope (PROC and
    another): the agency, its keeper's headers and the other procedure's code."""
    agency, keeper = await keeper_of(resources, callers)
    other = await another_procedure(resources)
    await adopt_in(resources, agency, other)
    await gql(client, keeper, BUILD)
    await meet_prerequisites(client, keeper, [PROC, other])
    announced = await gql(client, keeper, ANNOUNCE, {"n": "1/QĐ", "d": today().isoformat()})
    assert announced["data"]["announceConformity"]["status"] == "ANNOUNCED", announced
    return agency, keeper, other


async def test_setting_a_new_scope_requires_reannouncement(resources, client, callers):
    _, keeper, _ = await announced_with_two(resources, client, callers)
    body = await gql(client, keeper, SCOPE, {"p": [PROC]})  # narrowed
    assert body["data"]["setConformityScope"]["status"] == "TO_BE_REANNOUNCED"


async def test_merge_requires_reannouncement_with_the_union_of_scopes(resources, client, callers):
    first, keeper = await keeper_of(resources, callers)
    await gql(client, keeper, BUILD)
    await meet_prerequisites(client, keeper, [PROC])
    await gql(client, keeper, ANNOUNCE, {"n": "2/QĐ", "d": today().isoformat()})
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await session.get(Province, first.province_id)
        second = await ensure_agency(
            session, province, unique_code("A"), "UBND xã Bên Cạnh", AgencyKind.commune
        )
    new = await merge_two(resources, province.code, first, second, "UBND xã Hợp Nhất")
    merged = callers.issue(person(new, Role.leader))
    read = (await gql(client, merged, READ))["data"]["conformity"]
    assert read["status"] == "TO_BE_REANNOUNCED"
    assert first.code in read["reannounceReason"] and second.code in read["reannounceReason"]
    assert read["scope"]["procedures"] == [PROC]
    # The merged agency keeps its own record.
    assert (await gql(client, keeper, READ))["data"]["conformity"]["status"] == "ANNOUNCED"


async def test_isolation_of_scope_and_announcement(resources, client, callers):
    mine, keeper = await keeper_of(resources, callers)
    async with resources.session(TenantScope.nation()) as session:
        province = await session.get(Province, mine.province_id)
    sibling, sibling_keeper = await keeper_of(
        resources, callers, await make_agency(resources, AgencyKind.ward, province)
    )
    theirs = await another_procedure(resources)
    await adopt_in(resources, sibling, theirs)
    await gql(client, sibling_keeper, SCOPE, {"p": [theirs], "a": ["Bí mật của xã bên"]})

    # My agency cannot put the sibling's procedure in its scope, nor see the sibling's scope.
    assert codes(await gql(client, keeper, SCOPE, {"p": [theirs]})) == ["PROCEDURE_NOT_ADOPTED"]
    read = await gql(client, keeper, READ)
    assert read["data"]["conformity"]["scope"] is None
    assert "Bí mật" not in str(read) and sibling.code not in str(read)
    # Announcing lands in my agency only (and is refused: it is not building).
    body = await gql(client, keeper, ANNOUNCE, {"n": "9/QĐ", "d": today().isoformat()})
    assert codes(body) == ["INVALID_TRANSITION"]
    theirs_read = (await gql(client, sibling_keeper, READ))["data"]["conformity"]
    assert theirs_read["scope"]["procedures"] == [theirs]

    # Another province's administrator cannot read this province's progress or set a scope.
    other = await make_agency(resources)
    foreign_admin = callers.issue(province_admin(other.province_id))
    body = await gql(
        client,
        foreign_admin,
        "query($p: String) { provinceConformity(provinceCode: $p) { total } }",
        {"p": province.code},
    )
    assert codes(body) == ["FORBIDDEN"]
    assert codes(await gql(client, foreign_admin, SCOPE, {"p": [PROC]})) == ["FORBIDDEN"]
    assert codes(
        await gql(client, foreign_admin, ANNOUNCE, {"n": "9/QĐ", "d": today().isoformat()})
    ) == ["FORBIDDEN"]
    # The own province's administrator sees each agency's scope in the progress view.
    admin = callers.issue(province_admin(province.id))
    progress = await gql(
        client, admin, "{ provinceConformity { agencies { agencyCode scope { procedures } } } }"
    )
    by_code = {
        a["agencyCode"]: a["scope"] for a in progress["data"]["provinceConformity"]["agencies"]
    }
    assert by_code[sibling.code] == {"procedures": [theirs]} and by_code[mine.code] is None
