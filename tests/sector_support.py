"""Shared checks for the bundled sector modules (tests/test_module_*.py)."""

from __future__ import annotations

import contextlib

import httpx

from eiso.core.auth.principal import Principal, Role
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.sdk import Procedure, TimeLimit
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code

HOURS_PER_DAY = 8


def hours(limit: TimeLimit) -> int:
    """A budget in working hours (working days count 8 hours, the same working day 8);
    calendar days stay days."""
    if limit.unit == "same_working_day":
        return HOURS_PER_DAY
    return limit.amount * HOURS_PER_DAY if limit.unit == "working_days" else limit.amount


def assert_steps_add_up(procedure: Procedure) -> None:
    units = {step.budget.unit for step in procedure.steps}
    if procedure.time_limit.unit == "calendar_days":
        assert units == {"calendar_days"}, procedure.code
        assert sum(s.budget.amount for s in procedure.steps) == procedure.time_limit.amount
    else:
        assert "calendar_days" not in units, procedure.code
        assert sum(hours(s.budget) for s in procedure.steps) == hours(procedure.time_limit), (
            procedure.code
        )


def assert_loads_through_entry_point(module: str) -> PluginRegistry:
    registry = PluginRegistry.load([module])
    record = registry.records[module]
    assert record.loaded, record.reason
    assert record.info is not None and record.info.name == module
    return registry


def officer(province_id: int) -> Principal:
    return Principal(
        subject=f"officer-{province_id}",
        tenant=TenantScope.province(province_id),
        roles=frozenset({Role.officer}),
        province_id=province_id,
    )


def admin(province_id: int) -> Principal:
    return Principal(
        subject=f"admin-{province_id}",
        tenant=TenantScope.province(province_id),
        roles=frozenset({Role.province_admin}),
        province_id=province_id,
    )


async def post(app, query: str, headers=None) -> dict:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": query}, headers=headers or {})
    return response.json()


async def enabled_vs_other(
    resources, nation_session, callers, module: str, query: str
) -> tuple[dict, dict]:
    """Enable `module` for a fresh province A and not for B; return both answers to `query`."""
    from eiso.core.app import create_app

    ids = []
    for _ in range(2):
        code = unique_code("SM")
        ids.append((await ensure_province(nation_session, code, f"Tỉnh Thử {code}")).id)
    await nation_session.commit()
    a, b = ids
    app = create_app(
        resources.settings,
        resources,
        authenticator=callers.authenticate,
        plugins=PluginRegistry.load([module]),
    )
    async with app.router.lifespan_context(app):
        enabled = await post(
            app,
            f'mutation {{ enableModule(module: "{module}") {{ name }} }}',
            callers.issue(admin(a)),
        )
        assert enabled == {"data": {"enableModule": {"name": module}}}, enabled
        return (
            await post(app, query, callers.issue(officer(a))),
            await post(app, query, callers.issue(officer(b))),
        )


def assert_imports_only_the_sdk(module) -> None:
    """A bundled module uses eiso exactly as a vendor would: `eiso.core.sdk` and nothing else."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(module))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert {n for n in names if n.split(".")[0] == "eiso"} == {"eiso.core.sdk"}, names
    allowed = {
        "__future__",
        "datetime",
        "enum",
        "functools",
        "re",
        "unicodedata",
        "pydantic",
        "strawberry",
        "eiso",
    }
    assert {n.split(".")[0] for n in names} <= allowed, names


# --- a module's procedures through GraphQL, as a frontend would --------------------------------

APPLICANT = {"fullName": "Nguyễn Thị Hoa", "phone": "0912345678"}


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def error_of(body: dict) -> tuple[str, str | None]:
    """(code, field) of the first error."""
    extensions = body["errors"][0]["extensions"]
    return extensions["code"], extensions.get("field")


class Office:
    """One agency and a GraphQL caller acting as its officer."""

    def __init__(self, app, callers, agency) -> None:
        self.app, self.agency = app, agency
        self.principal = Principal(
            f"officer-{agency.code}",
            TenantScope.agencies([agency.id], [agency.province_id]),
            frozenset({Role.officer, Role.leader}),
            province_id=agency.province_id,
            agency_id=agency.id,
        )
        self.headers = callers.issue(self.principal)

    @property
    def gid(self) -> str:
        from eiso.core.global_ids import encode_id

        return encode_id("Agency", self.agency.province_id, self.agency.id)

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        transport = httpx.ASGITransport(app=self.app, client=(unique_code("10.9."), 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers=self.headers,
            )
        return response.json()


@contextlib.asynccontextmanager
async def module_app(resources, callers, module: str):
    """An app with `module` loaded and its procedures in the catalogue."""
    from eiso.core.app import create_app
    from eiso.core.dossiers import catalogue

    registry = PluginRegistry.load([module])
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, registry)
    app = create_app(
        resources.settings, resources, authenticator=callers.authenticate, plugins=registry
    )
    async with app.router.lifespan_context(app):
        yield app


async def offices(resources, callers, app, module: str, *names: str) -> list[Office]:
    """A fresh province with the module enabled and one agency per name."""
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.services import ensure_agency

    async with resources.session(TenantScope.nation()) as session, session.begin():
        code = unique_code("SP")
        province = await ensure_province(session, code, f"Tỉnh {code}")
        agencies = [
            await ensure_agency(
                session,
                province,
                unique_code("A"),
                f"{name} {unique_code()}",
                AgencyKind.commune if i == 0 else AgencyKind.other,
            )
            for i, name in enumerate(names)
        ]
    enabled = await post(
        app,
        f'mutation {{ enableModule(module: "{module}") {{ name }} }}',
        callers.issue(admin(province.id)),
    )
    assert enabled == {"data": {"enableModule": {"name": module}}}, enabled
    return [Office(app, callers, agency) for agency in agencies]


RECEIVE = (
    "mutation($p: String!, $a: ApplicantInput!, $d: JSON!) { receiveDossier(input: "
    "{procedureCode: $p, applicant: $a,"
    " sectorData: $d}) { lookupKey dossier { id code status version currentStep } } }"
)
MOVE = (
    "mutation($id: ID!, $v: Int!) { %s(id: $id, expectedVersion: $v%s) "
    "{ id code status version currentStep } }"
)
COMPLETE = (
    "mutation($id: ID!, $v: Int!, $data: JSON, $to: ID) { completeStep(id: $id, expectedVersion: "
    "$v,"
    " stepData: $data, toAgency: $to) { id code status version currentStep } }"
)
DOSSIER = (
    "query($id: ID!) { dossier(id: $id) { id code status version currentStep"
    " mySteps { index code status agencyId sectorData } } }"
)


async def adopt(office: Office, procedure_code: str, step_agencies: dict | None = None) -> dict:
    return await office(
        "mutation($p: String!, $s: JSON) { adoptProcedure(procedureCode: $p, stepAgencies: $s)"
        " { code stepCodes } }",
        {"p": procedure_code, "s": step_agencies},
    )


async def receive(office: Office, procedure_code: str, sector_data: dict) -> dict:
    return await office(RECEIVE, {"p": procedure_code, "a": APPLICANT, "d": sector_data})


async def move(office: Office, dossier: dict, name: str, extra: str = "") -> dict:
    body = await office(MOVE % (name, extra), {"id": dossier["id"], "v": dossier["version"]})
    return body if "errors" in body else body["data"][name]


async def complete(
    office: Office, dossier: dict, data: dict | None = None, to: str | None = None
) -> dict:
    body = await office(
        COMPLETE, {"id": dossier["id"], "v": dossier["version"], "data": data, "to": to}
    )
    return body if "errors" in body else body["data"]["completeStep"]


async def lifecycle(
    office: Office, procedure_code: str, sector_data: dict, step_data: dict[str, dict] | None = None
) -> dict:
    """receive → assign → complete every step (with its step data) → processed → returned;
    the public lookup then shows the whole timeline. Returns the public view."""
    adopted = await adopt(office, procedure_code)
    assert "errors" not in adopted, adopted
    steps = adopted["data"]["adoptProcedure"]["stepCodes"]
    received = await receive(office, procedure_code, sector_data)
    assert "errors" not in received, received
    dossier, key = (
        received["data"]["receiveDossier"]["dossier"],
        received["data"]["receiveDossier"]["lookupKey"],
    )
    assert dossier["status"] == "RECEIVED"
    dossier = await move(office, dossier, "assignDossier", ', assignee: "officer-1"')
    assert dossier["status"] == "IN_PROGRESS", dossier
    for index, code in enumerate(steps):
        assert dossier["currentStep"] == index
        dossier = await complete(office, dossier, (step_data or {}).get(code))
        assert "errors" not in dossier, dossier
    assert dossier["status"] == "PROCESSED"
    dossier = await move(office, dossier, "returnResult")
    assert dossier["status"] == "RETURNED"
    seen = await public_lookup(office.app, dossier["code"], key)
    actions = [e["action"] for e in seen["timeline"]]
    assert actions == [
        "RECEIVED",
        "ASSIGNED",
        *["STEP_COMPLETED"] * (len(steps) - 1),
        "PROCESSED",
        "RETURNED",
    ]
    return seen


async def public_lookup(app, code: str, key: str) -> dict:
    transport = httpx.ASGITransport(app=app, client=(unique_code("10.8."), 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        body = (
            await http.post(
                "/graphql",
                json={
                    "query": "query($c: String!, $k: String!) { "
                    "publicDossier(code: $c, lookupKey: $k)"
                    " { status timeline { action status agency } } }",
                    "variables": {"c": code, "k": key},
                },
            )
        ).json()
    return body["data"]["publicDossier"]


async def assert_sector_error(
    office: Office, procedure_code: str, good: dict, change: dict, field: str
) -> None:
    """Receiving with one bad field answers INVALID_SECTOR_DATA naming that field; nothing is
    stored."""
    body = await receive(office, procedure_code, {**good, **change})
    assert error_of(body) == ("INVALID_SECTOR_DATA", f"sectorData.{field}"), body
