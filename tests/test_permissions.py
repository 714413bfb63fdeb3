"""Every GraphQL operation × every kind of caller: allowed or denied as core/auth/rules.py says.

Add a row to OPERATIONS for each new query or mutation; `test_every_operation_has_a_rule_and_a_row`
fails when an operation of the schema has no rule or no row here.
"""

from __future__ import annotations

import pytest

from eiso.core.auth.principal import SCOPES, Principal, Role
from eiso.core.auth.rules import RULES
from eiso.graphql.schema import build_schema
from eiso.tenants.scope import TenantScope
from tests.ws_client import answer_over_websocket

# operation name → (document, who may call it: a set of caller kinds, or "everyone")
ADMINS = {Role.national_admin, Role.province_admin}
DOSSIER_CALLERS = {Role.officer, Role.leader, "client"}
QMS_DOCS = {Role.iso_secretary, Role.leader, Role.province_admin}
QMS_NCS = {Role.iso_secretary, Role.leader, Role.auditor}
QMS_AUDITS = {Role.auditor, Role.iso_secretary}
OPERATIONS = {
    "version": ("{ version }", "everyone"),
    "me": ("{ me { subject } }", {*Role, "client"}),
    "provinces": ("{ provinces(first: 1) { totalCount } }", "everyone"),
    "province": ('{ province(code: "none") { code } }', "everyone"),
    "agencies": ("{ agencies(first: 1) { totalCount } }", {*Role, "client"}),
    "agency": ('{ agency(id: "bm9uZQ==") { code } }', {*Role, "client"}),
    "modules": ("{ modules { name } }", {*Role, "client"}),
    "onboardAgencies": (
        'mutation { onboardAgencies(provinceCode: "none", format: CSV, content: "", dryRun: true)'
        " { created } }",
        ADMINS,
    ),
    "enableModule": ('mutation { enableModule(module: "probe_module") { name } }', ADMINS),
    "disableModule": ('mutation { disableModule(module: "probe_module") { name } }', ADMINS),
    "activeModules": ("{ activeModules }", "everyone"),
    "procedures": ("{ procedures(first: 1) { totalCount } }", "everyone"),
    "dossiers": ("{ dossiers(first: 1) { totalCount } }", DOSSIER_CALLERS),
    "dossier": ('{ dossier(id: "RG9zc2llcjoxOjE=") { code } }', DOSSIER_CALLERS),
    "publicDossier": ('{ publicDossier(code: "none", lookupKey: "x") { code } }', "everyone"),
    "rateDossier": ('mutation { rateDossier(code: "none", lookupKey: "x", rating: 5) }', "everyone"),
    "adoptProcedure": ('mutation { adoptProcedure(procedureCode: "none") { code } }', DOSSIER_CALLERS),
    "receiveDossier": ('mutation { receiveDossier(input: {procedureCode: "none", applicant: {}, sectorData: {}}) { replayed } }', DOSSIER_CALLERS),
    "refuseDossier": ('mutation { refuseDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { code } }', DOSSIER_CALLERS),
    "assignDossier": ('mutation { assignDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, assignee: "x") { code } }', DOSSIER_CALLERS),
    "completeStep": ('mutation { completeStep(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }', DOSSIER_CALLERS),
    "requestSupplement": ('mutation { requestSupplement(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { code } }', DOSSIER_CALLERS),
    "supplementReceived": ('mutation { supplementReceived(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }', DOSSIER_CALLERS),
    "requestFee": ('mutation { requestFee(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }', DOSSIER_CALLERS),
    "feePaid": ('mutation { feePaid(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }', DOSSIER_CALLERS),
    "withdrawDossier": ('mutation { withdrawDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { code } }', DOSSIER_CALLERS),
    "stopDossier": ('mutation { stopDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { code } }', DOSSIER_CALLERS),
    "returnResult": ('mutation { returnResult(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }', DOSSIER_CALLERS),
    "recordApology": ('mutation { recordApology(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x", newAppointment: "2030-01-01T00:00:00+07:00") { code } }', DOSSIER_CALLERS),
    **{name: (f"{{ {name}(first: 1) {{ totalCount }} }}", {*Role, "client"})
       for name in ("documents", "nonconformities", "risks", "auditProgrammes")},
    "document": ('{ document(id: "bm9uZQ==") { code } }', {*Role, "client"}),
    "modelDocuments": ("{ modelDocuments(first: 1) { totalCount } }", {*Role, "client"}),
    "modelAdoptions": ('{ modelAdoptions(id: "bm9uZQ==") { modelVersionNumber } }', ADMINS),
    "adoptModelDocument": ('mutation { adoptModelDocument(versionId: "bm9uZQ==") { code } }',
                           {Role.iso_secretary, Role.leader}),
    "createDocument": ('mutation { createDocument(kind: POLICY, code: "X", title: "") { code } }', QMS_DOCS),
    "submitDocumentVersion": ('mutation { submitDocumentVersion(id: "bm9uZQ==") { status } }', QMS_DOCS),
    "approveDocumentVersion": ('mutation { approveDocumentVersion(id: "bm9uZQ==") { status } }', {Role.leader}),
    "makeDocumentVersionEffective": ('mutation { makeDocumentVersionEffective(id: "bm9uZQ==") { status } }',
                                     QMS_DOCS),
    "acknowledgeDocument": ('mutation { acknowledgeDocument(id: "bm9uZQ==") { status } }', set(Role)),
    "raiseNonconformity": ('mutation { raiseNonconformity(title: "") { status } }', QMS_NCS),
    "planCorrectiveAction": ('mutation { planCorrectiveAction(id: "bm9uZQ==", rootCause: "r", correctiveAction: "a",'
                             ' owner: "o", dueDate: "2026-12-01") { status } }', QMS_NCS),
    "completeCorrectiveAction": ('mutation { completeCorrectiveAction(id: "bm9uZQ==") { status } }', QMS_NCS),
    "recordEffectivenessCheck": ('mutation { recordEffectivenessCheck(id: "bm9uZQ==", result: "r", effective: true)'
                                 ' { status } }', QMS_NCS),
    "closeNonconformity": ('mutation { closeNonconformity(id: "bm9uZQ==") { status } }',
                           {Role.iso_secretary, Role.leader}),
    "registerRisk": ('mutation { registerRisk(title: "", likelihood: 1, impact: 1, treatment: "", owner: "o",'
                     ' reviewDate: "2026-12-01") { level } }', {Role.iso_secretary, Role.leader}),
    "createAuditPlan": ('mutation { createAuditPlan(date: "1999-01-01", scope: "s", auditors: ["a"]) { date } }',
                        QMS_AUDITS),
    "recordAuditFinding": ('mutation { recordAuditFinding(planId: "bm9uZQ==", clause: "7.5", kind: OBSERVATION,'
                           ' description: "d") { kind } }', QMS_AUDITS),
    # A subscription: tried over graphql-transport-ws (tests/ws_client.py).
    "dossierEvents": ('subscription { dossierEvents(agencyId: "bm9uZQ==") { dossierCode } }',
                      {*DOSSIER_CALLERS, *ADMINS}),
}
DENIED = ("UNAUTHENTICATED", "FORBIDDEN")
CALLERS = ["anonymous", "client", *Role]


def principal_for(kind) -> Principal | None:
    if kind == "anonymous":
        return None
    if kind == "client":
        return Principal(subject="cli_x", tenant=TenantScope.agencies([7], [1]),
                         scopes=frozenset(SCOPES), client_id="cli_x")
    tenant = {
        Role.national_admin: TenantScope.nation(),
        Role.province_admin: TenantScope.province(1),
    }.get(kind, TenantScope.agencies([7], [1]))
    return Principal(subject=f"user-{kind.value}", tenant=tenant, roles=frozenset({kind}),
                     scopes=frozenset(SCOPES), client_id="web",
                     province_id=None if kind == Role.national_admin else 1,
                     agency_id=None if tenant.kind != "agencies" else 7)


def test_every_operation_has_a_rule_and_a_row():
    schema = build_schema()._schema  # the graphql-core schema: field names as clients see them
    roots = [root for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
             if root is not None]
    names = {name for root in roots for name in root.fields}
    assert names <= set(RULES), f"operations without a rule: {names - set(RULES)}"
    assert names <= set(OPERATIONS), f"operations without a row here: {names - set(OPERATIONS)}"


@pytest.mark.parametrize("caller", CALLERS, ids=str)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_operation_by_caller(app, client, callers, operation, caller):
    document, allowed = OPERATIONS[operation]
    principal = principal_for(caller)
    headers = callers.issue(principal) if principal else {}
    if document.startswith("subscription"):
        body = await answer_over_websocket(app, headers, document)
    else:
        body = (await client.post("/graphql", json={"query": document}, headers=headers)).json()
    if allowed == "everyone" or caller in allowed:
        # Past the permission layer: the answer may still be NOT_FOUND or BAD_INPUT for the
        # made-up arguments, never a refusal.
        codes = [error["extensions"]["code"] for error in body.get("errors", [])]
        assert not set(codes) & set(DENIED), body
    else:
        code = body["errors"][0]["extensions"]["code"]
        assert code == ("UNAUTHENTICATED" if principal is None else "FORBIDDEN"), body


@pytest.mark.parametrize("caller", ["client", *Role], ids=str)
def test_tenant_rule_refuses_rows_of_other_tenants(caller):
    from eiso.core.auth.rules import check_tenant
    from eiso.core.errors import Forbidden

    principal = principal_for(caller)
    check_tenant(principal, 1, 7)  # its own agency (or its province / the nation)
    if principal.tenant.kind == "nation":
        check_tenant(principal, 2, 8)
        return
    with pytest.raises(Forbidden):
        check_tenant(principal, 2, 8)  # another province's agency
    if principal.tenant.kind == "agencies":
        with pytest.raises(Forbidden):
            check_tenant(principal, 1, 9)  # another agency of the same province
