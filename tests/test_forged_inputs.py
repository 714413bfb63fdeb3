"""What the GraphQL fuzzing (tests/resilience/) and its follow-up probes found: values a
client forges inside opaque strings and JSON reached the database and answered
INTERNAL_ERROR. Each is now the client's error (BAD_INPUT naming the field, or NOT_FOUND)."""

from __future__ import annotations

import base64
import logging

import orjson
import pytest

from eiso.core.errors import NotFound
from eiso.core.global_ids import MAX_ROW_ID, decode_id, encode_id
from tests.test_dossier_engine import PROC
from tests.test_dossier_graphql import Caller, app, officer_of  # noqa: F401 - the fixture
from tests.test_input_hygiene import refused

TOO_BIG = MAX_ROW_ID + 1
# Sort keys a cursor may carry in place of (text, integer) or (integer, integer).
FORGED_KEYS = [
    ["a", "b"],
    [{"x": 1}, 1],
    [1.5, 2],
    [True, None],
    [TOO_BIG, 1],
    [1, -TOO_BIG],
    ["x\x00", 1],
]
# The dossiers' list sorts by when each was received: its cursor's moment must be one the
# database holds.
MOMENTS = [
    ["0001-01-01T00:00:00+23:59", 1],  # before year 1 in UTC
    ["9999-12-31T23:59:59-23:59", 1],  # after year 9999 in UTC
    ["yesterday", 1],
]
LISTS = [
    "provinces",
    "agencies",
    "procedures",
    "dossiers",
    "documents",
    "nonconformities",
    "risks",
    "objectives",
    "figureDossiers(metric: RECEIVED, period: {year: 2026}, ",
]


def cursor(key: list) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode()


@pytest.fixture
async def officer(app, resources, callers):  # noqa: F811 - the fixture imported above
    return Caller(app, callers.issue(await officer_of(resources, "Cô Tô")))


async def refused_on(officer, lists: list[str], key: list) -> None:
    for field in lists:
        opened = field if field.endswith(", ") else f"{field}("
        for direction, extra in (("after", ""), ("before", ", last: 2")):
            body = await officer(
                f'{{ {opened}{direction}: "{cursor(key)}"{extra}) {{ totalCount }} }}'
            )
            refused(body, "BAD_INPUT", direction)


@pytest.mark.parametrize("key", FORGED_KEYS, ids=repr)
async def test_a_forged_cursor_is_bad_input_on_every_list(officer, key):
    await refused_on(officer, LISTS, key)


@pytest.mark.parametrize("key", MOMENTS, ids=repr)
async def test_a_dossier_cursor_out_of_the_calendar_is_bad_input(officer, key):
    await refused_on(officer, ["dossiers"], key)


@pytest.mark.parametrize(
    "raw", [f"Dossier:1:{TOO_BIG}", f"Dossier:{TOO_BIG}:1", f"Dossier:1:{-TOO_BIG}"]
)
async def test_an_id_beyond_64_bits_is_not_found(officer, raw):
    forged = base64.urlsafe_b64encode(raw.encode()).decode()
    with pytest.raises(NotFound):
        decode_id(forged, "Dossier")
    for query in ("{ node(id: $id) { id } }", "{ dossier(id: $id) { id } }"):
        body = await officer(query.replace("{", "query($id: ID!) {", 1), {"id": forged})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"], body
    assert decode_id(encode_id("Dossier", 1, MAX_ROW_ID), "Dossier") == (1, MAX_ROW_ID)


@pytest.mark.parametrize(
    "units", [[1], "x", {"tiep-nhan": [1]}, {"tiep-nhan": "1"}, {"a": True}, {"a": TOO_BIG}]
)
async def test_step_units_must_map_steps_to_unit_ids(officer, units):
    body = await officer(
        "mutation($u: JSON) { adoptProcedure(procedureCode: $p, stepUnits: $u) { code } }".replace(
            "$p", f'"{PROC}"'
        ),
        {"u": units},
    )
    refused(body, "BAD_INPUT", "stepUnits")


async def test_a_clients_mistake_logs_no_traceback(officer, caplog):
    """Strawberry logged every error at ERROR with its traceback: only bugs are logged now."""
    with caplog.at_level(logging.DEBUG):
        body = await officer('{ dossier(id: "nope") { id } }')
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
        body = await officer("{ dossier { id } }")
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        body = await officer("query($n: Int) { dossiers(first: $n) { totalCount } }", {"n": 1e23})
        assert body["errors"][0]["extensions"]["code"] == "VARIABLE_INVALID"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
