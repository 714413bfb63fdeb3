"""The limits every value from outside obeys, in one place: the GraphQL edge
(graphql/server/inputs.py) and the bulk imports (tenants/onboarding.py) both check with
`check_value`, so a value refused by one is refused by the other.

PostgreSQL refuses NUL in text and JSON (the whole statement fails, and a NUL that reaches a
JSON column breaks every later `->>` on the table); other control characters break the CSV
and XLSX exports; a megabyte string or a thousand-deep value costs every reader.

Refused, as `BadValue` naming the field path (`input.applicant.fullName`):

- a string with a C0 control character other than tab, line feed and carriage return (or DEL);
- a string longer than `MAX_STRING` characters (or the caller's `long_strings` figure for a key);
- a value nested deeper than `MAX_DEPTH` levels, an object with more than `MAX_KEYS` keys, a
  list with more than `MAX_ITEMS` items (or the caller's figure for a top-level list).

docs/graphql.md ("Limits") and docs/tenancy.md (the import) document the figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_STRING = 10_000  # characters; the longest free text (a note, a description) fits
MAX_DEPTH = 12  # levels below the named value: `input.sectorData` leaves 10 to the JSON
MAX_KEYS = 1_000  # keys of one object
MAX_ITEMS = 1_000  # items of one list, unless its owner has a narrower figure

# C0 controls but tab, LF, CR; and DEL.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_NONE: Mapping[str, int] = {}


class BadValue(ValueError):
    """A value over a limit: `field` its path, `reason`/`reason_vi` what is wrong (without
    the path, so each caller words the place its own way: a line, an argument)."""

    def __init__(self, field: str, reason: str, reason_vi: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field, self.reason, self.reason_vi = field, reason, reason_vi


def text_problem(text: str, most: int = MAX_STRING) -> tuple[str, str] | None:
    """(reason, reason_vi) when `text` has a control character or more than `most`
    characters; None when it is fine."""
    if CONTROL.search(text):
        return "control characters are not allowed", "không được chứa ký tự điều khiển"
    if len(text) > most:
        return f"at most {most} characters", f"tối đa {most} ký tự"
    return None


def _join(field: str, key: object) -> str:
    return f"{field}.{key}" if field else str(key)


def check_value(
    value: Any,
    field: str,
    *,
    name: str = "",
    depth: int = 0,
    long_strings: Mapping[str, int] = _NONE,
    most_items: int = MAX_ITEMS,
) -> None:
    """Raise `BadValue` for the first part of `value` over a limit, walking no deeper than
    `MAX_DEPTH` (so it cannot recurse far). `name`: the key the value is given as (its
    `long_strings` figure; lists keep their owner's); `most_items`: the figure of `value`
    itself when it is a list (nested lists have `MAX_ITEMS`)."""
    if isinstance(value, str):
        problem = text_problem(value, long_strings.get(name, MAX_STRING))
        if problem:
            raise BadValue(field, *problem)
        return
    if not isinstance(value, dict | list):
        return
    if depth >= MAX_DEPTH:
        raise BadValue(
            field, f"nested deeper than {MAX_DEPTH} levels", f"lồng sâu quá {MAX_DEPTH} cấp"
        )
    if isinstance(value, dict):
        if len(value) > MAX_KEYS:
            raise BadValue(field, f"more than {MAX_KEYS} keys", f"có quá {MAX_KEYS} khóa")
        for key, item in value.items():
            check_value(key, field, depth=depth + 1)  # a key is a string too
            check_value(
                item, _join(field, key), name=key, depth=depth + 1, long_strings=long_strings
            )
        return
    if len(value) > most_items:
        raise BadValue(field, f"more than {most_items} items", f"có quá {most_items} phần tử")
    for index, item in enumerate(value):
        check_value(
            item, _join(field, index), name=name, depth=depth + 1, long_strings=long_strings
        )
