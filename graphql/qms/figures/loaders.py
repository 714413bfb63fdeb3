"""The request's `figures` fields read together: a page asking for many periods and groupings
(the province dashboard: the month by province and by agency, and twelve months of trend) has
them answered in one session, one statement set per grouping (core/qms/figures.py
`figures_of_periods`: the rollups' counters and p90 buckets and the feedback of every period
at once), instead of a session and three statements per field."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from eiso.core.qms import figures

_KEY = "qms.figures.loader"
FiguresKey = tuple[figures.Group, figures.Filter, figures.Period]


class FiguresLoader:
    def __init__(self, context: Any) -> None:  # graphql/server/context.py's Context
        self.context = context
        self.figures = DataLoader(self._figures)

    async def _figures(self, keys: list[FiguresKey]) -> list[list[figures.Figures]]:
        """Each key's figures, in the caller's scope: the periods of one grouping and filter
        in one call."""
        tenant = self.context.principal.tenant
        periods: dict[tuple[figures.Group, figures.Filter], list[figures.Period]] = {}
        for group, narrow, period in keys:
            wanted = periods.setdefault((group, narrow), [])
            if period not in wanted:
                wanted.append(period)
        found: dict[FiguresKey, list[figures.Figures]] = {}
        async with self.context.resources.session(tenant) as session:
            for (group, narrow), wanted in periods.items():
                got = await figures.figures_of_periods(session, tenant, wanted, group, narrow)
                for period, rows in zip(wanted, got, strict=True):
                    found[group, narrow, period] = rows
        return [found[key] for key in keys]


def figures_loader(info: strawberry.Info) -> FiguresLoader:
    extras = info.context.extras
    if _KEY not in extras:
        extras[_KEY] = FiguresLoader(info.context)
    return extras[_KEY]
