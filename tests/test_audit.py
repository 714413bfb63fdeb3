"""The audit trail: appends chain per agency, never fork under concurrency, the app role can't
rewrite them on PostgreSQL, and `eiso audit verify` finds the first broken link."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from eiso.core import audit
from eiso.infra.db import make_engine
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code

EISO = str(pathlib.Path(sys.executable).parent / "eiso")


@pytest.fixture
async def agency(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Kiểm Toán")
        return await ensure_agency(
            session, province, unique_code("A"), "Ủy ban nhân dân xã Kiểm Toán", AgencyKind.commune
        )


def scope_of(agency):
    return TenantScope.agencies([agency.id], [agency.province_id])


async def append(resources, agency, n=3, actor="officer-1"):
    for i in range(n):
        async with resources.session(scope_of(agency)) as session, session.begin():
            await audit.append(
                session,
                province_id=agency.province_id,
                agency_id=agency.id,
                actor=actor,
                action="dossier.received",
                entity_type="dossier",
                entity_id=f"D{i}",
                data={"status": "received", "step": i, "note": "Tiếp nhận hồ sơ"},
            )


async def verify(resources, agency):
    async with resources.session(scope_of(agency)) as session, session.begin():
        return await audit.verify(session, agency.id)


async def test_appends_form_an_intact_chain(resources, agency):
    await append(resources, agency, 4)
    assert await verify(resources, agency) == []
    async with resources.session(scope_of(agency)) as session, session.begin():
        heads = await audit.chain_heads(session)
    assert [(h.agency_id, h.seq) for h in heads] == [(agency.id, 4)]


async def test_concurrent_appends_do_not_fork(resources, agency):
    await asyncio.gather(*(append(resources, agency, 1, actor=f"o{i}") for i in range(16)))
    assert await verify(resources, agency) == []
    async with resources.session(scope_of(agency)) as session:
        seqs = (
            (
                await session.execute(
                    text("select seq from audit_entries where agency_id = :a order by seq"),
                    {"a": agency.id},
                )
            )
            .scalars()
            .all()
        )
    assert seqs == list(range(1, 17))


async def test_personal_data_is_refused(resources, agency):
    with pytest.raises(ValueError, match=r"data\.x\.applicant: personal data"):
        async with resources.session(scope_of(agency)) as session, session.begin():
            await audit.append(
                session,
                province_id=agency.province_id,
                agency_id=agency.id,
                actor="x",
                action="a",
                entity_type="dossier",
                entity_id="1",
                data={"x": {"applicant": "Nguyễn Văn A"}},
            )


async def test_another_tenant_sees_no_chain(resources, agency):
    await append(resources, agency, 1)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Khác")
        other = await ensure_agency(
            session, province, unique_code("A"), "Xã Khác", AgencyKind.commune
        )
    async with resources.session(scope_of(other)) as session, session.begin():
        assert await audit.chain_heads(session) == []
        assert await audit.verify(session, agency.id) == []


@pytest.mark.only_backend("postgresql+redis")
async def test_app_role_cannot_update_or_delete(resources, agency):
    await append(resources, agency, 1)
    for statement in ("update audit_entries set actor = 'x'", "delete from audit_entries"):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with resources.session(scope_of(agency)) as session, session.begin():
                await session.execute(text(statement))


async def owner_sql(resources, sql: str, **params):
    """Behind eiso's back: the owner (superuser on PostgreSQL), plain SQL."""
    engine = make_engine(resources.settings.migration_database_url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql), params)
            return result.mappings().all() if result.returns_rows else None
    finally:
        await engine.dispose()


def eiso_cli(database, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env.update({"EISO_DATABASE_URL": database.app_url, "EISO_LOG_JSON": "false"})
    return subprocess.run([EISO, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_altered_row_is_found_then_restored(resources, database, agency):
    await append(resources, agency, 3)
    rows = await owner_sql(
        resources,
        "select seq, actor from audit_entries where agency_id = :a and seq = 2",
        a=agency.id,
    )
    await owner_sql(
        resources,
        "update audit_entries set actor = 'kẻ gian' where agency_id = :a and seq = 2",
        a=agency.id,
    )
    broken = await verify(resources, agency)
    assert [(b.agency_id, b.seq) for b in broken] == [(agency.id, 2)]
    assert "altered" in broken[0].problem
    result = await asyncio.to_thread(eiso_cli, database, "audit", "verify", "--agency", agency.code)
    assert result.returncode == 1, result.stderr
    assert f"agency {agency.code} (id {agency.id}), seq 2: content does not match" in result.stderr
    await owner_sql(
        resources,
        "update audit_entries set actor = :actor where agency_id = :a and seq = 2",
        a=agency.id,
        actor=rows[0]["actor"],
    )
    result = await asyncio.to_thread(eiso_cli, database, "audit", "verify", "--agency", agency.code)
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stderr


async def test_deleted_rows_are_found(resources, database, agency):
    await append(resources, agency, 3)
    saved = await owner_sql(
        resources, "select * from audit_entries where agency_id = :a order by seq", a=agency.id
    )
    await owner_sql(
        resources, "delete from audit_entries where agency_id = :a and seq = 2", a=agency.id
    )
    broken = await verify(resources, agency)
    assert [(b.seq, "missing" in b.problem) for b in broken] == [(2, True)]
    # Deleting the last entry is caught by the head.
    await owner_sql(
        resources, "delete from audit_entries where agency_id = :a and seq = 3", a=agency.id
    )
    await owner_sql(resources, "update audit_heads set seq = 1 where agency_id = :a", a=agency.id)
    assert [b.seq for b in await verify(resources, agency)] == [2]
    # Restore the chain: the whole run shares the database.
    await owner_sql(resources, "delete from audit_entries where agency_id = :a", a=agency.id)
    for row in saved:
        await owner_sql(
            resources,
            "insert into audit_entries (province_id, id, agency_id, seq, at, actor, action,"
            " entity_type, entity_id, data, prev_hash, hash) values (:province_id, :id,"
            " :agency_id, :seq, :at, :actor, :action, :entity_type, :entity_id, :data,"
            " :prev_hash, :hash)",
            **{
                **row,
                "data": row["data"] if isinstance(row["data"], str) else json.dumps(row["data"]),
            },
        )
    await owner_sql(resources, "update audit_heads set seq = 3 where agency_id = :a", a=agency.id)
    assert await verify(resources, agency) == []


async def test_truncated_tail_is_found_by_the_head(resources, agency):
    await append(resources, agency, 2)
    saved = await owner_sql(
        resources, "select * from audit_entries where agency_id = :a and seq = 2", a=agency.id
    )
    await owner_sql(
        resources, "delete from audit_entries where agency_id = :a and seq = 2", a=agency.id
    )
    broken = await verify(resources, agency)
    assert len(broken) == 1 and "head says 2" in broken[0].problem
    row = dict(saved[0])
    if not isinstance(row["data"], str):
        row["data"] = json.dumps(row["data"])
    await owner_sql(
        resources,
        "insert into audit_entries (province_id, id, agency_id, seq, at, actor, action,"
        " entity_type, entity_id, data, prev_hash, hash) values (:province_id, :id, :agency_id,"
        " :seq, :at, :actor, :action, :entity_type, :entity_id, :data, :prev_hash, :hash)",
        **row,
    )
    assert await verify(resources, agency) == []


async def test_cli_unknown_agency_and_heads(resources, database, agency):
    await append(resources, agency, 1)
    result = await asyncio.to_thread(eiso_cli, database, "audit", "verify", "--agency", "NO-SUCH")
    assert result.returncode == 1 and "--agency" in result.stderr
    result = await asyncio.to_thread(eiso_cli, database, "audit", "heads")
    assert result.returncode == 0, result.stderr
    assert f'"agency_id": {agency.id}' in result.stdout


async def test_an_append_rolls_back_with_its_transaction(resources, agency):
    await append(resources, agency, 1)
    async with resources.session(scope_of(agency)) as session, session.begin():
        await audit.append(
            session,
            province_id=agency.province_id,
            agency_id=agency.id,
            actor="x",
            action="dossier.refused",
            entity_type="dossier",
            entity_id="D9",
        )
        await session.rollback()
    async with resources.session(scope_of(agency)) as session, session.begin():
        heads = await audit.chain_heads(session)
    assert [h.seq for h in heads] == [1]
    await append(resources, agency, 1)
    assert await verify(resources, agency) == []


async def test_a_rewritten_chain_is_caught_by_its_published_head(
    resources, database, agency, tmp_path
):
    await append(resources, agency, 2)
    async with resources.session(scope_of(agency)) as session, session.begin():
        published = await audit.chain_heads(session)
    digest = tmp_path / "heads.json"
    result = await asyncio.to_thread(eiso_cli, database, "audit", "heads")
    digest.write_text(result.stdout)
    ok = await asyncio.to_thread(
        eiso_cli, database, "audit", "verify", "--agency", agency.code, "--digest", str(digest)
    )
    assert ok.returncode == 0, ok.stderr
    # Rewrite entry 2 and recompute its hash and the head: `verify` alone sees nothing.
    saved = await owner_sql(
        resources, "select * from audit_entries where agency_id = :a and seq = 2", a=agency.id
    )
    async with resources.session(scope_of(agency)) as session, session.begin():
        entry = (
            await session.execute(
                audit.select(audit.AuditEntry).where(
                    audit.AuditEntry.agency_id == agency.id, audit.AuditEntry.seq == 2
                )
            )
        ).scalar_one()
        entry.actor = "kẻ gian"
        forged = audit.entry_hash(entry, entry.prev_hash)
        session.expunge(entry)
    await owner_sql(
        resources,
        "update audit_entries set actor = 'kẻ gian', hash = :h where agency_id = :a and seq = 2",
        a=agency.id,
        h=forged,
    )
    await owner_sql(
        resources, "update audit_heads set hash = :h where agency_id = :a", a=agency.id, h=forged
    )
    assert await verify(resources, agency) == []
    async with resources.session(scope_of(agency)) as session, session.begin():
        broken = await audit.check_published(session, published)
    assert [(b.seq, "rewritten" in b.problem) for b in broken] == [(2, True)]
    caught = await asyncio.to_thread(
        eiso_cli, database, "audit", "verify", "--agency", agency.code, "--digest", str(digest)
    )
    assert caught.returncode == 1 and "rewritten" in caught.stderr
    bad = await asyncio.to_thread(
        eiso_cli, database, "audit", "verify", "--digest", str(tmp_path / "no")
    )
    assert bad.returncode == 1 and "--digest" in bad.stderr
    # Restore.
    old = saved[0]
    await owner_sql(
        resources,
        "update audit_entries set actor = :actor, hash = :h where agency_id = :a and seq = 2",
        a=agency.id,
        actor=old["actor"],
        h=old["hash"],
    )
    await owner_sql(
        resources,
        "update audit_heads set hash = :h where agency_id = :a",
        a=agency.id,
        h=old["hash"],
    )
    assert await verify(resources, agency) == []
