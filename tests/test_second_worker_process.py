"""A real second worker: a separate uvicorn process sharing PostgreSQL and Redis sees a module
enabled through this process at its next request, with no restart."""

from __future__ import annotations

import textwrap

import httpx
import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.plugins.registry import PluginRegistry
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code
from tests.worker_process import worker_process

QUERY = {"query": "{ vendorDemo { greeting } }"}

# The worker authenticates `x-test-province: N` as an officer of province N (a test double).
WORKER = textwrap.dedent("""
    from eiso.core.app import create_app
    from eiso.core.auth.principal import Principal, Role
    from eiso.core.settings import get_settings
    from eiso.tenants.scope import TenantScope

    async def header_auth(connection):
        province = connection.headers.get("x-test-province")
        if not province:
            return None
        return Principal(subject="officer", tenant=TenantScope.province(int(province)),
                         roles=frozenset({Role.officer}), province_id=int(province))

    def app():
        return create_app(get_settings(), authenticator=header_auth)
""")


@pytest.mark.slow
@pytest.mark.only_backend("postgresql+redis")
async def test_a_separate_worker_process_sees_the_module_without_restart(
    resources, callers, nation_session, tmp_path
):
    from eiso.core.app import create_app

    province = await ensure_province(nation_session, unique_code("PW"), "Tỉnh Hai Tiến Trình")
    await nation_session.commit()
    settings = resources.settings
    officer = {"x-test-province": str(province.id)}
    app = create_app(
        settings,
        resources,
        authenticator=callers.authenticate,
        plugins=PluginRegistry.load(["vendor_demo"]),
    )
    admin = callers.issue(
        Principal(
            subject="admin",
            tenant=TenantScope.province(province.id),
            roles=frozenset({Role.province_admin}),
            province_id=province.id,
        )
    )
    async with (
        worker_process(tmp_path, "second_worker", WORKER, settings, plugins="vendor_demo") as url,
        httpx.AsyncClient(base_url=url) as worker,
    ):
        before = (await worker.post("/graphql", json=QUERY, headers=officer)).json()
        assert before["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://here") as here,
        ):
            enabled = await here.post(
                "/graphql",
                headers=admin,
                json={
                    "query": (
                        'mutation { enableModule(module: "vendor_demo") { name '
                        "enabledForMyProvince } }"
                    )
                },
            )
            assert enabled.json() == {
                "data": {"enableModule": {"name": "vendor_demo", "enabledForMyProvince": True}}
            }
        after = (await worker.post("/graphql", json=QUERY, headers=officer)).json()
        assert after == {"data": {"vendorDemo": {"greeting": "Xin chào từ mô-đun mẫu"}}}
