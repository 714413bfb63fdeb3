"""eiso on Citus: a coordinator and two workers of the test's own (tests/citus_cluster.py).
`eiso db upgrade` distributes the tenant tables by province_id (co-located) and replicates the
national ones, row-level security stays forced on every shard, and the tenant scope reaches
the workers (SET LOCAL, infra/pg_begin.py). Through the app's GraphQL: another province's
officer sees none of a province's dossiers, a dossier goes from receipt to return, the figures
count it; a province merge is refused with its message. Under an agency scope a receive and an
assign run no multi-shard statement, and a dossier handed over to another agency is seen and
moved by it (the hand-over tests of tests/test_transfer.py, run here).

Runs in CI (CI=true: `.ci/run` builds Citus first, and a missing build fails) or wherever the
build is installed (`infra/citus/build.sh`); skipped elsewhere."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import text

from eiso.core.auth.principal import Principal, Role
from eiso.core.global_ids import encode_id
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.core.workdays import VN_TZ
from eiso.infra.citus import LOCAL_TABLES, distribute_database
from eiso.infra.migrate import alembic_config
from eiso.infra.pg_begin import CITUS
from eiso.infra.rls import scope_predicate
from eiso.tenants.models import AgencyKind
from eiso.tenants.onboarding import FileFormat, onboard
from eiso.tenants.reorganisation import ReorganisationError, merge_provinces
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.citus_cluster import LocalCitus, citus_installed, local_citus
from tests.conftest import APP_ROLE, IN_CI, REDIS_URL, Callers, Database, unique_code
from tests.test_cli import eiso
from tests.test_dossier_engine import PROC, REGISTRY
from tests.test_dossier_graphql import APPLICANT, DATA, MOVE, Caller, codes, officer_of
from tests.test_figures import NATION, REPORT
from tests.test_onboarding import HEADER as ONBOARDING_HEADER

ROOT = Path(__file__).resolve().parents[1]
UPGRADE_SECONDS = 600  # `eiso db upgrade` on three nodes, on a machine the whole suite shares
pytestmark = [pytest.mark.slow, pytest.mark.only_backend("postgresql+redis")]

RECEIVE = (
    'mutation($k: String) { receiveDossier(input: {procedureCode: "%s", applicant: %s, '
    "sectorData: %s}, idempotencyKey: $k) { dossier { id code status version } } }"
)
LIST = "{ dossiers(first: 50) { totalCount edges { node { id code } } } }"
FIGURES = """query($period: PeriodInput!, $p: ID) {
  figures(period: $period, groupBy: AGENCY, provinceId: $p) { agencyId received finished } }"""


@pytest.fixture(scope="module")
def citus(backend) -> Iterator[LocalCitus]:
    if not citus_installed():
        message = "Citus is not installed: run infra/citus/build.sh"
        if IN_CI:
            pytest.fail(f"{message}: CI=true requires it", pytrace=False)
        pytest.skip(message)
    with local_citus() as cluster:
        yield cluster


class CitusDatabase(Database):
    """The module's database and what `eiso db upgrade` printed when it made it."""

    def __init__(self, owner_url: str, app_url: str, upgraded: subprocess.CompletedProcess):
        super().__init__(owner_url, app_url)
        self.upgraded = upgraded

    def env(self) -> dict[str, str]:
        return cli_env(self.owner_url, self.app_url)


def cli_env(owner_url: str, app_url: str) -> dict[str, str]:
    """The CLI's settings for a database."""
    return {
        "EISO_MIGRATION_DATABASE_URL": owner_url,
        "EISO_DATABASE_URL": app_url,
        "EISO_LOG_JSON": "false",
    }


@pytest_asyncio.fixture(scope="module")
async def citus_database(citus) -> AsyncIterator[CitusDatabase]:
    """A new database on every node, migrated on the coordinator by `eiso db upgrade` itself
    (the upgrade is the slow part of this module: it runs once, and the CLI test reads its
    output). Not dropped: the cluster, the module's own, is removed with it."""
    name = f"eiso_citus_{secrets.token_hex(4)}"
    await asyncio.to_thread(citus.create_database, name, APP_ROLE)
    owner_url, app_url = citus.url(name), citus.url(name, user=APP_ROLE)
    # Citus counts single- and multi-shard statements, and logs each multi-shard one with its
    # statement (the coordinator's log): what the routing test reads.
    await _fetch(owner_url, f'ALTER DATABASE "{name}" SET citus.enable_stat_counters = on')
    await _fetch(owner_url, f'ALTER DATABASE "{name}" SET citus.multi_task_query_log_level = log')
    env = cli_env(owner_url, app_url)
    upgraded = await asyncio.to_thread(eiso, "db", "upgrade", env=env, timeout=UPGRADE_SECONDS)
    assert upgraded.returncode == 0, upgraded.stderr
    yield CitusDatabase(owner_url, app_url, upgraded)


@pytest_asyncio.fixture(scope="module")
async def citus_resources(citus_database) -> AsyncIterator[Resources]:
    prefix = f"eiso-citus-{secrets.token_hex(4)}:"
    settings = load_settings(
        env="test",
        database_url=citus_database.app_url,
        migration_database_url=citus_database.owner_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        log_json=False,
        plugins=[],
    )
    resources = Resources.open(settings)
    yield resources
    async for key in resources.redis.scan_iter(match=prefix + "*", count=500):
        await resources.redis.delete(key)
    await resources.close()


@pytest_asyncio.fixture(scope="module")
async def citus_app(citus_resources):
    from eiso.core.app import create_app

    callers = Callers()
    application = create_app(
        citus_resources.settings,
        citus_resources,
        authenticator=callers.authenticate,
        plugins=REGISTRY,
    )
    async with application.router.lifespan_context(application):
        yield application, callers


async def _fetch(url: str, sql: str, *args, shards: bool = False) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        if shards:  # Citus hides the shards from pg_class unless asked
            await connection.execute("SET citus.override_table_visibility = off")
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def test_upgrade_distributes_the_tenant_tables_and_replicates_the_national_ones(
    citus_database,
):
    url = citus_database.owner_url
    tables = await _fetch(
        url,
        """select c.relname, c.relforcerowsecurity,
                  exists (select 1 from pg_attribute a where a.attrelid = c.oid
                          and a.attname = 'province_id' and a.attnotnull) as keyed,
                  p.partmethod::text as partmethod,
                  column_to_column_name(p.logicalrelid, p.partkey) as column,
                  p.colocationid
           from pg_class c left join pg_dist_partition p on p.logicalrelid = c.oid
           where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
             and c.relname not like 'alembic_version%'""",
    )
    by_name = {row["relname"]: row for row in tables}
    tenant = {n for n, r in by_name.items() if r["relforcerowsecurity"] and r["keyed"]}
    assert {"dossiers", "dossier_steps", "agencies", "documents"} <= tenant
    assert {(by_name[n]["partmethod"], by_name[n]["column"]) for n in tenant} == {
        ("h", "province_id")
    }
    assert len({by_name[n]["colocationid"] for n in tenant}) == 1  # co-located with agencies
    national = set(by_name) - tenant - set(LOCAL_TABLES)
    assert {"provinces", "procedures", "auth_users"} <= national
    assert {by_name[n]["partmethod"] for n in national} == {"n"}  # reference tables
    assert all(by_name[n]["partmethod"] is None for n in LOCAL_TABLES)
    # The keys Citus cannot enforce without the distribution column got it first.
    [key] = await _fetch(
        url,
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'dossiers_code_key'",
    )
    assert key[0] == "UNIQUE (province_id, code)"
    # A second upgrade has nothing left to do.
    layout = await asyncio.to_thread(distribute_database, url)
    assert layout is not None and layout.distributed == () and layout.reference == ()


async def test_the_shards_on_the_workers_keep_forced_rls_and_the_app_role(citus, citus_database):
    name = citus_database.owner_url.rsplit("/", 1)[1]
    for port in citus.ports[1:]:
        url = f"postgresql://postgres@127.0.0.1:{port}/{name}"
        shards = await _fetch(
            url,
            """select c.relname, c.relforcerowsecurity,
                      (select count(*) from pg_policy p where p.polrelid = c.oid) as policies,
                      has_table_privilege($1, c.oid, 'SELECT') as granted
               from pg_class c where c.relname like 'dossiers\\_%' and c.relkind = 'r'""",
            APP_ROLE,
            shards=True,
        )
        assert shards, f"no dossiers shard on the worker at port {port}"
        assert all(s["relforcerowsecurity"] and s["policies"] == 1 and s["granted"] for s in shards)
        [role] = await _fetch(
            url, "select rolsuper, rolbypassrls from pg_roles where rolname = $1", APP_ROLE
        )
        assert not role["rolsuper"] and not role["rolbypassrls"]


async def test_the_dossiers_statistics_object_reaches_the_shards(citus, citus_database):
    """0930's (agency_id, province_id) dependencies, on the coordinator and on each shard of
    `dossiers`, where the workers plan."""
    [(kinds,)] = await _fetch(
        citus_database.owner_url,
        "select stxkind::text from pg_statistic_ext where stxname = 'st_dossiers_agency_province'",
    )
    assert kinds == "{f}"
    name = citus_database.owner_url.rsplit("/", 1)[1]
    for port in citus.ports[1:]:
        url = f"postgresql://postgres@127.0.0.1:{port}/{name}"
        found = await _fetch(
            url,
            """select c.relname from pg_statistic_ext s join pg_class c on c.oid = s.stxrelid
               where c.relname like 'dossiers\\_%' and s.stxkind = '{f}'""",
            shards=True,
        )
        assert found, f"no dossiers shard with the statistics at port {port}"


async def test_the_scope_reaches_the_workers(citus_database, citus_resources):
    async with citus_resources.session(TenantScope.nation()) as session, session.begin():
        provinces = []
        for name in ("Lạng Sơn", "Cà Mau"):
            province = await ensure_province(session, f"S{secrets.token_hex(3)}", f"Tỉnh {name}")
            await ensure_agency(
                session, province, f"A{secrets.token_hex(3)}", f"UBND xã {name}", AgencyKind.commune
            )
            provinces.append(province.id)
    count = text("select count(*), count(*) filter (where province_id <> :p) from agencies")
    for province_id in provinces:
        async with citus_resources.session(TenantScope.province(province_id)) as session:
            connection = await session.connection()
            assert (await connection.get_raw_connection()).info[CITUS] is True
            seen, others = (await session.execute(count, {"p": province_id})).one()
            assert seen >= 1 and others == 0
    # The trap: a scope set with set_config() stays on the coordinator, and the workers'
    # row-level security then shows nothing.
    connection = await asyncpg.connect(citus_database.app_url)
    try:
        async with connection.transaction():
            await connection.execute("select set_config('eiso.scope', 'nation', true)")
            assert await connection.fetchval("select count(*) from agencies") == 0
        async with connection.transaction():
            await connection.execute(
                "SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL eiso.scope = 'nation'"
            )
            assert await connection.fetchval("select count(*) from agencies") >= 2
    finally:
        await connection.close()


async def _receive_and_return(gql: Caller) -> dict:
    body = await gql(
        f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 3) {{ code }} }}'
    )
    assert "errors" not in body, body
    body = await gql(RECEIVE % (PROC, APPLICANT, DATA), {"k": secrets.token_hex(6)})
    assert "errors" not in body, body
    dossier = body["data"]["receiveDossier"]["dossier"]
    assert dossier["status"] == "RECEIVED"

    async def move(name: str, version: int) -> dict:
        body = await gql(MOVE % (name, ""), {"id": dossier["id"], "v": version})
        assert "errors" not in body, body
        return body["data"][name]

    v = (await move("completeStep", dossier["version"]))["version"]
    done = await move("completeStep", v)
    assert done["status"] == "PROCESSED"
    returned = await move("returnResult", done["version"])
    assert returned["status"] == "RETURNED"
    return dossier


async def test_a_dossier_from_receipt_to_return_and_its_figures(citus_app, citus_resources):
    app, callers = citus_app
    me = await officer_of(citus_resources, "Điện Biên")
    gql = Caller(app, callers.issue(me))
    dossier = await _receive_and_return(gql)
    listed = (await gql(LIST))["data"]["dossiers"]
    assert [e["node"]["id"] for e in listed["edges"]] == [dossier["id"]]

    admin = Principal(
        "province-admin",
        TenantScope.province(me.province_id),
        frozenset({Role.province_admin}),
        province_id=me.province_id,
    )
    body = await Caller(app, callers.issue(admin))(
        FIGURES,
        {
            "period": {"year": dt.datetime.now(VN_TZ).year},
            "p": encode_id("Province", me.province_id, me.province_id),
        },
    )
    assert "errors" not in body, body
    [row] = body["data"]["figures"]
    assert (row["received"], row["finished"]) == (1, 1)
    # The yearly report of the province, and the nation's over every shard.
    year = dt.datetime.now(VN_TZ).year
    body = await Caller(app, callers.issue(admin))(
        REPORT, {"year": year, "p": encode_id("Province", me.province_id, me.province_id)}
    )
    assert "errors" not in body, body
    assert body["data"]["annualReport"]["total"]["figures"]["received"] == 1
    body = await Caller(app, callers.issue(NATION))(REPORT, {"year": year})
    assert "errors" not in body, body
    assert body["data"]["annualReport"]["total"]["figures"]["received"] >= 1


async def test_another_provinces_officer_sees_none_of_its_dossiers(citus_app, citus_resources):
    app, callers = citus_app
    owner, stranger = (
        await officer_of(citus_resources, "Sơn La"),
        await officer_of(citus_resources, "Bạc Liêu"),
    )
    mine = Caller(app, callers.issue(owner))
    dossier = await _receive_and_return(mine)
    theirs = Caller(app, callers.issue(stranger))
    listed = await theirs(LIST)
    assert listed["data"]["dossiers"]["totalCount"] == 0
    body = await theirs(MOVE % ("returnResult", ""), {"id": dossier["id"], "v": 1})
    assert codes(body) == ["NOT_FOUND"]
    body = await theirs("query($id: ID!) { node(id: $id) { id } }", {"id": dossier["id"]})
    assert body["data"]["node"] is None and dossier["code"] not in str(body)


async def test_a_province_merge_is_refused_with_its_message(citus_resources):
    async with citus_resources.session(TenantScope.nation()) as session:
        with pytest.raises(ReorganisationError) as refused:
            await merge_provinces(session, "A", "B", by="test")
    assert refused.value.code == "BAD_INPUT" and "Citus" in refused.value.message_vi


def test_the_build_script_skips_when_installed():
    if not citus_installed():
        pytest.skip("Citus is not installed")
    done = subprocess.run(
        ["bash", str(ROOT / "infra" / "citus" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "already installed, skipping" in done.stdout


async def test_eiso_db_upgrade_on_a_new_citus_database_reports_the_layout(citus_database):
    done = citus_database.upgraded  # the module's database, new when the CLI upgraded it
    assert "tables distributed by province_id" in done.stderr
    assert "dossiers.dossiers_code_key" in done.stderr and "dossiers.tenant_scope" in done.stderr
    env = citus_database.env()
    again = await asyncio.to_thread(eiso, "db", "upgrade", env=env, timeout=UPGRADE_SECONDS)
    assert again.returncode == 0 and "distributed" not in again.stderr, again.stderr


async def test_onboarding_a_province_on_citus(citus_resources):
    """tests/test_onboarding.py's first case and its refusal of another province's code: the
    code check reads across provinces (the key is per province on Citus, the check is not)."""
    from tests.test_onboarding import _other_province_code
    from tests.test_onboarding import test_parents_after_children_and_rerun_changes_nothing as first

    async with citus_resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Quảng Ninh")
    await first(citus_resources, province)
    taken = await _other_province_code(citus_resources)
    report = await onboard(
        citus_resources.session,
        province,
        f"{ONBOARDING_HEADER}{taken},Xã Trùng,commune,,,\n".encode(),
        FileFormat.csv,
    )
    assert [e.reason for e in report.errors] == [
        f"code {taken!r} is already used by an agency of another province"
    ]


def _multi_shard_statements(log: str) -> list[str]:
    """The statements Citus logged as multi-shard ("multi-task query about to be executed")."""
    found, flagged = [], False
    for line in log.splitlines():
        if "multi-task query about to be executed" in line:
            flagged = True
        elif flagged and "STATEMENT:" in line:
            found.append(line.split("STATEMENT:", 1)[1].strip()[:300])
            flagged = False
    return found


async def test_a_receive_and_assign_under_an_agency_scope_go_to_one_shard(
    citus, citus_app, citus_resources, citus_database
):
    """Issue 23: an agency scope names its agencies' province in every statement
    (tenants/scope.py), so Citus routes each to the province's shard; before, 9 of the 46
    statements of a receive and an assign went to every shard."""
    app, callers = citus_app
    me = await officer_of(citus_resources, "Lai Châu")
    gql = Caller(app, callers.issue(me))
    body = await gql(
        f'mutation {{ adoptProcedure(procedureCode: "{PROC}", timeLimit: 3) {{ code }} }}'
    )
    assert "errors" not in body, body
    url = citus_database.owner_url
    log = citus.directory / f"node-{citus.coordinator_port}" / "log"

    async def receive_and_assign() -> None:
        body = await gql(RECEIVE % (PROC, APPLICANT, DATA), {"k": secrets.token_hex(6)})
        assert "errors" not in body, body
        dossier = body["data"]["receiveDossier"]["dossier"]
        body = await gql(
            MOVE % ("assignDossier", ', assignee: "officer-1"'),
            {"id": dossier["id"], "v": dossier["version"]},
        )
        assert "errors" not in body, body
        # the dossier page of the officer, and the dossier itself
        assert (await gql(LIST))["data"]["dossiers"]["totalCount"] >= 1

    await receive_and_assign()  # the first one also loads the app's caches
    await _fetch(
        url,
        "SELECT citus_stat_counters_reset(oid) FROM pg_database WHERE datname = current_database()",
    )
    offset = log.stat().st_size
    await receive_and_assign()
    [row] = await _fetch(
        url,
        "SELECT query_execution_single_shard, query_execution_multi_shard"
        " FROM citus_stat_counters WHERE name = current_database()",
    )
    with log.open(encoding="utf-8", errors="replace") as text:
        text.seek(offset)
        logged = _multi_shard_statements(text.read())
    single, multi = row
    assert multi == 0 and not logged, logged
    assert single >= 10  # counted: the statements ran, each on one shard


async def test_a_dossier_handed_over_to_another_agency_on_citus(citus_resources):
    """The known bug of issue 23: the receiving agency did not see a dossier handed over to
    it on Citus (its policy narrowed to the tenant scope, the hand-over refused). Now
    `dossiers.handed_to` carries the hand-over into the dossiers policy (infra/citus): the
    interlinked birth across three agencies, the receiver named at the hand-over, the page of
    an agency with its own and the handed-over dossiers, and a merge of the receiving agency,
    as on one PostgreSQL."""
    from tests import test_transfer
    from tests.sector_support import module_app

    callers = Callers()
    async with module_app(citus_resources, callers, "birth_registration") as app:
        await test_transfer.test_interlinked_birth_across_three_agencies(
            app, citus_resources, callers
        )
        await test_transfer.test_handover_names_the_receiving_agency(app, citus_resources, callers)
        await test_transfer.test_an_agency_lists_its_own_and_the_handed_over_dossiers_newest_first(
            app, citus_resources, callers
        )
        await test_transfer.test_bound_scope_shows_what_the_session_shows(
            app, citus_resources, callers
        )
        await test_transfer.test_a_merge_of_the_receiving_agency_keeps_the_hand_over(
            app, citus_resources, callers
        )


async def test_the_handover_policies_take_their_citus_form(citus_database):
    """On a database distributed before migration 0899 (the policies narrowed to the tenant
    scope), the next upgrade gives them their Citus form; the shards get them too."""
    url = citus_database.owner_url
    narrowed = scope_predicate(inline=True)
    await _fetch(url, "DROP POLICY tenant_scope ON dossiers")
    await _fetch(
        url, f"CREATE POLICY tenant_scope ON dossiers USING ({narrowed}) WITH CHECK ({narrowed})"
    )
    layout = await asyncio.to_thread(distribute_database, url)
    assert layout is not None and layout.handover_policies == ("dossiers.tenant_scope",)
    [policy] = await _fetch(
        url,
        "select qual from pg_policies where tablename = 'dossiers' and policyname = $1",
        "tenant_scope",
    )
    assert "handed_to" in policy["qual"]
    again = await asyncio.to_thread(distribute_database, url)
    assert again is not None and again.handover_policies == ()


async def test_the_province_figures_migration_on_a_distributed_coordinator(
    citus_database, citus_app, citus_resources
):
    """0925 on a coordinator whose tables are distributed: its two tables are distributed
    (co-located with `agencies`) and filled from the agency rows; a province's yearly report,
    which reads them, counts its dossier."""
    app, callers = citus_app
    me = await officer_of(citus_resources, "Lai Châu")
    await _receive_and_return(Caller(app, callers.issue(me)))
    # back to 0920 by hand (one statement each, outside a transaction), then 0925 again
    url = citus_database.owner_url
    await _fetch(url, "DROP TABLE province_counters, province_histograms")
    await _fetch(url, "DROP STATISTICS st_dossiers_agency_province")  # 0930's, made again
    await _fetch(
        url,
        "UPDATE alembic_version SET version_num = '0920_review_deadline'"
        " WHERE version_num = '0930_dossier_stats'",
    )
    config = alembic_config(url, citus_database.app_url)
    await asyncio.to_thread(command.upgrade, config, "heads")
    for table in ("province_counters", "province_histograms"):
        [row] = await _fetch(
            url,
            "select partmethod::text, colocationid = (select colocationid from pg_dist_partition"
            " where logicalrelid = 'agencies'::regclass) as colocated from pg_dist_partition"
            " where logicalrelid = $1::regclass",
            table,
        )
        assert (row["partmethod"], row["colocated"]) == ("h", True), table
    admin = Principal(
        "province-admin",
        TenantScope.province(me.province_id),
        frozenset({Role.province_admin}),
        province_id=me.province_id,
    )
    year = dt.datetime.now(VN_TZ).year
    body = await Caller(app, callers.issue(admin))(
        REPORT, {"year": year, "p": encode_id("Province", me.province_id, me.province_id)}
    )
    assert "errors" not in body, body
    total = body["data"]["annualReport"]["total"]["figures"]
    assert (total["received"], total["finished"]) == (1, 1)
