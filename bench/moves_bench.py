"""Moves: the write path (issue 18). One officer of one commune takes dossiers through
receive → assign → completeStep × 3 (the last makes it processed) → returnResult, on
PostgreSQL and Redis, a uvicorn server pinned to CPU 0 and the load in this process (CPU 1):

- eiso: GraphQL over HTTP with a real access token, got through the production sign-in
  (authorize → login form → code → /oauth/token, PKCE) and checked by the production JWT
  authenticator on every request;
- raw: the same moves hand-written on a bare Starlette endpoint with asyncpg, writing the same
  rows (the dossier, its steps, the timeline, the audit chain with its head, the outbox event;
  the same tables, row-level security and scope), each move one transaction: BEGIN with the
  scope, one statement that updates the dossier with its version check and locks the audit
  head, one statement of data-modifying CTEs for the rest, COMMIT. Its bearer check is a
  per-process dict of verified tokens (RS256 checked on a miss), as in bench/token_bench.py.

Dossiers per server CPU second (user + system time of the server process over the run) for
both, the arms interleaved round by round, and their ratio; then the statements per move each
arm sends, counted in the PostgreSQL log (`log_statement = all` on the bench database, a few
dossiers, one request at a time): every logged statement, BEGIN and COMMIT included.

    .venv/bin/python -m bench.moves_bench [--dossiers 40] [--rounds 3] [--concurrency 2]

The database is a fresh `eiso_bench_moves_<EISO_BENCH_TAG><random>` (the tag empty unless set)
on EISO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), dropped at
the end; Redis is EISO_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0) under a prefix of
the run's own.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import re
import secrets
import statistics
import sys
import tempfile
import textwrap
import time
import urllib.parse
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dossier_generator as generator
from bench import wrk
from bench.dossier_bench import FLOW, MOVES, PROCEDURE, RECEIVE, SECTOR_DATA

PG_URL = os.environ.get("EISO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("EISO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_LOG = os.environ.get("EISO_BENCH_POSTGRES_LOG", "/var/log/postgresql/postgresql-15-main.log")
SECRET_KEY = "bench-" + "m" * 32
ISSUER = "https://eiso.example"
REDIRECT = "http://bench.example/callback"
PASSWORD = "mật-khẩu-đo-hiệu-năng"
APPLICANT = {"full_name": "Nguyễn Thị Hoa", "phone": "0912345678"}

WORKERS = textwrap.dedent('''
    import contextlib
    import datetime as dt
    import hashlib
    import json
    import os
    import secrets
    import types

    import asyncpg
    import orjson
    from joserfc import jwt
    from joserfc.jwk import KeySet, RSAKey
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from eiso.core.app import create_app
    from eiso.core.audit import GENESIS, entry_hash
    from eiso.core.settings import get_settings
    from eiso.infra.ids import new_id

    def eiso():
        return create_app(get_settings())

    RECEIVED, IN_PROGRESS, PROCESSED, RETURNED = 2, 4, 9, 10
    STEPS = ["tiep_nhan", "tham_dinh", "ky_duyet"]

    def raw():
        """The hand-written moves: one endpoint, asyncpg, the same rows as eiso writes."""
        dsn = os.environ["EISO_DATABASE_URL"].replace("+asyncpg", "")
        province_id = int(os.environ["BENCH_PROVINCE_ID"])
        agency_id = int(os.environ["BENCH_AGENCY_ID"])
        agency_code = os.environ["BENCH_AGENCY_CODE"]
        steps = json.loads(os.environ["BENCH_STEPS"])
        state = {"pool": None, "keys": None}
        verified = {}
        scope = (
            "BEGIN; select set_config('eiso.scope', 'agencies', true), "
            f"set_config('eiso.province_ids', '{province_id}', true), "
            f"set_config('eiso.agency_ids', '{agency_id}', true)"
        )

        async def start():
            state["pool"] = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
            async with state["pool"].acquire() as c:
                await c.execute(scope)
                rows = await c.fetch("SELECT public_jwk FROM auth_signing_keys")
                await c.execute("ROLLBACK")
            jwks = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
            state["keys"] = KeySet([RSAKey.import_key(jwk) for jwk in jwks])

        def subject(request):
            token = request.headers.get("authorization", "")[7:]
            found = verified.get(token)
            if found is None:
                claims = jwt.decode(token, state["keys"]).claims
                late = claims["exp"] < dt.datetime.now().timestamp()
                if claims["iss"] != os.environ["EISO_ISSUER"] or late:
                    raise PermissionError
                found = verified[token] = claims["sub"]
            return found

        def audit(seq, prev, action, dossier_id, data):
            now = dt.datetime.now(dt.UTC)
            entry = types.SimpleNamespace(
                id=new_id(), agency_id=agency_id, seq=seq + 1, at=now, actor=ACTOR,
                action=action, entity_type="dossier", entity_id=str(dossier_id), data=data,
            )
            return entry, entry_hash(entry, prev)

        ACTOR = "bench-officer"
        WRITES = """
            WITH e AS (INSERT INTO dossier_events (province_id, id, agency_id, dossier_id, at,
                         actor, action, from_status, to_status, note)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ''))
            , a AS (INSERT INTO audit_entries (province_id, id, agency_id, seq, at, actor,
                      action, entity_type, entity_id, data, prev_hash, hash)
                    VALUES ($1, $10, $3, $11, $12, $6, $13, 'dossier', $4::text, $14::json,
                            $15, $16))
            , h AS (UPDATE audit_heads SET seq = $11, hash = $16
                    WHERE province_id = $1 AND id = $3)
            {steps}
            INSERT INTO outbox (topic, payload, province_id, agency_id, created_at)
            VALUES ('dossier', $17::json, $1, $3, $5)
        """
        STEP_DONE = """
            , s AS (UPDATE dossier_steps SET status = 'done', completed_at = $5, completed_by = $6
                    WHERE province_id = $1 AND dossier_id = $4 AND step_index = $18)
        """
        STEP_OPEN = """
            , n AS (INSERT INTO dossier_steps (province_id, id, agency_id, dossier_id,
                      step_index, step_code, status, sector_data, from_agency_id, started_at)
                    VALUES ($1, $19, $3, $4, $18 + 1, $20, 'open', '{}', $3, $5))
        """
        LOCK_HEAD = """
            , h AS (INSERT INTO audit_heads (province_id, id, agency_id, seq, hash)
                    SELECT $1, $2, $2, 0, $3 FROM d
                    ON CONFLICT (province_id, id) DO UPDATE SET seq = audit_heads.seq
                    RETURNING seq, hash)
            SELECT d.*, h.seq, h.hash FROM d, h
        """

        async def write(c, dossier, code, action, before, after, seq, prev, step=None,
                        receipt=None):
            now = dt.datetime.now(dt.UTC)
            facts = {"code": code, "procedure": dossier["procedure_code"], "from": before,
                     "to": after, "step": dossier["current_step"], "version": dossier["version"]}
            entry, digest = audit(seq, prev, f"dossier.{action}", dossier["id"], facts)
            event = {"province_id": province_id, "agency_id": agency_id,
                     "dossier_id": dossier["id"], "dossier_code": code,
                     "procedure_code": dossier["procedure_code"], "from_status": before,
                     "to_status": after, "action": action, "actor": ACTOR,
                     "at": now.isoformat()}
            args = [province_id, new_id(), agency_id, dossier["id"], now, ACTOR, action,
                    before, after, entry.id, entry.seq, entry.at, entry.action,
                    orjson.dumps(facts).decode(), prev, digest, orjson.dumps(event).decode()]
            parts = ""
            if receipt is not None:
                parts = RECEIPT
                args += receipt
            if step is not None:
                index, opened = step
                parts = STEP_DONE
                args.append(index)
                if opened is not None:
                    parts += STEP_OPEN
                    args += [new_id(), opened]
            await c.execute(WRITES.format(steps=parts), *args)

        async def receive(c):
            now = dt.datetime.now(dt.UTC)
            day = now.strftime("%y%m%d")
            got = await c.fetchrow(RECEIVE_HEAD, province_id, new_id(), agency_id, day, GENESIS)
            code = f"{agency_code}-{day}-{got['last']:04d}"
            dossier_id = new_id()
            dossier = {"id": dossier_id, "procedure_code": os.environ["BENCH_PROCEDURE"],
                       "current_step": 0, "version": 1}
            await write(
                c, dossier, code, "received", None, RECEIVED, got["seq"], got["hash"],
                receipt=[code, hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                         dossier["procedure_code"], orjson.dumps(APPLICANT).decode(),
                         orjson.dumps(SECTOR).decode(), new_id(), steps[0]],
            )
            return dossier_id, 1

        RECEIVE_HEAD = """
            WITH c AS (INSERT INTO dossier_counters (province_id, id, agency_id, day, last)
                       VALUES ($1, $2, $3, $4, 1)
                       ON CONFLICT (agency_id, day) DO UPDATE
                       SET last = dossier_counters.last + 1 RETURNING last)
            , h AS (INSERT INTO audit_heads (province_id, id, agency_id, seq, hash)
                    SELECT $1, $3, $3, 0, $5 FROM c
                    ON CONFLICT (province_id, id) DO UPDATE SET seq = audit_heads.seq
                    RETURNING seq, hash)
            SELECT c.last, h.seq, h.hash FROM c, h
        """
        # The receipt's dossier and first step, in the batch of its timeline, audit, outbox.
        RECEIPT = """
            , d AS (INSERT INTO dossiers (province_id, id, agency_id, code, lookup_hash,
                      procedure_code, applicant, sector_data, status, current_step,
                      step_agencies, time_limit_amount, received_at, appointment_at, pauses,
                      extensions, supplement_count, was_late, version, apology_late,
                      updated_at)
                    VALUES ($1, $4, $3, $18, $19, $20, $21::json, $22::json, 2, 0, '{}', 5,
                            $5, $5 + interval '7 days', '[]', '[]', 0, false, 1, false, $5))
            , n AS (INSERT INTO dossier_steps (province_id, id, agency_id, dossier_id,
                      step_index, step_code, status, sector_data, started_at)
                    VALUES ($1, $23, $3, $4, 0, $24, 'open', '{}', $5))
        """
        APPLICANT = json.loads(os.environ["BENCH_APPLICANT"])
        SECTOR = json.loads(os.environ["BENCH_SECTOR"])
        MOVE_SQL = {
            "assign": "status = 4, assignee = 'officer-1'",
            "step": "current_step = current_step + 1",
            "last": "status = 9, finished_at = now(), handling_days = 0.1, on_time = true",
            "return": "status = 10",
        }

        async def move(c, name, dossier_id, version):
            head = await c.fetchrow(
                "WITH d AS (UPDATE dossiers SET "
                + ("current_step = CASE WHEN current_step < " + str(len(steps) - 1)
                   + " THEN current_step + 1 ELSE current_step END, status = CASE WHEN "
                   "current_step < " + str(len(steps) - 1) + " THEN status ELSE 9 END, "
                   "finished_at = CASE WHEN current_step < " + str(len(steps) - 1)
                   + " THEN NULL ELSE now() END" if name == "step" else MOVE_SQL[name])
                + ", version = version + 1, updated_at = now() WHERE province_id = $1 AND "
                "id = $4 AND version = $5 RETURNING id, code, procedure_code, current_step, "
                "status, version)" + LOCK_HEAD,
                province_id, agency_id, GENESIS, dossier_id, version,
            )
            if head is None:
                raise LookupError("conflict")
            dossier = dict(head)
            before = {"assign": RECEIVED, "step": IN_PROGRESS, "return": PROCESSED}[name]
            action = {"assign": "assigned", "step": "step_completed", "return": "returned"}[name]
            step = None
            if name == "step":
                done = dossier["current_step"] - (0 if dossier["status"] == PROCESSED else 1)
                opened = None if dossier["status"] == PROCESSED else steps[done + 1]
                action = "processed" if dossier["status"] == PROCESSED else action
                step = (done, opened)
            await write(c, dossier, dossier["code"], action, before, dossier["status"],
                        head["seq"], head["hash"], step)
            return dossier["version"], dossier["status"]

        async def endpoint(request):
            try:
                subject(request)
            except Exception:
                return Response(b'{"error":"unauthorized"}', 401)
            body = orjson.loads(await request.body())
            async with state["pool"].acquire() as c:
                await c.execute(scope)
                try:
                    if body["op"] == "receive":
                        dossier_id, version = await receive(c)
                        answer = {"id": dossier_id, "version": version}
                    else:
                        version, status = await move(c, body["op"], body["id"], body["v"])
                        answer = {"version": version, "status": status}
                except Exception:
                    await c.execute("ROLLBACK")
                    import traceback
                    return Response(traceback.format_exc().encode(), 500)
                await c.execute("COMMIT")
            return Response(orjson.dumps(answer), media_type="application/json")

        @contextlib.asynccontextmanager
        async def lifespan(app):
            try:
                await start()
            except Exception:  # uvicorn's output goes nowhere: leave the reason in a file
                import traceback
                with open(os.path.join(os.path.dirname(__file__), "raw-error.txt"), "w") as out:
                    out.write(traceback.format_exc())
                raise
            yield
            await state["pool"].close()

        return Starlette(routes=[Route("/raw", endpoint, methods=["POST"])], lifespan=lifespan)
''')


async def _arrange(database_url: str) -> dict:
    """A province with one commune (its modules on, the procedure adopted), an officer, the
    web app's client; the ids the raw arm needs."""
    import asyncpg

    from eiso.core.auth.clients import create_frontend_client
    from eiso.core.auth.users import create_user
    from eiso.core.dossiers.models import ProcedureRecord
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.tenants.scope import TenantScope

    prefix = "MV" + secrets.token_hex(2).upper()
    tenants = await generator.make_tenants(database_url, prefix, 1, 1)
    connection = await asyncpg.connect(database_url)
    try:
        procs = [(m, p) for m, p in generator.procedures() if p.code == PROCEDURE]
        await generator.upsert_catalogue(connection, procs, tenants)
    finally:
        await connection.close()
    settings = load_settings(
        database_url=database_url, secret_key=SECRET_KEY, redis_url="memory://bench-moves:"
    )
    resources = Resources.open(settings)
    agency = tenants[0]["agencies"][0]
    try:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            user = await create_user(
                session,
                username="can-bo-do",
                role="officer",
                password=PASSWORD,
                agency_code=agency["code"],
            )
            client, _ = await create_frontend_client(
                session,
                redirect_uris=[REDIRECT],
                scopes=["dossiers:read", "dossiers:write"],
                name="Đo hiệu năng",
            )
            procedure = (
                await session.execute(
                    ProcedureRecord.__table__.select().where(  # type: ignore[attr-defined]
                        ProcedureRecord.code == PROCEDURE
                    )
                )
            ).one()
    finally:
        await resources.close()
    return {
        "province_id": tenants[0]["id"],
        "agency_id": agency["id"],
        "agency_code": agency["code"],
        "client_id": client.client_id,
        "username": user.username,
        "steps": [step["code"] for step in procedure.steps],
    }


def _hidden(page: str, name: str) -> str:
    import html

    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    if found is None:
        raise SystemExit(f"the sign-in page has no {name!r} field:\n{page[:2000]}")
    return html.unescape(found.group(1))


async def sign_in(base: str, client_id: str, username: str) -> str:
    """An access token through the production flow: authorize, the login form, the code for a
    token (PKCE S256)."""
    import httpx

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "dossiers:read dossiers:write",
            "state": "bench",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        page = await http.get("/oauth/authorize?" + query)
        form = {
            "request": _hidden(page.text, "request"),
            "csrf": _hidden(page.text, "csrf"),
            "username": username,
            "password": PASSWORD,
        }
        # The session cookie is Secure in production: sent back by hand over loopback HTTP.
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        answer = await http.post("/oauth/authorize", data=form, headers={"Cookie": cookie})
        if "location" not in answer.headers:
            raise SystemExit(f"sign-in refused: {answer.status_code} {answer.text[:1500]}")
        location = urllib.parse.urlsplit(answer.headers["location"])
        code = dict(urllib.parse.parse_qsl(location.query))["code"]
        token = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
        token.raise_for_status()
        return str(token.json()["access_token"])


async def _eiso_flow(http, headers: dict) -> list[str]:
    """One dossier through GraphQL; the operations it ran (for the statement count)."""
    body = (
        await http.post(
            "/graphql",
            json={"query": RECEIVE, "variables": {"data": SECTOR_DATA}},
            headers=headers,
        )
    ).json()
    if body.get("errors"):
        raise SystemExit(f"eiso receive: {body['errors']}")
    dossier = body["data"]["receiveDossier"]["dossier"]
    version = dossier["version"]
    for name in FLOW:
        body = (
            await http.post(
                "/graphql",
                json={"query": MOVES[name], "variables": {"id": dossier["id"], "v": version}},
                headers=headers,
            )
        ).json()
        if body.get("errors"):
            raise SystemExit(f"eiso {name}: {body['errors']}")
        version = next(iter(body["data"].values()))["version"]
    if next(iter(body["data"].values()))["status"] != "RETURNED":
        raise SystemExit("eiso: the dossier did not end returned")
    return ["receive", *FLOW]


async def _raw_flow(http, headers: dict) -> list[str]:
    response = await http.post("/raw", json={"op": "receive"}, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"raw receive: {response.status_code} {response.text[-1500:]}")
    answer = response.json()
    dossier_id, version = answer["id"], answer["version"]
    for name in FLOW:
        response = await http.post(
            "/raw", json={"op": name, "id": dossier_id, "v": version}, headers=headers
        )
        if response.status_code != 200:
            raise SystemExit(f"raw {name}: {response.status_code} {response.text[-1500:]}")
        answer = response.json()
        version = answer["version"]
    if answer["status"] != 10:
        raise SystemExit("raw: the dossier did not end returned")
    return ["receive", *FLOW]


FLOWS = {"eiso": _eiso_flow, "raw": _raw_flow}


async def _drive(port: int, arm: str, token: str, dossiers: int, concurrency: int) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    left = list(range(dossiers))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:

        async def officer() -> None:
            while left:
                left.pop()
                await FLOWS[arm](http, headers)

        await asyncio.gather(*(officer() for _ in range(concurrency)))


class _Log:
    """Statements of the bench database in the PostgreSQL log, from a mark on."""

    def __init__(self, database: str) -> None:
        self.pattern = re.compile(rf"@{re.escape(database)} LOG:  (statement|execute [^:]*):")
        self.offset = 0

    def mark(self) -> None:
        self.offset = os.path.getsize(PG_LOG)

    def count(self) -> int:
        time.sleep(0.3)  # the logger writes behind
        with open(PG_LOG, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        found = [line for line in text.splitlines() if self.pattern.search(line)]
        if os.environ.get("BENCH_SHOW_STATEMENTS"):
            print("\n".join(["--", *(line.split("LOG:  ", 1)[1][:150] for line in found)]))
        return len(found)


async def _statements(port: int, arm: str, token: str, log: _Log) -> dict[str, float]:
    """Statements per operation, one request at a time over two dossiers (after a warm one)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    counts: dict[str, list[int]] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        await FLOWS[arm](http, headers)  # warm: prepared statements, caches
        for _ in range(2):
            dossier_id = version = None
            for name in ["receive", *FLOW]:
                log.mark()
                if arm == "raw":
                    payload = {"op": name, "id": dossier_id, "v": version}
                    answer = (await http.post("/raw", json=payload, headers=headers)).json()
                    dossier_id = answer.get("id", dossier_id)
                    version = answer["version"]
                else:
                    query, variables = (
                        (RECEIVE, {"data": SECTOR_DATA})
                        if name == "receive"
                        else (MOVES[name], {"id": dossier_id, "v": version})
                    )
                    body = (
                        await http.post(
                            "/graphql",
                            json={"query": query, "variables": variables},
                            headers=headers,
                        )
                    ).json()
                    data = next(iter(body["data"].values()))
                    if name == "receive":
                        data = data["dossier"]
                        dossier_id = data["id"]
                    version = data["version"]
                counts.setdefault(name, []).append(log.count())
    return {name: statistics.mean(values) for name, values in counts.items()}


def _sql(database_url: str, statement: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def bench_env(app_url: str, arranged: dict) -> dict:
    """The servers' environment: production settings on the bench database (as its app role)."""
    import orjson

    return {
        **os.environ,
        "EISO_ENV": "prod",
        "EISO_SECRET_KEY": SECRET_KEY,
        "EISO_ISSUER": ISSUER,
        "EISO_DATABASE_URL": app_url,
        "EISO_REDIS_URL": REDIS_URL,
        "EISO_REDIS_PREFIX": f"eiso-bench-moves-{secrets.token_hex(4)}:",
        "EISO_LOG_LEVEL": "WARNING",
        "EISO_EVENTS_RELAY": "false",  # the raw arm has no relay either
        "EISO_EVENTS_HOOKS": "false",
        "BENCH_PROVINCE_ID": str(arranged["province_id"]),
        "BENCH_AGENCY_ID": str(arranged["agency_id"]),
        "BENCH_AGENCY_CODE": arranged["agency_code"],
        "BENCH_PROCEDURE": PROCEDURE,
        "BENCH_STEPS": orjson.dumps(arranged["steps"]).decode(),
        "BENCH_APPLICANT": orjson.dumps(APPLICANT).decode(),
        "BENCH_SECTOR": orjson.dumps(SECTOR_DATA).decode(),
    }


def main(argv: list[str] | None = None) -> None:

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=40, help="per arm and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-log", action="store_true", help="skip the statement count")
    args = parser.parse_args(argv)
    name = f"eiso_bench_moves_{os.environ.get('EISO_BENCH_TAG', '')}{secrets.token_hex(3)}"
    database_url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(generator.create_database(database_url))
    results: dict[str, list[float]] = {"eiso": [], "raw": []}
    statements: dict[str, dict[str, float]] = {}
    try:
        app_url = generator.app_url(database_url)
        arranged = asyncio.run(_arrange(database_url))  # as the owner: no scope needed
        env = bench_env(app_url, arranged)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "workers.py").write_text(WORKERS)
            with wrk.served(folder, "eiso", env) as server:
                token = asyncio.run(
                    sign_in(
                        f"http://127.0.0.1:{server.port}",
                        arranged["client_id"],
                        arranged["username"],
                    )
                )

            def run(arm: str) -> float:
                with wrk.served(folder, arm, env) as server:
                    asyncio.run(_drive(server.port, arm, token, 4, 1))  # warm
                    cpu = wrk._cpu_seconds(server.pid)
                    asyncio.run(_drive(server.port, arm, token, args.dossiers, args.concurrency))
                    cpu = wrk._cpu_seconds(server.pid) - cpu
                return args.dossiers / cpu

            error = folder / "raw-error.txt"
            for _ in range(args.rounds):
                for arm in ("eiso", "raw"):
                    try:
                        results[arm].append(run(arm))
                    except SystemExit:
                        if error.exists():
                            print(error.read_text())
                        raise
                    print(f"  {arm}: {results[arm][-1]:.1f} dossiers per server CPU second")
            if not args.no_log and os.access(PG_LOG, os.R_OK):
                _sql(database_url, f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
                try:
                    for arm in ("eiso", "raw"):
                        with wrk.served(folder, arm, env) as server:
                            statements[arm] = asyncio.run(
                                _statements(server.port, arm, token, _Log(name))
                            )
                finally:
                    _sql(database_url, f'ALTER DATABASE "{name}" RESET log_statement')
    finally:
        asyncio.run(generator.drop_database(database_url))
    report(results, statements, args)


def report(results: dict[str, list[float]], statements: dict[str, dict[str, float]], args) -> None:
    eiso, raw = statistics.median(results["eiso"]), statistics.median(results["raw"])
    print(
        f"\nmoves, {args.dossiers} dossiers x {args.rounds} rounds per arm, "
        f"{args.concurrency} officers at once; 6 requests per dossier"
    )
    print(
        f"{'arm':6} {'dossiers per server CPU s (rounds)':40} {'median':>8} {'CPU ms/dossier':>15}"
    )
    for arm, median in (("eiso", eiso), ("raw", raw)):
        rounds = ", ".join(f"{v:.1f}" for v in results[arm])
        print(f"{arm:6} {rounds:40} {median:8.1f} {1000 / median:15.1f}")
    print(f"eiso costs {raw / eiso:.2f}x the hand-written moves' server CPU (goal <= 1.5x)")
    if statements:
        print("\nstatements per request in the PostgreSQL log (BEGIN and COMMIT included)")
        print(f"{'operation':10} " + " ".join(f"{arm:>6}" for arm in statements))
        for name in ["receive", *dict.fromkeys(FLOW)]:
            print(f"{name:10} " + " ".join(f"{s[name]:6.1f}" for s in statements.values()))


if __name__ == "__main__":
    main()
