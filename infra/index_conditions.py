"""Conditions written so PostgreSQL can serve them from an index where the plain form cannot
(other databases get the plain form).

- `in_subquery(column, select)`: PostgreSQL plans `x OR id IN (SELECT ...)` as a hashed
  sub-plan checked row by row, which no index can serve: the table is scanned. Written
  `id = ANY (ARRAY(SELECT ...))`, the sub-select becomes an init-plan evaluated once and the
  comparison an index condition, so each arm of the OR takes its own index (a BitmapOr).
- `prefix_match(column, name)` (the prefix given at execution, `prefix_values`): under
  row-level security PostgreSQL applies a condition before the policy only when its
  operators are leakproof; `LIKE` is not, so
  `code LIKE 'x%'` scans every row the policy lets through. The pattern comparisons `~>=~`
  and `~<~` are leakproof and a `text_pattern_ops` index serves them, so on PostgreSQL the
  prefix becomes that range (the upper bound: the prefix with its last character
  incremented, which is the byte order of UTF-8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from string import Formatter
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Boolean, ColumnExpressionArgument, Select, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement, ColumnElement, _clone
from sqlalchemy.sql.visitors import InternalTraversal

if TYPE_CHECKING:
    from sqlalchemy.sql.visitors import _CloneCallableType


class _Condition(ColumnElement[bool]):
    """A boolean element made of the clause elements named in `_parts`."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition: no `= 1` on databases without booleans
    _parts: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._traverse_internals = [
            (name, InternalTraversal.dp_clauseelement) for name in cls._parts
        ]

    # Explicit: the generated traversal ColumnElement caches for itself would copy nothing,
    # and the tenant criteria adapt these elements to aliases of the table.
    def get_children(self, **_kw: Any) -> Iterable[ClauseElement]:
        return tuple(getattr(self, name) for name in self._parts)

    def _copy_internals(self, clone: _CloneCallableType = _clone, **kw: Any) -> None:
        for name in self._parts:
            setattr(self, name, clone(getattr(self, name), **kw))


class InSubquery(_Condition):
    _parts = ("column", "subquery")

    def __init__(self, column: ColumnExpressionArgument[Any], subquery: Select[Any]) -> None:
        self.column: ColumnElement[Any] = coercions.expect(roles.ExpressionElementRole, column)
        self.subquery = subquery.scalar_subquery()


class PrefixMatch(_Condition):
    _parts = ("column", "low", "high", "pattern")

    def __init__(
        self,
        column: ColumnExpressionArgument[str],
        low: BindParameter[str],
        high: BindParameter[str],
        pattern: BindParameter[str],
    ) -> None:
        self.column: ColumnElement[str] = coercions.expect(roles.ExpressionElementRole, column)
        self.low, self.high, self.pattern = low, high, pattern


def in_subquery(column: ColumnExpressionArgument[Any], subquery: Select[Any]) -> InSubquery:
    """`column` is among the values of the one-column `subquery` (a Select)."""
    return InSubquery(column, subquery)


def prefix_match(column: ColumnExpressionArgument[str], name: str) -> PrefixMatch:
    """`column` starts with a prefix given at execution, as the parameters
    `prefix_values(name, prefix)` gives (the statement can be built once and run many times)."""
    return PrefixMatch(
        column, *(bindparam(f"{name}_{part}", type_=String) for part in ("low", "high", "pattern"))
    )


def prefix_values(name: str, prefix: str) -> dict[str, str]:
    """The parameters of a `prefix_match(column, name)`: the range's bounds, the LIKE pattern;
    the prefix compared byte by byte (not empty)."""
    if not prefix:
        raise ValueError("an empty prefix matches everything")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        f"{name}_low": prefix,
        f"{name}_high": prefix[:-1] + _next_character(prefix[-1]),
        f"{name}_pattern": escaped + "%",
    }


def _next_character(character: str) -> str:
    """The code point after `character`, skipping the surrogates (not encodable in UTF-8); the
    last code point stays itself (the range is then empty: no text continues it)."""
    point = ord(character) + 1
    if 0xD800 <= point <= 0xDFFF:
        point = 0xE000
    return chr(min(point, 0x10FFFF))


def _render(template: str) -> Callable[..., str]:
    """A compile function writing `template`: its fields are the element's parts, each
    compiled once, in the order they first appear (the order of positional parameters)."""
    names = list(dict.fromkeys(field for _, field, _, _ in Formatter().parse(template) if field))

    def render(element: _Condition, compiler: SQLCompiler, **kw: Any) -> str:
        parts = {name: compiler.process(getattr(element, name), **kw) for name in names}
        return template.format(**parts)

    return render


# Each condition's plain form and PostgreSQL's (why: the module's docstring).
for condition, plain, postgresql in (
    (InSubquery, "{column} IN {subquery}", "{column} = ANY (ARRAY{subquery})"),
    (
        PrefixMatch,
        "{column} LIKE {pattern} ESCAPE '\\'",
        "({column} ~>=~ {low} AND {column} ~<~ {high})",
    ),
):
    compiles(condition)(_render(plain))
    compiles(condition, "postgresql")(_render(postgresql))
