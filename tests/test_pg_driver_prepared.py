"""A statement compiled once for asyncpg (infra/pg_driver.py's `prepare`): the arguments it
sends and the rows it reads are SQLAlchemy's conversions of them (issue 18 made both cheaper:
values picked in C, only the converted positions converted, a flat list for an ARRAY of plain
items passed as it is); and `new_row` builds the row SQLModel's constructor builds (the rows
a move writes). No database: the asyncpg dialect compiles."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    insert,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from eiso.core.audit import AuditEntry
from eiso.core.dossiers.models import DossierEventRow, DossierStep
from eiso.infra.outbox import OutboxEvent
from eiso.infra.pg_driver import prepare
from eiso.infra.tables import new_row

DIALECT = asyncpg_dialect()
TABLE = Table(
    "t",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("ids", postgresql.ARRAY(BigInteger)),
    Column("grid", postgresql.ARRAY(BigInteger, dimensions=2)),
    Column("data", JSON),
    Column("name", String),
    Column("amount", Numeric(asdecimal=False)),
)


def test_arguments_follow_the_sql_s_order_with_sqlalchemy_s_conversions():
    statement = insert(TABLE).values(
        ids=bindparam("ids", type_=TABLE.c.ids.type),
        data=bindparam("data", type_=TABLE.c.data.type),
        name="fixed",  # the statement's own value
        id=bindparam("id", type_=BigInteger),
    )
    prepared = prepare(statement, DIALECT)
    flat = [1, 2, 3]
    args = prepared.args({"ids": flat, "data": {"a": [1, "é"]}, "id": 7})
    by_name = dict(zip(prepared.names, args, strict=True))
    assert by_name["id"] == 7
    assert by_name["ids"] is flat  # a flat list goes as it is: nothing to convert
    assert by_name["data"] == '{"a": [1, "\\u00e9"]}'  # SQLAlchemy's JSON serializer, as before
    assert "fixed" in args
    with pytest.raises(KeyError):
        prepared.args({"ids": flat, "data": {}})  # a parameter not given


def test_array_values_other_than_a_flat_list_take_sqlalchemy_s_conversion():
    statement = insert(TABLE).values(
        ids=bindparam("ids", type_=TABLE.c.ids.type),
        grid=bindparam("grid", type_=TABLE.c.grid.type),
    )
    prepared = prepare(statement, DIALECT)
    at = {name: n for n, name in enumerate(prepared.names)}
    args = prepared.args({"ids": (1, 2), "grid": [(1, 2), (3, 4)]})
    assert args[at["ids"]] == [1, 2]
    assert args[at["grid"]] == [[1, 2], [3, 4]]
    assert prepared.args({"ids": None, "grid": []}) == [None, []]


def test_a_single_parameter_and_the_rows_read_back():
    statement = select(TABLE.c.amount, TABLE.c.name, TABLE.c.id).where(
        TABLE.c.id == bindparam("id", type_=BigInteger)
    )
    prepared = prepare(statement, DIALECT)
    assert prepared.args({"id": 3}) == [3]
    row = prepared.row((decimal.Decimal("1.5"), "x", 3))
    assert row == (1.5, "x", 3) and type(row[0]) is float  # the numeric column's conversion
    with pytest.raises(ValueError):
        prepared.row(("x", 3))  # not the statement's columns


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (
            DossierEventRow,
            {"province_id": 1, "agency_id": 2, "dossier_id": 3, "actor": "a", "action": "x"},
        ),
        (
            DossierStep,
            {"province_id": 1, "agency_id": 2, "dossier_id": 3, "step_index": 0, "step_code": "c"},
        ),
        (OutboxEvent, {"topic": "dossier", "payload": {"a": 1}, "province_id": 1}),
        (AuditEntry, {"province_id": 1, "agency_id": 2, "actor": "a", "action": "x", "seq": 1}),
    ],
)
def test_new_row_is_the_constructor_s_row(model, values):
    values = {
        **values,
        **({"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)} if "at" in model.model_fields else {}),
    }
    built, constructed = new_row(model, **values), model(**values)
    mine, theirs = sa_inspect(built), sa_inspect(constructed)
    volatile = {
        "id",
        "at",
        "created_at",
        "uuid",
        "event_id",
        "started_at",
    }  # defaults drawn per row
    assert {
        k: v for k, v in built.__dict__.items() if k not in volatile and not k.startswith("_")
    } == {
        k: v for k, v in constructed.__dict__.items() if k not in volatile and not k.startswith("_")
    }
    assert set(mine.committed_state) == set(theirs.committed_state)
    assert mine.transient and theirs.transient
    assert built.__pydantic_fields_set__ == constructed.__pydantic_fields_set__
