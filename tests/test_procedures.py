"""The procedure catalogue follows the loaded modules: `eiso procedures sync|list` as an operator
runs them, and the sync every worker makes at start-up (idempotent, several at once, a
procedure no module offers any more marked inactive, never deleted)."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest_asyncio
from sqlalchemy import select

from eiso.core.dossiers.models import ProcedureRecord
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.sdk import LocalizedText, ModuleInfo, Procedure, Step, TimeLimit, hookimpl
from eiso.core.settings import load_settings
from eiso.tenants.scope import TenantScope
from tests.conftest import REDIS_URL, create_database, unique_code
from tests.test_demo import eiso

BIRTH = {"1.001193", "LT-KS-TT-BHYT"}


@pytest_asyncio.fixture(scope="module")
async def cli_env(backend, tmp_path_factory):
    """A fresh database per backend: the catalogue is global, other tests' modules stay out."""
    db = await create_database(backend.split("+")[0], tmp_path_factory)
    yield {
        "EISO_DATABASE_URL": db.app_url,
        "EISO_MIGRATION_DATABASE_URL": db.owner_url,
        "EISO_REDIS_URL": "memory://" if backend.endswith("memory") else REDIS_URL,
        "EISO_REDIS_PREFIX": f"eiso-test-proc-{secrets.token_hex(4)}:",
        "EISO_LOG_JSON": "false",
    }
    await db.drop()


def rows(stdout: str) -> list[list[str]]:
    return [line.split("\t") for line in stdout.splitlines()]


def test_sync_and_list_through_the_cli(cli_env):
    assert eiso("procedures", "list", env=cli_env).returncode == 1  # empty: says to sync first
    first = eiso("procedures", "sync", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert {"added"} == {r[0] for r in rows(first.stdout)}
    assert {"1.001193", "1.013225", "1.001612", "1.013978"} <= {r[1] for r in rows(first.stdout)}
    again = eiso("procedures", "sync", env=cli_env)
    assert again.stdout == "" and "added 0, updated 0, deactivated 0" in again.stderr

    listed = eiso("procedures", "list", "--module", "birth_registration", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert rows(listed.stdout) == [
        ["1.001193", "Đăng ký khai sinh", "trong ngày làm việc", "birth_registration", "active"],
        [
            "LT-KS-TT-BHYT",
            "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ BHYT cho trẻ dưới 6 tuổi",
            "3 ngày làm việc",
            "birth_registration",
            "active",
        ],
    ]
    permits = rows(
        eiso("procedures", "list", "--module", "construction_permits", env=cli_env).stdout
    )
    assert [
        "1.013225",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "15 ngày",
        "construction_permits",
        "active",
    ] in permits
    unknown = eiso("procedures", "list", "--module", "no_such_module", env=cli_env)
    assert unknown.returncode == 1 and "--module 'no_such_module'" in unknown.stderr


def test_a_procedure_no_module_offers_becomes_inactive(cli_env):
    # Every module's procedures first: under xdist this test may run without the others.
    assert eiso("procedures", "sync", env=cli_env).returncode == 0
    only_birth = cli_env | {"EISO_PLUGINS": "birth_registration"}
    result = eiso("procedures", "sync", env=only_birth)
    assert result.returncode == 0, result.stderr
    assert "1.013225" in {r[1] for r in rows(result.stdout) if r[0] == "deactivated"}
    assert {r[0] for r in rows(eiso("procedures", "list", env=cli_env).stdout)} == BIRTH
    everything = rows(eiso("procedures", "list", "--all", env=cli_env).stdout)
    assert list({r[4] for r in everything if r[3] == "construction_permits"}) == ["inactive"]
    back = eiso("procedures", "sync", env=cli_env)  # the module is loaded again: active again
    assert "1.013225" in {r[1] for r in rows(back.stdout) if r[0] == "updated"}


# -- start-up ----------------------------------------------------------------------------------


def registry_with(*codes: str, module: str = "catalogue_probe") -> PluginRegistry:
    class Probe:
        @hookimpl
        def eiso_module(self):
            return ModuleInfo(
                name=module,
                title=LocalizedText(vi="Thử danh mục", en="Probe"),
                version="1.0",
                sector="thu_nghiem",
            )

        @hookimpl
        def eiso_procedures(self):
            return [
                Procedure(
                    code=code,
                    name=LocalizedText(vi=f"Thủ tục {code}", en=code),
                    sector="thu_nghiem",
                    time_limit=TimeLimit(amount=2),
                    result=LocalizedText(vi="Kết quả", en="Result"),
                    steps=(
                        Step(
                            code="xu_ly",
                            name=LocalizedText(vi="Xử lý", en="Handle"),
                            responsible_role="officer",
                            budget=TimeLimit(amount=2),
                        ),
                    ),
                )
                for code in codes
            ]

    return PluginRegistry.load(None, [PluginSource.of(module, Probe())])


async def catalogue_rows(resources, *codes: str) -> dict[str, bool]:
    async with resources.session(TenantScope.nation()) as session:
        found = await session.execute(
            select(ProcedureRecord.code, ProcedureRecord.active).where(
                ProcedureRecord.code.in_(codes)
            )
        )
        return dict(found.all())


async def test_app_start_up_syncs_the_catalogue(resources):
    from eiso.core.app import create_app

    kept, dropped = unique_code("9."), unique_code("9.")
    app = create_app(resources.settings, resources, plugins=registry_with(kept, dropped))
    async with app.router.lifespan_context(app):
        assert await catalogue_rows(resources, kept, dropped) == {kept: True, dropped: True}
    app = create_app(resources.settings, resources, plugins=registry_with(kept))
    async with app.router.lifespan_context(app):
        assert await catalogue_rows(resources, kept, dropped) == {kept: True, dropped: False}


async def test_a_test_sync_leaves_other_tests_procedures_active(resources):
    """The tests share one catalogue (tests/shared_catalogue.py): a sync with a registry of
    one test's own leaves the procedures of modules it does not load active, whatever order
    the tests run in; a module it loads still loses the codes it stopped offering."""
    from eiso.core.dossiers import catalogue

    mine, theirs, dropped = unique_code("9."), unique_code("9."), unique_code("9.")
    for registry in (registry_with(mine, dropped), registry_with(theirs, module="other_probe")):
        async with resources.session(TenantScope.nation()) as session, session.begin():
            report = await catalogue.sync_catalogue(session, registry)
        assert not {mine, theirs, dropped} & set(report.deactivated)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        report = await catalogue.sync_catalogue(session, registry_with(mine))
    assert dropped in report.deactivated and theirs not in report.deactivated
    assert await catalogue_rows(resources, mine, theirs, dropped) == {
        mine: True,
        theirs: True,
        dropped: False,
    }


async def test_workers_starting_at_once_sync_once(resources):
    """Four workers start together: no error, one row per procedure."""
    from eiso.core.app import create_app

    codes = [unique_code("9.") for _ in range(3)]
    apps = [
        create_app(resources.settings, resources, plugins=registry_with(*codes)) for _ in range(4)
    ]
    contexts = [app.router.lifespan_context(app) for app in apps]
    try:
        await asyncio.gather(*(c.__aenter__() for c in contexts))
        assert await catalogue_rows(resources, *codes) == dict.fromkeys(codes, True)
    finally:
        for context in contexts:
            await context.__aexit__(None, None, None)


async def test_start_up_with_the_database_down_still_serves_health():
    from eiso.core.app import create_app

    settings = load_settings(
        env="test",
        database_url="postgresql://nobody@127.0.0.1:1/none",
        redis_url="memory://down",
        plugins=[],
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
