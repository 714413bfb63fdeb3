"""Row-level security covers every table of the database, or the table is global for a reason
written here and in docs/operating.md ("Tables without row-level security"): a new table
without RLS fails this test until it has RLS or a documented reason. And the outbox, which has
RLS, still reaches the relay whole."""

from __future__ import annotations

import pathlib

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from eiso.infra.outbox import OutboxEvent, add_event
from eiso.infra.relay import Relay
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_tenant_scope import two_tenants  # noqa: F401 - the fixture

OPERATING = pathlib.Path(__file__).resolve().parents[1] / "docs" / "operating.md"

# Global by design: no row of one tenant (docs/operating.md says what each holds and who reads
# it; every read and write of the auth tables runs with the nation scope in core/auth).
GLOBAL = {
    "alembic_version": "the migration revision",
    "provinces": "the tenants themselves: code and name, looked up by anyone",
    "calendar_overrides": "the national working-day calendar",
    "procedures": "the national procedure catalogue",
    "procedure_legal_bases": "the catalogue's legal bases",
    "legal_basis_versions": "versions of the legal documents",
    "trusted_documents": "GraphQL documents registered by the national level",
    "reorganisations": "national merges: which codes went into which",
    "agency_lineage": "old agency id -> the agency that absorbed it, across provinces",
    "reorganised_rows": "where a re-pointed row came from (ids only)",
    "auth_users": "accounts: usernames unique in the country, looked up at sign-in",
    "auth_clients": "OAuth2 clients, looked up by client_id at the token endpoint",
    "auth_signing_keys": "the deployment's token signing keys",
    "auth_refresh_tokens": "refresh token hashes, looked up by hash",
    "auth_revoked_tokens": "revoked token ids, checked on every request",
    "auth_identity_providers": "a province's identity provider, read before sign-in",
}

MODULE_VERSIONS = "alembic_version_"  # + a module's name: its migrations' revision
pytestmark = pytest.mark.only_backend("postgresql+redis")


async def _tables(database) -> dict[str, tuple[bool, bool]]:
    """Every ordinary or partitioned table of the public schema -> (RLS enabled, forced)."""
    connection = await asyncpg.connect(database.owner_url)
    try:
        rows = await connection.fetch(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
    finally:
        await connection.close()
    return {row[0]: (row[1], row[2]) for row in rows}


async def test_every_table_has_rls_forced_or_a_documented_reason(database):
    tables = await _tables(database)
    assert "dossiers" in tables and "outbox" in tables  # the listing sees the schema
    without = {name for name, (enabled, forced) in tables.items() if not (enabled and forced)}
    # Each module with tables of its own keeps its revision in `alembic_version_<module>`.
    without = {name for name in without if not name.startswith(MODULE_VERSIONS)}
    assert without - set(GLOBAL) == set(), "tables without RLS and without a documented reason"
    # A table that gained RLS (or was dropped) leaves the list, so the list stays the truth.
    assert set(GLOBAL) - without == set()
    docs = OPERATING.read_text(encoding="utf-8")
    section = docs.split("### Tables without row-level security", 1)[1].split("\n#", 1)[0]
    assert [name for name in GLOBAL if f"`{name}`" not in section] == []
    assert f"`{MODULE_VERSIONS}<module>`" in section


async def test_every_policy_reads_the_scope(database):
    """Each table with RLS has a policy (RLS without one shows nothing to anyone), and it
    reads the caller's scope."""
    connection = await asyncpg.connect(database.owner_url)
    try:
        rows = await connection.fetch(
            "SELECT tablename, qual FROM pg_policies WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    policies = {row[0]: row[1] for row in rows}
    tables = await _tables(database)
    for name, (enabled, _) in tables.items():
        if enabled:
            assert "eiso.scope" in (policies.get(name) or ""), name


@pytest.fixture
def two_agencies(two_tenants):  # noqa: F811 - the fixture imported above
    """(province id, agency id) of two agencies of two provinces."""
    return [(province_id, agency_id) for province_id, agency_id, _ in two_tenants]


async def test_outbox_rows_stay_with_their_tenant_and_the_relay_sends_all(resources, two_agencies):
    topic = unique_code("rls").lower()
    ids = []
    for province_id, agency_id in two_agencies:
        scope = TenantScope.agencies([agency_id], [province_id])
        async with resources.session(scope) as session, session.begin():
            event = await add_event(
                session, topic, {"n": agency_id}, province_id=province_id, agency_id=agency_id
            )
            ids.append(event.id)
    (p1, a1), (p2, a2) = two_agencies
    async with resources.session(TenantScope.agencies([a1], [p1])) as session:
        seen = (
            await session.execute(text("SELECT id FROM outbox WHERE id = ANY(:ids)"), {"ids": ids})
        ).scalars()
        assert set(seen) == {ids[0]}  # raw SQL, no ORM filter: RLS hides the other agency's
    async with resources.session(TenantScope.province(p2)) as session:
        count = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.id.in_(ids))
        assert (await session.execute(count)).scalar_one() == 1
    # Writing an event for another agency is refused by the policy itself.
    mine = TenantScope.agencies([a1], [p1])
    with pytest.raises(DBAPIError, match="row-level security"):
        async with resources.session(mine) as session, session.begin():
            await add_event(session, topic, {}, province_id=p2, agency_id=a2)
    # The relay connects as the application's role, under RLS, and still sends every tenant's.
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    async with resources.session(TenantScope.nation()) as session:
        rows = (await session.execute(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))).scalars()
        assert all(row.sent_at is not None for row in rows)
    entries = await resources.redis.xrange(resources.key("events", topic))
    sent = [int(fields.get(b"outbox_id") or fields["outbox_id"]) for _, fields in entries]
    assert sorted(sent) == sorted(ids)


async def test_module_switches_are_the_provinces_own(resources, two_agencies):
    (p1, a1), (p2, _) = two_agencies
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for province_id in (p1, p2):
            await session.execute(
                text(
                    "INSERT INTO module_activations (province_id, module, enabled, config,"
                    " changed_by, changed_at) VALUES (:p, 'rls_probe', true, '{}', 't', now())"
                ),
                {"p": province_id},
            )
    query = text("SELECT province_id FROM module_activations WHERE module = 'rls_probe'")
    for scope in (TenantScope.province(p1), TenantScope.agencies([a1], [p1])):
        async with resources.session(scope) as session:
            assert set((await session.execute(query)).scalars()) == {p1}
    async with resources.session(TenantScope.nation()) as session:
        assert set((await session.execute(query)).scalars()) == {p1, p2}
