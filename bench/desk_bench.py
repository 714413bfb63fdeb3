"""The officer's desk: the queue page (50 dossiers) and a dossier's page against their GraphQL
operations executed alone, in the same run, in-process (the app's ASGI callable driven
directly, no socket: the server's own work).

An officer of a fresh agency signs in through the real flow (authorize, login form,
callback: web/desk_auth.py), so the pages run with a token kept in Redis as in production.
Targets, each with its baseline:
- `DeskQueue alone` / `queue page`: web/operations/DeskQueue.graphql (20 rows of 50 and the
  counts per status) run by the schema with the officer's token; GET `/ban-lam-viec`;
- `DeskDossier alone` / `dossier page`: the dossier with its timeline, step and slips; GET
  `/ban-lam-viec/ho-so/<id>`.
After a warm-up, rounds interleave the targets; medians of CPU time per request.
Target: each page at most 1.5x its operation alone.

    python -m bench.desk_bench [--requests 200] [--rounds 3]
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx

from bench.common import adopted_and_received
from bench.web_bench import _call, _scope, _timed, bench_app, cli, report

DOSSIERS = 50
PASSWORD = "mật-khẩu-đo-lường-1"


async def _agency_with_dossiers(resources: Any, registry: Any) -> tuple[Any, list[int]]:
    """A fresh agency with DOSSIERS dossiers received at its counter, and its officer."""

    from eiso.core.auth.users import create_user
    from eiso.core.plugins.activation import set_module
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    procedure = next(iter(registry.procedures())).code
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, "BENCHD", "Tỉnh Đo Bàn")
        agency = await ensure_agency(
            session, province, "BENCHD-A", "UBND xã Đo", AgencyKind.commune
        )
        # A province receives dossiers only of the modules it switched on (MODULE_DISABLED).
        owner = registry.procedure_owners()[procedure]
        await set_module(session, province.id, owner, True, by="bench")
        await create_user(
            session,
            username="can-bo-do",
            role="officer",
            password=PASSWORD,
            agency_code=agency.code,
        )
    scope = TenantScope.agencies([agency.id], [agency.province_id])
    async with resources.session(scope) as session, session.begin():
        received = await adopted_and_received(session, agency, procedure, DOSSIERS)
        ids = [got.dossier.id for got in received]
    return agency, ids


async def _sign_in(app: Any, base: str) -> str:
    """The desk's sign-in, as a browser follows it; returns the session cookie header."""
    import re

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as http:
        go = await http.get("/ban-lam-viec/dang-nhap")
        page = await http.get(go.headers["location"])
        fields = {
            name: re.search(rf'name="{name}" value="([^"]*)"', page.text)
            for name in ("request", "csrf")
        }
        form = {
            k: urllib.parse.unquote(m.group(1).replace("&amp;", "&"))
            for k, m in fields.items()
            if m
        }
        back = await http.post(
            "/oauth/authorize", data={**form, "username": "can-bo-do", "password": PASSWORD}
        )
        landed = await http.get(back.headers["location"])
        if landed.status_code != 303:
            raise SystemExit(f"the desk's sign-in failed: {landed.status_code} {landed.text[:300]}")
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


async def kept_token(app: Any, resources: Any, scope: dict[str, Any]) -> str:
    """The access token kept for the session of `scope`'s cookie, as the page's handler gets
    it through the session middleware."""
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request

    from eiso.web.desk_auth import access_token

    probe: dict[str, Any] = {}

    async def capture(s: Any, r: Any, send: Any) -> None:
        probe["token"] = await access_token(Request(s, r))

    await SessionMiddleware(
        capture,
        secret_key=resources.settings.secret_key.get_secret_value(),
        session_cookie="eiso_web",
    )(scope, None, None)
    if probe["token"] is None:
        raise SystemExit("no token kept for the signed-in session")
    return str(probe["token"])


async def bench(requests: int, rounds: int) -> dict[str, float]:
    from starlette.requests import Request

    from eiso.web.run import run

    base = "http://eiso.example"
    # The session cookie without Secure (env dev): the benchmark speaks plain HTTP.
    async with bench_app(env="dev", issuer=base) as (app, resources, registry):
        _, ids = await _agency_with_dossiers(resources, registry)
        cookie = await _sign_in(app, base)

        def scope(path: str) -> dict[str, Any]:
            made = _scope("GET", path)
            made["headers"] = [*made["headers"], (b"cookie", cookie.encode())]
            made["app"] = app
            return made

        token = await kept_token(app, resources, scope("/ban-lam-viec"))
        queue_vars = {"filter": None, "first": 20}

        async def queue_alone() -> Any:
            return await run(Request(scope("/ban-lam-viec")), "DeskQueue", queue_vars, token=token)

        got = await run(Request(scope("/ban-lam-viec")), "DeskQueue", queue_vars, token=token)
        if got["dossiers"]["totalCount"] != len(ids):
            raise SystemExit(f"the queue shows {got['dossiers']['totalCount']} dossiers")
        gid = got["dossiers"]["edges"][0]["node"]["id"]

        async def dossier_alone() -> Any:
            return await run(Request(scope("/x")), "DeskDossier", {"id": gid}, token=token)

        async def queue_page() -> tuple[int, bytes]:
            return await _call(app, scope("/ban-lam-viec"))

        async def dossier_page() -> tuple[int, bytes]:
            return await _call(app, scope(f"/ban-lam-viec/ho-so/{gid}"))

        for target, marker in ((queue_page, b"queue"), (dossier_page, b"move-")):
            status, html = await target()
            if status != 200 or marker not in html:
                raise SystemExit(f"a page failed: {status} {html[:300]!r}")
        targets = {
            "DeskQueue alone": queue_alone,
            "queue page": queue_page,
            "DeskDossier alone": dossier_alone,
            "dossier page": dossier_page,
        }
        results: dict[str, list[float]] = {name: [] for name in targets}
        for target in targets.values():  # warm-up
            await _timed(target, max(requests // 10, 1))
        for _ in range(rounds):
            for name, target in targets.items():
                results[name].append(await _timed(target, requests))
    return report("officer's desk pages", results, requests, rounds, _baseline)


def _baseline(name: str) -> str:
    return ("DeskQueue" if "queue" in name.lower() else "DeskDossier") + " alone"


def main(argv: list[str] | None = None) -> None:
    cli(argv, __doc__ or "", bench, 200, 3)


if __name__ == "__main__":
    main()
