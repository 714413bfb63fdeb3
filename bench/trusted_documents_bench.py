"""Trusted documents: a registered document called by its hash against the same operation
sent as text, in the same run, in-process (the app's ASGI callable driven directly, no
socket: what is measured is the server's own work per request, the part the hash changes).

Targets, for a small document (`query Version { version }`) and a larger one (a named query
with a fragment and a variable, as code generators emit):
- the text, as every client sends it today (baseline);
- Apollo's persisted-query extension, hash only;
- `documentId: "sha256:..."`;
- with `EISO_GRAPHQL_TRUSTED_ONLY`: by hash, and the registered text sent in full (the server
  hashes it to check it is registered).
After a warm-up, rounds interleave the targets; the median of the rounds is reported.

    python -m bench.trusted_documents_bench [--requests 3000] [--rounds 5]
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import wrk
from bench.common import asgi_call, post_scope

SMALL = "query Version { version }"
LARGE = """query PageShape($name: String!) {
  version
  activeModules
  shape: __type(name: $name) {
    ...TypeShape
  }
}

fragment TypeShape on __Type {
  name
  kind
  description
  fields {
    name
    description
    isDeprecated
    type {
      name
      kind
      ofType {
        name
        kind
      }
    }
  }
}
"""
VARIABLES = {"name": "PageInfo"}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _bodies(text: str) -> dict[str, bytes]:
    variables = VARIABLES if "$name" in text else None
    hexdigest = _sha(text)
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hexdigest}}
    return {
        "text": orjson.dumps({"query": text, "variables": variables}),
        "hash (Apollo extension)": orjson.dumps({"extensions": persisted, "variables": variables}),
        "hash (documentId)": orjson.dumps(
            {"documentId": "sha256:" + hexdigest, "variables": variables}
        ),
    }


async def _call(app: Any, body: bytes) -> tuple[int, bytes]:
    return await asgi_call(app, post_scope("/graphql", body), body)


async def _timed(app: Any, body: bytes, requests: int) -> float:
    """CPU seconds per request (the process's: one thread, no other work)."""
    started = time.process_time()
    for _ in range(requests):
        await _call(app, body)
    return (time.process_time() - started) / requests


async def _open_app(url: str, *, only: bool) -> tuple[Any, Any, Callable[[], Any]]:
    from eiso.core.app import create_app
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.resources import Resources
    from eiso.core.settings import load_settings

    settings = load_settings(
        env="prod",
        secret_key="bench-" + "x" * 32,
        issuer="https://eiso.example",
        database_url=url,
        log_level="WARNING",
        graphql_trusted_only=only,
        plugins=[],
    )
    resources = Resources.open(settings)
    app = create_app(settings, resources, plugins=PluginRegistry())
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()

    async def close() -> None:
        await lifespan.__aexit__(None, None, None)
        await resources.close()

    return app, resources, close


async def _register(resources: Any, texts: list[str]) -> None:
    from eiso.core import trusted_documents as store
    from eiso.core.trusted_documents import NewDocument
    from eiso.tenants.scope import TenantScope

    async with resources.session(TenantScope.nation()) as session, session.begin():
        await store.store(
            session,
            [NewDocument(text, ("bench",)) for text in texts],
            client="bench",
            actor="bench",
        )


async def bench(requests: int, rounds: int) -> dict[str, dict[str, float]]:
    from eiso.infra import migrate

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        open_app, resources, close_open = await _open_app(url, only=False)
        only_app, _only_resources, close_only = await _open_app(url, only=True)
        try:
            await _register(resources, [SMALL, LARGE])
            targets: dict[str, dict[str, tuple[Any, bytes]]] = {}
            for label, text in (("small", SMALL), ("large", LARGE)):
                bodies = _bodies(text)
                targets[label] = {name: (open_app, body) for name, body in bodies.items()}
                targets[label]["trusted-only: hash"] = (only_app, bodies["hash (documentId)"])
                targets[label]["trusted-only: registered text"] = (only_app, bodies["text"])
                await _check_same_answers(targets[label])
            sizes = {
                label: {name: len(body) for name, (_app, body) in named.items()}
                for label, named in targets.items()
            }
            results: dict[str, dict[str, list[float]]] = {
                label: {name: [] for name in named} for label, named in targets.items()
            }
            for named in targets.values():  # warm-up: caches filled, code paths loaded
                for app, body in named.values():
                    await _timed(app, body, max(requests // 10, 1))
            for _ in range(rounds):
                for label, named in targets.items():
                    for name, (app, body) in named.items():
                        results[label][name].append(await _timed(app, body, requests))
        finally:
            await close_only()
            await close_open()
    return _report(results, sizes, requests, rounds)


async def _check_same_answers(named: dict[str, tuple[Any, bytes]]) -> None:
    answers = {name: await _call(app, body) for name, (app, body) in named.items()}
    first = next(iter(answers.values()))
    for name, answer in answers.items():
        if answer != first or answer[0] != 200:
            raise SystemExit(f"{name} answers {answer}, the text {first}")


def _report(
    results: dict[str, dict[str, list[float]]],
    sizes: dict[str, dict[str, int]],
    requests: int,
    rounds: int,
) -> dict[str, dict[str, float]]:
    print(f"trusted documents, in-process, {requests} requests x {rounds} rounds, medians")
    medians: dict[str, dict[str, float]] = {}
    for label, named in results.items():
        medians[label] = {name: statistics.median(runs) for name, runs in named.items()}
        baseline = medians[label]["text"]
        print(f"  {label} document:")
        for name, seconds in medians[label].items():
            print(
                f"    {name:30s} {sizes[label][name]:4d} B body {seconds * 1e6:7.1f} µs CPU/req "
                f"{1 / seconds:7.0f} req/CPU s {baseline / seconds:5.2f}x the text's rate"
            )
    return medians


def main(argv: list[str] | None = None) -> None:
    parser = wrk.rounds_parser(__doc__, requests=3000)
    args = parser.parse_args(argv)
    asyncio.run(bench(args.requests, args.rounds))


if __name__ == "__main__":
    main()
