"""The dossier page's nodes written from their rows (graphql/server/executor.py `_rows_or`,
graphql/shared/pagination.py `RowNodes`/`RowEdges`, graphql/dossiers/nodes.py's table) answer
exactly as graphql-core does over the nodes built: the same data, byte for byte in JSON, the
same errors; and a plain selection builds no node."""

from __future__ import annotations

import datetime as dt
from collections import namedtuple

import orjson
import pytest
import strawberry

from eiso.core.dossiers.statuses import Status
from eiso.graphql.dossiers import page as listing
from eiso.graphql.dossiers.nodes import DossierNode
from eiso.graphql.server.execution import EisoSchema
from eiso.graphql.server.limits import Limits
from eiso.graphql.shared.connections import Connection, Page
from eiso.graphql.shared.pagination import RowNodes, connection_of_nodes

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
# As the page's rows (by name and position), and the column `slips` reads besides.
Row = namedtuple("Row", [*(c.key for c in listing.COLUMNS), "apology_at"])


def row(n: int, **changes) -> Row:
    """Rows of every kind the nodes show: each status, an assignee or none, an appointment
    past, to come or none, aware or naive (SQLite's), late or stopped."""
    statuses = list(Status)
    received = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC) - dt.timedelta(hours=n)
    appointment = (None, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=2))[n % 3]
    values = {
        "province_id": 1 + n % 2,
        "id": 1000 + n,
        "agency_id": 7,
        "code": f"BN00.{n:03d}-261101-{n:04d}",
        "procedure_code": "LT-KS-TT-BHYT",
        "status": int(statuses[n % len(statuses)]),
        "current_step": n % 3,
        "assignee": None if n % 2 else f"officer-{n}",
        "received_at": received.replace(tzinfo=None) if n % 4 == 1 else received,
        "appointment_at": appointment,
        "paused_at": NOW if n % 5 == 0 else None,
        "was_late": n % 7 == 0,
        "supplement_count": n % 2,
        "version": n,
        "apology_at": None,
    }
    return Row(**{**values, **changes})


ROWS: list = []
BUILT: list[int] = []


@strawberry.type
class Query:
    @strawberry.field
    def page(self) -> Connection[DossierNode]:
        nodes = DossierNode.of_rows(ROWS, NOW)
        return connection_of_nodes(ROWS, nodes, True, 0, listing.cursor_key, Page(len(ROWS)))

    @strawberry.field
    def nodes(self) -> list[DossierNode]:
        return DossierNode.of_rows(ROWS, NOW)  # type: ignore[return-value]


def schemas():
    eiso = EisoSchema(query=Query, limits=Limits(max_cost=100_000, max_aliases=100))
    plain = strawberry.Schema(query=Query)  # graphql-core's own executor
    return eiso, plain


PAGE = """{ page { pageInfo { hasNextPage endCursor }
  edges { node { id code procedureCode status receivedAt appointmentAt late assignee } } } }"""
EVERY = """{ page { totalCount pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
  edges { cursor __typename node { __typename id code procedureCode status currentStep
  assignee receivedAt appointmentAt late supplementCount version } } } }"""

QUERIES = [
    PAGE,
    EVERY,
    # aliases, a field twice, the same response name from two places
    "{ page { e: edges { n: node { i: id s: status c: code c2: code } c: cursor } } }",
    "{ page { edges { node { code } node { status code } } } }",
    # fragments, inline and named, on the edge and the node
    "query Q { page { edges { ...E } } } fragment E on DossierNodeEdge { node { ...N id } } "
    "fragment N on DossierNode { code late ... on DossierNode { status } __typename }",
    # a directive with a variable, and constant ones
    "query Q($yes: Boolean = true) { page { edges { node { id code @include(if: $yes) "
    "status @skip(if: true) } } } }",
    # the nodes alone, and through a list of them
    "{ nodes { id status receivedAt appointmentAt assignee late } }",
    # a field not read from the row (built nodes, graphql-core or the plain path)
    "{ page { edges { node { id slips { number } } } } }",
    "{ page { edges { cursor } } }",
]


def answered(result) -> tuple:
    return result.data, [(e.message, e.path) for e in result.errors or []]


async def both(query: str) -> list[tuple]:
    """The answers of eiso's executor and of graphql-core's own."""
    return [answered(await schema.execute(query)) for schema in schemas()]


@pytest.mark.parametrize("query", QUERIES)
async def test_the_nodes_written_from_rows_answer_as_graphql_core(query):
    ROWS[:] = [row(n) for n in range(24)]
    (data, errors), expected = await both(query)
    assert (data, errors) == expected
    assert not errors
    assert orjson.dumps(data) == orjson.dumps(expected[0])  # byte for byte, in order


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ({"code": None}, "a null in a non-null field"),
        ({"status": 999}, "a status no enum member has"),
        ({"received_at": "yesterday"}, "a value the scalar refuses"),
    ],
)
async def test_unusual_rows_give_graphql_cores_errors(broken, where):
    ROWS[:] = [row(0), row(1, **broken), row(2)]
    got, expected = await both(PAGE)
    assert got == expected, where
    assert got[1], where


async def test_a_plain_page_builds_no_node(monkeypatch):
    built = RowNodes.__init__

    def counting(self, rows, build, row_fields, now):
        def counted(rows, now):
            BUILT.append(len(rows))
            return build(rows, now)

        built(self, rows, counted, row_fields, now)

    monkeypatch.setattr(RowNodes, "__init__", counting)
    ROWS[:] = [row(n) for n in range(50)]
    eiso, _ = schemas()
    BUILT.clear()
    result = await eiso.execute(PAGE)
    assert result.errors is None
    assert len(result.data["page"]["edges"]) == 50
    assert BUILT == [1]  # the last row's node, for `endCursor`
    BUILT.clear()
    await eiso.execute("{ page { edges { node { id slips { number } } } } }")
    assert BUILT == [50]  # a field the rows do not give: the nodes built, at once


def test_the_row_table_gives_the_nodes_attributes():
    """Each attribute the table makes of a row is the built node's."""
    from eiso.graphql.dossiers.nodes import _ROW_FIELDS

    rows = [row(n) for n in range(30)]
    nodes = DossierNode.of_rows(rows, NOW)
    assert isinstance(nodes, RowNodes)
    for r, node in zip(rows, list(nodes), strict=True):
        for attribute, read in _ROW_FIELDS.items():
            values = [getattr(r, c) for c in read.columns]
            made = read.make(*values, *([nodes] if read.page else [])) if read.make else values[0]
            assert made == getattr(node, attribute), attribute
