"""Core-level statements on table models: the model's Core table, and an INSERT of the
session's own database (for its ON CONFLICT clauses, which each dialect spells itself)."""

from __future__ import annotations

from sqlalchemy import Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model. Statements built on its columns are plain Core: the
    session's automatic ORM criteria do not apply to them (row-level security still does)."""
    table = inspect(model).local_table
    assert isinstance(table, Table), model  # every `table=True` model maps one Table
    return table


def dialect_insert(
    session: AsyncSession, table: type[SQLModel] | Table
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of the session's database, with its ON CONFLICT clauses (an upsert)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
