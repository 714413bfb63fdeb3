"""The one clock: everything eiso stores is UTC, read and written as aware datetimes."""

from __future__ import annotations

import datetime as dt
from typing import overload

from eiso.infra.defaults import plain_factory


@plain_factory  # a table model's default factory (infra/defaults.py)
def utcnow() -> dt.datetime:
    """Now, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@overload
def aware(moment: dt.datetime) -> dt.datetime: ...


@overload
def aware(moment: None) -> None: ...


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """`moment` as an aware datetime: SQLite hands back naive ones, and a naive datetime read
    from the database was stored as UTC. None stays None (a column not set yet)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)
