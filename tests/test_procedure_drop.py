"""Ending an agency's adoption of a procedure (issue 20): through GraphQL and the CLI, refused
while the agency holds open dossiers of it, audited, the procedure out of the QMS scope and an
announced agency sent to re-announce."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from eiso.core.audit import AuditEntry
from eiso.core.auth.principal import Role
from eiso.core.dossiers import catalogue, engine
from eiso.core.qms.conformity import open_flags
from eiso.tenants.scope import TenantScope
from tests.test_conformity import READ, announced_with_two, keeper_of
from tests.test_dossier_engine import PROC
from tests.test_qms_loop import FUTURE, act, codes, gql, person, receive, run_eiso
from tests.test_review_deadline import add_flag

DROP = "mutation($c: String!) { dropProcedure(procedureCode: $c) }"


async def adoption(resources, agency, code):
    async with resources.session(TenantScope.nation()) as session:
        return await catalogue.find_adoption(session, agency.id, code)


async def dropped_entries(resources, agency) -> list[dict]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(AuditEntry.data).where(
                AuditEntry.agency_id == agency.id, AuditEntry.action == "procedure.dropped"
            )
        )
        return list(rows.scalars())


async def test_drop_through_graphql_requires_reannouncement(resources, client, callers):
    agency, keeper, other = await announced_with_two(resources, client, callers)
    officer = callers.issue(person(agency, Role.officer))
    body = await gql(client, officer, DROP, {"c": other})
    assert body["data"]["dropProcedure"] == other, body
    assert await adoption(resources, agency, other) is None
    read = (await gql(client, keeper, READ))["data"]["conformity"]
    assert read["status"] == "TO_BE_REANNOUNCED"
    assert other in read["reannounceReason"]
    assert read["scope"]["procedures"] == [PROC]
    [entry] = await dropped_entries(resources, agency)
    assert entry["procedure"] == other
    # Dropped already: not found; a procedure never adopted: not found.
    assert codes(await gql(client, keeper, DROP, {"c": other})) == ["NOT_FOUND"]
    assert codes(await gql(client, keeper, DROP, {"c": "no-such"})) == ["NOT_FOUND"]


async def test_drop_is_refused_while_a_dossier_is_open(resources, client, callers):
    agency, keeper = await keeper_of(resources, callers)
    dossier = await receive(resources, agency, FUTURE)
    body = await gql(client, keeper, DROP, {"c": PROC})
    assert codes(body) == ["OPEN_DOSSIERS"]
    assert "chưa giải quyết xong" in body["errors"][0]["extensions"]["message_vi"]
    assert await adoption(resources, agency, PROC) is not None
    assert await dropped_entries(resources, agency) == []
    # Withdrawn (finished): the adoption may end.
    await act(resources, agency, dossier, engine.withdraw, reason="Công dân rút hồ sơ")
    assert (await gql(client, keeper, DROP, {"c": PROC}))["data"]["dropProcedure"] == PROC
    assert await adoption(resources, agency, PROC) is None


async def test_drop_closes_the_procedures_open_review_flags(resources, client, callers):
    agency, keeper = await keeper_of(resources, callers)
    await add_flag(resources, agency, PROC, "1/2026/NĐ-CP")
    assert (await gql(client, keeper, DROP, {"c": PROC}))["data"]["dropProcedure"] == PROC
    async with resources.session(TenantScope.nation()) as session:
        assert await open_flags(session, agency.province_id, agency.id) == 0


async def test_drop_through_the_cli(resources, client, callers, database):
    agency, _ = await keeper_of(resources, callers)
    dossier = await receive(resources, agency, FUTURE)
    result = await asyncio.to_thread(
        run_eiso, database, "procedures", "drop", "--agency", agency.code, "--procedure", PROC
    )
    assert result.returncode == 1 and "OPEN_DOSSIERS" in result.stderr, result.stderr
    await act(resources, agency, dossier, engine.withdraw, reason="Công dân rút hồ sơ")
    result = await asyncio.to_thread(
        run_eiso, database, "procedures", "drop", "--agency", agency.code, "--procedure", PROC
    )
    assert result.returncode == 0, result.stderr
    assert f'"dropped": "{PROC}"' in result.stdout
    assert await adoption(resources, agency, PROC) is None
    [entry] = await dropped_entries(resources, agency)
    assert entry["procedure"] == PROC
    result = await asyncio.to_thread(
        run_eiso, database, "procedures", "drop", "--agency", agency.code, "--procedure", PROC
    )
    assert result.returncode == 1 and "NOT_FOUND" in result.stderr
