"""The HTTP surface of the foundation: health, readiness, metrics, GraphQL, request ids."""

import orjson
import pytest

from eiso.core.app import create_app
from eiso.core.resources import Resources
from eiso.core.settings import load_settings


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_and_redis(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def _readyz(database_url: str, redis_url: str):
    import httpx

    settings = load_settings(env="test", database_url=database_url, redis_url=redis_url)
    resources = Resources.open(settings)
    app = create_app(settings, resources)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            app.state.resources = resources
            return await http.get("/readyz")
    finally:
        await resources.close()


async def test_readyz_keeps_the_node_in_rotation_with_redis_down(database):
    """Redis down is degraded service, not an outage: 200, and the body says what is down."""
    response = await _readyz(database.app_url, "redis://127.0.0.1:1/0")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("degraded: ")


async def test_readyz_takes_the_node_out_without_its_database(tmp_path):
    response = await _readyz("postgresql://eiso@127.0.0.1:1/eiso", "memory://readyz-no-db")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["redis"] == "ok"
    assert body["checks"]["database"].startswith("failed: ")


async def test_graphql_version_by_post_and_get(client):
    from eiso.core import __version__

    response = await client.post("/graphql", json={"query": "{ version }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"version": __version__}}
    response = await client.get("/graphql", params={"query": "{ version }"})
    assert response.json() == {"data": {"version": __version__}}


async def test_graphql_path_answers_post_without_redirect(client):
    response = await client.post("/graphql", json={"query": "{ version }"}, follow_redirects=False)
    assert response.status_code == 200


async def test_request_id_is_echoed_or_made(client):
    response = await client.get("/healthz", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 16
    response = await client.get("/healthz", headers={"x-request-id": "x" * 70})
    assert response.headers["x-request-id"] == "x" * 64  # kept up to 64 characters
    for unusable in ("a b", "id;drop", "mã-số"):  # not letters, digits and `-`: replaced
        response = await client.get("/healthz", headers={"x-request-id": unusable.encode()})
        assert (
            response.headers["x-request-id"] != unusable
            and len(response.headers["x-request-id"]) == 16
        )


def test_log_lines_of_a_request_carry_its_id():
    import logging

    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from eiso.core.http.edge import EdgeStarlette
    from eiso.core.logs import JsonFormatter

    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(JsonFormatter().format(record))

    async def noisy(request):
        logging.getLogger("eiso.test").warning("đang xử lý")
        return PlainTextResponse("ok")

    logger = logging.getLogger("eiso.test")
    logger.addHandler(handler := Keep())
    try:
        with TestClient(EdgeStarlette(routes=[Route("/noisy", noisy)])) as http:
            made = http.get("/noisy").headers["x-request-id"]
            http.get("/noisy", headers={"x-request-id": "trace-7"})
    finally:
        logger.removeHandler(handler)
    assert [orjson.loads(line)["request_id"] for line in lines] == [made, "trace-7"]


async def test_metrics_in_prometheus_text(client):
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'eiso_http_requests_total{method="GET",route="healthz",status="200"}' in response.text


def _sample(text: str, line_start: str) -> float:
    return float(
        next(line for line in text.splitlines() if line.startswith(line_start)).rsplit(" ", 1)[1]
    )


async def test_request_metrics_count_every_request_into_cumulative_buckets(client):
    """The counter and the histogram agree: +Inf holds every request, buckets never decrease."""
    before = (await client.get("/metrics")).text
    for _ in range(3):
        await client.get("/readyz")
    text = (await client.get("/metrics")).text
    total = 'eiso_http_requests_total{method="GET",route="readyz",status="'
    counted = sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(total)
    )
    earlier = sum(
        float(line.rsplit(" ", 1)[1]) for line in before.splitlines() if line.startswith(total)
    )
    assert counted - earlier == 3
    buckets = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("eiso_http_request_duration_seconds_bucket") and 'route="readyz"' in line
    ]
    assert len(buckets) == 12 and buckets == sorted(buckets)
    count = _sample(text, 'eiso_http_request_duration_seconds_count{method="GET",route="readyz"}')
    assert buckets[-1] == count == counted
    assert _sample(text, 'eiso_http_request_duration_seconds_sum{method="GET",route="readyz"}') > 0


async def test_graphiql_only_in_dev(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()  # the test app runs with EISO_ENV=test


@pytest.mark.parametrize("origin_allowed", [True, False])
async def test_cors_only_for_configured_origins(resources, origin_allowed):
    import httpx

    origins = ["https://portal.example"] if origin_allowed else []
    settings = resources.settings.model_copy(update={"cors_origins": origins})
    app = create_app(settings, resources)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        response = await http.options(
            "/graphql",
            headers={"origin": "https://portal.example", "access-control-request-method": "POST"},
        )
    allowed = response.headers.get("access-control-allow-origin")
    assert (allowed == "https://portal.example") is origin_allowed


async def test_errors_carry_a_stable_code(client):
    response = await client.post("/graphql", json={"query": "{ nope }"})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_cors_without_origin_only_varies_and_with_origin_allows():
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from eiso.core.http.edge import EdgeStarlette

    async def ping(request):
        return PlainTextResponse("ok", headers={"vary": "Accept"})

    app = EdgeStarlette(
        routes=[Route("/ping", ping)],
        cors={"allow_origins": ["https://qms.example.gov.vn"], "allow_credentials": True},
    )
    with TestClient(app) as http:
        plain = http.get("/ping")
        assert plain.headers["vary"] == "Accept, Origin"  # two field lines, one list
        assert "access-control-allow-origin" not in plain.headers
        allowed = http.get("/ping", headers={"origin": "https://qms.example.gov.vn"})
        assert allowed.headers["access-control-allow-origin"] == "https://qms.example.gov.vn"
        assert allowed.headers["vary"] == "Accept, Origin"  # Starlette's CORS, joined
        other = http.get("/ping", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = http.options(
            "/ping",
            headers={
                "origin": "https://qms.example.gov.vn",
                "access-control-request-method": "GET",
            },
        )
        assert preflight.status_code == 200 and preflight.headers["x-request-id"]
        assert http.get("/ping").headers["x-request-id"] != plain.headers["x-request-id"]
    with TestClient(EdgeStarlette(routes=[Route("/ping", ping)])) as http:  # no CORS: no Vary added
        plain = http.get("/ping")
        assert plain.headers["vary"] == "Accept" and plain.headers["x-request-id"]


def test_an_unhandled_error_is_a_500_with_the_request_id_and_counted():
    """The edge is Starlette's ServerErrorMiddleware too: its 500 page, then the error goes on."""
    from prometheus_client import REGISTRY
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from eiso.core.http.edge import EdgeStarlette

    async def broken(request):
        raise RuntimeError("hỏng")

    def failures() -> float:
        return (
            REGISTRY.get_sample_value(
                "eiso_http_requests_total", {"method": "GET", "route": "broken", "status": "500"}
            )
            or 0.0
        )

    before = failures()
    with TestClient(
        EdgeStarlette(routes=[Route("/broken", broken)]), raise_server_exceptions=False
    ) as http:
        response = http.get("/broken", headers={"x-request-id": "trace-42"})
    assert response.status_code == 500 and response.text == "Internal Server Error"
    assert response.headers["x-request-id"] == "trace-42"
    assert failures() == before + 1
    with (
        TestClient(EdgeStarlette(routes=[Route("/broken", broken)])) as http,
        pytest.raises(RuntimeError, match="hỏng"),
    ):
        http.get("/broken")
