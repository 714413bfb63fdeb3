"""The figures' rollups (core/qms/rollups.py) give the figures of the dossier rows
(`figures.figures(..., from_rows=True)`): random sequences of moves (receipts at the counter and
online, acceptance, steps, supplements and fees that stop the clock and resume it, stops,
withdrawals, returns, late apologies, ratings, merges of agencies) are replayed through the
engine, then every group and several periods are compared; the p90 within the width of the
histogram's buckets (the documented approximation), the means within rounding. A rebuild from
the rows gives the same rollups. On SQLite and PostgreSQL (the `resources` fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from eiso.core.dossiers import catalogue, engine, service
from eiso.core.dossiers.models import Dossier
from eiso.core.errors import DomainError
from eiso.core.plugins.activation import set_module
from eiso.core.qms import figures, rollups
from eiso.core.workdays import VN_TZ
from eiso.tenants.models import AgencyKind
from eiso.tenants.reorganisation import ReorganisationError, merge_agencies, merge_provinces
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_cli import eiso
from tests.test_figures import CAL, PROC, REGISTRY, vn

KINDS = (
    "receive",
    "receive",
    "register",
    "accept",
    "assign",
    "complete",
    "complete",
    "supplement",
    "resume",
    "fee",
    "fee_paid",
    "stop",
    "withdraw",
    "return",
    "apology",
    "rate",
    "merge",
)
OPS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 40), st.integers(1, 80)),
    min_size=4,
    max_size=14,
)


@dataclasses.dataclass
class Held:
    id: int
    code: str
    key: str


async def _world(resources, agencies: int = 2):
    """A province, its agencies that adopted the procedure, and one that did not (two agencies
    holding the same adoption cannot be merged: the unique adoption refuses it)."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, REGISTRY)
        province = await ensure_province(session, unique_code("P"), "Tỉnh Cộng Dồn")
        made = [
            await ensure_agency(
                session, province, unique_code("A"), f"UBND xã {i}", AgencyKind.commune
            )
            for i in range(agencies + 1)
        ]
        await set_module(session, province.id, "figure_proc", True, by="test")
    for agency in made[:-1]:
        in_province = resources.session(TenantScope.province(province.id))
        async with in_province as session, session.begin():
            await catalogue.adopt(
                session,
                province_id=province.id,
                agency_id=agency.id,
                procedure_code=PROC,
                actor="leader-1",
            )
    return province, made


def _new_appointment(old: dt.datetime) -> dt.datetime:
    day = old.astimezone(VN_TZ).date()
    while True:
        day += dt.timedelta(days=1)
        moment = dt.datetime.combine(day, dt.time(9), VN_TZ)
        if CAL.is_working_time(moment):
            return moment


async def _play(resources, province, made, ops) -> None:
    """Replay `ops` on the agencies that adopted the procedure; a merge folds one of them and
    the spare agency (the last of `made`) into a new one, once."""
    agencies, spare = made[:-1], made[-1]
    now = vn(3, 3, 8)
    held: list[Held] = []
    scope = TenantScope.province(province.id)
    for kind, target, hours in ops:
        now += dt.timedelta(hours=hours)
        one = held[target % len(held)] if held else None

        async def act(move, _one=one, _now=now, **kw):
            assert _one is not None
            return await service.act(
                resources, scope, _one.id, None, move, province_id=province.id, now=_now, **kw
            )

        try:
            if kind in ("receive", "register"):
                agency = agencies[target % len(agencies)]
                async with resources.session(scope) as session, session.begin():
                    got = await engine.receive(
                        session,
                        agency=agency,
                        procedure_code=PROC,
                        applicant={"full_name": "Lê Văn Tám"},
                        sector_data={},
                        actor="officer-1",
                        calendar=CAL,
                        online=kind == "register",
                        now=now,
                    )
                held.append(Held(got.dossier.id, got.dossier.code, got.lookup_key))
            elif one is None:
                continue
            elif kind == "accept":
                await act(engine.accept, actor="officer-1", calendar=CAL)
            elif kind == "assign":
                await act(engine.assign, actor="officer-1", assignee="officer-2")
            elif kind == "complete":
                await act(engine.complete_step, actor="officer-1", calendar=CAL)
            elif kind == "supplement":
                await act(engine.request_supplement, actor="officer-1", reason="Thiếu giấy tờ")
            elif kind == "resume":
                await act(engine.supplement_received, actor="officer-1", calendar=CAL)
            elif kind == "fee":
                await act(engine.request_fee, actor="officer-1")
            elif kind == "fee_paid":
                await act(engine.fee_paid, actor="officer-1")
            elif kind == "stop":
                await act(engine.stop, actor="officer-1", reason="Dừng", on_request=target % 2 == 0)
            elif kind == "withdraw":
                await act(engine.withdraw_online, reason="Công dân rút")
            elif kind == "return":
                await act(engine.return_result, actor="officer-1")
            elif kind == "apology":
                async with resources.session(scope) as session:
                    old = (await session.get(Dossier, (province.id, one.id))).appointment_at
                if old is None:
                    continue
                await act(
                    engine.record_apology,
                    actor="officer-1",
                    reason="Chờ xác minh",
                    new_appointment=_new_appointment(old),
                    calendar=CAL,
                )
            elif kind == "rate":
                await service.rate_dossier(resources, one.code, one.key, 1 + target % 5)
            elif kind == "merge" and spare is not None:
                pair = [agencies[target % len(agencies)], spare]
                async with resources.session(TenantScope.nation()) as session, session.begin():
                    new, _ = await merge_agencies(
                        session,
                        province.code,
                        [a.code for a in pair],
                        code=unique_code("M"),
                        name="Xã Sáp Nhập",
                        by="test",
                    )
                agencies = [a for a in agencies if a is not pair[0]] + [new]
                spare = None
        except (DomainError, ReorganisationError):
            pass  # a refused move changes nothing, the rollups included


PERIODS = (
    figures.Period.of(year=2025),
    figures.Period.of(year=2025, month=3),
    figures.Period.of(year=2025, quarter=2),
    figures.Period.of(start=dt.date(2025, 3, 4), to=dt.date(2025, 3, 9)),
    figures.Period.of(start=dt.date(2025, 3, 12), to=dt.date(2025, 4, 20)),
    figures.Period.of(start=dt.date(2024, 12, 30), to=dt.date(2026, 2, 2)),
)


async def _tolerance(resources, province_id: int) -> float:
    """The widest bucket any handling time of the province falls in."""
    async with resources.session(TenantScope.nation()) as session:
        found = await session.execute(
            select(Dossier.handling_days).where(Dossier.province_id == province_id)
        )
        widths = [
            (lambda lo_hi: lo_hi[1] - lo_hi[0])(
                rollups.bucket_bounds(rollups.bucket_of(round(days * rollups.UNITS)))
            )
            for (days,) in found
            if days is not None
        ]
    return max(widths, default=0.0)


async def assert_province_rows_add_up(resources, province_id: int) -> None:
    """The province tables hold the agency tables' rows summed over the agencies, no more, no
    less."""
    async with resources.session(TenantScope.nation()) as session:
        for table, summed in rollups.OF_PROVINCE.items():
            key, names = rollups.LAYOUT[summed]
            agency_rows = await session.execute(
                select(table).where(table.c.province_id == province_id)
            )
            expected = {
                tuple(row[k] for k in key): [row[n] for n in names]
                for row in rollups.province_rows([dict(r._mapping) for r in agency_rows], table)
            }
            found = await session.execute(select(summed).where(summed.c.province_id == province_id))
            held = {
                tuple(r._mapping[k] for k in key): [r._mapping[n] for n in names] for r in found
            }
            # a row both moves of a dossier cancelled out stays, at zero, as an agency row does
            assert {k: v for k, v in held.items() if any(v)} == expected, summed.name


async def assert_rollups_match_rows(resources, province_id: int) -> list:
    await assert_province_rows_add_up(resources, province_id)
    tolerance = await _tolerance(resources, province_id)
    narrow = figures.Filter(province_id=province_id)
    nation = TenantScope.nation()
    seen = []
    async with resources.session(nation) as session:
        for period in PERIODS:
            for group in figures.Group:
                mine = await figures.figures(session, nation, period, group, narrow)
                rows = await figures.figures(session, nation, period, group, narrow, from_rows=True)
                assert [m.key for m in mine] == [r.key for r in rows], (period, group)
                for m, r in zip(mine, rows, strict=True):
                    for field in dataclasses.fields(figures.Figures):
                        a, b = getattr(m, field.name), getattr(r, field.name)
                        if field.name == "p90_days" and a is not None and b is not None:
                            assert abs(a - b) <= tolerance + 1e-4, (period, group, m.key)
                        elif isinstance(a, float) and isinstance(b, float):
                            # both rounded to 4 decimals: a mean at a half may land either side
                            assert a == pytest.approx(b, abs=1.01e-4), (period, group, field.name)
                        else:
                            assert a == b, (period, group, m.key, field.name, a, b)
                seen.append(mine)
            # the yearly report's grouping and total from the same statements
            for group in (figures.Group.province, figures.Group.agency):
                rows, total = await figures.figures_and_total(
                    session, nation, period, group, narrow
                )
                assert rows == await figures.figures(session, nation, period, group, narrow)
                assert [total] == await figures.figures(
                    session, nation, period, figures.Group.nation, narrow
                )
    return seen


@settings(
    max_examples=4,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking takes minutes
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
async def test_rollups_give_the_figures_of_the_rows(resources, ops):
    province, agencies = await _world(resources)
    await _play(resources, province, agencies, ops)
    before = await assert_rollups_match_rows(resources, province.id)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await rollups.rebuild(session, province.id)
        await rollups.rebuild(session, province.id)  # idempotent
    assert await assert_rollups_match_rows(resources, province.id) == before


BUSY = [(kind, i * 7, 20 + 9 * i % 50) for i, kind in enumerate(KINDS * 3)]


async def test_a_busy_history_keeps_the_rollups_right(resources):
    """A fixed sequence with every kind of move (a stop raises a nonconformity in a savepoint:
    the rollups' record of the row before the move survives it)."""
    province, agencies = await _world(resources)
    await _play(resources, province, agencies, BUSY)
    await assert_rollups_match_rows(resources, province.id)


# Two agencies' dossiers processed: their handling times in both histograms (the sequences
# above rarely process one).
PROCESSED = [("receive", 0, 1), ("receive", 1, 1)] + [("complete", i % 2, 20) for i in range(4)]


async def test_handling_times_reach_the_agency_and_province_histograms(resources):
    province, agencies = await _world(resources)
    await _play(resources, province, agencies, [*PROCESSED, ("return", 0, 2)])
    async with resources.session(TenantScope.nation()) as session:
        for table in (rollups.HISTOGRAMS, rollups.PROVINCE_HISTOGRAMS):
            found = await session.execute(select(table).where(table.c.province_id == province.id))
            assert found.first() is not None, table.name
    await assert_rollups_match_rows(resources, province.id)


# A province merge moves the dossiers and their rollups: the composite province keys are
# deferred to its commit (tenants/reorganisation.py, migration 0915_deferrable_keys).
async def test_a_province_merge_moves_the_rollups(resources):
    province, agencies = await _world(resources)
    await _play(resources, province, agencies, BUSY[:20])
    into, others = await _world(resources, agencies=1)
    await _play(resources, into, others, [("receive", 0, 5), ("assign", 0, 5)])
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await merge_provinces(session, into.code, province.code, by="test")
    await assert_rollups_match_rows(resources, into.id)
    async with resources.session(TenantScope.nation()) as session:
        for table in rollups.TABLES:
            left = await session.execute(select(table).where(table.c.province_id == province.id))
            assert left.first() is None, table.name


@pytest.mark.only_backend("postgresql+redis")
async def test_row_level_security_keeps_the_province_rows_in_their_province(resources):
    """Plain SQL (row-level security alone): another province's scopes see none of a
    province's rows in the province tables; the nation and the province see them."""
    province, _ = await _world(resources, agencies=1)
    other, others = await _world(resources, agencies=1)
    key = {"province_id": province.id, "grain": rollups.DAY, "day": dt.date(2025, 3, 4)}
    key |= {"procedure_code": PROC}
    async with resources.session(TenantScope.nation()) as session, session.begin():
        for table in (rollups.PROVINCE_ROLLUPS, rollups.PROVINCE_HISTOGRAMS):
            row = key | {"handled": 1, "handling_sum": rollups.UNITS}
            row |= {"bucket": 4} if table is rollups.PROVINCE_HISTOGRAMS else {"received": 1}
            await session.execute(rollups.upsert("postgresql", [row], table))
    scopes = {
        TenantScope.nation(): True,
        TenantScope.province(province.id): True,
        TenantScope.province(other.id): False,
        TenantScope.agencies([others[0].id], [other.id]): False,
    }
    for table in (rollups.PROVINCE_ROLLUPS, rollups.PROVINCE_HISTOGRAMS):
        count = text(f"SELECT count(*) FROM {table.name} WHERE province_id = :p")
        for scope, sees in scopes.items():
            async with resources.session(scope) as session:
                found = (await session.execute(count, {"p": province.id})).scalar_one()
            assert (found > 0) is sees, (table.name, scope)


def test_buckets_and_their_bounds_agree():
    for units in (0, 1, 2_499, 2_500, 99_999, 100_000, 299_999, 300_000, 999_999, 10**7):
        low, high = rollups.bucket_bounds(rollups.bucket_of(units))
        assert low <= units / rollups.UNITS < high


def test_the_p90_of_one_value_per_bucket_is_exact():
    # (bucket, count, sum in units): 0.5333, 2 and 5 days, as in tests/test_figures.py
    values = [5_333, 20_000, 50_000]
    histogram = [(rollups.bucket_of(v), 1, v) for v in values]
    assert rollups.p90(histogram) == pytest.approx(4.4)


def test_periods_are_cut_into_years_months_and_days():
    pieces = rollups.pieces(dt.date(2024, 12, 30), dt.date(2026, 2, 3))
    assert pieces == [
        (rollups.DAY, dt.date(2024, 12, 30), dt.date(2025, 1, 1)),
        (rollups.YEAR, dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
        (rollups.MONTH, dt.date(2026, 1, 1), dt.date(2026, 2, 1)),
        (rollups.DAY, dt.date(2026, 2, 1), dt.date(2026, 2, 3)),
    ]
    assert rollups.pieces(dt.date(2025, 3, 4), dt.date(2025, 3, 9)) == [
        (rollups.DAY, dt.date(2025, 3, 4), dt.date(2025, 3, 9))
    ]


async def test_the_rebuild_command_restores_drifted_rollups(database, resources):
    """`eiso qms rollups rebuild --province CODE`: rollups spoilt by hand read right again; an
    unknown province fails naming the option and changes nothing."""
    province, agencies = await _world(resources)
    await _play(resources, province, agencies, BUSY[:12])
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await session.execute(
            rollups.ROLLUPS.update()
            .where(rollups.R.province_id == province.id)
            .values(received=rollups.R.received + 5)
        )
    env = {"EISO_DATABASE_URL": database.owner_url, "EISO_LOG_JSON": "false"}
    result = eiso("qms", "rollups", "rebuild", "--province", province.code, env=env)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["provinces"] == 1
    await assert_rollups_match_rows(resources, province.id)
    bad = eiso("qms", "rollups", "rebuild", "--province", "no-such", env=env)
    assert bad.returncode == 1 and "--province" in bad.stderr
