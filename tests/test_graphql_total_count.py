"""A connection counts its rows only when the query reads `totalCount` (issue 18): a page that
reads its edges and pageInfo alone (the ISO workspace's registers, web/iso_workspace.py) sends
no COUNT statement, and a query that asks for the total still gets it right. The statements
are those the app's engine sends (`before_cursor_execute`)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from eiso.core.auth.principal import Principal, Role
from tests.test_qms_api import call
from tests.test_qms_documents import make_agency, scope

# Every keyset (`@paged`) connection but `dossiers` (tests/test_dossier_graphql.py), one row
# a page so that the total is more than the page.
CONNECTIONS = {
    "provinces": "provinces(first: 1)",
    "agencies": "agencies(first: 1)",
    "procedures": "procedures(first: 1)",
    "documents": "documents(first: 1)",
    "modelDocuments": "modelDocuments(first: 1)",
    "nonconformities": "nonconformities(first: 1)",
    "risks": "risks(first: 1)",
    "auditProgrammes": "auditProgrammes(first: 1)",
    "figureDossiers": "figureDossiers(metric: RECEIVED, period: {year: 2026}, first: 1)",
    "objectives": "objectives(first: 1)",
    "reviewFlags": "reviewFlags(first: 1)",
    "managementReviews": "managementReviews(first: 1)",
}
PAGE = "edges { cursor node { __typename } } pageInfo { hasNextPage endCursor }"


class Sent:
    """The statements the app's engines (its pool and its read pool on PostgreSQL) send
    while in use, and the COUNTs among them."""

    def __init__(self, resources) -> None:
        engines = (resources.engine, resources.read_engine)
        self.engines = [e.sync_engine for e in engines if e is not None]
        self.statements: list[str] = []

    def __enter__(self) -> Sent:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._statement)

    def _statement(self, _connection, _cursor, statement, *_rest) -> None:
        self.statements.append(statement)

    @property
    def counts(self) -> list[str]:
        return [s for s in self.statements if "count(*)" in s.lower()]


@pytest.fixture
async def keeper(resources):
    agency = await make_agency(resources)
    roles = frozenset({Role.iso_secretary, Role.leader, Role.auditor, Role.officer})
    return Principal(
        f"keeper-{agency.code}",
        scope(agency),
        roles,
        province_id=agency.province_id,
        agency_id=agency.id,
    )


async def _fill(client, callers, keeper) -> None:
    """Three documents and two nonconformities in the keeper's agency."""
    for n in range(3):
        _, errors = await call(
            client,
            callers,
            keeper,
            "mutation($code: String!) { createDocument(kind: PROCEDURE, code: $code, "
            'title: "Quy trình") { id } }',
            code=f"QT-{n}",
        )
        assert not errors
    for n in range(2):
        _, errors = await call(
            client,
            callers,
            keeper,
            "mutation($t: String!) { raiseNonconformity(title: $t) { id } }",
            t=f"Trễ hẹn {n}",
        )
        assert not errors


@pytest.mark.parametrize("field", list(CONNECTIONS))
async def test_a_page_without_total_count_sends_no_count(client, callers, keeper, resources, field):
    await _fill(client, callers, keeper)
    with Sent(resources) as sent:
        data, errors = await call(
            client, callers, keeper, f"{{ {CONNECTIONS[field]} {{ {PAGE} }} }}"
        )
    assert not errors and "totalCount" not in data[field]
    assert sent.statements  # the page was read through the engine watched
    assert sent.counts == [], sent.counts


async def test_the_iso_registers_pages_send_no_count(client, callers, keeper, resources):
    """The four register pages of the ISO workspace as it asks for them (edges and pageInfo
    only: its operations' totalCount left out here, web/iso_workspace.py reads none)."""
    await _fill(client, callers, keeper)
    fields = " ".join(
        f"{name}: {CONNECTIONS[name]} {{ {PAGE} }}"
        for name in ("documents", "nonconformities", "objectives", "risks")
    )
    query = f"{{ {fields} }}"
    with Sent(resources) as sent:
        data, errors = await call(client, callers, keeper, query)
    assert not errors
    assert [len(data[name]["edges"]) for name in ("documents", "nonconformities")] == [1, 1]
    assert data["documents"]["pageInfo"]["hasNextPage"] is True
    assert sent.counts == [], sent.counts


@pytest.mark.parametrize(("field", "total"), [("documents", 3), ("nonconformities", 2)])
async def test_total_count_is_counted_when_asked(client, callers, keeper, resources, field, total):
    await _fill(client, callers, keeper)
    connection = CONNECTIONS[field]
    with Sent(resources) as sent:
        data, errors = await call(
            client, callers, keeper, f"{{ {connection} {{ totalCount {PAGE} }} }}"
        )
    assert not errors
    assert data[field]["totalCount"] == total and len(data[field]["edges"]) == 1
    assert len(sent.counts) == 1, sent.counts
    # Through a fragment, and the next page counted the same.
    after = data[field]["pageInfo"]["endCursor"]
    query = (
        "query($after: String) { %s(first: 1, after: $after) { ...Total edges { cursor } } } "
        "fragment Total on %s { totalCount }"
    )
    kind = "DocumentNodeConnection" if field == "documents" else "NonconformityNodeConnection"
    data, errors = await call(client, callers, keeper, query % (field, kind), after=after)
    assert not errors and data[field]["totalCount"] == total


async def test_each_field_counts_for_itself(client, callers, keeper, resources):
    """Two fields on one list under aliases: only the one that reads totalCount counts."""
    await _fill(client, callers, keeper)
    query = (
        f"{{ bare: documents(first: 1) {{ {PAGE} }} "
        f"counted: documents(first: 2) {{ totalCount {PAGE} }} "
        "provinces(first: 1) { totalCount } }"
    )
    with Sent(resources) as sent:
        data, errors = await call(client, callers, keeper, query)
    assert not errors
    assert data["counted"]["totalCount"] == 3 and "totalCount" not in data["bare"]
    assert data["provinces"]["totalCount"] >= 1
    assert len(sent.counts) == 2, sent.counts
