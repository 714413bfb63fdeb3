"""Round trips of a dossier move on PostgreSQL (issue 18): every statement the app's engine
sends during one GraphQL move, BEGIN (with the scope) and COMMIT included, counted on the
connection (`before_cursor_execute` and asyncpg's simple queries). A move is one transaction of
at most `BUDGET` round trips, plus one per statement the registered transition listeners add
(none: the rollups' upsert joins the move's batch). The receipt has a budget of its own: it also
draws the dossier code, checks the idempotency key and opens the first step (see
`RECEIPT_BUDGET`)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import event

from tests.conftest import unique_code
from tests.test_dossier_engine import PROC
from tests.test_dossier_graphql import APPLICANT, DATA, MOVE, Caller, app, officer_of  # noqa: F401

pytestmark = pytest.mark.only_backend("postgresql+redis")

# BEGIN with the scope, the dossier's read with its audit head's lock, the batched writes (the
# dossier's version-checked UPDATE among them), COMMIT.
BUDGET = 4
# The receipt: BEGIN with the scope; one statement that reads the agency and the catalogue
# (procedure, adoption, module switch), takes the counter's number (checking the idempotency
# key), locks the audit head and reads the province's and the officer's names
# (`engine.receive_at`); the dossier's INSERT with its unique keys and its place in the
# tracking book; the batched writes (first step, timeline, audit, outbox, the rollups, the
# issued slips 01 and 06 with their frozen facts); COMMIT.
RECEIPT_BUDGET = 5
# Listeners that write in a move's transaction with statements of their own: none. The figures'
# rollups (core/qms/rollups.py) join their upsert to the move's batch (`listeners.on_batch`).
LISTENER_STATEMENTS = 0

RECEIVE = (
    'mutation { receiveDossier(input: {procedureCode: "%s", applicant: %s, sectorData: %s}) '
    "{ dossier { id version } } }"
)


class Wire:
    """The statements the engine sends: SQLAlchemy's, asyncpg's simple queries (BEGIN with
    the scope, COMMIT, ROLLBACK), and those run on the driver connection itself
    (infra/pg_driver.py: `fetch`, `execute` with arguments)."""

    def __init__(self, engine, monkeypatch) -> None:
        self.sent: list[str] = []
        original = asyncpg.Connection.execute
        on_driver = asyncpg.Connection._execute

        async def execute(connection, query, *args, **kwargs):
            if not args:
                self.sent.append(query)
            return await original(connection, query, *args, **kwargs)

        async def driven(connection, query, *args, **kwargs):
            self.sent.append(query)
            return await on_driver(connection, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "execute", execute)
        monkeypatch.setattr(asyncpg.Connection, "_execute", driven)
        self.engine = engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _statement(self, _connection, _cursor, statement, *_rest) -> None:
        self.sent.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)

    def take(self) -> list[str]:
        sent, self.sent = self.sent, []
        return sent


async def test_each_move_keeps_its_round_trip_budget(app, resources, callers, monkeypatch):  # noqa: F811
    me = await officer_of(resources)
    gql = Caller(app, callers.issue(me))
    adopted = await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    assert "errors" not in adopted, adopted
    # Warm: the first receipt and moves fill the caches (catalogue, calendar, statements).
    for _ in range(2):
        body = await gql(RECEIVE % (PROC, APPLICANT, DATA))
        assert "errors" not in body, body
        d = body["data"]["receiveDossier"]["dossier"]
        v = d["version"]
        for name, extra in [
            ("assignDossier", ', assignee: "officer-2"'),
            ("completeStep", ""),
            ("completeStep", ""),
            ("returnResult", ""),
        ]:
            v = (await gql(MOVE % (name, extra), {"id": d["id"], "v": v}))["data"][name]["version"]

    wire = Wire(resources.engine, monkeypatch)
    try:
        counted: dict[str, list[str]] = {}
        body = await gql(RECEIVE % (PROC, APPLICANT, DATA.replace("Khôi", unique_code("K"))))
        counted["receiveDossier"] = wire.take()
        d = body["data"]["receiveDossier"]["dossier"]
        v = d["version"]
        for label, name, extra in [
            ("assignDossier", "assignDossier", ', assignee: "officer-2"'),
            ("completeStep", "completeStep", ""),
            ("completeStep (last)", "completeStep", ""),
            ("returnResult", "returnResult", ""),
        ]:
            moved = await gql(MOVE % (name, extra), {"id": d["id"], "v": v})
            counted[label] = wire.take()
            v = moved["data"][name]["version"]
    finally:
        wire.close()
    report = {label: len(sent) for label, sent in counted.items()}
    print("round trips per move:", report)
    for label, sent in counted.items():
        budget = (RECEIPT_BUDGET if label == "receiveDossier" else BUDGET) + LISTENER_STATEMENTS
        assert len(sent) <= budget, (label, len(sent), [s[:90] for s in sent])
        assert sum(s.startswith("BEGIN") for s in sent) == 1, (label, sent)  # one transaction


# Greenlet hops of the sessions of one move (`AsyncSession`'s calls into its synchronous
# session: `run_sync`, `flush`, `commit`, `close`, a transaction's start and end): the move's
# transaction begins its driver connection in one (`pg_driver.driver`) and commits and closes
# in another (`service.act`); a timed move (completeStep, returnResult) also closes the
# session that read the working calendar. Each hop costs a move ~10 µs of server CPU, and the
# close of an `async with` session a task of its own (issue 18: 5 to 6 hops before).
HOPS = {"assignDossier": 2, "completeStep": 3, "returnResult": 3}


async def test_each_move_keeps_its_greenlet_hop_budget(app, resources, callers, monkeypatch):  # noqa: F811
    from sqlalchemy.ext.asyncio import session as async_session

    me = await officer_of(resources)
    gql = Caller(app, callers.issue(me))
    adopted = await gql(f'mutation {{ adoptProcedure(procedureCode: "{PROC}") {{ code }} }}')
    assert "errors" not in adopted, adopted
    moves = [
        ("assignDossier", ', assignee: "officer-2"'),
        ("completeStep", ""),
        ("completeStep", ""),
        ("returnResult", ""),
    ]
    hops: list[str] = []
    spawn = async_session.greenlet_spawn

    async def counted(fn, *args, **kwargs):
        hops.append(getattr(fn, "__qualname__", repr(fn)))
        return await spawn(fn, *args, **kwargs)

    for warm in (True, False):  # the first round fills the caches (catalogue, calendar)
        body = await gql(RECEIVE % (PROC, APPLICANT, DATA.replace("Khôi", unique_code("K"))))
        assert "errors" not in body, body
        d = body["data"]["receiveDossier"]["dossier"]
        v = d["version"]
        for name, extra in moves:
            if not warm:
                monkeypatch.setattr(async_session, "greenlet_spawn", counted)
            moved = await gql(MOVE % (name, extra), {"id": d["id"], "v": v})
            monkeypatch.setattr(async_session, "greenlet_spawn", spawn)
            assert "errors" not in moved, moved
            v = moved["data"][name]["version"]
            if not warm:
                assert len(hops) <= HOPS[name], (name, hops)
                hops.clear()
