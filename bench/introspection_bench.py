"""The standard introspection query per second, cold and cached, against `{ version }` in the
same run, through the whole app in-process (ASGI, no sockets: the figures are the server's
CPU cost per request, without the network).

- `{ version }`: the baseline, a one-field query (its parse and validation cached);
- introspection, cached: graphql-js's `getIntrospectionQuery()` with every option, its
  answer cached per schema (graphql/server/execution.py);
- introspection, answer cache cleared before each request: parsed and validated (cached per
  text), costed, executed;
- introspection, cold: both caches cleared before each request: parsed, validated (the
  introspection cost walk included), executed.

Anonymous caller (the core schema). Rounds interleaved, median of the rounds.

    python -m bench.introspection_bench [--seconds 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from eiso.graphql.server.introspection import STANDARD_QUERY

BASELINE = "{ version }"


async def _rate(
    client: httpx.AsyncClient, query: str, seconds: float, before: Callable[[], None]
) -> float:
    """Requests per second answered during `seconds` (the first answer checked: the client
    does not parse the others, its JSON parsing is not the server's cost)."""
    body = {"query": query}
    answer = (await client.post("/graphql", json=body)).json()
    assert "errors" not in answer and answer["data"], answer
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        before()
        response = await client.post("/graphql", json=body)
        assert response.status_code == 200
        done += 1
    return done / elapsed


async def _run(seconds: float, rounds: int) -> dict[str, list[float]]:
    from eiso.core.app import create_app
    from eiso.core.settings import load_settings
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        settings = load_settings(database_url=url, env="prod", secret_key="bench-" + "x" * 32)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            schema = app.state.schemas.get(())  # the anonymous caller's

            def nothing() -> None:
                pass

            def clear_answers() -> None:
                schema.introspection_answers.clear()

            def clear_all() -> None:
                schema.introspection_answers.clear()
                schema.prepared.cache_clear()

            targets: dict[str, tuple[str, Callable[[], None]]] = {
                "{ version } (baseline)": (BASELINE, nothing),
                "introspection, cached": (STANDARD_QUERY, nothing),
                "introspection, answer cache cleared": (STANDARD_QUERY, clear_answers),
                "introspection, cold (all caches cleared)": (STANDARD_QUERY, clear_all),
            }
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for query, _ in targets.values():  # warm up: imports, first schema build
                    await _rate(client, query, 0.2, nothing)
                results: dict[str, list[float]] = {name: [] for name in targets}
                for _ in range(rounds):
                    for name, (query, before) in targets.items():
                        results[name].append(await _rate(client, query, seconds, before))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    results = asyncio.run(_run(args.seconds, args.rounds))
    medians = {name: statistics.median(rates) for name, rates in results.items()}
    base = next(iter(medians.values()))
    print(
        f"standard introspection query, in-process, {args.rounds} rounds of {args.seconds:g} s, "
        "medians"
    )
    print(f"  {'':42s} {'req/s':>8s} {'ratio':>6s}  {'ms/req':>7s}  rounds (req/s)")
    for name, rates in results.items():
        rounds = " ".join(f"{r:.0f}" for r in rates)
        print(
            f"  {name:42s} {medians[name]:8.0f} {medians[name] / base:5.2f}x "
            f"{1000 / medians[name]:7.2f}  {rounds}"
        )


if __name__ == "__main__":
    main()
