"""A module's own tables (`ModuleInfo.migrations`): its Alembic revisions run after the core's
(`eiso db upgrade`, `upgrade_database`), recorded in its own version table, never dropped when
the module is disabled or no longer loaded; its rows stay with their tenant (row-level
security on PostgreSQL); on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import pytest_asyncio
from sqlalchemy import text
from typer.testing import CliRunner

from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.plugins.tables import (
    ModuleMigrationsError,
    migrations_folder,
    upgrade_database,
    upgrade_modules,
)
from eiso.core.resources import Resources
from eiso.core.sdk import LocalizedText, ModuleInfo, ModuleStore
from eiso.core.settings import load_settings
from eiso.infra.db import make_engine
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import create_database, unique_code
from tests.module_tables import NAME, TABLE, TableProbe

HEAD = "0002_table_probe_notes_index"


def probe_registry() -> PluginRegistry:
    return PluginRegistry.load(None, [PluginSource.of(NAME, TableProbe())])


@pytest_asyncio.fixture
async def fresh(backend, tmp_path_factory):
    """A database of this test alone, with only the core's migrations applied, and resources
    on it."""
    database = await create_database(backend.split("+")[0], tmp_path_factory, modules=False)
    prefix = f"eiso-tables-{secrets.token_hex(4)}:"
    settings = load_settings(
        env="test",
        database_url=database.app_url,
        migration_database_url=database.owner_url,
        redis_url="memory://" + prefix,
        redis_prefix=prefix,
        log_json=False,
        plugins=[],
    )
    resources = Resources.open(settings)
    yield database, resources
    await resources.close()
    await database.drop()


async def scalar(database, sql: str):
    """One value read as the database's owner (the app's role may not read the version
    tables)."""
    engine = make_engine(database.owner_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def two_agencies(resources: Resources) -> list[tuple[int, int]]:
    made = []
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for _ in range(2):
            province = await ensure_province(session, unique_code("P"), "Tỉnh Bảng Riêng")
            agency = await ensure_agency(
                session, province, unique_code("A"), "UBND xã Thử", AgencyKind.commune
            )
            made.append((province.id, agency.id))
    return made


async def add_note(
    resources: Resources, province_id: int, agency_id: int, body: str, by: int | None = None
) -> None:
    """A note of the agency, written in the transaction of province `by` (default: its own)."""
    async with ModuleStore(resources, by or province_id, NAME).transaction() as connection:
        await connection.execute(
            text(f"INSERT INTO {TABLE} (province_id, agency_id, body) VALUES (:p, :a, :b)"),
            {"p": province_id, "a": agency_id, "b": body},
        )


async def test_module_migrations_run_after_the_core_and_keep_their_own_version(fresh):
    database, resources = fresh
    urls = database.owner_url, database.app_url
    core_heads = await scalar(database, "SELECT count(*) FROM alembic_version")
    assert await asyncio.to_thread(upgrade_modules, probe_registry(), *urls) == [NAME]
    assert await scalar(database, f"SELECT version_num FROM alembic_version_{NAME}") == HEAD
    assert await scalar(database, "SELECT count(*) FROM alembic_version") == core_heads
    assert await scalar(database, f"SELECT count(*) FROM {TABLE}") == 0
    # Again (every `eiso db upgrade`): nothing to do, nothing lost.
    (p1, a1), _ = await two_agencies(resources)
    await add_note(resources, p1, a1, "giữ lại")
    await asyncio.to_thread(upgrade_database, probe_registry(), *urls)
    assert await scalar(database, f"SELECT count(*) FROM {TABLE}") == 1


async def test_disabling_or_unloading_the_module_keeps_its_table_and_rows(fresh):
    database, resources = fresh
    registry = probe_registry()
    await asyncio.to_thread(upgrade_modules, registry, database.owner_url, database.app_url)
    (p1, a1), _ = await two_agencies(resources)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await set_module(session, p1, NAME, True, by="test")
    await add_note(resources, p1, a1, "hồ sơ của tỉnh")
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await set_module(session, p1, NAME, False, by="test")
    unloaded = PluginRegistry.load([], [PluginSource.of(NAME, TableProbe())])
    assert (
        await asyncio.to_thread(upgrade_database, unloaded, database.owner_url, database.app_url)
        == []
    )
    assert await scalar(database, f"SELECT body FROM {TABLE}") == "hồ sơ của tỉnh"
    assert await scalar(database, f"SELECT version_num FROM alembic_version_{NAME}") == HEAD


async def test_a_module_tables_rows_stay_with_their_tenant(fresh, backend):
    database, resources = fresh
    await asyncio.to_thread(upgrade_modules, probe_registry(), database.owner_url, database.app_url)
    (p1, a1), (p2, a2) = await two_agencies(resources)
    await add_note(resources, p1, a1, "một")
    await add_note(resources, p2, a2, "hai")
    everything = text(f"SELECT body FROM {TABLE} ORDER BY body")
    async with ModuleStore(resources, p1, NAME).transaction() as connection:
        mine = (await connection.execute(everything)).scalars().all()
    async with resources.session(TenantScope.agencies([a2], [p2])) as session:
        theirs = (await session.execute(everything)).scalars().all()
    async with resources.session(TenantScope.nation()) as session:
        assert (await session.execute(everything)).scalars().all() == ["hai", "một"]
    if backend.startswith("postgresql"):  # row-level security, below any filter of the module
        assert (mine, theirs) == (["một"], ["hai"])
        with pytest.raises(Exception, match="row-level security"):
            await add_note(resources, p2, a2, "sang tỉnh khác", by=p1)
    else:  # SQLite has no row-level security: the module names its province in statements
        assert mine == theirs == ["hai", "một"]


def test_a_missing_migrations_folder_is_named():
    info = ModuleInfo(
        name="ghost_tables",
        title=LocalizedText(vi="Ma", en="Ghost"),
        version="1.0",
        sector="test",
        migrations="tests.module_tables:nowhere",
    )
    with pytest.raises(ModuleMigrationsError, match="ghost_tables"):
        migrations_folder(info)
    with pytest.raises(ValueError):
        info.model_validate({**info.model_dump(), "migrations": "no colon"})


@pytest.mark.only_backend("sqlite+memory")
def test_eiso_db_upgrade_applies_the_loaded_modules_migrations(tmp_path, monkeypatch, backend):
    from eiso.core import cli
    from eiso.core.plugins import registry

    monkeypatch.setattr(
        registry, "installed_sources", lambda: [PluginSource.of(NAME, TableProbe())]
    )
    url = f"sqlite:///{tmp_path / 'eiso.db'}"
    monkeypatch.setenv("EISO_DATABASE_URL", url)
    monkeypatch.setenv("EISO_LOG_JSON", "false")
    monkeypatch.delenv("EISO_PLUGINS", raising=False)
    from eiso.core.settings import get_settings

    # The settings are read once per process: another test of this worker may have read them.
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"module {NAME}: its tables are up to date" in result.output
    import sqlite3

    with sqlite3.connect(tmp_path / "eiso.db") as connection:
        version = connection.execute(f"SELECT version_num FROM alembic_version_{NAME}").fetchone()
        assert version == (HEAD,)
