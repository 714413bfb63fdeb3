"""A 50-item GraphQL list with nested relations against a plain Starlette JSON endpoint that
returns the same data from the same database, in the same run.

The list: `agencies(first: 50)` of one province, each with its parent agency and its
province (both through the request's dataloaders: one query per level), cursors, page info
and total count, as the province's administrator, signed in with a real bearer token
(bench/signed_in.py). Both servers authenticate it through the production authenticator
(core/auth/jwt_authenticator.py, its revocation watch started as the app starts it): the
ratio is what GraphQL adds, not a difference in authentication. The baseline endpoint runs
the same four queries (count, page, parents, provinces) in the same tenant-scoped session
machinery and writes the same JSON with orjson; the script checks both answers are equal
before timing.
Both served by uvicorn on CPU 0 with `wrk` on CPU 1, interleaved, median of the rounds.
Goal: GraphQL at most 3x the plain endpoint's time per request.

    python -m bench.graphql_list_bench [--seconds 4] [--connections 4] [--rounds 3]
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import textwrap
import urllib.request
from pathlib import Path

from bench import signed_in, wrk
from bench.common import server_env
from bench.graphql_bench import report

QUERY = (
    "{ agencies(first: 50) { totalCount pageInfo { hasNextPage endCursor } "
    "edges { cursor node { id code name kind status isoStatus isoStatusSince "
    "parent { id code name } province { id code name status } } } } }"
)

WORKERS = textwrap.dedent("""
    import asyncio
    import contextlib

    import orjson
    from sqlalchemy import func, select
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from eiso.core.app import create_app
    from eiso.core.auth.service import AuthService
    from eiso.core.resources import Resources
    from eiso.core.settings import get_settings
    from eiso.graphql.shared.connections import encode_cursor
    from eiso.core.global_ids import encode_id
    from eiso.tenants.models import Agency, AgencyKind, IsoStatus, Province, TenantStatus

    def eiso():
        return create_app(get_settings())  # the production authenticator: bearer tokens

    def province_json(row):
        return {"id": encode_id("Province", row.id, row.id), "code": row.code,
                "name": row.name, "status": TenantStatus(row.status).name.upper()}

    def agency_json(row, parents, provinces):
        parent = parents.get(row.parent_id)
        return {
            "id": encode_id("Agency", row.province_id, row.id), "code": row.code,
            "name": row.name, "kind": AgencyKind(row.kind).name.upper(),
            "status": TenantStatus(row.status).name.upper(),
            "isoStatus": IsoStatus(row.iso_status).name.upper(),
            "isoStatusSince": row.iso_status_since.isoformat() if row.iso_status_since else None,
            "parent": None if parent is None else {
                "id": encode_id("Agency", parent.province_id, parent.id),
                "code": parent.code, "name": parent.name},
            "province": province_json(provinces[row.province_id]),
        }

    async def agencies(request):
        principal = await request.app.state.auth.authenticator(request)
        if principal is None:
            return Response(b'{"errors":[{"message":"Authentication required"}]}', 401)
        async with request.app.state.resources.session(principal.tenant) as session:
            statement = select(Agency)
            total = (await session.execute(
                select(func.count()).select_from(statement.subquery()))).scalar_one()
            rows = list((await session.execute(
                statement.order_by(Agency.name_folded, Agency.id).limit(51))).scalars())
            page = rows[:50]
            wanted = {row.parent_id for row in page if row.parent_id is not None}
            parents = {row.id: row for row in (await session.execute(
                select(Agency).where(Agency.id.in_(wanted)))).scalars()}
            provinces = {row.id: row for row in (await session.execute(
                select(Province).where(Province.id.in_({r.province_id for r in page})))).scalars()}
        edges = [{"cursor": encode_cursor([row.name_folded, row.id]),
                  "node": agency_json(row, parents, provinces)} for row in page]
        body = {"data": {"agencies": {
            "totalCount": total,
            "pageInfo": {"hasNextPage": len(rows) > 50,
                         "endCursor": edges[-1]["cursor"] if edges else None},
            "edges": edges}}}
        return Response(orjson.dumps(body), media_type="application/json")

    def plain():
        @contextlib.asynccontextmanager
        async def lifespan(app):
            app.state.resources = Resources.open(get_settings())
            app.state.auth = AuthService(app.state.resources)
            watch = asyncio.create_task(app.state.auth.authenticator.watch.listen(
                app.state.resources))
            yield
            watch.cancel()
            await app.state.resources.close()

        return Starlette(routes=[Route("/graphql", agencies, methods=["POST"])],
                         lifespan=lifespan)
""")


async def _arrange(url: str, count: int = 60) -> str:
    """One province: a People's Committee and its communes and wards, `count` agencies; its
    administrator's bearer token."""
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    settings = load_settings(
        database_url=url, secret_key=signed_in.SECRET_KEY, issuer=signed_in.ISSUER
    )
    resources = Resources.open(settings)
    try:
        async with resources.session(TenantScope.nation()) as session:
            province = await ensure_province(session, "BENCHL", "Tỉnh Đo Danh Sách")
            root = await ensure_agency(
                session, province, "BL.000", "Ủy ban nhân dân tỉnh Đo", AgencyKind.people_committee
            )
            for index in range(1, count):
                kind = AgencyKind.ward if index % 4 == 0 else AgencyKind.commune
                title = (
                    "Ủy ban nhân dân phường" if kind == AgencyKind.ward else "Ủy ban nhân dân xã"
                )
                await ensure_agency(
                    session, province, f"BL.{index:03d}", f"{title} Tiên Yên {index}", kind, root
                )
            await session.commit()
        return await signed_in.user_token(
            resources, username="quan-tri-do", role="province_admin", province_code="BENCHL"
        )
    finally:
        await resources.close()


def _same_answer(folder: Path, env: dict, headers: dict) -> None:
    """Both servers answer the same JSON (a throwaway uvicorn each, then compared)."""
    answers = []
    for factory in ("eiso", "plain"):
        with wrk.served(folder, factory, env) as server:
            request = urllib.request.Request(
                f"http://127.0.0.1:{server.port}/graphql",
                data=json.dumps({"query": QUERY}).encode(),
                headers={"content-type": "application/json", **headers},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append(json.loads(response.read()))
    graphql, plain = answers
    if graphql != plain:
        raise SystemExit(f"the answers differ:\n{graphql}\n{plain}")
    edges = graphql["data"]["agencies"]["edges"]
    assert len(edges) == 50 and edges[0]["node"]["province"]["code"] == "BENCHL", graphql


def bench_list(seconds: int, connections: int, rounds: int) -> dict[str, float] | None:
    if not wrk.available():
        print("list: skipped, `wrk` is not installed (apt-get install wrk)")
        return None
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "workers.py").write_text(WORKERS)
        (folder / "post.lua").write_text(wrk.post_script(json.dumps({"query": QUERY})))
        url = f"sqlite:///{folder / 'bench.db'}"
        migrate.upgrade(url)
        token = asyncio.run(_arrange(url))
        env = server_env(DATABASE_URL=url)
        headers = signed_in.bearer(token)
        _same_answer(folder, env, headers)
        targets = {"plain Starlette JSON endpoint": "plain", "eiso GraphQL": "eiso"}
        results = wrk.interleaved(
            targets,
            rounds,
            lambda factory: wrk.throughput(
                folder,
                factory,
                env,
                path="/graphql",
                seconds=seconds,
                connections=connections,
                script="post.lua",
                headers=headers,
                timeout=30,
            ),
        )
    medians = report(
        "50 agencies with parent and province (SQLite), "
        + wrk.setting(connections, seconds, rounds),
        results,
    )
    plain, graphql = medians.values()
    print(f"  GraphQL takes {plain / graphql:.2f}x the plain endpoint's time per request")
    return medians


def main(argv: list[str] | None = None) -> None:
    wrk.load_cli(argv, __doc__, bench_list, seconds=4, connections=4)


if __name__ == "__main__":
    main()
