"""A module switched by the CLI (`eiso modules enable/disable`, a process of its own) reaches a
running server (uvicorn, a process of its own) at its very next request, on both stacks: on the
embedded defaults (SQLite, `memory://`: the CLI's fakeredis is not the server's) through the
database's switch generation, on PostgreSQL and Redis through the pub/sub notice. Another
province is not affected."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys

import httpx
import pytest

from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code
from tests.test_second_worker_process import WORKER
from tests.worker_process import worker_process

MODULE = "vendor_demo"
QUERY = {"query": "{ vendorDemo { greeting } }"}
GREETING = {"data": {"vendorDemo": {"greeting": "Xin chào từ mô-đun mẫu"}}}
EISO = str(pathlib.Path(sys.executable).with_name("eiso"))


async def cli(settings, *args: str) -> None:
    """`eiso <args>` in a process of its own, on the test's database, Redis and prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update(
        EISO_DATABASE_URL=settings.database_url,
        EISO_REDIS_URL=settings.redis_url,
        EISO_REDIS_PREFIX=settings.redis_prefix,
        EISO_PLUGINS=MODULE,
        EISO_LOG_JSON="false",
    )
    process = await asyncio.create_subprocess_exec(
        EISO, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()


async def sees_module(http: httpx.AsyncClient, province_id: int) -> bool:
    body = (
        await http.post("/graphql", json=QUERY, headers={"x-test-province": str(province_id)})
    ).json()
    if body == GREETING:
        return True
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", body
    return False


@pytest.mark.slow
async def test_a_cli_switch_reaches_a_running_server_at_its_next_request(
    resources, nation_session, tmp_path
):
    code_a, code_b = unique_code("SW"), unique_code("SW")
    a = await ensure_province(nation_session, code_a, "Tỉnh Bật Tắt")
    b = await ensure_province(nation_session, code_b, "Tỉnh Bên Cạnh")
    await nation_session.commit()
    assert a.id is not None and b.id is not None
    settings = resources.settings
    async with (
        worker_process(tmp_path, "switch_server", WORKER, settings, plugins=MODULE) as url,
        httpx.AsyncClient(base_url=url) as server,
    ):
        assert not await sees_module(server, a.id)  # the server caches "nothing enabled"
        assert not await sees_module(server, a.id)
        await cli(settings, "modules", "enable", MODULE, "--province", code_a)
        assert await sees_module(server, a.id)  # the very next request
        assert not await sees_module(server, b.id)  # province B: untouched
        await cli(settings, "modules", "enable", MODULE, "--province", code_b)
        await cli(settings, "modules", "disable", MODULE, "--province", code_a)
        assert not await sees_module(server, a.id)
        assert await sees_module(server, b.id)  # A's switch did not touch B
        await cli(settings, "modules", "enable", MODULE, "--province", code_a)
        assert await sees_module(server, a.id)


async def test_without_a_shared_redis_every_request_reads_the_generation(
    resources, two_provinces_ids, monkeypatch
):
    """memory:// (or Redis unreadable): each request reads the database's switch generation,
    and the set only when it moved, so a switch committed by another process is seen at once."""
    from eiso.core.plugins import activation
    from eiso.core.plugins.registry import PluginRegistry

    a_id, b_id = two_provinces_ids
    if not resources.settings.is_memory_redis:
        monkeypatch.setattr(resources.settings, "redis_url", "memory://generation-test")
    reads: list[str] = []
    real_generation = activation.ActiveModules.generation
    real_enabled = activation.enabled_modules

    async def generation(self, resources, province_id):
        reads.append("generation")
        return await real_generation(self, resources, province_id)

    async def enabled(session, province_id):
        reads.append("set")
        return await real_enabled(session, province_id)

    monkeypatch.setattr(activation.ActiveModules, "generation", generation)
    monkeypatch.setattr(activation, "enabled_modules", enabled)
    active = activation.ActiveModules(PluginRegistry.load([MODULE]))
    active.listening = True  # a subscription to this process's own fakeredis proves nothing
    assert await active.for_province(resources, a_id) == frozenset()
    assert reads == ["generation", "set"]
    for _ in range(3):
        assert await active.for_province(resources, a_id) == frozenset()
    assert reads == ["generation", "set"] + ["generation"] * 3  # one cheap read per request
    # Another process's switch: no Redis notice here, no bump, only the committed rows.
    async with resources.session(TenantScope.province(a_id)) as session:
        await activation.set_module(session, a_id, MODULE, True, by="another-process")
        await session.commit()
    reads.clear()
    assert await active.for_province(resources, a_id) == {MODULE}
    assert reads == ["generation", "set"]
    assert await active.for_province(resources, b_id) == frozenset()  # B: its own generation


@pytest.fixture
async def two_provinces_ids(nation_session) -> tuple[int, int]:
    a = await ensure_province(nation_session, unique_code("GA"), "Tỉnh Thế Hệ A")
    b = await ensure_province(nation_session, unique_code("GB"), "Tỉnh Thế Hệ B")
    await nation_session.commit()
    assert a.id is not None and b.id is not None
    return a.id, b.id
