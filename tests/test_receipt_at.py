"""A receipt at the caller's agency (`engine.receive_at`, what receiveDossier calls): on
PostgreSQL its one statement reads the catalogue, takes the code's number, locks the audit head
and reads slip 01's names; the dossier's INSERT writes its unique keys and reads its place in
the tracking book; slips 01 and 06 go with the move's batch (issue 18). Whatever the path, the
guarantees are those of `engine.receive`: codes without gaps or duplicates under concurrency,
one dossier per idempotency key, slip 01's frozen facts as a full read gives them, a taken
unique value refused with nothing written."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from eiso.core.dossiers import engine
from eiso.core.dossiers.models import Dossier, DossierEventRow, DossierKey
from eiso.core.dossiers.slips import facts as dossier_facts
from eiso.core.dossiers.slips.issued import IssuedSlip
from eiso.core.errors import DomainError
from eiso.core.plugins.declarations import LocalizedText, UniqueField
from eiso.core.workdays import WorkingCalendar
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_engine import APPLICANT, CAL, DATA, MONDAY, PROC, Birth, agency, scope

__all__ = ["agency"]  # the fixture


async def receive_at(resources, agency, *, key=None, data=DATA, actor="officer-1", **extra):
    async with resources.session(scope(agency)) as session, session.begin():
        return await engine.receive_at(
            session,
            agency.province_id,
            agency.id,
            procedure_code=PROC,
            applicant=APPLICANT,
            sector_data=data,
            actor=actor,
            calendar=CAL,
            data_model=Birth,
            idempotency_key=key,
            now=MONDAY,
            **extra,
        )


async def issued_receipts(resources, agency) -> dict[int, dict]:
    """Slip 01's frozen facts of each dossier of the agency, by dossier id."""
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(IssuedSlip).where(IssuedSlip.agency_id == agency.id, IssuedSlip.number == 1)
        )
        return {slip.dossier_id: slip.content["facts"] for slip in rows.scalars()}


async def test_concurrent_receipts_take_consecutive_codes_and_book_places(resources, agency):
    answers = await asyncio.gather(*(receive_at(resources, agency) for _ in range(8)))
    numbers = sorted(int(a.dossier.code.rsplit("-", 1)[1]) for a in answers)
    assert numbers == list(range(1, 9))
    frozen = await issued_receipts(resources, agency)
    assert sorted(frozen[a.dossier.id]["book"][1] for a in answers) == list(range(1, 9))
    # The book follows the codes: each receipt read its place after the counter's lock.
    by_code = sorted(answers, key=lambda a: a.dossier.code)
    assert [frozen[a.dossier.id]["book"][1] for a in by_code] == list(range(1, 9))


async def test_concurrent_retries_make_one_dossier(resources, agency):
    key = unique_code("K")
    answers = await asyncio.gather(*(receive_at(resources, agency, key=key) for _ in range(12)))
    (made,) = [a.dossier for a in answers if not a.replayed]
    assert {a.dossier.id for a in answers} == {made.id}
    async with resources.session(scope(agency)) as session:
        counted = (
            await session.execute(
                select(
                    select(func.count()).where(Dossier.idempotency_key == key).scalar_subquery(),
                    select(func.count()).where(IssuedSlip.dossier_id == made.id).scalar_subquery(),
                )
            )
        ).one()
    assert tuple(counted) == (1, 2)  # one dossier, its slips 01 and 06 issued once


async def test_frozen_receipt_facts_are_those_of_a_full_read(resources, agency):
    got = await receive_at(resources, agency)
    frozen = (await issued_receipts(resources, agency))[got.dossier.id]
    async with resources.session(scope(agency)) as session:
        dossier = await session.get(Dossier, (agency.province_id, got.dossier.id))
        event = (
            await session.execute(
                select(DossierEventRow).where(DossierEventRow.dossier_id == dossier.id)
            )
        ).scalar_one()
        read = await dossier_facts.load(session, dossier, WorkingCalendar(), number=1)
    assert frozen == dossier_facts.freeze(read, event)
    assert frozen["book"][1] == 1 and frozen["province"] and frozen["unit"]


NAME = UniqueField(
    field="child_name",
    namespace="test_child",
    error_code="CHILD_NAME_TAKEN",
    message=LocalizedText(vi="Tên đã được dùng", en="name taken"),
)


async def test_a_taken_unique_value_is_refused_with_nothing_written(resources, agency):
    first = await receive_at(resources, agency, unique_fields=(NAME,))
    clash = {**DATA, "child_name": DATA["child_name"].upper()}
    with pytest.raises(DomainError) as error:
        await receive_at(resources, agency, data=clash, unique_fields=(NAME,))
    assert error.value.code == "CHILD_NAME_TAKEN"
    assert error.value.details["field"] == "sectorData.child_name"
    async with resources.session(scope(agency)) as session:
        dossiers = await session.scalar(
            select(func.count()).select_from(Dossier).where(Dossier.agency_id == agency.id)
        )
        keys = (await session.execute(select(DossierKey.dossier_id))).scalars().all()
    assert dossiers == 1 and keys == [first.dossier.id]
    # The refused receipt's number went back with its transaction: the next one takes it.
    other = await receive_at(resources, agency, data={**DATA, "child_name": "Lê Văn An"})
    assert other.dossier.code.endswith("-0002")
