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
OBJECTIVE_KEEPERS = {Role.iso_secretary, Role.leader, Role.province_admin}
OPERATIONS = {
    "version": ("{ version }", "everyone"),
    "me": ("{ me { subject } }", {*Role, "client"}),
    # Public fields: each id is then checked by its type's rule (tests/test_isolation.py).
    "node": ('{ node(id: "bm9uZQ==") { id } }', "everyone"),
    "nodes": ('{ nodes(ids: ["bm9uZQ=="]) { id } }', "everyone"),
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
    # Clients with modules:admin pass the rule; which province they may switch (their own
    # only) is tests/test_module_admin_scope.py's.
    "enableModule": (
        'mutation { enableModule(module: "probe_module") { name } }',
        {*ADMINS, "client"},
    ),
    "disableModule": (
        'mutation { disableModule(module: "probe_module") { name } }',
        {*ADMINS, "client"},
    ),
    "activeModules": ("{ activeModules }", "everyone"),
    "procedures": ("{ procedures(first: 1) { totalCount } }", "everyone"),
    "procedure": ('{ procedure(code: "none") { code } }', "everyone"),
    "dossiers": ("{ dossiers(first: 1) { totalCount } }", DOSSIER_CALLERS),
    "dossier": ('{ dossier(id: "RG9zc2llcjoxOjE=") { code } }', DOSSIER_CALLERS),
    "publicDossier": ('{ publicDossier(code: "none", lookupKey: "x") { code } }', "everyone"),
    "rateDossier": (
        'mutation { rateDossier(code: "none", lookupKey: "x", rating: 5) }',
        "everyone",
    ),
    "adoptProcedure": (
        'mutation { adoptProcedure(procedureCode: "none") { code } }',
        DOSSIER_CALLERS,
    ),
    "dropProcedure": ('mutation { dropProcedure(procedureCode: "none") }', DOSSIER_CALLERS),
    "receiveDossier": (
        'mutation { receiveDossier(input: {procedureCode: "none", applicant: {fullName: "A"}, '
        "sectorData: {}}) { replayed } }",
        DOSSIER_CALLERS,
    ),
    "acceptDossier": (
        'mutation { acceptDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }',
        DOSSIER_CALLERS,
    ),
    "withdrawOnlineDossier": (
        'mutation { withdrawOnlineDossier(code: "none", lookupKey: "x", reason: "x") { code } }',
        "everyone",
    ),
    "publicServices": ('{ publicServices(provinceCode: "none") { name } }', "everyone"),
    "submitOnlineDossier": (
        'mutation { submitOnlineDossier(agencyId: "QWdlbmN5OjE6MQ==", procedureCode: "none", '
        'applicant: {fullName: "A"}, sectorData: {}) { code } }',
        "everyone",
    ),
    "refuseDossier": (
        'mutation { refuseDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { code '
        "} }",
        DOSSIER_CALLERS,
    ),
    "assignDossier": (
        'mutation { assignDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, assignee: "x") { '
        "code } }",
        DOSSIER_CALLERS,
    ),
    "completeStep": (
        'mutation { completeStep(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }',
        DOSSIER_CALLERS,
    ),
    "requestSupplement": (
        'mutation { requestSupplement(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { '
        "code } }",
        DOSSIER_CALLERS,
    ),
    "supplementReceived": (
        'mutation { supplementReceived(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }',
        DOSSIER_CALLERS,
    ),
    "requestFee": (
        'mutation { requestFee(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }',
        DOSSIER_CALLERS,
    ),
    "feePaid": (
        'mutation { feePaid(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }',
        DOSSIER_CALLERS,
    ),
    "withdrawDossier": (
        'mutation { withdrawDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { '
        "code } }",
        DOSSIER_CALLERS,
    ),
    "stopDossier": (
        'mutation { stopDossier(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x") { code } '
        "}",
        DOSSIER_CALLERS,
    ),
    "returnResult": (
        'mutation { returnResult(id: "RG9zc2llcjoxOjE=", expectedVersion: 1) { code } }',
        DOSSIER_CALLERS,
    ),
    "recordExtension": (
        'mutation { recordExtension(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, code: "x", '
        'reason: "x") { code } }',
        DOSSIER_CALLERS,
    ),
    "refuseAtCounter": (
        'mutation { refuseAtCounter(input: {procedureCode: "x", applicant: {fullName: "A"}, '
        'sectorData: {}}, reason: "x") { replayed } }',
        DOSSIER_CALLERS,
    ),
    "recordApology": (
        'mutation { recordApology(id: "RG9zc2llcjoxOjE=", expectedVersion: 1, reason: "x", '
        'newAppointment: "2030-01-01T00:00:00+07:00") { code } }',
        DOSSIER_CALLERS,
    ),
    **{
        name: (f"{{ {name}(first: 1) {{ totalCount }} }}", {*Role, "client"})
        for name in ("documents", "nonconformities", "risks", "auditProgrammes")
    },
    "document": ('{ document(id: "bm9uZQ==") { code } }', {*Role, "client"}),
    "modelDocuments": ("{ modelDocuments(first: 1) { totalCount } }", {*Role, "client"}),
    "modelAdoptions": ('{ modelAdoptions(id: "bm9uZQ==") { modelVersionNumber } }', ADMINS),
    "adoptModelDocument": (
        'mutation { adoptModelDocument(versionId: "bm9uZQ==") { code } }',
        {Role.iso_secretary, Role.leader},
    ),
    # The model QMS of Decision 101/QĐ-BKHCN and the generated process documents.
    "modelQmsTemplates": ("{ modelQmsTemplates { code } }", {*Role, "client"}),
    # Made-up codes and ids: refused after the permission layer, before any write.
    "installModelQms": ('mutation { installModelQms(codes: ["NONE"]) }', {Role.province_admin}),
    "adoptModelQms": (
        'mutation { adoptModelQms(agencyIds: ["bm9uZQ=="]) { created } }',
        {Role.province_admin},
    ),
    "processDocumentVersions": (
        '{ processDocumentVersions(procedureCode: "none") { number } }',
        {*Role, "client"},
    ),
    "generateProcessDocuments": ("mutation { generateProcessDocuments }", QMS_DOCS),
    "publicConformity": ('{ publicConformity(provinceCode: "none") { status } }', "everyone"),
    "createDocument": (
        'mutation { createDocument(kind: POLICY, code: "X", title: "") { code } }',
        QMS_DOCS,
    ),
    "submitDocumentVersion": (
        'mutation { submitDocumentVersion(id: "bm9uZQ==") { status } }',
        QMS_DOCS,
    ),
    "approveDocumentVersion": (
        'mutation { approveDocumentVersion(id: "bm9uZQ==") { status } }',
        {Role.leader},
    ),
    "makeDocumentVersionEffective": (
        'mutation { makeDocumentVersionEffective(id: "bm9uZQ==") { status } }',
        QMS_DOCS,
    ),
    "acknowledgeDocument": (
        'mutation { acknowledgeDocument(id: "bm9uZQ==") { status } }',
        set(Role),
    ),
    "raiseNonconformity": (
        'mutation { raiseNonconformity(title: "") { status } }',
        {*QMS_NCS, "client"},
    ),
    "planCorrectiveAction": (
        'mutation { planCorrectiveAction(id: "bm9uZQ==", rootCause: "r", correctiveAction: "a",'
        ' owner: "o", dueDate: "2026-12-01") { status } }',
        QMS_NCS,
    ),
    "completeCorrectiveAction": (
        'mutation { completeCorrectiveAction(id: "bm9uZQ==") { status } }',
        QMS_NCS,
    ),
    "recordEffectivenessCheck": (
        'mutation { recordEffectivenessCheck(id: "bm9uZQ==", result: "r", effective: true)'
        " { status } }",
        QMS_NCS,
    ),
    "closeNonconformity": (
        'mutation { closeNonconformity(id: "bm9uZQ==") { status } }',
        {Role.iso_secretary, Role.leader},
    ),
    "registerRisk": (
        'mutation { registerRisk(title: "", likelihood: 1, impact: 1, treatment: "", owner: "o",'
        ' reviewDate: "2026-12-01") { level } }',
        {Role.iso_secretary, Role.leader},
    ),
    "createAuditPlan": (
        'mutation { createAuditPlan(date: "1999-01-01", scope: "s", auditors: ["a"]) { date } }',
        QMS_AUDITS,
    ),
    "recordAuditFinding": (
        'mutation { recordAuditFinding(planId: "bm9uZQ==", clause: "7.5", kind: OBSERVATION,'
        ' description: "d") { kind } }',
        QMS_AUDITS,
    ),
    "figures": ("{ figures(period: {year: 2025}) { received } }", {*Role, "client"}),
    "figureDossiers": (
        "{ figureDossiers(metric: LATE, period: {year: 2025}) { totalCount } }",
        {*Role, "client"},
    ),
    "annualReport": ("{ annualReport(year: 2025) { level } }", {*Role, "client"}),
    "objectives": ("{ objectives(first: 1) { totalCount } }", {*Role, "client"}),
    "createObjective": (
        (
            'mutation { createObjective(input: {title: "x", metric: ON_TIME_RATE, comparator: '
            "AT_LEAST,"
            " target: 0.9, period: {year: 1999}}) { id } }"
        ),
        OBJECTIVE_KEEPERS,
    ),
    "updateObjective": (
        (
            'mutation { updateObjective(id: "bm9uZQ==", input: {title: "x", metric: ON_TIME_RATE,'
            " comparator: AT_LEAST, target: 0.9, period: {year: 1999}}) { id } }"
        ),
        OBJECTIVE_KEEPERS,
    ),
    "deleteObjective": ('mutation { deleteObjective(id: "bm9uZQ==") }', OBJECTIVE_KEEPERS),
    "rejectDocumentVersion": (
        'mutation { rejectDocumentVersion(id: "bm9uZQ==") { status } }',
        {Role.leader},
    ),
    "withdrawDocumentVersion": (
        'mutation { withdrawDocumentVersion(id: "bm9uZQ==") { status } }',
        QMS_DOCS,
    ),
    "attachDocumentFile": (
        'mutation { attachDocumentFile(versionId: "bm9uZQ==", filename: "a.pdf", '
        'contentBase64: "eA==") { status } }',
        {*QMS_DOCS, "client"},
    ),
    "publishModelDocument": (
        'mutation { publishModelDocument(kind: POLICY, code: "X", title: "") { code } }',
        {Role.province_admin},
    ),
    "reviewRisk": (
        'mutation { reviewRisk(id: "bm9uZQ==", likelihood: 1, impact: 1, treatment: "", '
        'reviewDate: "2026-12-01") { level } }',
        {Role.iso_secretary, Role.leader},
    ),
    "reviewFlags": ("{ reviewFlags(first: 1) { totalCount } }", {*Role, "client"}),
    "legalBasisVersions": (
        '{ legalBasisVersions(reference: "none") { version } }',
        {*Role, "client"},
    ),
    "conformity": ("{ conformity { status } }", {*Role, "client"}),
    "provinceConformity": ("{ provinceConformity { total } }", ADMINS),
    "managementReviews": ("{ managementReviews(first: 1) { totalCount } }", {*Role, "client"}),
    "recordLegalChange": (
        'mutation { recordLegalChange(reference: "") { flagged } }',
        {Role.national_admin},
    ),
    "reviewProcedure": (
        'mutation { reviewProcedure(procedureCode: "none") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "reviewDocument": (
        'mutation { reviewDocument(id: "bm9uZQ==") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "startConformityBuilding": (
        'mutation { startConformityBuilding(since: "2026-01-01") { status } }',
        {Role.iso_secretary, Role.leader},
    ),
    "announceConformity": (
        'mutation { announceConformity(decisionNumber: "", announcedOn: "2026-01-01") { status } }',
        {Role.leader},
    ),
    "setConformityScope": (
        "mutation { setConformityScope(procedures: []) { status } }",
        {Role.iso_secretary, Role.leader},
    ),
    "holdManagementReview": (
        'mutation { holdManagementReview(periodStart: "2026-02-01", periodEnd: "2026-01-01", '
        'heldOn: "2026-01-01", chairedBy: "c") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "addReviewAction": (
        'mutation { addReviewAction(reviewId: "bm9uZQ==", decision: "d", owner: "o", '
        'dueDate: "2026-01-01") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "completeReviewAction": (
        'mutation { completeReviewAction(id: "bm9uZQ==", result: "r") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "createDocumentVersion": (
        'mutation { createDocumentVersion(documentId: "bm9uZQ==") { number } }',
        QMS_DOCS,
    ),
    # The yearly report workflow: made-up ids answer NOT_FOUND, a bad year BAD_INPUT.
    "yearlyReport": ('{ yearlyReport(id: "bm9uZQ==") { id } }', {*Role, "client"}),
    "yearlyReportBoard": (
        '{ yearlyReportBoard(year: 2026, provinceId: "bm9uZQ==") { total } }',
        {*Role, "client"},
    ),
    "yearlyReportDeadline": (
        '{ yearlyReportDeadline(provinceId: "bm9uZQ==") { dueDay } }',
        {*Role, "client"},
    ),
    "compiledYearlyReport": (
        '{ compiledYearlyReport(year: 2026, provinceId: "bm9uZQ==") { agencies } }',
        ADMINS,
    ),
    "saveYearlyReport": (
        "mutation { saveYearlyReport(year: 1999, input: {}) { id } }",
        {Role.iso_secretary, Role.leader},
    ),
    "submitYearlyReport": (
        'mutation { submitYearlyReport(id: "bm9uZQ==") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "returnYearlyReport": (
        'mutation { returnYearlyReport(id: "bm9uZQ==", comment: "c") { id } }',
        ADMINS,
    ),
    "acceptYearlyReport": ('mutation { acceptYearlyReport(id: "bm9uZQ==") { id } }', ADMINS),
    "setYearlyReportDeadline": (
        'mutation { setYearlyReportDeadline(provinceId: "bm9uZQ==", dueMonth: 11, dueDay: 15, '
        "remindDaysBefore: 10) { dueDay } }",
        ADMINS,
    ),
    # The DOST's inspection: made-up ids answer NOT_FOUND before any work.
    "inspectionPlan": (
        '{ inspectionPlan(year: 2026, provinceId: "bm9uZQ==") { title } }',
        {*Role, "client"},
    ),
    "inspections": (
        '{ inspections(year: 2026, provinceId: "bm9uZQ==") { id } }',
        {*Role, "client"},
    ),
    "inspection": ('{ inspection(id: "bm9uZQ==") { id } }', {*Role, "client"}),
    "inspectionChecklist": (
        '{ inspectionChecklist(provinceId: "bm9uZQ==") { isDefault } }',
        {*Role, "client"},
    ),
    "inspectionSummary": (
        '{ inspectionSummary(year: 2026, provinceId: "bm9uZQ==") { agencyCode } }',
        ADMINS,
    ),
    "saveInspectionPlan": (
        'mutation { saveInspectionPlan(year: 2026, title: "t", provinceId: "bm9uZQ==") { year } }',
        ADMINS,
    ),
    "scheduleInspection": (
        'mutation { scheduleInspection(agencyId: "bm9uZQ==", year: 2026, plannedOn: "2026-01-02")'
        " { id } }",
        ADMINS,
    ),
    "rescheduleInspection": (
        'mutation { rescheduleInspection(id: "bm9uZQ==", plannedOn: "2026-01-02") { id } }',
        ADMINS,
    ),
    "startInspection": ('mutation { startInspection(id: "bm9uZQ==") { id } }', ADMINS),
    "markInspectionItem": (
        'mutation { markInspectionItem(id: "bm9uZQ==", itemCode: "KT-01", result: CONFORM) '
        "{ id } }",
        ADMINS,
    ),
    "recordInspectionFinding": (
        'mutation { recordInspectionFinding(id: "bm9uZQ==", itemCode: "KT-01", description: "d")'
        " { id } }",
        ADMINS,
    ),
    "concludeInspection": (
        'mutation { concludeInspection(id: "bm9uZQ==", conclusion: "c") { id } }',
        ADMINS,
    ),
    "verifyInspectionFinding": (
        'mutation { verifyInspectionFinding(id: "bm9uZQ==") { id } }',
        ADMINS,
    ),
    "closeInspection": ('mutation { closeInspection(id: "bm9uZQ==") { id } }', ADMINS),
    "setInspectionChecklist": (
        'mutation { setInspectionChecklist(provinceId: "bm9uZQ==", items: []) { isDefault } }',
        ADMINS,
    ),
    "resetInspectionChecklist": (
        'mutation { resetInspectionChecklist(provinceId: "bm9uZQ==") { isDefault } }',
        ADMINS,
    ),
    # How an agency applies its QMS, and the province's steering committee.
    "qmsProfile": ('{ qmsProfile(agencyId: "bm9uZQ==") { id } }', {*Role, "client"}),
    "trainingRecords": ('{ trainingRecords(agencyId: "bm9uZQ==") { id } }', {*Role, "client"}),
    "steeringCommittee": (
        '{ steeringCommittee(provinceId: "bm9uZQ==") { members { id } } }',
        {*Role, "client"},
    ),
    "setQmsProfile": (
        'mutation { setQmsProfile(standard: ISO_9001_2008, medium: PAPER, upgradedOn: "2020-01-01")'
        " { id } }",
        {Role.iso_secretary, Role.leader},
    ),
    "recordTraining": (
        'mutation { recordTraining(input: {person: "p", training: "t", heldOn: "2999-01-01", '
        'evidence: "e"}) { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "deleteTrainingRecord": (
        'mutation { deleteTrainingRecord(id: "bm9uZQ==") { id } }',
        {Role.iso_secretary, Role.leader},
    ),
    "addSteeringMember": (
        'mutation { addSteeringMember(person: "p", committeeRole: "r", since: "2026-01-01", '
        'provinceId: "bm9uZQ==") { id } }',
        ADMINS,
    ),
    "endSteeringMembership": (
        'mutation { endSteeringMembership(id: "bm9uZQ==", until: "2026-01-01") { id } }',
        ADMINS,
    ),
    "recordSteeringMeeting": (
        'mutation { recordSteeringMeeting(heldOn: "2026-01-01", minutes: "m", decisions: [], '
        'provinceId: "bm9uZQ==") { id } }',
        ADMINS,
    ),
    # A subscription: tried over graphql-transport-ws (tests/ws_client.py).
    "dossierEvents": (
        'subscription { dossierEvents(agencyId: "bm9uZQ==") { dossierCode } }',
        {*DOSSIER_CALLERS, *ADMINS},
    ),
    # Feedback and petitions: the citizen with no account; the agency's staff; the province's
    # administrators read their agencies' and set the deadline.
    "submitFeedback": (
        'mutation { submitFeedback(input: {agencyId: "bm9uZQ==", kind: FEEDBACK, '
        'subject: AGENCY, content: "x"}) { code } }',
        "everyone",
    ),
    "publicFeedback": ('{ publicFeedback(code: "none", lookupKey: "x") { code } }', "everyone"),
    "rateFeedbackAnswer": (
        'mutation { rateFeedbackAnswer(code: "none", lookupKey: "x", rating: 5) { code } }',
        "everyone",
    ),
    "publishedFeedback": ('{ publishedFeedback(provinceCode: "none") { code } }', "everyone"),
    "feedbacks": (
        "{ feedbacks { code } }",
        {Role.officer, Role.iso_secretary, Role.leader, Role.province_admin},
    ),
    "assignFeedback": (
        'mutation { assignFeedback(id: "bm9uZQ==", assignee: "x") { code } }',
        {Role.iso_secretary, Role.leader},
    ),
    "answerFeedback": (
        'mutation { answerFeedback(id: "bm9uZQ==", answer: "x") { code } }',
        {Role.officer, Role.iso_secretary, Role.leader},
    ),
    "setFeedbackAnswerDays": ("mutation { setFeedbackAnswerDays(days: 5) }", ADMINS),
    "setReviewDeadlineDays": ("mutation { setReviewDeadlineDays(days: 5) }", ADMINS),
    # Trusted documents are national: only the nation's administrators register or remove.
    "registerTrustedDocuments": (
        'mutation { registerTrustedDocuments(documents: ["{ version }"]) { sha256Hash } }',
        {Role.national_admin},
    ),
    "removeTrustedDocuments": (
        'mutation { removeTrustedDocuments(ids: ["sha256:%s"]) }' % ("0" * 64),
        {Role.national_admin},
    ),
    # A province's accounts and clients: which province is tests/test_accounts.py's.
    "accounts": ('{ accounts(provinceCode: "none") { username } }', ADMINS),
    "integrationClients": ('{ integrationClients(provinceCode: "none") { clientId } }', ADMINS),
    "createAccount": (
        'mutation { createAccount(provinceCode: "none", username: "probe", role: OFFICER) '
        "{ password } }",
        ADMINS,
    ),
    "disableAccount": (
        'mutation { disableAccount(provinceCode: "none", username: "probe") { active } }',
        ADMINS,
    ),
    "resetAccountPassword": (
        'mutation { resetAccountPassword(provinceCode: "none", username: "probe") { password } }',
        ADMINS,
    ),
    "createIntegrationClient": (
        'mutation { createIntegrationClient(provinceCode: "none", name: "x", '
        'scopes: ["qms:read"]) { secret } }',
        ADMINS,
    ),
    "disableIntegrationClient": (
        'mutation { disableIntegrationClient(provinceCode: "none", clientId: "x") { active } }',
        ADMINS,
    ),
}
DENIED = ("UNAUTHENTICATED", "FORBIDDEN")
CALLERS = ["anonymous", "client", *Role]


def principal_for(kind) -> Principal | None:
    if kind == "anonymous":
        return None
    if kind == "client":
        return Principal(
            subject="cli_x",
            tenant=TenantScope.agencies([7], [1]),
            scopes=frozenset(SCOPES),
            client_id="cli_x",
        )
    tenant = {
        Role.national_admin: TenantScope.nation(),
        Role.province_admin: TenantScope.province(1),
    }.get(kind, TenantScope.agencies([7], [1]))
    return Principal(
        subject=f"user-{kind.value}",
        tenant=tenant,
        roles=frozenset({kind}),
        scopes=frozenset(SCOPES),
        client_id="web",
        province_id=None if kind == Role.national_admin else 1,
        agency_id=None if tenant.kind != "agencies" else 7,
    )


def test_every_operation_has_a_rule_and_a_row():
    schema = build_schema()._schema  # the graphql-core schema: field names as clients see them
    roots = [
        root
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
    ]
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


# HTTP operations beside /graphql (core/http/downloads.py): route name → (path, who may call it).
HTTP_OPERATIONS = {
    "dossierSlip": ("/dossiers/RG9zc2llcjoxOjE=/slips/01.html", DOSSIER_CALLERS),
    "dossierAttachment": (
        "/dossiers/RG9zc2llcjoxOjE=/attachments/RG9zc2llckF0dGFjaG1lbnQ6MTox",
        DOSSIER_CALLERS,
    ),
    "trackingBook": (
        "/agencies/QWdlbmN5OjE6Nw==/tracking-book.csv?from=2026-01-01&to=2026-01-31",
        DOSSIER_CALLERS,
    ),
    "yearlyReportFile": ("/yearly-reports/bm9uZQ==.pdf", {*Role, "client"}),
    "compiledYearlyReportFile": ("/provinces/bm9uZQ==/yearly-reports/2026.pdf", ADMINS),
    "processDocumentFile": ("/process-documents/bm9uZQ==.html", {*Role, "client"}),
    "documentAttachment": ("/document-versions/bm9uZQ==/attachment", {*Role, "client"}),
    "conformityAnnouncementFile": (
        "/conformity-announcements/bm9uZQ==.pdf",
        {"anonymous", "client", *Role},
    ),
}


def test_every_http_route_has_a_rule_and_a_row():
    from eiso.core.http import downloads

    names = {route.name for route in downloads.routes}
    assert names == set(HTTP_OPERATIONS)
    assert names <= set(RULES)


@pytest.mark.parametrize("caller", CALLERS, ids=str)
@pytest.mark.parametrize("operation", sorted(HTTP_OPERATIONS))
async def test_http_operation_by_caller(client, callers, operation, caller):
    path, allowed = HTTP_OPERATIONS[operation]
    principal = principal_for(caller)
    response = await client.get(path, headers=callers.issue(principal) if principal else {})
    if caller in allowed:
        # Past the permission layer: the made-up ids answer 404.
        assert response.status_code == 404, response.text
    else:
        assert response.status_code == (401 if principal is None else 403), response.text
        assert response.json()["error"]["code"] in DENIED
