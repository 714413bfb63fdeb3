"""pytest fixtures for module authors (a `pytest11` plugin: installed with eiso, active in any
test run; every fixture is opt-in, so nothing loads a plugin unless a test asks).

    async def test_my_module(eiso_province, eiso_events):
        province = await eiso_province("my_module")             # a province with it on
        agency = await province.agency()                        # an agency of it
        await agency.adopt("MY.0001")                           # offers the procedure
        dossier = await agency.receive("MY.0001", {"field": "value"})
        await agency.move(dossier, "assignDossier", assignee="officer-2")
        assert await eiso_events() == {"my_module": 2}          # hooks delivered, now
        answer = await province.graphql("{ myModule { ... } }", role="leader")

The complete example is in docs/plugins.md (run by tests/test_plugin_docs.py).

Override `eiso_plugins` (a list of module names, or None for every installed one) to choose
what the app loads. Principals reach the app through its `authenticator=` injection.

This kit builds an app, so it belongs to the composition root (with core/app.py and the CLI):
nothing in eiso imports it; pytest loads it through `eiso.core.testing`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import pathlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
import pytest_asyncio

from eiso.core.auth.authenticator import Caller
from eiso.core.auth.principal import Principal, Role
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.plugins.storage import ModuleStore
from eiso.core.resources import Resources
from eiso.tenants.scope import TenantScope

if TYPE_CHECKING:  # the app the kit builds; the kit itself speaks HTTP only through httpx
    from starlette.applications import Starlette


class TokenIssuer:
    """Bearer tokens for principals, mapped back by the test app's authenticator."""

    def __init__(self) -> None:
        self._by_token: dict[str, Principal] = {}

    def issue(self, principal: Principal) -> dict[str, str]:
        token = "test-" + secrets.token_hex(8)
        self._by_token[token] = principal
        return {"authorization": f"Bearer {token}"}

    async def authenticate(self, connection: Caller) -> Principal | None:
        header = connection.headers.get("authorization", "")
        return self._by_token.get(header.removeprefix("Bearer ").strip())


def principal_for(
    role: str | Role,
    province_id: int | None = None,
    agency_id: int | None = None,
    subject: str | None = None,
) -> Principal:
    role = Role(role)
    if role is Role.national_admin:
        tenant = TenantScope.nation()
    elif province_id is None:
        raise ValueError(f"principal_for: a {role.value} belongs to a province (province_id)")
    elif agency_id is not None:
        tenant = TenantScope.agencies([agency_id], [province_id])
    else:
        tenant = TenantScope.province(province_id)
    return Principal(
        subject=subject or f"{role.value}-{secrets.token_hex(3)}",
        tenant=tenant,
        roles=frozenset({role}),
        province_id=None if role is Role.national_admin else province_id,
        agency_id=agency_id,
    )


class KitError(AssertionError):
    """A kit step that eiso refused: the GraphQL errors, as the answer gave them."""


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a GraphQL answer; a `KitError` with the errors when there are any."""
    if body.get("errors"):
        raise KitError(body["errors"])
    return cast("dict[str, Any]", body["data"])


@dataclasses.dataclass
class KitDossier:
    """A dossier as the kit's moves see it; each move refreshes `version` and `status`."""

    id: str  # its global id, what the lifecycle mutations take
    code: str
    version: int
    status: str  # the DossierStatus name: RECEIVED, IN_PROGRESS, PROCESSED, RETURNED, ...


DOSSIER_FIELDS = "id code version status"
# The applicant `receive` files when the test gives none (the GraphQL `ApplicantInput` names).
DEFAULT_APPLICANT = {"fullName": "Nguyễn Văn An", "phone": "0912345678"}


@dataclasses.dataclass
class TestProvince:
    __test__ = False  # a fixture's value, not a test class for pytest to collect

    id: int
    code: str
    modules: frozenset[str]
    issuer: TokenIssuer
    resources: Resources | None = None
    client: httpx.AsyncClient | None = None

    def headers(self, role: str | Role = Role.officer) -> dict[str, str]:
        """Authorization headers for a caller of this province with `role`."""
        return self.issuer.issue(principal_for(role, self.id))

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        role: str | Role = Role.officer,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST /graphql as a caller of this province with `role` (or with `headers`): the
        whole answer, `data` and `errors` (use `data_of` to insist on success)."""
        assert self.client is not None, "the kit's eiso_client builds the province"
        body = {"query": query, "variables": variables or {}}
        answer = await self.client.post(
            "/graphql", json=body, headers=headers or self.headers(role)
        )
        return cast("dict[str, Any]", answer.json())

    def store(self, module: str) -> ModuleStore:
        """The province's store of `module` (`module_store`'s), to arrange or check what the
        module keeps."""
        assert self.resources is not None, "the kit's eiso_province builds the province"
        return ModuleStore(self.resources, self.id, module)

    async def agency(
        self,
        code: str | None = None,
        name: str = "Ủy ban nhân dân xã Hòa Bình",
        kind: str = "commune",
    ) -> TestAgency:
        """A new agency of this province (`kind`: an `AgencyKind` value)."""
        from eiso.tenants.models import AgencyKind
        from eiso.tenants.services import ensure_agency, get_province

        assert self.resources is not None
        code = code or "A" + secrets.token_hex(4).upper()
        async with self.resources.session(TenantScope.nation()) as session, session.begin():
            province = await get_province(session, self.code)
            assert province is not None
            row = await ensure_agency(session, province, code, name, AgencyKind(kind))
            agency_id = row.id
        return TestAgency(agency_id, code, name, self)


@dataclasses.dataclass
class TestAgency:
    """An agency of a kit province: its callers adopt procedures and move dossiers through
    the same GraphQL mutations a frontend uses."""

    __test__ = False

    id: int
    code: str
    name: str
    province: TestProvince

    def headers(self, role: str | Role = Role.officer) -> dict[str, str]:
        """Authorization headers for a caller of this agency with `role`."""
        return self.province.issuer.issue(principal_for(role, self.province.id, self.id))

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, role: str | Role = Role.officer
    ) -> dict[str, Any]:
        """POST /graphql as a caller of this agency with `role`: the whole answer."""
        return await self.province.graphql(query, variables, headers=self.headers(role))

    async def adopt(self, procedure_code: str) -> None:
        """The agency offers the procedure (`adoptProcedure`, by its leader)."""
        data_of(
            await self.graphql(
                "mutation($c: String!) { adoptProcedure(procedureCode: $c) { code } }",
                {"c": procedure_code},
                role=Role.leader,
            )
        )

    async def receive(
        self,
        procedure_code: str,
        sector_data: dict[str, Any],
        applicant: dict[str, Any] | None = None,
    ) -> KitDossier:
        """Receive a dossier at the counter (`receiveDossier`, by an officer). `applicant`
        uses the GraphQL names (`fullName` or `organisation` required; `citizenId`, `phone`,
        `email`, `address`, `taxCode`, `representative`)."""
        query = (
            "mutation($i: ReceiveDossierInput!) { receiveDossier(input: $i) "
            f"{{ dossier {{ {DOSSIER_FIELDS} }} }} }}"
        )
        received = {
            "procedureCode": procedure_code,
            "applicant": applicant or DEFAULT_APPLICANT,
            "sectorData": sector_data,
        }
        data = data_of(await self.graphql(query, {"i": received}))
        return KitDossier(**data["receiveDossier"]["dossier"])

    async def move(
        self, dossier: KitDossier, mutation: str, role: str | Role = Role.officer, **arguments: Any
    ) -> KitDossier:
        """One lifecycle mutation (`assignDossier`, `completeStep`, `returnResult`, ...) on
        `dossier` with its current version; its other arguments by their GraphQL names
        (`assignee="officer-2"`, `note=...`, `stepData={...}`). Refreshes and returns it."""
        types = _argument_types(mutation)
        unknown = set(arguments) - set(types)
        if unknown:
            raise KitError(f"{mutation} takes no argument {sorted(unknown)} (it takes {types})")
        values = {"id": dossier.id, "expectedVersion": dossier.version, **arguments}
        declared = ", ".join(f"${name}: {types[name]}" for name in values)
        passed = ", ".join(f"{name}: ${name}" for name in values)
        query = f"mutation({declared}) {{ {mutation}({passed}) {{ {DOSSIER_FIELDS} }} }}"
        moved = data_of(await self.graphql(query, values, role=role))[mutation]
        dossier.version, dossier.status = moved["version"], moved["status"]
        return dossier


@functools.cache
def _argument_types(mutation: str) -> dict[str, str]:
    """The argument types of a core mutation, read from the core schema (never out of date)."""
    from eiso.graphql.schema import build_schema

    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    field = mutation_type.fields.get(mutation)
    if field is None:
        raise KitError(f"no mutation {mutation!r} in eiso's core schema")
    return {name: str(arg.type) for name, arg in field.args.items()}


@pytest.fixture
def eiso_plugins() -> list[str] | None:
    """The modules the app loads: override it; None loads every installed module."""
    return None


@pytest.fixture
def eiso_registry(eiso_plugins: list[str] | None) -> PluginRegistry:
    return PluginRegistry.load(eiso_plugins)


@pytest.fixture
def eiso_tokens() -> TokenIssuer:
    return TokenIssuer()


@pytest_asyncio.fixture
async def eiso_resources(
    tmp_path: pathlib.Path, eiso_registry: PluginRegistry
) -> AsyncIterator[Resources]:
    """A migrated SQLite database (the core's migrations, then the loaded modules' own:
    `ModuleInfo.migrations`) and in-process Redis of its own."""
    from eiso.core.plugins.tables import upgrade_database
    from eiso.core.settings import load_settings

    url = f"sqlite:///{tmp_path / 'eiso.db'}"
    await asyncio.to_thread(upgrade_database, eiso_registry, url)
    prefix = f"eiso-kit-{secrets.token_hex(4)}:"
    settings = load_settings(
        env="test",
        database_url=url,
        redis_url="memory://" + prefix,
        redis_prefix=prefix,
        log_json=False,
    )
    resources = Resources.open(settings)
    yield resources
    await resources.close()


@pytest_asyncio.fixture
async def eiso_app(
    eiso_resources: Resources, eiso_registry: PluginRegistry, eiso_tokens: TokenIssuer
) -> AsyncIterator[Starlette]:
    """The eiso app with the chosen modules loaded."""
    from eiso.core.app import create_app

    app = create_app(
        eiso_resources.settings,
        eiso_resources,
        authenticator=eiso_tokens.authenticate,
        plugins=eiso_registry,
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def eiso_client(eiso_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=eiso_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def eiso_province(
    eiso_resources: Resources,
    eiso_registry: PluginRegistry,
    eiso_tokens: TokenIssuer,
    eiso_client: httpx.AsyncClient,
) -> Callable[..., Awaitable[TestProvince]]:
    """`await eiso_province(*modules, config={module: {...}})`: a new province with those
    modules on (switched by the national administrator, as `enableModule` does), each with the
    configuration given for it (checked by its `ModuleInfo.config_model`)."""
    from eiso.core.plugins.activation import switch_module
    from eiso.tenants.services import ensure_province

    async def make(*modules: str, config: dict[str, dict[str, Any]] | None = None) -> TestProvince:
        code = "P" + secrets.token_hex(3).upper()
        async with eiso_resources.session(TenantScope.nation()) as session:
            province = await ensure_province(session, code, f"Tỉnh thử {code}")
            await session.commit()
            province_id = province.id
        assert province_id is not None  # committed: the database gave it its id
        admin = principal_for(Role.national_admin)
        for module in modules:
            await switch_module(
                eiso_resources,
                eiso_registry,
                admin,
                province_id,
                module,
                True,
                (config or {}).get(module),
            )
        return TestProvince(
            province_id, code, frozenset(modules), eiso_tokens, eiso_resources, eiso_client
        )

    return make


@pytest.fixture
def eiso_events(
    eiso_resources: Resources, eiso_registry: PluginRegistry, eiso_app: Starlette
) -> Callable[[], Awaitable[dict[str, int]]]:
    """`await eiso_events()`: deliver the dossier events committed so far to the modules'
    `eiso_on_dossier_event` hooks, now, and return how many each hook got. In tests the
    relay and the hook workers do not run in the background (EISO_ENV=test): this runs them
    once, with the same filters as production (enabled provinces, own procedures unless
    `dossier_events="all"`, events kept while a module is off)."""
    from eiso.core.dossiers.hooks import HookWorkers
    from eiso.infra.relay import Relay

    async def deliver() -> dict[str, int]:
        relay = Relay(eiso_resources.sessionmaker, eiso_resources.redis, eiso_resources.key)
        await relay.drain()
        return await HookWorkers(eiso_resources, eiso_registry).run_once()

    return deliver
