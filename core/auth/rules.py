"""The permission rules, in one place: which operation each role, scope and tenant may use.

Every GraphQL query and mutation names its rule here (`RULES[operation]`); the GraphQL layer
only adapts them (graphql/shared/permissions.py) and a test walks the schema to check that every
operation has a rule and that the table of operations × roles holds. No resolver decides
access with its own `if`s.

- A user passes a rule when it holds one of the rule's roles (any role when `roles` is None)
  and, when the rule names a scope, its token carries that scope.
- An integration client (no roles) passes only rules with `clients=True`, and only with the
  scope the rule names (`scope`, or `client_scope`, which binds clients only).
- Tenant: `check_tenant` refuses a row outside the principal's tenant scope.
"""

from __future__ import annotations

import dataclasses

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import Forbidden, Unauthenticated

STAFF = frozenset(Role)


@dataclasses.dataclass(frozen=True)
class Rule:
    public: bool = False
    roles: frozenset[Role] | None = None
    scope: str | None = None
    clients: bool = False
    # The scope an integration client needs (users are governed by their roles).
    client_scope: str | None = None


PUBLIC = Rule(public=True)
AUTHENTICATED = Rule(clients=True)

ADMINS = frozenset({Role.national_admin, Role.province_admin})
DOSSIER_STAFF = frozenset({Role.officer, Role.leader})
QMS_READ = Rule(clients=True, client_scope="qms:read")
DOC_KEEPERS = frozenset({Role.iso_secretary, Role.leader, Role.province_admin})
NC_KEEPERS = frozenset({Role.iso_secretary, Role.leader, Role.auditor})
AUDITORS = frozenset({Role.auditor, Role.iso_secretary})
MODULES_ADMIN = "modules:admin"
FEEDBACK_ANSWERERS = frozenset({Role.officer, Role.iso_secretary, Role.leader})

RULES: dict[str, Rule] = {
    "version": PUBLIC,
    "me": AUTHENTICATED,
    # Relay's refetch by global id: each id is then checked by the rule of its type's own
    # field (graphql/relay/queries.py), so these two add nothing of their own.
    "node": PUBLIC,
    "nodes": PUBLIC,
    # Tenancy. Which province an administrator may act on is checked by `require_*` below.
    "provinces": PUBLIC,
    "province": PUBLIC,
    "agencies": Rule(clients=True, client_scope="tenants:read"),
    "agency": Rule(clients=True, client_scope="tenants:read"),
    "modules": AUTHENTICATED,
    "onboardAgencies": Rule(roles=ADMINS),
    # Clients with modules:admin too, for their own province (activation.switch_module checks).
    "enableModule": Rule(roles=ADMINS, clients=True, client_scope=MODULES_ADMIN),
    "disableModule": Rule(roles=ADMINS, clients=True, client_scope=MODULES_ADMIN),
    "activeModules": PUBLIC,
    # Dossiers: the agency's officers and leaders act; clients need dossiers:read / dossiers:write.
    "procedures": PUBLIC,
    "procedure": PUBLIC,
    "dossiers": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:read"),
    "dossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:read"),
    # A dossier's applicant and sector data (personal data, Dossier.applicant / sectorData):
    # the officers and leaders of the receiving agency (graphql/dossiers/desk.py checks which
    # agency); no integration client.
    "dossierPersonalData": Rule(roles=DOSSIER_STAFF),
    "adoptProcedure": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "dropProcedure": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "receiveDossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "acceptDossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "refuseDossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "assignDossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "completeStep": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "requestSupplement": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "supplementReceived": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "requestFee": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "feePaid": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "withdrawDossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "stopDossier": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "returnResult": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "recordApology": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "recordExtension": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "refuseAtCounter": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:write"),
    "publicDossier": PUBLIC,
    "rateDossier": PUBLIC,
    # The citizen (no account) withdraws an online dossier before acceptance: the dossier code
    # and lookup key prove it, as for the lookup.
    "withdrawOnlineDossier": PUBLIC,
    # The citizen portal: what each agency offers, and a dossier filed online (status new,
    # for the agency to accept or refuse); rate limited per address like the lookup.
    "publicServices": PUBLIC,
    "submitOnlineDossier": PUBLIC,
    # QMS (clauses 7.5, 6.1, 9.2, 10.2): staff read; the ISO secretary maintains, the leader
    # approves, auditors record audits. Integration clients read with qms:read.
    **dict.fromkeys(
        ("documents", "document", "nonconformities", "risks", "auditProgrammes"), QMS_READ
    ),
    "modelDocuments": QMS_READ,
    "modelAdoptions": Rule(roles=ADMINS),
    "adoptModelDocument": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "createDocument": Rule(roles=DOC_KEEPERS),
    "submitDocumentVersion": Rule(roles=DOC_KEEPERS),
    "approveDocumentVersion": Rule(roles=frozenset({Role.leader})),
    "makeDocumentVersionEffective": Rule(roles=DOC_KEEPERS),
    "acknowledgeDocument": Rule(roles=STAFF),
    "raiseNonconformity": Rule(roles=NC_KEEPERS, clients=True, client_scope="qms:write"),
    "planCorrectiveAction": Rule(roles=NC_KEEPERS),
    "completeCorrectiveAction": Rule(roles=NC_KEEPERS),
    "recordEffectivenessCheck": Rule(roles=NC_KEEPERS),
    "closeNonconformity": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "registerRisk": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "createAuditPlan": Rule(roles=AUDITORS),
    "recordAuditFinding": Rule(roles=AUDITORS),
    # Printable slips 01-06 and the tracking book 07, over HTTP (core/http/downloads.py):
    # read like the dossiers themselves.
    "dossierSlip": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:read"),
    "trackingBook": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:read"),
    "dossierAttachment": Rule(roles=DOSSIER_STAFF, clients=True, client_scope="dossiers:read"),
    # Figures, objectives and the yearly report (9.1, 6.2): every staff role reads them in its
    # own scope (agency, province, nation); clients need reports:read. Agency objectives are
    # kept by the ISO secretary or leader, province objectives by the province administrator
    # (core/qms/objectives.py checks which).
    **{
        name: Rule(clients=True, client_scope="reports:read")
        for name in ("figures", "figureDossiers", "annualReport", "objectives")
    },
    **{
        name: Rule(roles=frozenset({Role.iso_secretary, Role.leader, Role.province_admin}))
        for name in ("createObjective", "updateObjective", "deleteObjective")
    },
    # The improvement loop: legal changes (the nation enters them), review flags, conformity
    # announcement, management review (9.3), and the remaining document and risk moves.
    # Integration clients write with qms:write where a portal or vendor tool has a use.
    "rejectDocumentVersion": Rule(roles=frozenset({Role.leader})),
    "withdrawDocumentVersion": Rule(roles=DOC_KEEPERS),
    "attachDocumentFile": Rule(roles=DOC_KEEPERS, clients=True, client_scope="qms:write"),
    "publishModelDocument": Rule(roles=frozenset({Role.province_admin})),
    "reviewRisk": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "reviewFlags": QMS_READ,
    "legalBasisVersions": AUTHENTICATED,
    "conformity": QMS_READ,
    "provinceConformity": Rule(roles=ADMINS),
    "managementReviews": QMS_READ,
    "recordLegalChange": Rule(roles=frozenset({Role.national_admin})),
    "reviewProcedure": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "reviewDocument": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "startConformityBuilding": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "announceConformity": Rule(roles=frozenset({Role.leader})),
    "setConformityScope": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "holdManagementReview": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "addReviewAction": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "completeReviewAction": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "createDocumentVersion": Rule(roles=DOC_KEEPERS),
    # Dossier events (no personal data): dossier staff of the agency, the province's and the
    # nation's administrators; which agency is checked against the tenant (check_tenant).
    "dossierEvents": Rule(roles=DOSSIER_STAFF | ADMINS, clients=True, client_scope="dossiers:read"),
    # Citizens' feedback and petitions (core/feedback/rules.py MOVES says who makes each move;
    # tests/test_feedback.py checks these agree): the citizen submits, follows and rates with
    # no account (rate limited like the lookup); the agency's staff read and answer, the ISO
    # secretary or leader assigns; a province's administrator reads its agencies' and sets the
    # deadline (require_province_admin checks which province).
    "submitFeedback": PUBLIC,
    "publicFeedback": PUBLIC,
    "rateFeedbackAnswer": PUBLIC,
    "publishedFeedback": PUBLIC,
    "feedbacks": Rule(roles=frozenset({*FEEDBACK_ANSWERERS, Role.province_admin})),
    "assignFeedback": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "answerFeedback": Rule(roles=FEEDBACK_ANSWERERS),
    "setFeedbackAnswerDays": Rule(roles=ADMINS),
    "setReviewDeadlineDays": Rule(roles=ADMINS),
    # The yearly report workflow (core/qms/yearly_reports.py): the agency's ISO secretary or
    # leader fills and submits; the province's administrators (the DOST side: no finer role
    # exists) return, accept, compile and set the deadline (require_province_admin checks
    # which province); every staff role reads the report and the board in its own scope.
    "yearlyReport": QMS_READ,
    "yearlyReportBoard": Rule(clients=True, client_scope="reports:read"),
    "yearlyReportDeadline": AUTHENTICATED,
    "compiledYearlyReport": Rule(roles=ADMINS),
    "saveYearlyReport": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "submitYearlyReport": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "returnYearlyReport": Rule(roles=ADMINS),
    "acceptYearlyReport": Rule(roles=ADMINS),
    "setYearlyReportDeadline": Rule(roles=ADMINS),
    # Its files over HTTP (core/http/downloads.py): read like the report and the compiled one.
    "yearlyReportFile": QMS_READ,
    "compiledYearlyReportFile": Rule(roles=ADMINS),
    # A province's accounts and integration clients (the province console): its own
    # administrators and the nation's (require_province_admin checks which province).
    **dict.fromkeys(
        (
            "accounts",
            "integrationClients",
            "createAccount",
            "disableAccount",
            "resetAccountPassword",
            "createIntegrationClient",
            "disableIntegrationClient",
        ),
        Rule(roles=ADMINS),
    ),
    # The model QMS of Decision 101/QĐ-BKHCN (core/qms/model_qms.py): the province's
    # administrators install it and have it adopted in bulk; staff read it. Process documents
    # generated from adopted procedures (process_docs.py) are read like documents, over GraphQL
    # and as files; the conformity announcements are public (the portal lists them).
    "modelQmsTemplates": QMS_READ,
    "installModelQms": Rule(roles=frozenset({Role.province_admin})),
    "adoptModelQms": Rule(roles=frozenset({Role.province_admin})),
    "processDocumentVersions": QMS_READ,
    "generateProcessDocuments": Rule(roles=DOC_KEEPERS),
    "processDocumentFile": QMS_READ,
    # A document version's attached file: whoever may read the document (`document`).
    "documentAttachment": QMS_READ,
    "publicConformity": PUBLIC,
    "conformityAnnouncementFile": PUBLIC,
    # The DOST's yearly inspection (core/qms/inspections.py): the province's administrators
    # (the DOST side) plan, conduct, follow up and export the PAR summary
    # (inspections.require_inspector checks which province); an agency's staff read their own
    # agency's inspection and findings (the session's scope hides the others).
    "inspectionPlan": QMS_READ,
    "inspections": QMS_READ,
    "inspection": QMS_READ,
    "inspectionChecklist": AUTHENTICATED,
    "inspectionSummary": Rule(roles=ADMINS),
    **dict.fromkeys(
        (
            "saveInspectionPlan",
            "scheduleInspection",
            "rescheduleInspection",
            "startInspection",
            "markInspectionItem",
            "recordInspectionFinding",
            "concludeInspection",
            "verifyInspectionFinding",
            "closeInspection",
            "setInspectionChecklist",
            "resetInspectionChecklist",
        ),
        Rule(roles=ADMINS),
    ),
    # How an agency applies its QMS (core/qms/application.py): its standard and medium, its
    # training records (7.2), kept by its ISO secretary or leader and read by every staff role
    # in scope; the province's ISO steering committee, kept by the province's administrators
    # and read by the province's staff.
    "qmsProfile": QMS_READ,
    "trainingRecords": QMS_READ,
    "steeringCommittee": AUTHENTICATED,
    "setQmsProfile": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "recordTraining": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "deleteTrainingRecord": Rule(roles=frozenset({Role.iso_secretary, Role.leader})),
    "addSteeringMember": Rule(roles=ADMINS),
    "endSteeringMembership": Rule(roles=ADMINS),
    "recordSteeringMeeting": Rule(roles=ADMINS),
    # Trusted GraphQL documents are national data: the nation's administrators keep them.
    "registerTrustedDocuments": Rule(roles=frozenset({Role.national_admin})),
    "removeTrustedDocuments": Rule(roles=frozenset({Role.national_admin})),
}


def check(principal: Principal | None, rule: Rule) -> None:
    """Raise Unauthenticated or Forbidden unless `principal` may use an operation under `rule`."""
    if rule.public:
        return
    if principal is None:
        raise Unauthenticated("Authentication required", "Cần đăng nhập")
    if rule.scope and not principal.has_scope(rule.scope):
        raise Forbidden(
            f"This needs the scope {rule.scope}",
            f"Cần phạm vi truy cập {rule.scope}",
            scope=rule.scope,
        )
    if not principal.roles:
        if not rule.clients:
            raise Forbidden(
                "Not available to integration clients", "Không dành cho ứng dụng tích hợp"
            )
        if rule.client_scope and not principal.has_scope(rule.client_scope):
            raise Forbidden(
                f"This needs the scope {rule.client_scope}",
                f"Cần phạm vi truy cập {rule.client_scope}",
                scope=rule.client_scope,
            )
        return
    if rule.roles is not None and not principal.has_role(*rule.roles):
        raise Forbidden("Your role does not allow this", "Vai trò của bạn không được phép")


def check_operation(principal: Principal | None, operation: str) -> None:
    check(principal, RULES[operation])


def check_tenant(principal: Principal, province_id: int | None, agency_id: int | None) -> None:
    if not principal.tenant.allows(province_id, agency_id):
        raise Forbidden(
            "Outside your agency or province", "Ngoài phạm vi cơ quan hoặc tỉnh của bạn"
        )


def require_principal(principal: Principal | None) -> Principal:
    """Anyone signed in; anonymous callers get UNAUTHENTICATED."""
    if principal is None:
        raise Unauthenticated("Authentication required", "Cần đăng nhập")
    return principal


def may_switch_modules(principal: Principal, province_id: int) -> bool:
    """The national administrator; the province's own administrator; or an integration client
    bound to that very province (not to one of its agencies) with the modules:admin scope."""
    if principal.has_role(Role.national_admin):
        return True
    if principal.has_role(Role.province_admin):
        return principal.province_id == province_id
    return (
        not principal.roles
        and principal.has_scope(MODULES_ADMIN)
        and principal.province_id == province_id
        and principal.tenant.kind == "province"
        and principal.tenant.allows(province_id, None)
    )


def require_province_admin(principal: Principal | None, province_id: int) -> Principal:
    """A national administrator, or an administrator of this very province."""
    principal = require_principal(principal)
    if principal.has_role(Role.national_admin) and principal.tenant.kind == "nation":
        return principal
    if not principal.has_role(Role.province_admin):
        raise Forbidden("Your role does not allow this", "Vai trò của bạn không được phép")
    if principal.province_id != province_id or not principal.tenant.allows(province_id, None):
        raise Forbidden(
            "Only this province's administrators may do this",
            "Chỉ quản trị viên của tỉnh này được thực hiện",
        )
    return principal
