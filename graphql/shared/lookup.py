"""One row by its global id, read in the caller's tenant scope.

The answer is the same NOT_FOUND whether the id is malformed, names another type, or names a
row that is missing or outside the caller's scope (core/global_ids.py), so guessing ids
teaches a caller nothing.
"""

from __future__ import annotations

from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.rules import require_principal
from eiso.core.global_ids import decode_id, not_found

Row = TypeVar("Row")


async def load_node(
    info: strawberry.Info,
    model: type[Row],
    global_id: str,
    type_name: str,
    *,
    session: AsyncSession | None = None,
) -> Row:
    """The `model` row (keyed by province_id, id) that a `type_name` global id names, read in
    `session` (opened in the caller's scope when not given); NOT_FOUND otherwise."""
    principal = require_principal(info.context.principal)
    key = decode_id(global_id, type_name)
    if session is None:
        async with info.context.resources.session(principal.tenant) as own:
            row = await own.get(model, key)
    else:
        row = await session.get(model, key)
    if row is None:
        raise not_found(type_name, global_id)
    return row
