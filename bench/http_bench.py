"""The production middleware stack around a trivial route, against the same route bare.

The stack is what eiso's app (`eiso.core.http.edge.EdgeStarlette`) puts around every route
(request id, logging context, Prometheus metrics, CORS with an allowed origin configured, and
without: the default), measured with `wrk`
on one core and uvicorn on the other, interleaved in the same run. A third target adds the
signed cookie session that only the sign-in routes carry (`with_session`). Goal: the stack
keeps at least 0.8x of the bare app's throughput.

    python -m bench.http_bench [--seconds 4] [--connections 16] [--rounds 3]
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from bench import wrk
from bench.common import server_env
from bench.graphql_bench import report

WORKERS = textwrap.dedent('''
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from eiso.core.app import cors_options, with_session
    from eiso.core.http.edge import EdgeStarlette
    from eiso.core.settings import get_settings

    async def ping(request):
        return Response(b'{"ok":true}', media_type="application/json")

    def routes():
        return [Route("/ping", ping)]

    def bare():
        return Starlette(routes=routes())

    def stacked():
        return EdgeStarlette(routes=routes(), cors=cors_options(get_settings()))

    def stacked_same_origin():
        """The default configuration: no CORS origins (the frontend served from the same origin)."""
        return EdgeStarlette(routes=routes())

    def stacked_session():
        settings = get_settings()
        return EdgeStarlette(routes=with_session(settings, routes()), cors=cors_options(settings))
''')


def bench_stack(seconds: int, connections: int, rounds: int) -> dict[str, float] | None:
    if not wrk.available():
        print("middleware stack: skipped, `wrk` is not installed (apt-get install wrk)")
        return None
    targets = {
        "bare Starlette app": "bare",
        "production middleware stack": "stacked",
        "stack, no CORS origins (default)": "stacked_same_origin",
        "stack + session (sign-in routes)": "stacked_session",
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "workers.py").write_text(WORKERS)
        env = server_env(
            CORS_ORIGINS='["https://qms.example.gov.vn"]',
        )
        results = wrk.interleaved(
            targets,
            rounds,
            lambda factory: wrk.throughput(
                folder, factory, env, path="/ping", seconds=seconds, connections=connections
            ),
        )
    return report(
        f"GET /ping, {wrk.setting(connections, seconds, rounds)}",
        results,
    )


def main(argv: list[str] | None = None) -> None:
    wrk.load_cli(argv, __doc__, bench_stack, seconds=4, connections=16)


if __name__ == "__main__":
    main()
