"""The isolation suite: every tenant-owned model and every GraphQL operation, tried with another
tenant's ids, must leak nothing.

It is table-driven: a later issue adds a row factory to `ROW_FACTORIES` for each tenant-owned
model it creates (a test fails until it does) and a `Case` to `CASES` for each query or mutation.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Callable

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_attribute

from eiso.core.audit import GENESIS, AuditEntry, AuditHead
from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers.models import (
    Dossier,
    DossierAttachment,
    DossierCounter,
    DossierEventRow,
    DossierKey,
    DossierStep,
    ProcedureAdoption,
)
from eiso.core.dossiers.slips.issued import IssuedSlip
from eiso.core.feedback.models import Feedback
from eiso.core.global_ids import encode_id
from eiso.core.plugins.activation import set_module
from eiso.core.qms import models as qms
from eiso.core.qms.objectives import Objective
from eiso.core.qms.yearly_reports import YearlyReport
from eiso.tenants.models import Agency, AgencyKind, SharedTenantOwned, TenantOwned, Unit
from eiso.tenants.scope import TenantScope, TenantScopeError
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.qms_factories import isolation_factories
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
    Unit: lambda province_id, agency_id: Unit(
        province_id=province_id,
        agency_id=agency_id,
        code="TN",
        name="Bộ phận tiếp nhận " + unique_code(),
    ),
    AuditEntry: lambda province_id, agency_id: AuditEntry(
        province_id=province_id,
        agency_id=agency_id,
        seq=1,
        actor="probe",
        action="probe",
        entity_type="probe",
        entity_id="1",
        prev_hash=GENESIS,
        hash=GENESIS,
    ),
    AuditHead: lambda province_id, agency_id: AuditHead(
        province_id=province_id, id=agency_id, agency_id=agency_id
    ),
    ProcedureAdoption: lambda province_id, agency_id: ProcedureAdoption(
        province_id=province_id,
        agency_id=agency_id,
        procedure_code=unique_code("T"),
        time_limit_amount=1,
    ),
    Dossier: lambda province_id, agency_id: Dossier(
        province_id=province_id,
        agency_id=agency_id,
        code=unique_code("D"),
        lookup_hash="0" * 64,
        procedure_code="1.000001",
        applicant={"full_name": "Nguyễn Văn A"},
    ),
    DossierEventRow: lambda province_id, agency_id: DossierEventRow(
        province_id=province_id,
        agency_id=agency_id,
        dossier_id=1,
        actor="probe",
        action="probe",
        to_status=2,
    ),
    IssuedSlip: lambda province_id, agency_id: IssuedSlip(
        province_id=province_id,
        agency_id=agency_id,
        dossier_id=1,
        number=1,
        event_id=1,
        issued_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        content=None,
    ),
    DossierCounter: lambda province_id, agency_id: DossierCounter(
        province_id=province_id, agency_id=agency_id, day=unique_code("")[-6:]
    ),
    DossierStep: lambda province_id, agency_id: _step(province_id, agency_id),
    DossierKey: lambda province_id, agency_id: _key(province_id, agency_id),
    DossierAttachment: lambda province_id, agency_id: _attachment(province_id, agency_id),
    **isolation_factories(),
    Feedback: lambda province_id, agency_id: Feedback(
        province_id=province_id,
        agency_id=agency_id,
        code="PAKN-" + unique_code("F"),
        lookup_hash="0" * 64,
        kind="feedback",
        subject="agency",
        content="Phản ánh thăm dò " + unique_code(),
        contact_name="Người phản ánh " + unique_code(),
        # Answered on time: `eiso qms sweep-overdue` (tests/test_qms_loop.py) leaves it alone;
        # this table's audit chain holds only the probe entry above.
        state="answered",
        on_time=True,
        publish_consent=True,
        published=True,
        answer="Trả lời công khai " + unique_code(),
        answered_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        answer_days=10,
        due_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    ),
    Objective: lambda province_id, agency_id: Objective(
        province_id=province_id,
        agency_id=agency_id,
        title="Mục tiêu đúng hạn",
        metric="on_time_rate",
        comparator="at_least",
        target=0.98,
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
        created_by="probe",
    ),
    YearlyReport: lambda province_id, agency_id: YearlyReport(
        province_id=province_id,
        agency_id=agency_id,
        year=2001,
        scope="Phạm vi " + unique_code(),
        updated_by="probe",
    ),
}


def _key(province_id: int, agency_id: int) -> DossierKey:
    row = DossierKey(
        province_id=province_id,
        agency_id=agency_id,
        namespace="probe",
        value=unique_code(),
        dossier_id=0,
    )
    set_attribute(row, "dossier", ROW_FACTORIES[Dossier](province_id, agency_id))
    return row


def _attachment(province_id: int, agency_id: int) -> DossierAttachment:
    row = DossierAttachment(
        province_id=province_id,
        agency_id=agency_id,
        dossier_id=0,
        position=0,
        component_code="probe",
        filename="giay-to-" + unique_code() + ".pdf",
        media_type="application/pdf",
        size=1,
        sha256="0" * 64,
    )
    set_attribute(row, "dossier", ROW_FACTORIES[Dossier](province_id, agency_id))
    return row


def _step(
    province_id: int, agency_id: int, dossier: Dossier | None = None, index: int = 0
) -> DossierStep:
    row = DossierStep(
        province_id=province_id,
        agency_id=agency_id,
        dossier_id=0,
        step_index=index,
        step_code=f"s{index}",
        sector_data={"secret": "dữ liệu bước " + unique_code()},
    )
    set_attribute(row, "dossier", dossier or ROW_FACTORIES[Dossier](province_id, agency_id))
    return row


# The application's role may not DELETE these at all (tests/test_audit.py shows it); the
# isolation test only checks that reads and updates by id stay in scope.
NO_DELETE = {AuditEntry, AuditHead, qms.Nonconformity}


def tenant_owned_models() -> set[type]:
    found, stack = set(), [TenantOwned, SharedTenantOwned]
    while stack:
        for model in stack.pop().__subclasses__():
            stack.append(model)
            if getattr(model, "__table__", None) is not None:
                found.add(model)
    return found


async def _tenant(session, name: str) -> Tenant:
    province = await ensure_province(session, unique_code("P"), f"Tỉnh {name}")
    agency = await ensure_agency(
        session, province, unique_code("A"), f"Xã {name} {unique_code()}", AgencyKind.commune
    )
    sibling = await ensure_agency(
        session, province, unique_code("A"), f"Phường {name} {unique_code()}", AgencyKind.ward
    )
    rows = {}
    for model, factory in ROW_FACTORIES.items():
        rows[model] = factory(province.id, agency.id)
        session.add(rows[model])
    await set_module(
        session,
        province.id,
        "secret_" + unique_code().lower(),
        True,
        by="setup",
        config={"office": agency.code},  # the stored configuration: its own marker
    )
    return Tenant(province.id, province.code, agency, sibling, rows)


@pytest.fixture
async def tenants(resources) -> tuple[Tenant, Tenant]:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await _tenant(session, "Tiên Yên"), await _tenant(session, "Văn Giang")


def test_every_tenant_owned_model_has_a_row_factory():
    missing = tenant_owned_models() - set(ROW_FACTORIES)
    assert not missing, f"add these models to ROW_FACTORIES: {sorted(m.__name__ for m in missing)}"


@pytest.mark.parametrize(
    "model", sorted(ROW_FACTORIES, key=lambda m: m.__name__), ids=lambda m: m.__name__
)
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
                changed = await session.execute(
                    update(model).where(*where).values(province_id=model.province_id)
                )
                assert changed.rowcount == 0, name
                if model not in NO_DELETE:
                    removed = await session.execute(delete(model).where(*where))
                    assert removed.rowcount == 0, name


async def test_agency_scope_cannot_read_a_sibling_agency(resources, tenants):
    mine, _ = tenants
    async with resources.session(
        TenantScope.agencies([mine.agency.id], [mine.province_id])
    ) as session:
        assert await session.get(Agency, (mine.province_id, mine.sibling.id)) is None


# --- GraphQL ------------------------------------------------------------------------------------


def agency_caller(tenant: Tenant) -> Principal:
    return Principal(
        "officer-" + tenant.agency.code,
        TenantScope.agencies([tenant.agency.id], [tenant.province_id]),
        frozenset({Role.officer}),
        province_id=tenant.province_id,
        agency_id=tenant.agency.id,
    )


def province_admin(tenant: Tenant) -> Principal:
    return Principal(
        "admin-" + tenant.province_code,
        TenantScope.province(tenant.province_id),
        frozenset({Role.province_admin}),
        province_id=tenant.province_id,
    )


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


def _their_dossier_forged(mine: Tenant, theirs: Tenant) -> dict:
    """Their dossier's global id, built by hand as a caller could forge it."""
    return {"id": _forged("Dossier", theirs.province_id, theirs.rows[Dossier].id)}


CASES = [
    Case(
        "agency by another province's id",
        "query($id: ID!) { agency(id: $id) { code name } }",
        lambda mine, theirs: {"id": theirs.agency_gid},
        codes=("NOT_FOUND",),
    ),
    Case(
        "agency with their id under my province",
        "query($id: ID!) { agency(id: $id) { code } }",
        lambda mine, theirs: {"id": _forged("Agency", mine.province_id, theirs.agency.id)},
        codes=("NOT_FOUND",),
    ),
    Case(
        "agency with their id as a province admin",
        "query($id: ID!) { agency(id: $id) { code } }",
        lambda mine, theirs: {"id": theirs.agency_gid},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "agency by a sibling's id",
        "query($id: ID!) { agency(id: $id) { code name } }",
        lambda mine, theirs: {"id": encode_id("Agency", mine.province_id, mine.sibling.id)},
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name],
    ),
    Case(
        "agency with a Province-typed id",
        "query($id: ID!) { agency(id: $id) { code } }",
        lambda mine, theirs: {"id": encode_id("Province", theirs.province_id, theirs.agency.id)},
        codes=("NOT_FOUND",),
    ),
    Case(
        "agencies of their province",
        "query($p: String) { agencies(provinceCode: $p) { totalCount edges { node { code name id "
        "} } } }",
        lambda mine, theirs: {"p": theirs.province_code},
        caller=province_admin,
    ),
    Case(
        "agencies searched by their name",
        "query($s: String) { agencies(search: $s) { totalCount edges { node { code name id } } } }",
        lambda mine, theirs: {"s": theirs.agency.name},
        caller=province_admin,
    ),
    Case(
        "agencies of my province as one agency",
        "query($p: String) { agencies(provinceCode: $p, first: 100) { edges { node { code name "
        "parent { code } } } } }",
        lambda mine, theirs: {"p": mine.province_code},
        markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name, *theirs.markers()],
    ),
    Case(
        "modules show only my province's state",
        "{ modules { name enabledForMyProvince changedBy } }",
        lambda mine, theirs: {},
        caller=province_admin,
        markers=lambda mine, theirs: [theirs.province_code],
    ),
    Case(
        "modules' stored configuration: only my province's",
        "{ modules { name config configSchema } }",
        lambda mine, theirs: {},
        caller=province_admin,
    ),
    Case(
        "modules' stored configuration of their province by its id",
        "query($p: ID) { modules(provinceId: $p) { name config } }",
        lambda mine, theirs: {"p": encode_id("Province", theirs.province_id, theirs.province_id)},
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "modules' stored configuration is not an officer's",
        "{ modules { name config } }",
        lambda mine, theirs: {},
        markers=lambda mine, theirs: [mine.agency.code, *theirs.markers()],
    ),
    Case(
        "onboard agencies into their province",
        "mutation($p: String!, $c: String!) { onboardAgencies(provinceCode: $p, format: CSV, "
        "content: $c) { ok created } }",
        lambda mine, theirs: {
            "p": theirs.province_code,
            "c": f"code,name,kind,parent_code\nX{theirs.agency.code},X,ward,\n",
        },
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "onboard agencies as an officer",
        "mutation($p: String!, $c: String!) { onboardAgencies(provinceCode: $p, format: CSV, "
        "content: $c) { ok } }",
        lambda mine, theirs: {"p": mine.province_code, "c": "code,name,kind,parent_code\n"},
        codes=("FORBIDDEN",),
    ),
    Case("me tells only about the caller", "{ me { subject } }", lambda mine, theirs: {}),
    # A province's accounts and clients: another province's are refused; their agency is
    # none of my province's (real accounts across provinces: tests/test_accounts.py).
    *(
        Case(
            f"{field} of their province",
            query,
            lambda mine, theirs: {"p": theirs.province_code},
            caller=province_admin,
            codes=("FORBIDDEN",),
        )
        for field, query in (
            ("accounts", "query($p: String!) { accounts(provinceCode: $p) { username } }"),
            (
                "integrationClients",
                "query($p: String!) { integrationClients(provinceCode: $p) { clientId } }",
            ),
            (
                "disableAccount",
                'mutation($p: String!) { disableAccount(provinceCode: $p, username: "x") '
                "{ active } }",
            ),
            (
                "resetAccountPassword",
                'mutation($p: String!) { resetAccountPassword(provinceCode: $p, username: "x") '
                "{ password } }",
            ),
            (
                "disableIntegrationClient",
                "mutation($p: String!) { disableIntegrationClient(provinceCode: $p, "
                'clientId: "x") { active } }',
            ),
        )
    ),
    Case(
        "create an account in their agency",
        "mutation($p: String!, $a: String) { createAccount(provinceCode: $p, username: "
        '"probe.isolation", role: OFFICER, agencyCode: $a) { password } }',
        lambda mine, theirs: {"p": mine.province_code, "a": theirs.agency.code},
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [theirs.agency.name],
    ),
    Case(
        "create a client of their agency",
        "mutation($p: String!, $a: String) { createIntegrationClient(provinceCode: $p, "
        'name: "x", scopes: ["qms:read"], agencyCode: $a) { secret } }',
        lambda mine, theirs: {"p": mine.province_code, "a": theirs.agency.code},
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [theirs.agency.name],
    ),
    Case(
        "enable a module as an officer",
        'mutation { enableModule(module: "land_use") { name } }',
        lambda mine, theirs: {},
        codes=("FORBIDDEN",),
    ),
    Case(
        "disable a module as an officer",
        'mutation { disableModule(module: "land_use") { name } }',
        lambda mine, theirs: {},
        codes=("FORBIDDEN",),
    ),
    # Dossiers: their ids answer NOT_FOUND, the same as ids that never existed.
    Case(
        "dossiers lists only mine",
        "{ dossiers(first: 100) { totalCount edges { node { code id } } } }",
        lambda mine, theirs: {},
    ),
    Case(
        "dossiers with their relations show only mine",
        "{ dossiers(first: 10) { edges { node { code agency { code name } procedure { code } "
        "step { code assignee { name } } timeline { note actor { subject name } "
        "agency { code name } } } } } }",
        lambda mine, theirs: {},
    ),
    Case(
        "dossier by their id",
        "query($id: ID!) { dossier(id: $id) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "a procedure is of the shared catalogue",
        '{ procedure(code: "none") { code form { jsonSchema } } }',
        lambda mine, theirs: {},
    ),
    Case(
        "procedures are the shared catalogue",
        "{ procedures(first: 5) { totalCount } }",
        lambda mine, theirs: {},
    ),
    Case(
        "public lookup with a made-up code",
        '{ publicDossier(code: "none", lookupKey: "x") { code } }',
        lambda mine, theirs: {},
        codes=("NOT_FOUND",),
    ),
    Case(
        "rate with a made-up code",
        'mutation { rateDossier(code: "none", lookupKey: "x", rating: 5) }',
        lambda mine, theirs: {},
        codes=("NOT_FOUND",),
    ),
    Case(
        "adopt an unknown procedure",
        'mutation { adoptProcedure(procedureCode: "none") { code } }',
        lambda mine, theirs: {},
        codes=("NOT_FOUND",),
    ),
    Case(
        "drop their adoption: not found here (and theirs stays)",
        "mutation($c: String!) { dropProcedure(procedureCode: $c) }",
        lambda mine, theirs: {"c": theirs.rows[ProcedureAdoption].procedure_code},
        codes=("NOT_FOUND",),
    ),
    Case(
        "receive for an unknown procedure",
        'mutation { receiveDossier(input: {procedureCode: "none", applicant: {fullName: "A"}, '
        "sectorData: {}}) { replayed } }",
        lambda mine, theirs: {},
        codes=("NOT_FOUND",),
    ),
    Case(
        "acceptDossier on their dossier",
        "mutation($id: ID!) { acceptDossier(id: $id, expectedVersion: 1) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "citizen's withdrawal of their dossier without its lookup key",
        'mutation($c: String!) { withdrawOnlineDossier(code: $c, lookupKey: "x", '
        'reason: "x") { code status timeline { agency } } }',
        lambda mine, theirs: {"c": theirs.rows[Dossier].code},
        codes=("NOT_FOUND",),
    ),
    Case(
        "public lookup of their dossier without its lookup key",
        'query($c: String!) { publicDossier(code: $c, lookupKey: "x") { code statusLabelVi '
        "supplementRequest { text } } }",
        lambda mine, theirs: {"c": theirs.rows[Dossier].code},
        codes=("NOT_FOUND",),
    ),
    Case(
        "public lookup of their dossier through my province's portal",
        'query($c: String!, $p: String!) { publicDossier(code: $c, lookupKey: "x", '
        "provinceCode: $p) { code timeline { agency } } }",
        lambda mine, theirs: {"c": theirs.rows[Dossier].code, "p": mine.province_code},
        codes=("NOT_FOUND",),
    ),
    Case(
        "my province's public services list none of theirs",
        "query($p: String!) { publicServices(provinceCode: $p) { id code name procedures { "
        "procedure { code } } } }",
        lambda mine, theirs: {"p": mine.province_code},
    ),
    Case(
        "online filing at their agency for an unknown procedure",
        'mutation($a: ID!) { submitOnlineDossier(agencyId: $a, procedureCode: "none", '
        'applicant: {fullName: "A"}, sectorData: {}) { code lookupKey } }',
        lambda mine, theirs: {"a": theirs.agency_gid},
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [theirs.agency.code, theirs.agency.name],
    ),
    Case(
        "refuseDossier on their dossier",
        'mutation($id: ID!) { refuseDossier(id: $id, expectedVersion: 1, reason: "x") { code } }',
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "assignDossier on their dossier",
        'mutation($id: ID!) { assignDossier(id: $id, expectedVersion: 1, assignee: "x") { code } }',
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "completeStep on their dossier",
        "mutation($id: ID!) { completeStep(id: $id, expectedVersion: 1) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "requestSupplement on their dossier",
        'mutation($id: ID!) { requestSupplement(id: $id, expectedVersion: 1, reason: "x") { code '
        "} }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "supplementReceived on their dossier",
        "mutation($id: ID!) { supplementReceived(id: $id, expectedVersion: 1) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "requestFee on their dossier",
        "mutation($id: ID!) { requestFee(id: $id, expectedVersion: 1) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "feePaid on their dossier",
        "mutation($id: ID!) { feePaid(id: $id, expectedVersion: 1) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "withdrawDossier on their dossier",
        'mutation($id: ID!) { withdrawDossier(id: $id, expectedVersion: 1, reason: "x") { code } }',
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "stopDossier on their dossier",
        'mutation($id: ID!) { stopDossier(id: $id, expectedVersion: 1, reason: "x") { code } }',
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "returnResult on their dossier",
        "mutation($id: ID!) { returnResult(id: $id, expectedVersion: 1) { code } }",
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        "recordExtension on their dossier",
        'mutation($id: ID!) { recordExtension(id: $id, expectedVersion: 1, code: "verify", '
        'reason: "x") { code } }',
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
    Case(
        # the caller's own agency only: their procedure, not adopted here, is not received
        "refuseAtCounter for a procedure my agency has not adopted",
        'mutation { refuseAtCounter(input: {procedureCode: "none", applicant: {fullName: "A"}, '
        'sectorData: {}}, reason: "x") { replayed } }',
        lambda mine, theirs: {},
        codes=("NOT_FOUND",),
    ),
    Case(
        "recordApology on their dossier",
        'mutation($id: ID!) { recordApology(id: $id, expectedVersion: 1, reason: "x", '
        'newAppointment: "2030-01-01T00:00:00+07:00") { code } }',
        _their_dossier_forged,
        codes=("NOT_FOUND",),
    ),
]


_EVENTS = "subscription($a: ID!) { dossierEvents(agencyId: $a) { dossierCode agencyId } }"


def qms_keeper(tenant: Tenant) -> Principal:
    """An agency user holding every QMS role, so only the tenant check can refuse it."""
    return Principal(
        "iso-" + tenant.agency.code,
        TenantScope.agencies([tenant.agency.id], [tenant.province_id]),
        frozenset({Role.iso_secretary, Role.leader, Role.auditor}),
        province_id=tenant.province_id,
        agency_id=tenant.agency.id,
    )


def sibling_keeper(tenant: Tenant) -> Principal:
    """Like `qms_keeper` in the sibling agency, whose audit chain holds no probe entry (creations
    append real entries)."""
    return Principal(
        "iso-" + tenant.sibling.code,
        TenantScope.agencies([tenant.sibling.id], [tenant.province_id]),
        frozenset({Role.iso_secretary, Role.leader, Role.auditor}),
        province_id=tenant.province_id,
        agency_id=tenant.sibling.id,
    )


def _their(model: type, type_name: str) -> Callable[[Tenant, Tenant], dict]:
    return lambda mine, theirs: {
        "id": encode_id(type_name, theirs.province_id, theirs.rows[model].id)
    }


def _their_ids(mine: Tenant, theirs: Tenant) -> list[str]:
    names = {
        qms.Document: "Document",
        qms.DocumentVersion: "DocumentVersion",
        qms.Nonconformity: "Nonconformity",
        qms.Risk: "Risk",
        qms.AuditProgramme: "AuditProgramme",
        qms.AuditPlan: "AuditPlan",
    }
    return [
        *theirs.markers(),
        *(
            encode_id(name, theirs.province_id, theirs.rows[model].id)
            for model, name in names.items()
        ),
    ]


_VERSION_MOVES = (
    "submitDocumentVersion",
    "approveDocumentVersion",
    "makeDocumentVersionEffective",
    "acknowledgeDocument",
)
_NC_MOVES = {
    "planCorrectiveAction": (
        '(id: $id, rootCause: "r", correctiveAction: "a", owner: "o", dueDate: "2030-01-01")'
    ),
    "completeCorrectiveAction": "(id: $id)",
    "recordEffectivenessCheck": '(id: $id, result: "r", effective: true)',
    "closeNonconformity": "(id: $id)",
}
CASES += [
    *(
        Case(
            f"{name} lists only my agency's rows",
            f"{{ {name}(first: 100) {{ edges {{ node {{ id }} }} }} }}",
            lambda mine, theirs: {},
            caller=qms_keeper,
            markers=_their_ids,
        )
        for name in ("documents", "nonconformities", "risks", "auditProgrammes")
    ),
    Case(
        "documents' versions and their readers are only my agency's",
        "{ documents(first: 2) { edges { node { id versions { id readers { subject name } } } }"
        " } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=_their_ids,
    ),
    Case(
        "document by their id",
        "query($id: ID!) { document(id: $id) { code } }",
        _their(qms.Document, "Document"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "document with their id under my province",
        "query($id: ID!) { document(id: $id) { code } }",
        lambda mine, theirs: {
            "id": _forged("Document", mine.province_id, theirs.rows[qms.Document].id)
        },
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    *(
        Case(
            f"{name} on their version",
            f"mutation($id: ID!) {{ {name}(id: $id) {{ status }} }}",
            _their(qms.DocumentVersion, "DocumentVersion"),
            caller=qms_keeper,
            codes=("NOT_FOUND",),
            markers=_their_ids,
        )
        for name in _VERSION_MOVES
    ),
    *(
        Case(
            f"{name} on their nonconformity",
            f"mutation($id: ID!) {{ {name}{args} {{ status }} }}",
            _their(qms.Nonconformity, "Nonconformity"),
            caller=qms_keeper,
            codes=("NOT_FOUND",),
            markers=_their_ids,
        )
        for name, args in _NC_MOVES.items()
    ),
    Case(
        "record a finding in their audit plan",
        'mutation($id: ID!) { recordAuditFinding(planId: $id, clause: "7.5", kind: NONCONFORMITY, '
        'description: "d")'
        " { kind } }",
        _their(qms.AuditPlan, "AuditPlan"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "audit plans' checklists and findings of my agency only",
        "{ auditProgrammes(first: 2) { edges { node { plans { id checklist { clause question }"
        " findings { id description nonconformityId } } } } } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=_their_ids,
    ),
    Case(
        "model documents of my province only",
        "{ modelDocuments(first: 100) { edges { node { id code } } } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=_their_ids,
    ),
    Case(
        "model adoptions of their document",
        "query($id: ID!) { modelAdoptions(id: $id) { agencyId } }",
        _their(qms.Document, "Document"),
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "adopt their version",
        "mutation($id: ID!) { adoptModelDocument(versionId: $id) { code } }",
        _their(qms.DocumentVersion, "DocumentVersion"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "create a document lands in my agency",
        'mutation { createDocument(kind: FORM, code: "BM-ISO", title: "Biểu mẫu") { code } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_ids,
    ),
    Case(
        "raise a nonconformity as an officer",
        'mutation { raiseNonconformity(title: "x") { status } }',
        lambda mine, theirs: {},
        codes=("FORBIDDEN",),
    ),
    Case(
        "register a risk lands in my agency",
        'mutation { registerRisk(title: "Rủi ro", likelihood: 2, impact: 2, '
        'treatment: "t", owner: "o", reviewDate: "2030-01-01") { level } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_ids,
    ),
    Case(
        "plan an audit lands in my agency",
        'mutation { createAuditPlan(date: "2030-03-01", scope: "s", auditors: ["a"]) { date } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_ids,
    ),
    # Dossier events (a subscription, tried over graphql-transport-ws): refused outside my agency
    # whether the agency exists or not; a province administrator's forged id finds nothing.
    Case(
        "dossier events of their agency",
        _EVENTS,
        lambda mine, theirs: {"a": theirs.agency_gid},
        codes=("FORBIDDEN",),
    ),
    Case(
        "dossier events of a sibling agency",
        _EVENTS,
        lambda mine, theirs: {"a": encode_id("Agency", mine.province_id, mine.sibling.id)},
        codes=("FORBIDDEN",),
        markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name, *theirs.markers()],
    ),
    Case(
        "dossier events of their agency as a province admin",
        _EVENTS,
        lambda mine, theirs: {"a": theirs.agency_gid},
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "dossier events with their id under my province",
        _EVENTS,
        lambda mine, theirs: {"a": _forged("Agency", mine.province_id, theirs.agency.id)},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
]

# The improvement loop: their ids answer NOT_FOUND, lists show only mine, writes land in mine.
_IMPROVEMENT_IDS = {
    qms.ManagementReview: "ManagementReview",
    qms.ReviewAction: "ReviewAction",
    qms.ReviewFlag: "ReviewFlag",
    qms.Risk: "Risk",
    qms.Document: "Document",
}


def _their_improvement_ids(mine: Tenant, theirs: Tenant) -> list[str]:
    return [
        *_their_ids(mine, theirs),
        theirs.rows[qms.ReviewFlag].reference,
        *(
            encode_id(name, theirs.province_id, theirs.rows[model].id)
            for model, name in _IMPROVEMENT_IDS.items()
        ),
    ]


CASES += [
    *(
        Case(
            f"{name} lists only my agency's rows",
            f"{{ {name}(first: 100) {{ edges {{ node {{ id }} }} }} }}",
            lambda mine, theirs: {},
            caller=qms_keeper,
            markers=_their_improvement_ids,
        )
        for name in ("reviewFlags", "managementReviews")
    ),
    Case(
        "reviewFlags' notices name only my agency's bases",
        "{ reviewFlags(first: 20, openOnly: false) { edges { node { id noticeVi validUntil "
        "successor { effectiveFrom legalBasis { reference } } } } } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=_their_improvement_ids,
    ),
    *(
        Case(
            f"{name} on their version",
            f"mutation($id: ID!) {{ {name}(id: $id) {{ status }} }}",
            _their(qms.DocumentVersion, "DocumentVersion"),
            caller=qms_keeper,
            codes=("NOT_FOUND",),
            markers=_their_ids,
        )
        for name in ("rejectDocumentVersion", "withdrawDocumentVersion")
    ),
    Case(
        "attach a file to their version",
        'mutation($id: ID!) { attachDocumentFile(versionId: $id, filename: "a", '
        'contentBase64: "eA==") { status } }',
        _their(qms.DocumentVersion, "DocumentVersion"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "new version of their document",
        "mutation($id: ID!) { createDocumentVersion(documentId: $id) { number } }",
        _their(qms.Document, "Document"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "review their risk",
        'mutation($id: ID!) { reviewRisk(id: $id, likelihood: 1, impact: 1, treatment: "t", '
        'reviewDate: "2030-01-01") { level } }',
        _their(qms.Risk, "Risk"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_ids,
    ),
    Case(
        "review their document",
        "mutation($id: ID!) { reviewDocument(id: $id) { id } }",
        _their(qms.Document, "Document"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_improvement_ids,
    ),
    Case(
        "review their flagged procedure",
        'mutation { reviewProcedure(procedureCode: "1.000001") { id } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        codes=("NO_REVIEW_PENDING",),
        markers=_their_improvement_ids,
    ),
    Case(
        "add an action to their review",
        'mutation($id: ID!) { addReviewAction(reviewId: $id, decision: "d", '
        'owner: "o", dueDate: "2030-01-01") { id } }',
        _their(qms.ManagementReview, "ManagementReview"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_improvement_ids,
    ),
    Case(
        "complete their review action",
        'mutation($id: ID!) { completeReviewAction(id: $id, result: "r") { id } }',
        _their(qms.ReviewAction, "ReviewAction"),
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_improvement_ids,
    ),
    Case(
        "hold a review compiles only my agency",
        'mutation { holdManagementReview(periodStart: "2020-01-01", '
        'periodEnd: "2030-12-31", heldOn: "2030-12-31", chairedBy: "c") { inputs } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_improvement_ids,
    ),
    Case(
        "my conformity only",
        "{ conformity { agencyCode agencyName status } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=lambda mine, theirs: [*theirs.markers(), mine.sibling.code],
    ),
    Case(
        "my conformity's prerequisites only",
        "{ conformity { agencyCode prerequisites { code messageVi } } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=lambda mine, theirs: [*theirs.markers(), mine.sibling.code],
    ),
    Case(
        "start building lands in my agency",
        'mutation { startConformityBuilding(since: "2030-01-01") { agencyCode } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_improvement_ids,
    ),
    Case(
        "announce lands in my agency",
        'mutation { announceConformity(decisionNumber: "1/QĐ", '
        'announcedOn: "2030-01-01") { agencyCode } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        codes=("INVALID_TRANSITION",),
        markers=_their_improvement_ids,
    ),
    Case(
        "set scope with their adopted procedure: not mine to cover",
        "mutation($p: [String!]!) { setConformityScope(procedures: $p) "
        "{ agencyCode scope { procedures } } }",
        lambda mine, theirs: {"p": [theirs.rows[ProcedureAdoption].procedure_code]},
        caller=qms_keeper,
        codes=("UNKNOWN_PROCEDURE",),
    ),
    Case(
        "set scope lands in my agency",
        "mutation($p: [String!]!) { setConformityScope(procedures: $p) "
        "{ agencyCode scope { procedures } } }",
        lambda mine, theirs: {"p": ["none"]},
        caller=sibling_keeper,
        codes=("UNKNOWN_PROCEDURE",),
        markers=_their_improvement_ids,
    ),
    Case(
        "province conformity of their province",
        "query($p: String) { provinceConformity(provinceCode: $p) "
        "{ total agencies { agencyCode } } }",
        lambda mine, theirs: {"p": theirs.province_code},
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "province conformity of mine",
        "{ provinceConformity { total agencies { agencyCode agencyName } } }",
        lambda mine, theirs: {},
        caller=province_admin,
    ),
    Case(
        "legal basis versions are shared reference data",
        '{ legalBasisVersions(reference: "none") { version } }',
        lambda mine, theirs: {},
    ),
    Case(
        "record a legal change as a province admin",
        'mutation { recordLegalChange(reference: "x") { flagged } }',
        lambda mine, theirs: {},
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "register a trusted document as a province admin (national data)",
        'mutation { registerTrustedDocuments(documents: ["{ version }"]) { sha256Hash } }',
        lambda mine, theirs: {},
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "remove trusted documents as a province admin (national data)",
        'mutation { removeTrustedDocuments(ids: ["%s"]) }' % ("0" * 64),
        lambda mine, theirs: {},
        caller=province_admin,
        codes=("FORBIDDEN",),
    ),
    Case(
        "publish a model lands in my province",
        'mutation { publishModelDocument(kind: POLICY, code: "M", title: "t") { code } }',
        lambda mine, theirs: {},
        caller=province_admin,
        codes=("NO_MODEL_OWNER",),
    ),
]


def _their_objective(mine: Tenant, theirs: Tenant) -> list[str]:
    return [
        *theirs.markers(),
        encode_id("Objective", theirs.province_id, theirs.rows[Objective].id),
    ]


_OBJECTIVE_INPUT = (
    '{title: "Đúng hạn", metric: ON_TIME_RATE, comparator: AT_LEAST, target: 0.9, period: {year: '
    "2026}}"
)
_EVERYTHING = '{from: "2000-01-01", to: "2099-12-31"}'
CASES += [
    # Figures: an agency sees its own, a province its agencies; another tenant's ids are NOT_FOUND.
    Case(
        "figures per agency hold only mine",
        f"{{ figures(period: {_EVERYTHING}, groupBy: AGENCY) {{ agencyId provinceId received }} }}",
        lambda mine, theirs: {},
    ),
    Case(
        "766 groups per agency hold only mine",
        f"{{ figures(period: {_EVERYTHING}, groupBy: AGENCY) {{ agencyId receivedOnline "
        "index766Groups { group points criteria { code points numerator denominator } } } }",
        lambda mine, theirs: {},
    ),
    Case(
        "766 groups per agency as a province admin",
        f"{{ figures(period: {_EVERYTHING}, groupBy: AGENCY) {{ agencyId receivedOnline "
        "index766Groups { group points criteria { code points numerator denominator } } } }",
        lambda mine, theirs: {},
        caller=province_admin,
    ),
    Case(
        "figures per agency as a province admin",
        f"{{ figures(period: {_EVERYTHING}, groupBy: AGENCY) {{ agencyId provinceId received }} }}",
        lambda mine, theirs: {},
        caller=province_admin,
    ),
    Case(
        "figures of their province",
        "query($p: ID) { figures(period: {year: 2026}, provinceId: $p) { received } }",
        lambda mine, theirs: {"p": encode_id("Province", theirs.province_id, theirs.province_id)},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "figures of their agency",
        "query($a: ID) { figures(period: {year: 2026}, agencyId: $a) { received } }",
        lambda mine, theirs: {"a": theirs.agency_gid},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "figures of a sibling agency",
        "query($a: ID) { figures(period: {year: 2026}, agencyId: $a) { received } }",
        lambda mine, theirs: {"a": encode_id("Agency", mine.province_id, mine.sibling.id)},
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [mine.sibling.code, *theirs.markers()],
    ),
    Case(
        "figure dossiers list only mine",
        f"{{ figureDossiers(metric: BACKLOG, period: {_EVERYTHING}, first: 100) "
        "{ totalCount edges { node { id code agencyId } } } }",
        lambda mine, theirs: {},
        caller=province_admin,
        markers=lambda mine, theirs: [*theirs.markers(), theirs.rows[Dossier].code],
    ),
    Case(
        "figure dossiers of their agency",
        "query($a: ID) { figureDossiers(metric: RECEIVED, period: {year: 2026}, "
        "agencyId: $a) { totalCount } }",
        lambda mine, theirs: {"a": theirs.agency_gid},
        codes=("NOT_FOUND",),
    ),
    Case(
        "annual report of their province",
        "query($p: ID) { annualReport(year: 2026, provinceId: $p) { level } }",
        lambda mine, theirs: {"p": encode_id("Province", theirs.province_id, theirs.province_id)},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "national report as a province admin",
        "{ annualReport(year: 2026) { rows { code name } objectives { scope title } } }",
        lambda mine, theirs: {},
        caller=province_admin,
        markers=lambda mine, theirs: [theirs.province_code, *theirs.markers()],
    ),
    Case(
        "annual report of my province as one agency",
        "query($p: ID) { annualReport(year: 2026, provinceId: $p) "
        "{ rows { code name } objectives { scope } } }",
        lambda mine, theirs: {"p": encode_id("Province", mine.province_id, mine.province_id)},
        markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name, *theirs.markers()],
    ),
    Case(
        "objectives list only mine",
        "{ objectives(first: 100) { edges { node { id agencyId title } } } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=_their_objective,
    ),
    Case(
        "update their objective",
        f"mutation($id: ID!) {{ updateObjective(id: $id, input: {_OBJECTIVE_INPUT}) {{ id }} }}",
        lambda mine, theirs: {"id": _their_objective(mine, theirs)[-1]},
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_objective,
    ),
    Case(
        "delete their objective",
        "mutation($id: ID!) { deleteObjective(id: $id) }",
        lambda mine, theirs: {"id": _their_objective(mine, theirs)[-1]},
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: theirs.markers(),
    ),
    Case(
        "create an objective lands in my agency",
        f"mutation {{ createObjective(input: {_OBJECTIVE_INPUT}) {{ id agencyId }} }}",
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_objective,
    ),
]


def _their_yearly_report(mine: Tenant, theirs: Tenant) -> list[str]:
    row = theirs.rows[YearlyReport]
    return [
        *theirs.markers(),
        row.scope,
        encode_id("YearlyReport", theirs.province_id, row.id),
    ]


def _their_report_id(mine: Tenant, theirs: Tenant) -> dict:
    return {"id": _their_yearly_report(mine, theirs)[-1]}


def _their_province(mine: Tenant, theirs: Tenant) -> dict:
    return {"p": encode_id("Province", theirs.province_id, theirs.province_id)}


CASES += [
    # The yearly report workflow: their report, their province's board, compiled report and
    # deadline are NOT_FOUND; my province's board shows an agency its own line only.
    Case(
        "their yearly report by id",
        "query($id: ID!) { yearlyReport(id: $id) { id scope } }",
        _their_report_id,
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "their yearly report by id as my province admin",
        "query($id: ID!) { yearlyReport(id: $id) { id scope } }",
        _their_report_id,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "submit their yearly report",
        "mutation($id: ID!) { submitYearlyReport(id: $id) { id } }",
        _their_report_id,
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "return their yearly report",
        'mutation($id: ID!) { returnYearlyReport(id: $id, comment: "x") { id } }',
        _their_report_id,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "accept their yearly report",
        "mutation($id: ID!) { acceptYearlyReport(id: $id) { id } }",
        _their_report_id,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "save a yearly report lands in my agency",
        'mutation { saveYearlyReport(year: 2026, input: {scope: "Của tôi"}) { id agencyId } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_yearly_report,
    ),
    Case(
        "board of their province",
        "query($p: ID) { yearlyReportBoard(year: 2001, provinceId: $p) "
        "{ agencies { agencyCode agencyName reportId } } }",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "board of my province as one agency",
        "{ yearlyReportBoard(year: 2001) { agencies { agencyCode agencyName reportId } } }",
        lambda mine, theirs: {},
        markers=lambda mine, theirs: [
            mine.sibling.code,
            mine.sibling.name,
            *_their_yearly_report(mine, theirs),
        ],
    ),
    Case(
        "compiled report of their province",
        "query($p: ID) { compiledYearlyReport(year: 2001, provinceId: $p) { accepted missing } }",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_yearly_report,
    ),
    Case(
        "deadline of their province",
        "query($p: ID) { yearlyReportDeadline(provinceId: $p) { dueDay } }",
        _their_province,
        codes=("NOT_FOUND",),
    ),
    Case(
        "set the deadline of their province",
        "mutation($p: ID) { setYearlyReportDeadline(provinceId: $p, dueMonth: 1, dueDay: 2, "
        "remindDaysBefore: 3) { dueDay } }",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
]


def _their_inspection(mine: Tenant, theirs: Tenant) -> list[str]:
    row = theirs.rows[qms.Inspection]
    finding = theirs.rows[qms.InspectionFinding]
    return [
        *theirs.markers(),
        row.conclusion,
        finding.description,
        encode_id("Inspection", theirs.province_id, row.id),
        encode_id("InspectionFinding", theirs.province_id, finding.id),
    ]


def _their_training(mine: Tenant, theirs: Tenant) -> list[str]:
    row = theirs.rows[qms.TrainingRecord]
    return [*theirs.markers(), row.person, encode_id("TrainingRecord", theirs.province_id, row.id)]


def _sibling_inspection(mine: Tenant, theirs: Tenant) -> dict:
    """My province's inspection of the OTHER agency: made by the province admin below."""
    return {"id": encode_id("Inspection", theirs.province_id, theirs.rows[qms.Inspection].id)}


_INSPECTION_FIELDS = "id agencyCode conclusion findings { id description }"

CASES += [
    # The DOST's inspection: another province's inspection, finding, plan, checklist, summary,
    # committee and training records are NOT_FOUND or absent; an agency never reads another
    # agency's inspection (the rows of `theirs` stand for it: the session hides them alike).
    Case(
        "their inspection by id",
        f"query($id: ID!) {{ inspection(id: $id) {{ {_INSPECTION_FIELDS} }} }}",
        _sibling_inspection,
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    Case(
        "their inspection by id as my province admin",
        f"query($id: ID!) {{ inspection(id: $id) {{ {_INSPECTION_FIELDS} }} }}",
        _sibling_inspection,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    Case(
        "inspections of their province",
        f"query($p: ID) {{ inspections(year: 2026, provinceId: $p) {{ {_INSPECTION_FIELDS} }} }}",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    Case(
        "inspections of my province as one agency",
        f"{{ inspections(year: 2026) {{ {_INSPECTION_FIELDS} }} }}",
        lambda mine, theirs: {},
        markers=_their_inspection,
    ),
    Case(
        "inspection plan of their province",
        "query($p: ID) { inspectionPlan(year: 2026, provinceId: $p) { title inspections { id } } }",
        _their_province,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    Case(
        "inspection checklist of their province",
        "query($p: ID) { inspectionChecklist(provinceId: $p) { isDefault } }",
        _their_province,
        codes=("NOT_FOUND",),
    ),
    Case(
        "PAR summary of their province",
        "query($p: ID) { inspectionSummary(year: 2026, provinceId: $p) { agencyCode } }",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    Case(
        "save the plan of their province",
        'mutation($p: ID) { saveInspectionPlan(year: 2026, title: "x", provinceId: $p) { year } }',
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "schedule an inspection of their agency",
        "mutation($a: ID!) { scheduleInspection(agencyId: $a, year: 2026, "
        'plannedOn: "2026-03-02") { id } }',
        lambda mine, theirs: {"a": theirs.agency_gid},
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    *(
        Case(
            f"{name} their inspection",
            f"mutation($id: ID!) {{ {name}(id: $id{extra}) {{ id }} }}",
            _sibling_inspection,
            caller=province_admin,
            codes=("NOT_FOUND",),
            markers=_their_inspection,
        )
        for name, extra in (
            ("rescheduleInspection", ', plannedOn: "2026-04-01"'),
            ("startInspection", ""),
            ("markInspectionItem", ', itemCode: "KT-01", result: CONFORM'),
            ("recordInspectionFinding", ', itemCode: "KT-01", description: "x"'),
            ("concludeInspection", ', conclusion: "x"'),
            ("closeInspection", ""),
        )
    ),
    Case(
        "verify their inspection finding",
        "mutation($id: ID!) { verifyInspectionFinding(id: $id) { id } }",
        lambda mine, theirs: {
            "id": encode_id(
                "InspectionFinding", theirs.province_id, theirs.rows[qms.InspectionFinding].id
            )
        },
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_inspection,
    ),
    Case(
        "set the checklist of their province",
        "mutation($p: ID) { setInspectionChecklist(provinceId: $p, items: "
        '[{code: "A", clause: "7.2", requirement: "x"}]) { isDefault } }',
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "reset the checklist of their province",
        "mutation($p: ID) { resetInspectionChecklist(provinceId: $p) { isDefault } }",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    # How their agency applies its QMS; their province's steering committee.
    Case(
        "their QMS profile",
        "query($a: ID) { qmsProfile(agencyId: $a) { id agencyId } }",
        lambda mine, theirs: {"a": theirs.agency_gid},
        caller=province_admin,
        markers=lambda mine, theirs: [
            *theirs.markers(),
            encode_id("QmsProfile", theirs.province_id, theirs.rows[qms.QmsProfile].id),
        ],
    ),
    Case(
        "their training records",
        "query($a: ID) { trainingRecords(agencyId: $a) { id person } }",
        lambda mine, theirs: {"a": theirs.agency_gid},
        caller=qms_keeper,
        markers=_their_training,
    ),
    Case(
        "delete their training record",
        "mutation($id: ID!) { deleteTrainingRecord(id: $id) { id } }",
        lambda mine, theirs: {
            "id": encode_id(
                "TrainingRecord", theirs.province_id, theirs.rows[qms.TrainingRecord].id
            )
        },
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_training,
    ),
    Case(
        "set a QMS profile lands in my agency",
        "mutation { setQmsProfile(standard: ISO_9001_2008, medium: PAPER) { id agencyId } }",
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=lambda mine, theirs: theirs.markers(),
    ),
    Case(
        "record a training lands in my agency",
        'mutation { recordTraining(input: {person: "Tôi", training: "ISO", heldOn: "2026-01-02", '
        'evidence: "GCN"}) { id agencyId } }',
        lambda mine, theirs: {},
        caller=sibling_keeper,
        markers=_their_training,
    ),
    Case(
        "steering committee of their province",
        "query($p: ID) { steeringCommittee(provinceId: $p) { members { id } meetings { id } } }",
        _their_province,
        codes=("NOT_FOUND",),
    ),
    Case(
        "add a member to their province's committee",
        'mutation($p: ID) { addSteeringMember(person: "x", committeeRole: "y", '
        'since: "2026-01-01", provinceId: $p) { id } }',
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "name their agency in my committee",
        'mutation($a: ID) { addSteeringMember(person: "x", committeeRole: "y", '
        'since: "2026-01-01", agencyId: $a) { id } }',
        lambda mine, theirs: {"a": theirs.agency_gid},
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: theirs.markers(),
    ),
    Case(
        "end a membership of their province's committee",
        'mutation($id: ID!) { endSteeringMembership(id: $id, until: "2026-01-01") { id } }',
        lambda mine, theirs: {"id": encode_id("SteeringMember", theirs.province_id, 1)},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "record a meeting of their province's committee",
        'mutation($p: ID) { recordSteeringMeeting(heldOn: "2026-01-01", minutes: "m", '
        "decisions: [], provinceId: $p) { id } }",
        _their_province,
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
]


def _step_secrets(mine: Tenant, theirs: Tenant) -> list[str]:
    step = theirs.rows[DossierStep]
    return [*theirs.markers(), step.sector_data["secret"], step.dossier.code]


CASES += [
    Case(
        "their dossier with its steps",
        "query($id: ID!) { dossier(id: $id) { code mySteps { code sectorData } } }",
        lambda mine, theirs: {
            "id": encode_id("Dossier", theirs.province_id, theirs.rows[DossierStep].dossier.id)
        },
        codes=("NOT_FOUND",),
        markers=_step_secrets,
    ),
    Case(
        "their dossier's applicant, data and moves",
        "query($id: ID!) { dossier(id: $id) { code applicant { fullName } sectorData "
        "allowedMoves } }",
        lambda mine, theirs: {
            "id": encode_id("Dossier", theirs.province_id, theirs.rows[Dossier].id)
        },
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [*theirs.markers(), theirs.rows[Dossier].code],
    ),
    Case(
        # (their applicants, tenant-scoped as the rows: the case above; reading mine would
        # append to my audit chain, which this module's probe rows leave inconsistent)
        "my dossiers' moves, none of theirs",
        "{ dossiers(first: 10) { edges { node { code allowedMoves } } } }",
        lambda mine, theirs: {},
        markers=lambda mine, theirs: [*theirs.markers(), theirs.rows[Dossier].code],
    ),
    Case(
        "my dossiers show no step of theirs",
        "{ dossiers(first: 10) { edges { node { code mySteps { sectorData } } } } }",
        lambda mine, theirs: {},
        markers=_step_secrets,
    ),
    Case(
        "completeStep with step data and a receiver on their dossier",
        "mutation($id: ID!, $to: ID) { completeStep(id: $id, expectedVersion: 1, stepData: {a: "
        "1}, toAgency: $to) { code } }",
        lambda mine, theirs: {
            "id": encode_id("Dossier", theirs.province_id, theirs.rows[DossierStep].dossier.id),
            "to": encode_id("Agency", mine.province_id, mine.agency.id),
        },
        codes=("NOT_FOUND",),
        markers=_step_secrets,
    ),
    Case(
        "completeStep handing over to their agency",
        "mutation($id: ID!, $to: ID) { completeStep(id: $id, expectedVersion: 1, toAgency: $to) { "
        "code } }",
        lambda mine, theirs: {
            "id": encode_id("Dossier", mine.province_id, mine.rows[Dossier].id),
            "to": theirs.agency_gid,
        },
        codes=("AGENCY_NOT_FOUND",),
        markers=_step_secrets,
    ),
    Case(
        "adopt mapping a step to their agency",
        'mutation($to: JSON) { adoptProcedure(procedureCode: "none", stepAgencies: $to) { code } }',
        lambda mine, theirs: {"to": {"s0": theirs.agency_gid}},
        codes=("NOT_FOUND",),
    ),
]


async def test_a_step_handed_over_shows_the_dossier_and_that_step_only(resources, tenants):
    """The sibling's dossier is at a step my agency holds: my scope shows its common part and my
    step, never the sibling's step; I cannot re-own the dossier nor write the sibling's rows;
    another province sees none of it."""
    mine, theirs = tenants
    async with resources.session(TenantScope.nation()) as session, session.begin():
        first = _step(mine.province_id, mine.sibling.id)
        session.add(first)
        await session.flush()
        dossier = first.dossier
        held = DossierStep(
            province_id=mine.province_id,
            agency_id=mine.agency.id,
            dossier_id=dossier.id,
            step_index=1,
            step_code="s1",
            sector_data={"mine": True},
            from_agency_id=mine.sibling.id,
        )
        session.add(held)
    me = TenantScope.agencies([mine.agency.id], [mine.province_id])
    async with resources.session(me) as session:
        assert (await session.get(Dossier, (mine.province_id, dossier.id))) is not None
        steps = (
            await session.execute(select(DossierStep).where(DossierStep.dossier_id == dossier.id))
        ).scalars()
        assert [s.step_code for s in steps] == ["s1"]
    async with resources.session(me) as session, session.begin():
        changed = await session.execute(
            update(DossierStep).where(DossierStep.id == first.id).values(status="done")
        )
        assert changed.rowcount == 0
    with pytest.raises(TenantScopeError):
        async with resources.session(me) as session, session.begin():
            row = await session.get(Dossier, (mine.province_id, dossier.id))
            row.agency_id = mine.agency.id  # taking the dossier over is not a handover
    with pytest.raises(TenantScopeError):
        async with resources.session(me) as session, session.begin():
            session.add(ROW_FACTORIES[Dossier](mine.province_id, mine.sibling.id))
    for scope in (
        TenantScope.agencies([theirs.agency.id], [theirs.province_id]),
        TenantScope.province(theirs.province_id),
    ):
        async with resources.session(scope) as session:
            assert (await session.get(Dossier, (mine.province_id, dossier.id))) is None
            assert (
                await session.execute(
                    select(DossierStep).where(DossierStep.dossier_id == dossier.id)
                )
            ).first() is None


# --- Relay: node(id:) and nodes(ids:) over every type with a global id -------------------------

# The type in a global id -> the tenant-owned model behind it (one row each in `Tenant.rows`).
NODE_MODELS: dict[str, type] = {
    "Dossier": Dossier,
    "Document": qms.Document,
    "DocumentVersion": qms.DocumentVersion,
    "Nonconformity": qms.Nonconformity,
    "Risk": qms.Risk,
    "AuditProgramme": qms.AuditProgramme,
    "AuditPlan": qms.AuditPlan,
    "AuditFinding": qms.AuditFinding,
    "Objective": Objective,
    "ReviewFlag": qms.ReviewFlag,
    "ManagementReview": qms.ManagementReview,
    "ReviewAction": qms.ReviewAction,
}
_NODE = "query($id: ID!) { node(id: $id) { id __typename ... on Agency { code name } } }"
_NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }"


def node_ids(tenant: Tenant, province_id: int | None = None) -> dict[str, str]:
    """The global id of the tenant's row of every node type (and of its agency), encoded under
    `province_id` (the tenant's own unless forged under another)."""
    province = tenant.province_id if province_id is None else province_id
    ids = {
        name: encode_id(name, province, tenant.rows[model].id)
        for name, model in NODE_MODELS.items()
    }
    return {**ids, "Agency": encode_id("Agency", province, tenant.agency.id)}


def _their_node_markers(mine: Tenant, theirs: Tenant) -> list[str]:
    return [*theirs.markers(), *node_ids(theirs).values()]


CASES += [
    *(
        Case(
            f"node by their {name} id",
            _NODE,
            lambda mine, theirs, name=name: {"id": node_ids(theirs)[name]},
            caller=qms_keeper,
            codes=("NOT_FOUND",),
            markers=_their_node_markers,
        )
        for name in [*NODE_MODELS, "Agency"]
    ),
    *(
        Case(
            f"node by their {name} id forged under my province",
            _NODE,
            lambda mine, theirs, name=name: {"id": node_ids(theirs, mine.province_id)[name]},
            caller=qms_keeper,
            codes=("NOT_FOUND",),
            markers=_their_node_markers,
        )
        for name in [*NODE_MODELS, "Agency"]
    ),
    Case(
        "nodes by all their ids",
        _NODES,
        lambda mine, theirs: {"ids": list(node_ids(theirs).values())},
        caller=qms_keeper,
        codes=("NOT_FOUND",) * (len(NODE_MODELS) + 1),
        markers=_their_node_markers,
    ),
    Case(
        "node by a sibling agency's id",
        _NODE,
        lambda mine, theirs: {"id": encode_id("Agency", mine.province_id, mine.sibling.id)},
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: [mine.sibling.code, mine.sibling.name],
    ),
    # As their typed fields: `agency(id:)` and `document(id:)` answer a province admin
    # NOT_FOUND for another province's row, `dossier(id:)` FORBIDDEN (not its role).
    Case(
        "node by their agency id as a province admin",
        _NODE,
        lambda mine, theirs: {"id": theirs.agency_gid},
        caller=province_admin,
        codes=("NOT_FOUND",),
    ),
    Case(
        "node by their document id as a province admin",
        _NODE,
        lambda mine, theirs: {"id": node_ids(theirs)["Document"]},
        caller=province_admin,
        codes=("NOT_FOUND",),
        markers=_their_node_markers,
    ),
    Case(
        "node by their dossier id as a province admin",
        _NODE,
        lambda mine, theirs: {"id": node_ids(theirs)["Dossier"]},
        caller=province_admin,
        codes=("FORBIDDEN",),
        markers=_their_node_markers,
    ),
    Case(
        "node with a made-up type of id",
        _NODE,
        lambda mine, theirs: {"id": _forged("Unit", theirs.province_id, theirs.agency.id)},
        codes=("NOT_FOUND",),
    ),
]


async def _node_answer(client, headers, query: str, variables: dict) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_node_reads_my_rows_of_every_node_type(client, callers, tenants):
    """The cases above are not vacuous: the same caller reads its own rows of every type that
    implements `Node` (the schema's list), each as the type its id names; in `nodes`, only
    the other tenant's ids answer null, each with its error at its index."""
    from eiso.graphql.schema import build_schema

    mine, theirs = tenants
    headers = callers.issue(qms_keeper(mine))
    ids = {
        **node_ids(mine),
        "Province": encode_id("Province", mine.province_id, mine.province_id),
    }
    typenames = {}
    for name, gid in ids.items():
        body = await _node_answer(client, headers, _NODE, {"id": gid})
        assert "errors" not in body, (name, body)
        assert body["data"]["node"]["id"] == gid
        typenames[name] = body["data"]["node"]["__typename"]
    schema = build_schema()._schema
    implementers = {t.name for t in schema.get_possible_types(schema.get_type("Node"))}
    assert set(typenames.values()) == implementers
    mixed = [ids["Dossier"], node_ids(theirs)["Dossier"], ids["Risk"], "not an id"]
    body = await _node_answer(client, headers, _NODES, {"ids": mixed})
    assert [n and n["id"] for n in body["data"]["nodes"]] == [
        ids["Dossier"],
        None,
        ids["Risk"],
        None,
    ]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["nodes", 1], "NOT_FOUND"),
        (["nodes", 3], "NOT_FOUND"),
    ]


async def test_node_refuses_as_the_typed_field_does(client, callers, tenants):
    """Anonymous, and a role that may not read a type: the typed field's error, not the data."""
    mine, _ = tenants
    dossier = node_ids(mine)["Dossier"]
    for headers, code in [
        ({}, "UNAUTHENTICATED"),
        (callers.issue(province_admin(mine)), "FORBIDDEN"),
    ]:
        typed = await _node_answer(
            client, headers, "query($id: ID!) { dossier(id: $id) { id } }", {"id": dossier}
        )
        body = await _node_answer(client, headers, _NODE, {"id": dossier})
        assert body["data"] == {"node": None}, body
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
        assert body["errors"][0]["message"] == typed["errors"][0]["message"]
    province = encode_id("Province", mine.province_id, mine.province_id)
    body = await _node_answer(
        client, {}, "query($id: ID!) { node(id: $id) { id } }", {"id": province}
    )
    assert body == {"data": {"node": {"id": province}}}  # provinces are public


PUBLIC_FIELDS = {
    "version",
    "provinces",
    "province",
    "activeModules",
}  # global reference data, no tenant rows


def test_every_query_and_mutation_has_a_case():
    from eiso.graphql.schema import build_schema
    from graphql import parse

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
        response = await client.post(
            "/graphql",
            json={"query": case.query, "variables": case.variables(mine, theirs)},
            headers=headers,
        )
        body = response.json()
    assert [error["extensions"]["code"] for error in body.get("errors", [])] == list(case.codes), (
        body
    )
    text = orjson.dumps(body).decode()
    for marker in case.markers(mine, theirs):
        assert marker not in text, f"{case.name}: {marker!r} leaked"
    async with resources.session(TenantScope.nation()) as session:
        assert (
            await session.execute(select(Agency).where(Agency.code == "X" + theirs.agency.code))
        ).first() is None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    type_name=st.sampled_from(["Agency", "Province", "Unit", "agency", ""]),
    province_delta=st.integers(-3, 3),
    noise=st.text(max_size=12),
)
async def test_random_global_ids_never_resolve_across_tenants(
    client, callers, tenants, type_name, province_delta, noise
):
    mine, theirs = tenants
    candidates = [
        _forged(type_name, theirs.province_id + province_delta, theirs.agency.id),
        _forged(type_name, mine.province_id, theirs.agency.id) + noise,
        base64.urlsafe_b64encode(noise.encode()).decode(),
        noise,
    ]
    headers = callers.issue(agency_caller(mine))
    for candidate in candidates:
        body = (
            await client.post(
                "/graphql",
                json={
                    "query": "query($id: ID!) { agency(id: $id) { id } }",
                    "variables": {"id": candidate},
                },
                headers=headers,
            )
        ).json()
        found = (body.get("data") or {}).get("agency")
        assert found is None or found["id"] == mine.agency_gid


# --- HTTP downloads: slips 01-06 and the tracking book 07 (core/http/downloads.py) --------------

CASES += [
    Case(
        "slips of their dossier",
        "query($id: ID!) { dossier(id: $id) { slips { number htmlUrl } } }",
        lambda mine, theirs: {
            "id": encode_id("Dossier", theirs.province_id, theirs.rows[Dossier].id)
        },
        codes=("NOT_FOUND",),
    ),
]


def _their_feedback(mine: Tenant, theirs: Tenant) -> list[str]:
    row = theirs.rows[Feedback]
    return [*theirs.markers(), row.code, row.content, row.contact_name or ""]


def _their_feedback_id(mine: Tenant, theirs: Tenant) -> dict:
    return {"id": encode_id("Feedback", theirs.province_id, theirs.rows[Feedback].id)}


FEEDBACK_CASES = [
    Case(
        "feedbacks list none of theirs",
        "{ feedbacks { code content contactName } }",
        lambda mine, theirs: {},
        markers=_their_feedback,
    ),
    Case(
        "a province administrator lists none of another province's feedback",
        "{ feedbacks { code content contactName } }",
        lambda mine, theirs: {},
        caller=province_admin,
        markers=_their_feedback,
    ),
    Case(
        "my province's published answers show none of theirs",
        "query($p: String!) { publishedFeedback(provinceCode: $p) { code content answer agency } }",
        lambda mine, theirs: {"p": mine.province_code},
        markers=_their_feedback,
    ),
    Case(
        "answer their feedback",
        'mutation($id: ID!) { answerFeedback(id: $id, answer: "x") { code } }',
        _their_feedback_id,
        codes=("NOT_FOUND",),
        markers=_their_feedback,
    ),
    Case(
        "assign their feedback",
        'mutation($id: ID!) { assignFeedback(id: $id, assignee: "x") { code } }',
        _their_feedback_id,
        caller=qms_keeper,
        codes=("NOT_FOUND",),
        markers=_their_feedback,
    ),
    Case(
        "follow their feedback with a made-up key",
        'query($code: String!) { publicFeedback(code: $code, lookupKey: "x") { code } }',
        lambda mine, theirs: {"code": theirs.rows[Feedback].code},
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: _their_feedback(mine, theirs)[1:],
    ),
    Case(
        "rate their feedback with a made-up key",
        'mutation($code: String!) { rateFeedbackAnswer(code: $code, lookupKey: "x", '
        "rating: 5) { code } }",
        lambda mine, theirs: {"code": theirs.rows[Feedback].code},
        codes=("NOT_FOUND",),
        markers=lambda mine, theirs: _their_feedback(mine, theirs)[1:],
    ),
    Case(
        "submit feedback to their agency forged under my province",
        "mutation($id: ID!) { submitFeedback(input: {agencyId: $id, kind: PETITION, "
        'subject: AGENCY, content: "x"}) { code } }',
        lambda mine, theirs: {"id": encode_id("Agency", mine.province_id, theirs.agency.id)},
        codes=("NOT_FOUND",),
    ),
    *(
        Case(
            f"set their province's {what} deadline",
            f"mutation($p: ID!) {{ {mutation}(days: 1, provinceId: $p) }}",
            lambda mine, theirs: {
                "p": encode_id("Province", theirs.province_id, theirs.province_id)
            },
            caller=province_admin,
            codes=("FORBIDDEN",),
            markers=lambda mine, theirs: [],
        )
        for what, mutation in (
            ("feedback", "setFeedbackAnswerDays"),
            ("review", "setReviewDeadlineDays"),
        )
    ),
]
CASES += FEEDBACK_CASES

# The model QMS of Decision 101/QĐ-BKHCN and the process documents (core/qms/model_qms.py,
# process_docs.py), and the public conformity list (announcement_form.py).
MODEL_QMS_CASES = [
    Case(
        "the model QMS templates carry no tenant data",
        "{ modelQmsTemplates { code content } }",
        lambda mine, theirs: {},
        caller=qms_keeper,
    ),
    Case(
        "install the model QMS: my province has no People's Committee",
        'mutation { installModelQms(codes: ["CSCL"]) }',
        lambda mine, theirs: {},
        caller=province_admin,
        codes=("NO_MODEL_OWNER",),
    ),
    Case(
        "adopt the model QMS in their agency",
        "mutation($ids: [ID!]) { adoptModelQms(agencyIds: $ids) { created } }",
        lambda mine, theirs: {"ids": [theirs.agency_gid]},
        caller=province_admin,
        codes=("AGENCY_NOT_FOUND",),
    ),
    Case(
        "adopt the model QMS in their agency forged under my province",
        "mutation($ids: [ID!]) { adoptModelQms(agencyIds: $ids) { created } }",
        lambda mine, theirs: {"ids": [_forged("Agency", mine.province_id, theirs.agency.id)]},
        caller=province_admin,
        codes=("AGENCY_NOT_FOUND",),
    ),
    Case(
        "process documents list none of theirs",
        '{ processDocumentVersions(procedureCode: "1.000001") { versionId documentId } }',
        lambda mine, theirs: {},
        caller=qms_keeper,
        markers=_their_ids,
    ),
    Case(
        "generate process documents in my agency only",
        "mutation { generateProcessDocuments }",
        lambda mine, theirs: {},
        caller=qms_keeper,
    ),
    Case(
        "my province's public conformity list shows none of theirs",
        "query($p: String!) { publicConformity(provinceCode: $p) { agencyId agencyName } }",
        lambda mine, theirs: {"p": mine.province_code},
    ),
]
CASES += MODEL_QMS_CASES


@dataclasses.dataclass
class HttpCase:
    """GET `path(mine, theirs)` as `caller(mine)`: the answer has `status` and nothing of theirs."""

    name: str
    path: Callable[[Tenant, Tenant], str]
    status: int = 404
    caller: Callable[[Tenant], Principal] = agency_caller


def _their_slip(number: int, fmt: str) -> Callable[[Tenant, Tenant], str]:
    return lambda mine, theirs: (
        f"/dossiers/{encode_id('Dossier', theirs.province_id, theirs.rows[Dossier].id)}"
        f"/slips/{number:02d}.{fmt}"
    )


def _book(
    agency_gid: Callable[[Tenant, Tenant], str], fmt: str = "csv"
) -> Callable[[Tenant, Tenant], str]:
    today = dt.date.today()
    period = f"from={today - dt.timedelta(days=2)}&to={today + dt.timedelta(days=1)}"
    return lambda mine, theirs: f"/agencies/{agency_gid(mine, theirs)}/tracking-book.{fmt}?{period}"


def _their_version(fmt: str) -> Callable[[Tenant, Tenant], str]:
    def path(mine: Tenant, theirs: Tenant) -> str:
        row = theirs.rows[qms.ProcessDocumentSource]
        version = encode_id("DocumentVersion", theirs.province_id, row.version_id)
        return f"/process-documents/{version}.{fmt}"

    return path


def _their_attachment(mine: Tenant, theirs: Tenant) -> str:
    row = theirs.rows[qms.DocumentVersion]
    return (
        f"/document-versions/{encode_id('DocumentVersion', theirs.province_id, row.id)}/attachment"
    )


HTTP_CASES = [
    # A version's attached file (tests/web/test_iso_workspace_forms.py: one with a file).
    HttpCase("document attachment of theirs", _their_attachment),
    HttpCase(
        "document attachment of theirs, province admin", _their_attachment, caller=province_admin
    ),
    HttpCase("process document html of theirs", _their_version("html")),
    HttpCase("process document pdf of theirs", _their_version("pdf"), caller=province_admin),
    HttpCase(
        "conformity announcement of an agency that has announced nothing",
        lambda mine, theirs: f"/conformity-announcements/{theirs.agency_gid}.html",
    ),
    *(
        HttpCase(f"slip {number:02d}.{fmt} of their dossier", _their_slip(number, fmt))
        for number in range(1, 7)
        for fmt in ("html", "pdf")
    ),
    HttpCase(
        "slip of their dossier id under my province",
        lambda mine, theirs: (
            f"/dossiers/{_forged('Dossier', mine.province_id, theirs.rows[Dossier].id)}"
            "/slips/01.html"
        ),
    ),
    HttpCase(
        "slip of their dossier as a province admin",
        _their_slip(1, "html"),
        status=403,
        caller=province_admin,
    ),
    HttpCase("tracking book of their agency", _book(lambda mine, theirs: theirs.agency_gid)),
    HttpCase(
        "tracking book xlsx of their agency", _book(lambda mine, theirs: theirs.agency_gid, "xlsx")
    ),
    HttpCase(
        "tracking book of my sibling agency",
        _book(lambda mine, theirs: encode_id("Agency", mine.province_id, mine.sibling.id)),
    ),
    HttpCase(
        "tracking book with their agency id under my province",
        _book(lambda mine, theirs: _forged("Agency", mine.province_id, theirs.agency.id)),
    ),
    # The sibling: an export appends to the agency's audit chain, and `mine` holds a probe entry.
    HttpCase(
        "tracking book of my agency lists only mine",
        _book(lambda mine, theirs: encode_id("Agency", mine.province_id, mine.sibling.id)),
        status=200,
        caller=lambda tenant: Principal(
            "officer-" + tenant.sibling.code,
            TenantScope.agencies([tenant.sibling.id], [tenant.province_id]),
            frozenset({Role.officer}),
            province_id=tenant.province_id,
            agency_id=tenant.sibling.id,
        ),
    ),
]


@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda case: case.name)
async def test_http_downloads_leak_nothing(client, callers, resources, tenants, case):
    mine, theirs = tenants
    row = theirs.rows[Dossier]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        # Received: were the scope to fail, slips 01 and 06 would render instead of answering 404.
        await session.execute(
            update(Dossier)
            .where(Dossier.province_id == row.province_id, Dossier.id == row.id)
            .values(status=2)
        )
    response = await client.get(case.path(mine, theirs), headers=callers.issue(case.caller(mine)))
    assert response.status_code == case.status, response.text
    text = response.content.decode("utf-8", errors="replace")
    for marker in [*theirs.markers(), row.code]:
        assert marker not in text, f"{case.name}: {marker!r} leaked"
