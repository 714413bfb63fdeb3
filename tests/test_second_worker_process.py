"""A real second worker: a separate uvicorn process sharing PostgreSQL and Redis sees a module
enabled through this process at its next request, with no restart."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from eiso.core.auth.principal import Principal, Role
from eiso.core.plugins.registry import PluginRegistry
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                await http.get(url + "/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    pytest.fail("the second worker did not start within 30 s")


@pytest.mark.slow
@pytest.mark.only_backend("postgresql+redis")
async def test_a_separate_worker_process_sees_the_module_without_restart(
    resources, callers, nation_session, tmp_path
):
    from eiso.core.app import create_app

    province = await ensure_province(nation_session, unique_code("PW"), "Tỉnh Hai Tiến Trình")
    await nation_session.commit()
    (tmp_path / "second_worker.py").write_text(WORKER)
    settings = resources.settings
    port = _free_port()
    env = {
        **os.environ,
        "EISO_ENV": "test",
        "EISO_DATABASE_URL": settings.database_url,
        "EISO_REDIS_URL": settings.redis_url,
        "EISO_REDIS_PREFIX": settings.redis_prefix,
        "EISO_PLUGINS": "vendor_demo",
        "EISO_LOG_JSON": "false",
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - starts it, does not wait
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "second_worker:app",
            "--app-dir",
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
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
    try:
        await _wait(url)
        async with httpx.AsyncClient(base_url=url) as worker:
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
                        "query": 'mutation { enableModule(module: "vendor_demo") { name enabledForMyProvince } }'
                    },
                )
                assert enabled.json() == {
                    "data": {"enableModule": {"name": "vendor_demo", "enabledForMyProvince": True}}
                }
            after = (await worker.post("/graphql", json=QUERY, headers=officer)).json()
            assert after == {"data": {"vendorDemo": {"greeting": "Xin chào từ mô-đun mẫu"}}}
    finally:
        server.terminate()
        server.wait(10)
