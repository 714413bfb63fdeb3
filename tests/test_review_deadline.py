"""The review deadline after a legal change (issue 20): a flag is due the province's N working
days after it is raised, shows overdue past that day, and an overdue flag opens one
nonconformity (the sweep and `eiso qms sweep-overdue`, idempotent)."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from eiso.core.auth.principal import Role
from eiso.core.dossiers import catalogue
from eiso.core.global_ids import encode_id
from eiso.core.qms import review_deadline
from eiso.core.qms.conformity import FlagKind, ReviewFlag
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.workdays.overrides import load_calendar
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_conformity import province_admin
from tests.test_qms_loop import (
    _registry,
    adopt_in,
    codes,
    gql,
    make_agency,
    person,
    record_legal_change,
    run_eiso,
)

FLAGS = "{ reviewFlags(first: 50) { edges { node { subject raisedAt dueOn overdue } } } }"
DAYS = "mutation($d: Int!, $p: ID) { setReviewDeadlineDays(days: $d, provinceId: $p) }"


async def flagged_agency(resources, client, callers, days: int | None):
    """An agency with a procedure whose legal basis then changes (its flag raised), the
    province's deadline set to `days` first (None: eiso's default)."""
    code, reference = unique_code("9."), unique_code("LB") + "/2026/NĐ-CP"
    agency = await make_agency(resources)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, _registry(code, reference, "Nghị định gốc"))
    await adopt_in(resources, agency, code)
    if days is not None:
        admin = callers.issue(province_admin(agency.province_id))
        body = await gql(client, admin, DAYS, {"d": days})
        assert body["data"]["setReviewDeadlineDays"] == days, body
    body = await record_legal_change(client, callers, reference)
    assert body["data"]["recordLegalChange"]["flagged"] >= 1, body
    return agency, code


async def flag_of(client, keeper, code) -> dict:
    edges = (await gql(client, keeper, FLAGS))["data"]["reviewFlags"]["edges"]
    [node] = [e["node"] for e in edges if e["node"]["subject"] == code]
    return node


async def expected_due(resources, raised_at: str, days: int) -> str:
    async with resources.session(TenantScope.nation()) as session:
        calendar = await load_calendar(session)
    start = calendar.counting_start(dt.datetime.fromisoformat(raised_at))
    return calendar.add_working_days(start, days).date().isoformat()


async def add_flag(resources, agency, subject: str, reference: str, **extra) -> None:
    """An open review flag of the agency's procedure `subject`, written straight in."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        owner = {"province_id": agency.province_id, "agency_id": agency.id}
        kind = FlagKind.procedure
        session.add(
            ReviewFlag(
                **owner, **extra, kind=kind, subject=subject, reference=reference, legal_version=2
            )
        )


async def review_ncs(resources, agency) -> list[Nonconformity]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(Nonconformity).where(
                Nonconformity.agency_id == agency.id,
                Nonconformity.cause == review_deadline.OVERDUE,
            )
        )
        return list(rows.scalars())


async def test_due_date_from_the_province_setting_or_the_default(resources, client, callers):
    agency, code = await flagged_agency(resources, client, callers, 3)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary))
    flag = await flag_of(client, keeper, code)
    assert flag["dueOn"] == await expected_due(resources, flag["raisedAt"], 3)
    assert flag["overdue"] is False
    default, other = await flagged_agency(resources, client, callers, None)
    flag = await flag_of(client, callers.issue(person(default, Role.leader)), other)
    assert flag["dueOn"] == await expected_due(
        resources, flag["raisedAt"], review_deadline.DEFAULT_REVIEW_DAYS
    )


async def test_bad_days_and_another_province_are_refused(resources, client, callers):
    agency = await make_agency(resources)
    admin = callers.issue(province_admin(agency.province_id))
    for days in (0, 91):
        body = await gql(client, admin, DAYS, {"d": days})
        assert codes(body) == ["BAD_INPUT"] and body["errors"][0]["extensions"]["message_vi"]
    other = await make_agency(resources)
    theirs = encode_id("Province", other.province_id, other.province_id)
    assert codes(await gql(client, admin, DAYS, {"d": 5, "p": theirs})) == ["FORBIDDEN"]
    officer = callers.issue(person(agency, Role.leader))
    assert codes(await gql(client, officer, DAYS, {"d": 5})) == ["FORBIDDEN"]


async def test_an_overdue_flag_opens_one_nonconformity(resources, client, callers, database):
    agency, code = await flagged_agency(resources, client, callers, 2)
    keeper = callers.issue(person(agency, Role.leader, Role.iso_secretary))
    # Its due date passed (time travel: the flag's due date moved back).
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await session.execute(
            update(ReviewFlag)
            .where(ReviewFlag.agency_id == agency.id, ReviewFlag.subject == code)
            .values(due_on=dt.date(2026, 1, 5))
        )
    assert (await flag_of(client, keeper, code))["overdue"] is True
    async with resources.session(TenantScope.nation()) as session, session.begin():
        first = await review_deadline.sweep_overdue(session)
    assert first["raised"] >= 1
    [nc] = await review_ncs(resources, agency)
    assert nc.source == "review_flag" and nc.procedure_code == code
    assert nc.title.startswith("Chưa rà soát thủ tục")
    # Again (the command too): nothing new.
    result = await asyncio.to_thread(run_eiso, database, "qms", "sweep-overdue")
    assert result.returncode == 0, result.stderr
    assert '"reviewFlags"' in result.stdout
    assert len(await review_ncs(resources, agency)) == 1
    # Reviewed: no longer overdue.
    body = await gql(
        client,
        keeper,
        "mutation($c: String!) { reviewProcedure(procedureCode: $c) { overdue dueOn } }",
        {"c": code},
    )
    assert body["data"]["reviewProcedure"][0] == {"overdue": False, "dueOn": "2026-01-05"}
