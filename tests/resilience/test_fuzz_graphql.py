"""GraphQL fuzzing with schemathesis against a live server: `eiso serve`'s app in a uvicorn
process of its own on a throwaway PostgreSQL database loaded by `eiso demo`, with real Redis.

Queries and mutations generated from the schema each caller is shown (introspection, per
province), with a fixed seed: 1,000 anonymous and 2,000 signed in (500 each as a demo
officer, ISO secretary, province and national administrator, signed in through the demo web
client). Arguments of type `ID` are drawn half from the ids the demo data has, so resolvers
run past "not found". Every answer must be a GraphQL response, never HTTP 5xx, never
`INTERNAL_ERROR`: a client's mistake has its own code. The findings are collected, not
raised, so one run reports them all (and Hypothesis does not spend minutes shrinking).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

import graphql
from eiso.core.auth.principal import SCOPES
from eiso.core.settings import load_settings
from tests.conftest import REDIS_URL, create_database
from tests.test_demo import DEMO_TIMEOUT, demo_officer_token, eiso
from tests.worker_process import worker_process
from tests.ws_client import free_port

# The timeout covers `eiso demo` and the start on a loaded machine (a few minutes in CI).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.only_backend("postgresql+redis"),
    pytest.mark.timeout(1500),
]

SEED = 20261205
ANONYMOUS_CASES = 1000
# Signed-in callers: demo accounts (core/demo/load.py) and the cases each one sends.
SIGNED_IN = {
    "chuyenvien.halong": 500,  # officer of a commune
    "thuky.soxaydung.qn": 500,  # ISO secretary of a department
    "quantri.quangninh": 500,  # province administrator
    "quantri.quocgia": 500,  # national administrator
}
SERVER = "from eiso.core.app import asgi as app\n"
# The keys of the JSON objects drawn for `JSON` arguments (sector data, step data, config).
JSON_KEYS = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)


@dataclasses.dataclass
class Tally:
    """What one caller's run saw: cases sent, error codes, and the findings (with a sample)."""

    cases: int = 0
    codes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    findings: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    def finding(self, label: str, what: str, query: str, answer: str) -> None:
        self.findings.setdefault(f"{label}: {what}", (query, answer[:500]))


@pytest_asyncio.fixture(scope="module")
async def live(backend, tmp_path_factory) -> AsyncIterator[str]:
    """`eiso demo` on a fresh database (mutations may change anything in it), then the app
    served on it with the issuer set to its own address; yields the base URL."""
    database = await create_database("postgresql", tmp_path_factory)
    prefix = f"eiso-test-fuzz-{secrets.token_hex(4)}:"
    env = {
        "EISO_DATABASE_URL": database.app_url,
        "EISO_MIGRATION_DATABASE_URL": database.owner_url,
        "EISO_REDIS_URL": REDIS_URL,
        "EISO_REDIS_PREFIX": prefix,
        "EISO_LOG_JSON": "false",
    }
    settings_ = load_settings(
        env="test", database_url=database.app_url, redis_url=REDIS_URL, redis_prefix=prefix
    )
    port = free_port()
    issuer = {"EISO_ISSUER": f"http://127.0.0.1:{port}"}
    try:
        loaded = await asyncio.to_thread(eiso, "demo", env=env, timeout=DEMO_TIMEOUT)
        assert loaded.returncode == 0, loaded.stderr
        async with worker_process(
            tmp_path_factory.mktemp("fuzz"),
            "fuzz_server",
            SERVER,
            settings_,
            plugins=None,
            port=port,
            extra_env=issuer,
        ) as url:
            yield url
    finally:
        await database.drop()
        await _forget_keys(prefix)


async def _forget_keys(prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        async for key in client.scan_iter(match=prefix + "*", count=500):
            await client.delete(key)
    finally:
        await client.aclose()


def json_values() -> st.SearchStrategy[graphql.ValueNode]:
    leaves = st.one_of(
        st.just(nodes.Null),
        st.booleans().map(nodes.Boolean),
        st.integers().map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.text().map(nodes.String),
    )

    def objects(values: dict[str, graphql.ValueNode]) -> graphql.ValueNode:
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                for k, v in values.items()
            ]
        )

    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(nodes.List),
            st.dictionaries(JSON_KEYS, inner, max_size=4).map(objects),
        ),
        max_leaves=10,
    )


def known_ids(http: httpx.Client, url: str, headers: dict[str, str]) -> set[str]:
    """The ids this caller can list: every root field without required arguments that
    returns a connection (`edges { node { id } }`) or an object with an `id`."""
    answer = http.post(url, json={"query": graphql.get_introspection_query()}, headers=headers)
    schema = graphql.build_client_schema(answer.json()["data"])
    assert schema.query_type is not None
    ids: set[str] = set()
    for name, field in schema.query_type.fields.items():
        target = graphql.get_named_type(field.type)
        if any(graphql.is_required_argument(a) for a in field.args.values()) or not isinstance(
            target, graphql.GraphQLObjectType
        ):
            continue
        if "edges" in target.fields:
            query = f"{{ {name} {{ edges {{ node {{ id }} }} }} }}"
        elif "id" in target.fields:
            query = f"{{ {name} {{ id }} }}"
        else:
            continue
        _collect_ids(http.post(url, json={"query": query}, headers=headers).json(), ids)
    return ids


def _collect_ids(value: object, into: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                into.add(item)
            else:
                _collect_ids(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect_ids(item, into)


def check(tally: Tally, label: str, query: str, response: httpx.Response) -> None:
    if response.status_code >= 500:
        tally.finding(label, f"HTTP {response.status_code}", query, response.text)
        return
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        tally.finding(label, "not JSON", query, response.text)
        return
    if not errors:
        tally.codes["(no error)"] += 1
    for error in errors:
        code = (error.get("extensions") or {}).get("code", "no code")
        tally.codes[code] += 1
        if code in ("INTERNAL_ERROR", "no code"):
            tally.finding(label, f"{code} at {error.get('path')}", query, response.text)


def fuzz(url: str, headers: dict[str, str], cases: int, ids: list[str]) -> Tally:
    """`cases` generated operations sent to `url` with `headers`; what they answered."""
    tally = Tally()
    generated = st.text(max_size=40)
    schemathesis.graphql.scalar("JSON", json_values())
    schemathesis.graphql.scalar(
        "ID", (st.sampled_from(ids) | generated if ids else generated).map(nodes.String)
    )
    schema = schemathesis.graphql.from_url(url, headers=headers, timeout=60)
    with httpx.Client(timeout=60) as http:

        @seed(SEED)
        @settings(
            max_examples=cases,
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=schema.as_strategy())
        def send(case) -> None:
            tally.cases += 1
            response = http.post(url, json={"query": case.body}, headers=headers)
            check(tally, case.operation.label, case.body, response)

        send()
    return tally


async def sign_in(base: str, username: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        scope = " ".join(("openid", "profile", *SCOPES))
        return {"authorization": "Bearer " + await demo_officer_token(http, username, scope)}


async def test_fuzzed_queries_and_mutations_never_fail_the_server(live):
    url = live + "/graphql"
    callers: dict[str, tuple[dict[str, str], int]] = {"anonymous": ({}, ANONYMOUS_CASES)}
    for username, cases in SIGNED_IN.items():
        callers[username] = (await sign_in(live, username), cases)
    started = time.monotonic()
    tallies: dict[str, Tally] = {}
    for name, (headers, cases) in callers.items():
        with httpx.Client(timeout=60) as http:
            ids = sorted(known_ids(http, url, headers))
        tallies[name] = await asyncio.to_thread(fuzz, url, headers, cases, ids)
    seconds = time.monotonic() - started
    findings = {f"{name}: {k}": v for name, t in tallies.items() for k, v in t.findings.items()}
    # The figures docs/operating.md reports (shown with `pytest -s`).
    for name, tally in tallies.items():
        print(f"fuzz {name}: {tally.cases} cases, codes {dict(tally.codes.most_common())}")
    print(f"fuzz: {sum(t.cases for t in tallies.values())} cases in {seconds:.0f} s")
    assert not findings, "\n".join(f"{k}\n  {q}\n  -> {a}" for k, (q, a) in findings.items())
    assert tallies["anonymous"].cases >= ANONYMOUS_CASES
    assert sum(tallies[u].cases for u in SIGNED_IN) >= sum(SIGNED_IN.values())
    # Signed in, the token held throughout and operations ran to the end.
    for username in SIGNED_IN:
        codes = tallies[username].codes
        assert "UNAUTHENTICATED" not in codes and codes["(no error)"] > 0, codes
