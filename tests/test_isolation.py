"""The isolation suite: every tenant-owned model and every GraphQL operation, tried with another
tenant's ids, must leak nothing.

It is table-driven: a later issue adds a row factory to `ROW_FACTORIES` for each tenant-owned
model it creates (a test fails until it does) and a `Case` to `CASES` for each query or mutation.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from eiso.core.audit import GENESIS, AuditEntry, AuditHead
from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers.models import Dossier, DossierCounter, DossierEventRow, ProcedureAdoption
from eiso.core.qms import models as qms
from eiso.graphql.tenants.ids import encode_id
from eiso.tenants.models import Agency, AgencyKind, TenantOwned, Unit
from eiso.tenants.modules import set_module
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.ws_client import answer_over_websocket


@dataclasses.dataclass
class Tenant:
    province_id: int
    province_code: str
    agency: Agency
    sibling: Agency  # another agency of the same province
    rows: dict[type, object]  # one row of every tenant-owned model, owned by `agency`

    @property
    def agency_gid(self) -> str:
        return encode_id("Agency", self.province_id, self.agency.id)

    def markers(self) -> list[str]:
        """Strings that must never appear in an answer to another tenant."""
        return [self.agency.code, self.agency.name, self.agency_gid]


# --- tenant-owned models ------------------------------------------------------------------------

# One factory per tenant-owned model: (province_id, agency_id) -> an unsaved row.
ROW_FACTORIES: dict[type, Callable[[int, int], object]] = {
    Unit: lambda province_id, agency_id: Unit(province_id=province_id, agency_id=agency_id, code="TN",
                                              name="Bộ phận tiếp nhận " + unique_code()),
    AuditEntry: lambda province_id, agency_id: AuditEntry(
        province_id=province_id, agency_id=agency_id, seq=1, actor="probe", action="probe",
        entity_type="probe", entity_id="1", prev_hash=GENESIS, hash=GENESIS),
    AuditHead: lambda province_id, agency_id: AuditHead(
        province_id=province_id, id=agency_id, agency_id=agency_id),
    ProcedureAdoption: lambda province_id, agency_id: ProcedureAdoption(
        province_id=province_id, agency_id=agency_id, procedure_code=unique_code("T"), time_limit_amount=1),
    Dossier: lambda province_id, agency_id: Dossier(
        province_id=province_id, agency_id=agency_id, code=unique_code("D"), lookup_hash="0" * 64,
        procedure_code="1.000001", applicant={"full_name": "Nguyễn Văn A"}),
    DossierEventRow: lambda province_id, agency_id: DossierEventRow(
        province_id=province_id, agency_id=agency_id, dossier_id=1, actor="probe", action="probe", to_status=2),
    DossierCounter: lambda province_id, agency_id: DossierCounter(
        province_id=province_id, agency_id=agency_id, day=unique_code("")[-6:]),
    **qms.isolation_factories(),
}
# The application's role may not DELETE these at all (tests/test_audit.py shows it); the
# isolation test only checks that reads and updates by id stay in scope.
NO_DELETE = {AuditEntry, AuditHead, qms.Nonconformity}


def tenant_owned_models() -> set[type]:
    found, stack = set(), [TenantOwned]
    while stack:
        for model in stack.pop().__subclasses__():
            stack.append(model)
            if getattr(model, "__table__", None) is not None:
                found.add(model)
    return found


async def _tenant(session, name: str) -> Tenant:
    province = await ensure_province(session, unique_code("P"), f"Tỉnh {name}")
    agency = await ensure_agency(session, province, unique_code("A"), f"Xã {name} {unique_code()}", AgencyKind.commune)
    sibling = await ensure_agency(session, province, unique_code("A"), f"Phường {name} {unique_code()}", AgencyKind.ward)
    rows = {}
    for model, factory in ROW_FACTORIES.items():
        rows[model] = factory(province.id, agency.id)
        session.add(rows[model])
    await set_module(session, province.id, "secret_" + unique_code().lower(), True, by="setup")
    return Tenant(province.id, province.code, agency, sibling, rows)


@pytest.fixture
async def tenants(resources) -> tuple[Tenant, Tenant]:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await _tenant(session, "Tiên Yên"), await _tenant(session, "Văn Giang")


def test_every_tenant_owned_model_has_a_row_factory():
    missing = tenant_owned_models() - set(ROW_FACTORIES)
    assert not missing, f"add these models to ROW_FACTORIES: {sorted(m.__name__ for m in missing)}"


@pytest.mark.parametrize("model", sorted(ROW_FACTORIES, key=lambda m: m.__name__), ids=lambda m: m.__name__)
async def test_orm_reads_of_another_agency_find_nothing(resources, tenants, model):
    mine, theirs = tenants
    row = theirs.rows[model]
    sibling_row = ROW_FACTORIES[model](mine.province_id, mine.sibling.id)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        session.add(sibling_row)
    scopes = {
        "agency": TenantScope.agencies([mine.agency.id], [mine.province_id]),
        "province": TenantScope.province(mine.province_id),
    }
    for name, scope in scopes.items():
        async with resources.session(scope) as session:
            by_id = select(model).where(model.province_id == row.province_id, model.id == row.id)
            assert (await session.execute(by_id)).first() is None, name
            assert await session.get(model, (row.province_id, row.id)) is None, name
            owners = set((await session.execute(select(model.agency_id))).scalars())
            assert theirs.agency.id not in owners, name
    async with resources.session(scopes["agency"]) as session:
        assert await session.get(model, (sibling_row.province_id, sibling_row.id)) is None
    for name, scope in scopes.items():  # writes by id touch nothing either
        async with resources.session(scope) as session, session.begin():
            for target in (row, sibling_row) if name == "agency" else (row,):
                where = (model.province_id == target.province_id, model.id == target.id)
                changed = await session.execute(update(model).where(*where).values(province_id=model.province_id))
                assert changed.rowcount == 0, name
                if model not in NO_DELETE:
                    removed = await session.execute(delete(model).where(*where))
                    assert removed.rowcount == 0, name


async def test_agency_scope_cannot_read_a_sibling_agency(resources, tenants):
    mine, _ = tenants
    async with resources.session(TenantScope.agencies([mine.agency.id], [mine.province_id])) as session:
        assert await session.get(Agency, (mine.province_id, mine.sibling.id)) is None


# --- GraphQL ------------------------------------------------------------------------------------


def agency_caller(tenant: Tenant) -> Principal:
    return Principal("officer-" + tenant.agency.code, TenantScope.agencies([tenant.agency.id], [tenant.province_id]),
                     frozenset({Role.officer}), province_id=tenant.province_id, agency_id=tenant.agency.id)


def province_admin(tenant: Tenant) -> Principal:
    return Principal("admin-" + tenant.province_code, TenantScope.province(tenant.province_id),
                     frozenset({Role.province_admin}), province_id=tenant.province_id)


@dataclasses.dataclass
class Case:
    """`query` run by `caller(mine)` with `variables(mine, theirs)`: nothing of `theirs` may
    appear in the answer, and the errors (if any) must be `codes`."""

    name: str
    query: str
    variables: Callable[[Tenant, Tenant], dict]
    caller: Callable[[Tenant], Principal] = agency_caller
    codes: tuple[str, ...] = ()
    markers: Callable[[Tenant, Tenant], list[str]] = lambda mine, theirs: theirs.markers()


def _forged(type_name: str, province_id: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{province_id}:{row_id}".encode()).decode()


CASES = [
    Case("agency by another province's id", "query($id: ID!) { agency(id: $id) { code name } }",
         lambda mine, theirs: {"id": theirs.agency_gid}, codes=("NOT_FOUND",)),
    Case("agency with their id under my province", "query($id: ID!) { agency(id: $id) { code } }",
         lambda mine, theirs: {"id": _forged("Agency", mine.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("agency with their id as a province admin", "query($id: ID!) { agency(id: $id) { code } }",
         lambda mine, theirs: {"id": theirs.agency_gid}, caller=province_admin, codes=("NOT_FOUND",)),
    Case("agency by a sibling's id", "query($id: ID!) { agency(id: $id) { code name } }",
         lambda mine, theirs: {"id": encode_id("Agency", mine.province_id, mine.sibling.id)}, codes=("NOT_FOUND",),
         markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name]),
    Case("agency with a Province-typed id", "query($id: ID!) { agency(id: $id) { code } }",
         lambda mine, theirs: {"id": encode_id("Province", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("agencies of their province", "query($p: String) { agencies(provinceCode: $p) { totalCount edges { node { code name id } } } }",
         lambda mine, theirs: {"p": theirs.province_code}, caller=province_admin),
    Case("agencies searched by their name", "query($s: String) { agencies(search: $s) { totalCount edges { node { code name id } } } }",
         lambda mine, theirs: {"s": theirs.agency.name}, caller=province_admin),
    Case("agencies of my province as one agency",
         "query($p: String) { agencies(provinceCode: $p, first: 100) { edges { node { code name parent { code } } } } }",
         lambda mine, theirs: {"p": mine.province_code},
         markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name, *theirs.markers()]),
    Case("modules show only my province's state", "{ modules { name enabledForMyProvince changedBy } }",
         lambda mine, theirs: {}, caller=province_admin,
         markers=lambda mine, theirs: [theirs.province_code]),
    Case("onboard agencies into their province",
         "mutation($p: String!, $c: String!) { onboardAgencies(provinceCode: $p, format: CSV, content: $c) { ok created } }",
         lambda mine, theirs: {"p": theirs.province_code, "c": f"code,name,kind,parent_code\nX{theirs.agency.code},X,ward,\n"},
         caller=province_admin, codes=("FORBIDDEN",)),
    Case("onboard agencies as an officer",
         "mutation($p: String!, $c: String!) { onboardAgencies(provinceCode: $p, format: CSV, content: $c) { ok } }",
         lambda mine, theirs: {"p": mine.province_code, "c": "code,name,kind,parent_code\n"}, codes=("FORBIDDEN",)),
    Case("me tells only about the caller", "{ me { subject } }", lambda mine, theirs: {}),
    Case("enable a module as an officer", 'mutation { enableModule(module: "land_use") { name } }',
         lambda mine, theirs: {}, codes=("FORBIDDEN",)),
    Case("disable a module as an officer", 'mutation { disableModule(module: "land_use") { name } }',
         lambda mine, theirs: {}, codes=("FORBIDDEN",)),
    # Dossiers: their ids answer NOT_FOUND, the same as ids that never existed.
    Case("dossiers lists only mine", "{ dossiers(first: 100) { totalCount edges { node { code id } } } }",
         lambda mine, theirs: {}),
    Case("dossier by their id", "query($id: ID!) { dossier(id: $id) { code } }",
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("procedures are the shared catalogue", "{ procedures(first: 5) { totalCount } }", lambda mine, theirs: {}),
    Case("public lookup with a made-up code", '{ publicDossier(code: "none", lookupKey: "x") { code } }',
         lambda mine, theirs: {}, codes=("NOT_FOUND",)),
    Case("rate with a made-up code", 'mutation { rateDossier(code: "none", lookupKey: "x", rating: 5) }',
         lambda mine, theirs: {}, codes=("NOT_FOUND",)),
    Case("adopt an unknown procedure", 'mutation { adoptProcedure(procedureCode: "none") { code } }',
         lambda mine, theirs: {}, codes=("NOT_FOUND",)),
    Case("receive for an unknown procedure",
         'mutation { receiveDossier(input: {procedureCode: "none", applicant: {a: 1}, sectorData: {}}) { replayed } }',
         lambda mine, theirs: {}, codes=("NOT_FOUND",)),
    Case("refuseDossier on their dossier", 'mutation($id: ID!) { refuseDossier(id: $id, expectedVersion: 1, reason: "x") { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("assignDossier on their dossier", 'mutation($id: ID!) { assignDossier(id: $id, expectedVersion: 1, assignee: "x") { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("completeStep on their dossier", 'mutation($id: ID!) { completeStep(id: $id, expectedVersion: 1) { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("requestSupplement on their dossier", 'mutation($id: ID!) { requestSupplement(id: $id, expectedVersion: 1, reason: "x") { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("supplementReceived on their dossier", 'mutation($id: ID!) { supplementReceived(id: $id, expectedVersion: 1) { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("requestFee on their dossier", 'mutation($id: ID!) { requestFee(id: $id, expectedVersion: 1) { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("feePaid on their dossier", 'mutation($id: ID!) { feePaid(id: $id, expectedVersion: 1) { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("withdrawDossier on their dossier", 'mutation($id: ID!) { withdrawDossier(id: $id, expectedVersion: 1, reason: "x") { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("stopDossier on their dossier", 'mutation($id: ID!) { stopDossier(id: $id, expectedVersion: 1, reason: "x") { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("returnResult on their dossier", 'mutation($id: ID!) { returnResult(id: $id, expectedVersion: 1) { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
    Case("recordApology on their dossier", 'mutation($id: ID!) { recordApology(id: $id, expectedVersion: 1, reason: "x", newAppointment: "2030-01-01T00:00:00+07:00") { code } }',
         lambda mine, theirs: {"id": _forged("Dossier", theirs.province_id, theirs.agency.id)}, codes=("NOT_FOUND",)),
]


_EVENTS = "subscription($a: ID!) { dossierEvents(agencyId: $a) { dossierCode agencyId } }"


def qms_keeper(tenant: Tenant) -> Principal:
    """An agency user holding every QMS role, so only the tenant check can refuse it."""
    return Principal("iso-" + tenant.agency.code, TenantScope.agencies([tenant.agency.id], [tenant.province_id]),
                     frozenset({Role.iso_secretary, Role.leader, Role.auditor}), province_id=tenant.province_id,
                     agency_id=tenant.agency.id)


def sibling_keeper(tenant: Tenant) -> Principal:
    """Like `qms_keeper` in the sibling agency, whose audit chain holds no probe entry (creations
    append real entries)."""
    return Principal("iso-" + tenant.sibling.code, TenantScope.agencies([tenant.sibling.id], [tenant.province_id]),
                     frozenset({Role.iso_secretary, Role.leader, Role.auditor}), province_id=tenant.province_id,
                     agency_id=tenant.sibling.id)


def _their(model: type, type_name: str) -> Callable[[Tenant, Tenant], dict]:
    return lambda mine, theirs: {"id": encode_id(type_name, theirs.province_id, theirs.rows[model].id)}


def _their_ids(mine: Tenant, theirs: Tenant) -> list[str]:
    names = {qms.Document: "Document", qms.DocumentVersion: "DocumentVersion", qms.Nonconformity: "Nonconformity",
             qms.Risk: "Risk", qms.AuditProgramme: "AuditProgramme", qms.AuditPlan: "AuditPlan"}
    return [*theirs.markers(), *(encode_id(name, theirs.province_id, theirs.rows[model].id)
                                 for model, name in names.items())]


_VERSION_MOVES = ("submitDocumentVersion", "approveDocumentVersion", "makeDocumentVersionEffective",
                  "acknowledgeDocument")
_NC_MOVES = {
    "planCorrectiveAction": '(id: $id, rootCause: "r", correctiveAction: "a", owner: "o", dueDate: "2030-01-01")',
    "completeCorrectiveAction": "(id: $id)",
    "recordEffectivenessCheck": '(id: $id, result: "r", effective: true)',
    "closeNonconformity": "(id: $id)",
}
CASES += [
    *(Case(f"{name} lists only my agency's rows", f"{{ {name}(first: 100) {{ edges {{ node {{ id }} }} }} }}",
           lambda mine, theirs: {}, caller=qms_keeper, markers=_their_ids)
      for name in ("documents", "nonconformities", "risks", "auditProgrammes")),
    Case("document by their id", "query($id: ID!) { document(id: $id) { code } }",
         _their(qms.Document, "Document"), caller=qms_keeper, codes=("NOT_FOUND",), markers=_their_ids),
    Case("document with their id under my province", "query($id: ID!) { document(id: $id) { code } }",
         lambda mine, theirs: {"id": _forged("Document", mine.province_id, theirs.rows[qms.Document].id)},
         caller=qms_keeper, codes=("NOT_FOUND",), markers=_their_ids),
    *(Case(f"{name} on their version", f"mutation($id: ID!) {{ {name}(id: $id) {{ status }} }}",
           _their(qms.DocumentVersion, "DocumentVersion"), caller=qms_keeper, codes=("NOT_FOUND",),
           markers=_their_ids) for name in _VERSION_MOVES),
    *(Case(f"{name} on their nonconformity", f"mutation($id: ID!) {{ {name}{args} {{ status }} }}",
           _their(qms.Nonconformity, "Nonconformity"), caller=qms_keeper, codes=("NOT_FOUND",),
           markers=_their_ids) for name, args in _NC_MOVES.items()),
    Case("record a finding in their audit plan",
         'mutation($id: ID!) { recordAuditFinding(planId: $id, clause: "7.5", kind: NONCONFORMITY, description: "d")'
         " { kind } }", _their(qms.AuditPlan, "AuditPlan"), caller=qms_keeper, codes=("NOT_FOUND",),
         markers=_their_ids),
    Case("model documents of my province only", "{ modelDocuments(first: 100) { edges { node { id code } } } }",
         lambda mine, theirs: {}, caller=qms_keeper, markers=_their_ids),
    Case("model adoptions of their document", "query($id: ID!) { modelAdoptions(id: $id) { agencyId } }",
         _their(qms.Document, "Document"), caller=province_admin, codes=("NOT_FOUND",), markers=_their_ids),
    Case("adopt their version", "mutation($id: ID!) { adoptModelDocument(versionId: $id) { code } }",
         _their(qms.DocumentVersion, "DocumentVersion"), caller=qms_keeper, codes=("NOT_FOUND",),
         markers=_their_ids),
    Case("create a document lands in my agency", 'mutation { createDocument(kind: FORM, code: "BM-ISO", '
         'title: "Biểu mẫu") { code } }', lambda mine, theirs: {}, caller=sibling_keeper, markers=_their_ids),
    Case("raise a nonconformity as an officer", 'mutation { raiseNonconformity(title: "x") { status } }',
         lambda mine, theirs: {}, codes=("FORBIDDEN",)),
    Case("register a risk lands in my agency", 'mutation { registerRisk(title: "Rủi ro", likelihood: 2, impact: 2, '
         'treatment: "t", owner: "o", reviewDate: "2030-01-01") { level } }', lambda mine, theirs: {},
         caller=sibling_keeper, markers=_their_ids),
    Case("plan an audit lands in my agency", 'mutation { createAuditPlan(date: "2030-03-01", scope: "s", '
         'auditors: ["a"]) { date } }', lambda mine, theirs: {}, caller=sibling_keeper, markers=_their_ids),
    # Dossier events (a subscription, tried over graphql-transport-ws): refused outside my agency
    # whether the agency exists or not; a province administrator's forged id finds nothing.
    Case("dossier events of their agency", _EVENTS, lambda mine, theirs: {"a": theirs.agency_gid},
         codes=("FORBIDDEN",)),
    Case("dossier events of a sibling agency", _EVENTS,
         lambda mine, theirs: {"a": encode_id("Agency", mine.province_id, mine.sibling.id)}, codes=("FORBIDDEN",),
         markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name, *theirs.markers()]),
    Case("dossier events of their agency as a province admin", _EVENTS,
         lambda mine, theirs: {"a": theirs.agency_gid}, caller=province_admin, codes=("FORBIDDEN",)),
    Case("dossier events with their id under my province", _EVENTS,
         lambda mine, theirs: {"a": _forged("Agency", mine.province_id, theirs.agency.id)},
         caller=province_admin, codes=("NOT_FOUND",)),
]


PUBLIC_FIELDS = {"version", "provinces", "province", "activeModules"}  # global reference data, no tenant rows


def test_every_query_and_mutation_has_a_case():
    from graphql import parse

    from eiso.graphql.schema import build_schema

    schema = build_schema()._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    fields = {name for root in roots if root for name in root.fields}
    covered = {
        selection.name.value
        for case in CASES
        for definition in parse(case.query).definitions
        for selection in definition.selection_set.selections
    }
    missing = fields - PUBLIC_FIELDS - covered
    assert not missing, f"add isolation cases for: {sorted(missing)}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_graphql_leaks_nothing(app, client, callers, resources, tenants, case):
    mine, theirs = tenants
    headers = callers.issue(case.caller(mine))
    if case.query.startswith("subscription"):
        body = await answer_over_websocket(app, headers, case.query, case.variables(mine, theirs))
    else:
        response = await client.post("/graphql", json={"query": case.query, "variables": case.variables(mine, theirs)},
                                     headers=headers)
        body = response.json()
    assert [error["extensions"]["code"] for error in body.get("errors", [])] == list(case.codes), body
    text = orjson.dumps(body).decode()
    for marker in case.markers(mine, theirs):
        assert marker not in text, f"{case.name}: {marker!r} leaked"
    async with resources.session(TenantScope.nation()) as session:
        assert (await session.execute(select(Agency).where(Agency.code == "X" + theirs.agency.code))).first() is None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    type_name=st.sampled_from(["Agency", "Province", "Unit", "agency", ""]),
    province_delta=st.integers(-3, 3),
    noise=st.text(max_size=12),
)
async def test_random_global_ids_never_resolve_across_tenants(client, callers, tenants, type_name, province_delta, noise):
    mine, theirs = tenants
    candidates = [
        _forged(type_name, theirs.province_id + province_delta, theirs.agency.id),
        _forged(type_name, mine.province_id, theirs.agency.id) + noise,
        base64.urlsafe_b64encode(noise.encode()).decode(),
        noise,
    ]
    headers = callers.issue(agency_caller(mine))
    for candidate in candidates:
        body = (await client.post("/graphql", json={"query": "query($id: ID!) { agency(id: $id) { id } }",
                                                     "variables": {"id": candidate}}, headers=headers)).json()
        found = (body.get("data") or {}).get("agency")
        assert found is None or found["id"] == mine.agency_gid
