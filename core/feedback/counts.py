"""Feedback figures per group, computed by the database in one grouped statement: for a period,
how many were received, answered (and of them on time, rated, rated satisfied), and how many
were still open past their deadline at the period's end. Read by the QMS figures (Decision
766's satisfaction group) and the management review's inputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from eiso.core.feedback.models import Feedback
from eiso.core.feedback.rules import SATISFIED_FROM
from eiso.infra.tables import table_of

FEEDBACK = table_of(Feedback)
F = FEEDBACK.c


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(condition)


def statement(
    key_names: Sequence[str],
    where: Sequence[ColumnElement[bool]],
    start: dt.datetime,
    end: dt.datetime,
) -> Select[Any]:
    """One row per group of `key_names` (columns of the feedback table): received, answered,
    on_time, overdue (open at `end` and past the deadline), rated, satisfied."""
    keys = [F[name] for name in key_names]
    answered = and_(F.answered_at >= start, F.answered_at < end)
    open_at_end = and_(F.received_at < end, or_(F.answered_at.is_(None), F.answered_at >= end))
    return (
        select(
            *keys,
            _count(and_(F.received_at >= start, F.received_at < end)).label("received"),
            _count(answered).label("answered"),
            _count(and_(answered, F.on_time.is_(True))).label("on_time"),
            _count(and_(open_at_end, F.due_at < end)).label("overdue"),
            _count(and_(answered, F.rating.is_not(None))).label("rated"),
            _count(and_(answered, F.rating >= SATISFIED_FROM)).label("satisfied"),
        )
        .where(*where)
        .group_by(*keys)
    )
