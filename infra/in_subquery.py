"""`column IN (subquery)` that PostgreSQL can answer from an index when it is one arm of an OR.

PostgreSQL plans `x OR id IN (SELECT ...)` as a hashed sub-plan checked row by row, which
no index can serve: the table is scanned. Written `id = ANY (ARRAY(SELECT ...))`, the
sub-select becomes an init-plan evaluated once, and the comparison an index condition, so
each arm of the OR takes its own index (a BitmapOr). Other databases get the plain IN.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.elements import ColumnElement, _clone
from sqlalchemy.sql.visitors import InternalTraversal


class InSubquery(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition: no `= 1` on databases without booleans
    _traverse_internals: ClassVar = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, subquery) -> None:
        self.column = coercions.expect(roles.ExpressionElementRole, column)
        self.subquery = subquery.scalar_subquery()

    # Explicit: the generated traversal ColumnElement caches for itself would copy nothing,
    # and the tenant criteria adapt this element to aliases of the table.
    def get_children(self, **_kw):
        return (self.column, self.subquery)

    def _copy_internals(self, clone=_clone, **kw) -> None:
        self.column = clone(self.column, **kw)
        self.subquery = clone(self.subquery, **kw)


def in_subquery(column, subquery) -> InSubquery:
    """`column` is among the values of the one-column `subquery` (a Select)."""
    return InSubquery(column, subquery)


@compiles(InSubquery)
def _in(element: InSubquery, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.subquery, **kw)}"


@compiles(InSubquery, "postgresql")
def _any_array(element: InSubquery, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY (ARRAY{compiler.process(element.subquery, **kw)})"
