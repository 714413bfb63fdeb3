"""A province's own setting rows (one row per province, e.g. a deadline it sets): the common
columns and the one way to save one."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import BigInteger
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from eiso.infra.clock import utcnow

S = TypeVar("S", bound=SQLModel)


class ProvinceSetting(SQLModel):
    """The province it belongs to, who changed it last and when."""

    province_id: int = Field(sa_type=BigInteger, foreign_key="provinces.id", primary_key=True)
    changed_by: str = Field(max_length=200)
    changed_at: dt.datetime = Field(default_factory=utcnow)


async def save_setting(
    session: AsyncSession, model: type[S], province_id: int, by: str, **values: Any
) -> S:
    """Create or update the province's row of `model` with `values`, naming who changed it."""
    row = await session.get(model, province_id)
    if row is None:
        row = model(province_id=province_id, changed_by=by, **values)
    for name, value in {**values, "changed_by": by, "changed_at": utcnow()}.items():
        setattr(row, name, value)
    session.add(row)
    await session.flush()
    return row
