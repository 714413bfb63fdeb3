"""`allowedMoves` and the dossier's personal data (issue 19).

The engine's `allowed_moves` is held to the engine itself: in each state of a dossier's life,
a move is listed exactly when the engine takes it (tried, then rolled back), from the agency
that may act; another agency's scope gets none. Through GraphQL: the caller's role narrows
the list (a read-only client gets none), the applicant and the sector data go to the
receiving agency's officers only (audited), another agency's officer gets NOT_FOUND."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlmodel import col, select
from strawberry.utils.str_converters import to_camel_case

from eiso.core.audit import AuditEntry
from eiso.core.auth.principal import Principal, Role
from eiso.core.dossiers import catalogue, engine
from eiso.core.dossiers.models import Dossier
from eiso.core.dossiers.statuses import Status
from eiso.core.errors import DomainError
from eiso.graphql.dossiers.desk import DossierMove, personal_data
from eiso.infra.clock import aware
from eiso.infra.db import find_one
from eiso.tenants.scope import TenantScope
from tests import test_counting_engine as counting
from tests.test_dossier_engine import CAL, PROC, act, agency, receive, scope
from tests.test_dossier_graphql import APPLICANT, DATA, Caller, app, codes, officer_of

agencies = counting.agencies
__all__ = ["agencies", "agency", "app"]  # fixtures


class _Taken(Exception):
    """Raised after a move succeeded: its transaction rolls back."""


def _new_appointment(dossier) -> dt.datetime:
    """A working time after the dossier's appointment (or now, before acceptance)."""
    moment = aware(dossier.appointment_at) if dossier.appointment_at else dt.datetime.now(dt.UTC)
    moment = moment.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    while not CAL.is_working_time(moment):
        moment += dt.timedelta(hours=1)
    return moment


async def _extend(session, dossier):
    """The procedure's first extension (none declared: a code it does not know)."""
    procedure = await catalogue.get_procedure(session, dossier.procedure_code)
    declared = [e["code"] for e in (procedure.counting or {}).get("extensions", [])]
    code = declared[0] if declared else "none"
    return await engine.record_extension(
        session, dossier, actor="o", code=code, reason="x", calendar=CAL
    )


def _attempt(name: str):
    """The engine's move `name`, with valid inputs."""
    moves = {
        "accept": lambda s, d: engine.accept(s, d, actor="o", calendar=CAL),
        "refuse": lambda s, d: engine.refuse(s, d, actor="o", reason="x"),
        "assign": lambda s, d: engine.assign(s, d, actor="o", assignee="o"),
        "complete_step": lambda s, d: engine.complete_step(s, d, actor="o", calendar=CAL),
        "request_supplement": lambda s, d: engine.request_supplement(s, d, actor="o", reason="x"),
        "supplement_received": lambda s, d: engine.supplement_received(
            s, d, actor="o", calendar=CAL
        ),
        "request_fee": lambda s, d: engine.request_fee(s, d, actor="o"),
        "fee_paid": lambda s, d: engine.fee_paid(s, d, actor="o"),
        "withdraw": lambda s, d: engine.withdraw(s, d, actor="o", reason="x"),
        "stop": lambda s, d: engine.stop(s, d, actor="o", reason="x"),
        "return_result": lambda s, d: engine.return_result(s, d, actor="o"),
        "record_apology": lambda s, d: engine.record_apology(
            s, d, actor="o", reason="x", new_appointment=_new_appointment(d), calendar=CAL
        ),
        "record_extension": _extend,
    }
    assert set(moves) == set(engine.MOVE_NAMES)
    return moves[name]


async def _taken(resources, tenant, dossier_id: int) -> set[str]:
    """The moves the engine takes now on the dossier from `tenant`, each tried alone."""
    taken = set()
    for name in engine.MOVE_NAMES:
        try:
            async with resources.session(tenant) as session, session.begin():
                dossier = await engine.load(session, dossier_id)
                await _attempt(name)(session, dossier)
                raise _Taken
        except _Taken:
            taken.add(name)
        except DomainError:
            pass
    return taken


async def _allowed(resources, tenant, dossier_id: int) -> set[str]:
    async with resources.session(TenantScope.nation()) as session:
        dossier = await find_one(session, Dossier, id=dossier_id)  # as a node holds it
    async with resources.session(tenant) as session:
        names = await engine.allowed_moves(session, dossier)
    assert names == [n for n in engine.MOVE_NAMES if n in names]  # in the engine's order
    return set(names)


async def _states(resources, agency):
    """A dossier in each state of its life, as it reaches it: (label, dossier id)."""
    online = (await receive(resources, agency, online=True)).dossier
    yield "online, new", online.id
    asked = await act(resources, agency, online, engine.request_supplement, reason="thiếu")
    yield "online, supplement before acceptance", asked.id
    back = await act(resources, agency, asked, engine.supplement_received, calendar=CAL)
    yield "online, back to new (supplement used)", back.id
    counter = (await receive(resources, agency)).dossier
    yield "received", counter.id
    d = await act(
        resources, agency, (await receive(resources, agency)).dossier, engine.assign, assignee="o"
    )
    yield "in progress", d.id
    d = await act(resources, agency, d, engine.request_supplement, reason="thiếu")
    yield "supplement requested", d.id
    d = await act(resources, agency, d, engine.supplement_received, calendar=CAL)
    yield "in progress, supplement used", d.id
    d = await act(resources, agency, d, engine.request_fee)
    yield "fee requested", d.id
    d = await act(resources, agency, d, engine.fee_paid)
    d = await act(resources, agency, d, engine.complete_step)
    d = await act(resources, agency, d, engine.complete_step, calendar=CAL)
    assert d.status == Status.processed
    yield "processed", d.id
    d = await act(resources, agency, d, engine.return_result)
    yield "returned", d.id


async def test_allowed_moves_are_the_moves_the_engine_takes(resources, agency):
    tenant = scope(agency)
    seen = {}
    async for label, dossier_id in _states(resources, agency):
        allowed = await _allowed(resources, tenant, dossier_id)
        assert allowed == await _taken(resources, tenant, dossier_id), label
        seen[label] = allowed
    # What that means, in a few states:
    assert seen["online, new"] == {"accept", "refuse", "request_supplement", "withdraw"}
    assert "request_supplement" not in seen["online, back to new (supplement used)"]
    assert {"assign", "complete_step", "stop", "record_apology"} <= seen["received"]
    assert "accept" not in seen["received"]
    assert "supplement_received" in seen["supplement requested"]
    assert "request_supplement" not in seen["in progress, supplement used"]
    assert seen["fee requested"] == {"fee_paid", "withdraw", "stop", "record_apology"}
    assert "complete_step" not in seen["supplement requested"]
    assert "return_result" in seen["processed"]
    assert seen["returned"] == set()
    assert all("record_extension" not in moves for moves in seen.values())  # none declared


async def test_another_agency_may_make_no_move(resources, agency):
    dossier = (await receive(resources, agency)).dossier
    async with resources.session(TenantScope.nation()) as session:
        loaded = await find_one(session, Dossier, id=dossier.id)
    elsewhere = TenantScope.agencies([agency.id + 100_000], [agency.province_id])
    async with resources.session(elsewhere) as session:
        assert await engine.allowed_moves(session, loaded) == []
    assert await _taken(resources, elsewhere, dossier.id) == set()


async def _same(resources, agency, dossier_id: int) -> set[str]:
    """What the engine lists for `agency`, checked against what it takes."""
    allowed = await _allowed(resources, counting.scope(agency), dossier_id)
    assert allowed == await _taken(resources, counting.scope(agency), dossier_id)
    return allowed


async def test_allowed_moves_follow_the_agency_holding_the_step(resources, agencies):
    """An interlinked dossier: the agency holding the current step makes its moves, the
    receiving agency returns the result; an extension the procedure declares is offered."""
    first, second = agencies
    now = dt.datetime.now(dt.UTC)
    ruled = await counting.receive(resources, first, now)
    assert "record_extension" in await _same(resources, first, ruled.id)
    d = await counting.receive(resources, first, now, code=counting.TWICE)
    assert {"assign", "complete_step"} <= await _same(resources, first, d.id)
    assert await _same(resources, second, d.id) == set()  # not handed over yet
    d = await counting.act(resources, first, d, engine.complete_step, calendar=CAL)
    at_second = await _same(resources, second, d.id)
    assert {"assign", "complete_step", "request_supplement"} <= at_second
    assert "return_result" not in at_second
    assert await _same(resources, first, d.id) == set()  # the step is the second's
    d = await counting.act(resources, second, d, engine.complete_step, calendar=CAL)
    assert await _same(resources, first, d.id) == {"return_result"}
    assert "return_result" not in await _same(resources, second, d.id)
    # The agency that held a later step sees the dossier, never its personal data.
    holder = Principal(
        "officer-2",
        counting.scope(second),
        frozenset({Role.officer}),
        province_id=second.province_id,
        agency_id=second.id,
    )
    info = SimpleNamespace(context=SimpleNamespace(principal=holder, extras={}))
    assert await personal_data(info, d) is None  # type: ignore[arg-type]


def test_dossier_move_names_its_mutation_and_the_engine_move():
    from eiso.core.auth.rules import RULES

    assert [m.value for m in DossierMove] == list(engine.MOVE_NAMES)
    for move in DossierMove:
        assert move.mutation == to_camel_case(move.name.lower()) and move.mutation in RULES


DOSSIER = (
    "query($id: ID!) { dossier(id: $id) { status allowedMoves sectorData "
    "applicant { fullName phone } } }"
)
RECEIVE = (
    'mutation { receiveDossier(input: {procedureCode: "%s", applicant: %s, sectorData: %s}) '
    "{ dossier { id code } } }"
)


def _colleague(me: Principal, role: Role) -> Principal:
    """Someone of `me`'s agency in another role."""
    return Principal(
        f"{role.value}-1",
        me.tenant,
        frozenset({role}),
        province_id=me.province_id,
        agency_id=me.agency_id,
    )


async def test_allowed_moves_and_personal_data_through_graphql(app, resources, callers):
    me = await officer_of(resources)
    gql = Caller(app, callers.issue(me))
    adopted = await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    assert adopted["data"], adopted
    got = (await gql(RECEIVE % (PROC, APPLICANT, DATA)))["data"]["receiveDossier"]["dossier"]
    seen = (await gql(DOSSIER, {"id": got["id"]}))["data"]["dossier"]
    assert seen["applicant"] == {"fullName": "Nguyễn Thị Hoa", "phone": "0912345678"}
    assert seen["sectorData"] == {"child_name": "Trần Minh Khôi", "birth_date": "2026-11-01"}
    assert "ASSIGN_DOSSIER" in seen["allowedMoves"] and "ACCEPT_DOSSIER" not in seen["allowedMoves"]
    # Each read is in the audit trail, once per request, without the data.
    async with resources.session(TenantScope.nation()) as session:
        reads = (
            (
                await session.execute(
                    select(AuditEntry).where(
                        col(AuditEntry.agency_id) == me.agency_id,
                        col(AuditEntry.action) == "dossier.personal_data_read",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(reads) == 1 and reads[0].data == {"code": got["code"]}
    assert reads[0].actor == me.subject
    # A page of dossiers: each one's read follows the one before in the agency's chain.
    second = (await gql(RECEIVE % (PROC, APPLICANT, DATA)))["data"]["receiveDossier"]["dossier"]
    page = await gql("{ dossiers(first: 10) { edges { node { code applicant { fullName } } } } }")
    nodes = [e["node"] for e in page["data"]["dossiers"]["edges"]]
    assert {n["code"] for n in nodes} == {got["code"], second["code"]}
    assert all(n["applicant"]["fullName"] == "Nguyễn Thị Hoa" for n in nodes)
    async with resources.session(TenantScope.nation()) as session:
        codes_read = (
            (
                await session.execute(
                    select(AuditEntry.data).where(
                        col(AuditEntry.agency_id) == me.agency_id,
                        col(AuditEntry.action) == "dossier.personal_data_read",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(c["code"] for c in codes_read) == sorted(
        [got["code"], got["code"], second["code"]]
    )

    # A leader of the agency: the same.
    as_leader = await Caller(app, callers.issue(_colleague(me, Role.leader)))(
        DOSSIER, {"id": got["id"]}
    )
    assert as_leader["data"]["dossier"]["applicant"]["fullName"] == "Nguyễn Thị Hoa"
    assert "ASSIGN_DOSSIER" in as_leader["data"]["dossier"]["allowedMoves"]
    # An integration client that only reads: no move, no personal data.
    reader = Principal("client-r", me.tenant, scopes=frozenset({"dossiers:read"}), client_id="r")
    body = await Caller(app, callers.issue(reader))(DOSSIER, {"id": got["id"]})
    assert body["data"]["dossier"] == {
        "status": "RECEIVED",
        "allowedMoves": [],
        "sectorData": None,
        "applicant": None,
    }
    # A client that writes may move the dossier, still without its personal data.
    writer = Principal(
        "client-w",
        me.tenant,
        scopes=frozenset({"dossiers:read", "dossiers:write"}),
        client_id="w",
    )
    body = await Caller(app, callers.issue(writer))(DOSSIER, {"id": got["id"]})
    assert "ASSIGN_DOSSIER" in body["data"]["dossier"]["allowedMoves"]
    assert body["data"]["dossier"]["applicant"] is None
    # Another agency's officer: the dossier does not exist for them.
    other = Caller(app, callers.issue(await officer_of(resources, "Khác")))
    assert codes(await other(DOSSIER, {"id": got["id"]})) == ["NOT_FOUND"]
    # Roles that do not handle dossiers read none.
    auditor = Caller(app, callers.issue(_colleague(me, Role.auditor)))
    assert codes(await auditor(DOSSIER, {"id": got["id"]})) == ["FORBIDDEN"]


@pytest.mark.parametrize("move", list(DossierMove))
def test_every_move_is_a_mutation_of_the_schema(move):
    from eiso.graphql.schema import build_schema

    assert move.mutation in build_schema()._schema.mutation_type.fields
