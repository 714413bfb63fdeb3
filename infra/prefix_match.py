"""`column` starts with a prefix, in a form PostgreSQL can serve from an index under row-level
security.

Under RLS PostgreSQL applies a condition before the policy only when its operators are
leakproof; `LIKE` is not, so `code LIKE 'x%'` scans every row the policy lets through. The
pattern comparisons `~>=~` and `~<~` are leakproof and a `text_pattern_ops` index serves
them, so on PostgreSQL the prefix becomes that range (the upper bound: the prefix with its
last character incremented, which is the byte order of UTF-8). Elsewhere: `LIKE 'x%'`.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Boolean, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.elements import ColumnElement, _clone
from sqlalchemy.sql.visitors import InternalTraversal


class PrefixMatch(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals: ClassVar = [("column", InternalTraversal.dp_clauseelement),
                                     ("low", InternalTraversal.dp_clauseelement),
                                     ("high", InternalTraversal.dp_clauseelement),
                                     ("pattern", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, prefix: str) -> None:
        self.column = coercions.expect(roles.ExpressionElementRole, column)
        self.low = bindparam("prefix_low", prefix, unique=True)
        self.high = bindparam("prefix_high", prefix[:-1] + _next_character(prefix[-1]), unique=True)
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        self.pattern = bindparam("prefix_pattern", escaped + "%", unique=True)

    def get_children(self, **_kw):
        return (self.column, self.low, self.high, self.pattern)

    def _copy_internals(self, clone=_clone, **kw) -> None:
        self.column = clone(self.column, **kw)


def _next_character(character: str) -> str:
    """The code point after `character`, skipping the surrogates (not encodable in UTF-8); the
    last code point stays itself (the range is then empty: no text continues it)."""
    point = ord(character) + 1
    if 0xD800 <= point <= 0xDFFF:
        point = 0xE000
    return chr(min(point, 0x10FFFF))


def prefix_match(column, prefix: str) -> PrefixMatch:
    """`column` starts with `prefix` (not empty), compared byte by byte."""
    if not prefix:
        raise ValueError("an empty prefix matches everything")
    return PrefixMatch(column, prefix)


@compiles(PrefixMatch)
def _like(element: PrefixMatch, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} LIKE {compiler.process(element.pattern, **kw)} ESCAPE '\\'"


@compiles(PrefixMatch, "postgresql")
def _pattern_range(element: PrefixMatch, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return (f"({column} ~>=~ {compiler.process(element.low, **kw)} "
            f"AND {column} ~<~ {compiler.process(element.high, **kw)})")
