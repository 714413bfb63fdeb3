"""pytest fixtures for module authors (a `pytest11` plugin: installed with eiso, active in any
test run; every fixture is opt-in, so nothing loads a plugin unless a test asks).

    async def test_my_module(eiso_client, eiso_province):
        province = await eiso_province("my_module")             # a province with it on
        headers = province.headers("officer")                   # a caller of that province
        answer = await eiso_client.post("/graphql", json={"query": "{ myModule { ... } }"},
                                        headers=headers)

Override `eiso_plugins` (a list of module names, or None for every installed one) to choose
what the app loads. Principals reach the app through its `authenticator=` injection.

This kit builds an app, so it belongs to the composition root (with core/app.py and the CLI):
nothing in eiso imports it; pytest loads it through `eiso.core.testing`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio

from eiso.core.auth.authenticator import Caller
from eiso.core.auth.principal import Principal, Role
from eiso.core.plugins.registry import PluginRegistry
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


@dataclasses.dataclass
class TestProvince:
    __test__ = False  # a fixture's value, not a test class for pytest to collect
    id: int
    code: str
    modules: frozenset[str]
    issuer: TokenIssuer

    def headers(self, role: str | Role = Role.officer) -> dict[str, str]:
        """Authorization headers for a caller of this province with `role`."""
        return self.issuer.issue(principal_for(role, self.id))


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
async def eiso_resources(tmp_path: pathlib.Path) -> AsyncIterator[Resources]:
    """A migrated SQLite database and in-process Redis of its own."""
    from eiso.core.settings import load_settings
    from eiso.infra import migrate

    url = f"sqlite:///{tmp_path / 'eiso.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
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
    eiso_resources: Resources, eiso_registry: PluginRegistry, eiso_tokens: TokenIssuer
) -> Callable[..., Awaitable[TestProvince]]:
    """`await eiso_province(*modules)`: a new province with those modules on."""
    from eiso.core.plugins.activation import switch_module
    from eiso.tenants.services import ensure_province

    async def make(*modules: str) -> TestProvince:
        code = "P" + secrets.token_hex(3).upper()
        async with eiso_resources.session(TenantScope.nation()) as session:
            province = await ensure_province(session, code, f"Tỉnh thử {code}")
            await session.commit()
            province_id = province.id
        assert province_id is not None  # committed: the database gave it its id
        admin = principal_for(Role.national_admin)
        for module in modules:
            await switch_module(eiso_resources, eiso_registry, admin, province_id, module, True)
        return TestProvince(province_id, code, frozenset(modules), eiso_tokens)

    return make
