"""Relay's `node(id:)` against the typed lookup `dossier(id:)`, in the same run.

The same dossier, the same fields, asked by an officer of its agency through the whole app
(middleware, the production authenticator checking the officer's real bearer token
(bench/signed_in.py), GraphQL, a tenant-scoped SQLite session), in process over
httpx's ASGI transport: `node` adds reading the type from the id, the typed field's rule and
the interface's type resolution. The script checks both answers carry the same data before
timing; the targets take turns in each round (a noisy neighbour hits both alike) and each is
counted in requests per CPU second of the process (the fairer figure on a shared machine)
and per second of wall time, median of the rounds.

    python -m bench.node_bench [--requests 400] [--rounds 5] [--without-node]

It also times a 50-dossier page (`dossiers(first: 50)`), whose types now implement `Node`:
run with `--without-node` on a checkout from before to compare.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from pathlib import Path

from bench import signed_in
from bench.common import quiet_settings
from bench.wrk import Run, print_medians, rounds_parser, timed

FIELDS = "id code procedureCode status receivedAt appointmentAt late version"
TARGETS = {
    "dossier(id:) (typed lookup)": f"query($id: ID!) {{ dossier(id: $id) {{ {FIELDS} }} }}",
    "node(id:)": f"query($id: ID!) {{ node(id: $id) {{ ... on DossierNode {{ {FIELDS} }} }} }}",
}
# A page of the list whose types now implement `Node` (the executor's plain path must keep
# them): to compare with a checkout before Relay (`--without-node`, which has no `node`).
PAGE = (
    "{ dossiers(first: 50) { pageInfo { hasNextPage endCursor } "
    f"edges {{ node {{ {FIELDS} }} }} }} }}"
)
PAGE_TARGET = "dossiers(first: 50) (a page)"


async def _arrange(resources) -> str:
    """A province, an agency and 50 received dossiers: the first dossier's global id."""
    from eiso.core.dossiers.models import Dossier
    from eiso.core.global_ids import encode_id
    from eiso.tenants.models import AgencyKind
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import ensure_agency, ensure_province

    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, "BENCHN", "Tỉnh Đo Nút")
        agency = await ensure_agency(
            session, province, "BN.001", "Ủy ban nhân dân xã Tiên Yên", AgencyKind.commune
        )
        dossiers = [
            Dossier(
                province_id=province.id,
                agency_id=agency.id,
                code=f"BN.001-261205-{number:04d}",
                lookup_hash="0" * 64,
                procedure_code="1.000001",
                status=2,
            )
            for number in range(1, 51)
        ]
        session.add_all(dossiers)
        dossier = dossiers[0]
    return encode_id("Dossier", province.id, dossier.id)


async def _rounds(requests: int, rounds: int, targets: dict[str, str]) -> dict[str, list[Run]]:

    from eiso.core.app import create_app
    from eiso.core.resources import Resources
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        settings = quiet_settings(url)
        resources = Resources.open(settings)
        dossier_id = await _arrange(resources)
        token = await signed_in.user_token(
            resources, username="can-bo-nut", role="officer", agency_code="BN.001"
        )
        app = create_app(settings, resources)  # the production authenticator
        results: dict[str, list[Run]] = {name: [] for name in targets}
        async with signed_in.client_of(app, token) as http:

            async def ask(query: str) -> dict:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": {"id": dossier_id}}
                )
                body = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise SystemExit(f"failed answer: {response.status_code} {body}")
                return next(iter(body["data"].values()))

            if "node(id:)" in targets:
                typed, node = [await ask(query) for query in TARGETS.values()]
                if typed != node or typed["id"] != dossier_id:
                    raise SystemExit(f"the answers differ:\n{typed}\n{node}")
            for query in targets.values():  # warm up: caches, connections
                for _ in range(50):
                    await ask(query)
            for _ in range(rounds):
                for name, query in targets.items():
                    results[name].append(await timed(functools.partial(ask, query), requests))
        await resources.close()
    return results


def bench_node(requests: int, rounds: int, with_node: bool = True) -> dict[str, float]:
    targets = {**(TARGETS if with_node else {}), PAGE_TARGET: PAGE}
    if not with_node:
        targets = {next(iter(TARGETS)): TARGETS[next(iter(TARGETS))], **targets}
    results = asyncio.run(_rounds(requests, rounds, targets))
    print(
        f"node(id:) against dossier(id:), {requests} requests x {rounds} rounds in process "
        "(SQLite), medians"
    )
    per_cpu = print_medians(results)
    if with_node:
        typed, node = per_cpu["dossier(id:) (typed lookup)"], per_cpu["node(id:)"]
        print(f"  node(id:) takes {typed / node:.2f}x the typed lookup's CPU time per request")
    return per_cpu


def main(argv: list[str] | None = None) -> None:
    parser = rounds_parser(__doc__)
    parser.add_argument(
        "--without-node", action="store_true", help="for a checkout before Relay's node(id:)"
    )
    args = parser.parse_args(argv)
    bench_node(args.requests, args.rounds, not args.without_node)


if __name__ == "__main__":
    main()
