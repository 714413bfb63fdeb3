"""Per-request dataloaders of the staff dossier view: a page of dossiers with their
procedure, timeline, the caller's steps and the names of the people who acted costs one
statement per relation,
whatever the page's size (no N+1). The agency comes from the tenants room's loaders."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypeVar

import strawberry
from sqlalchemy import select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from eiso.core import audit
from eiso.core.auth.models import User
from eiso.core.dossiers.engine import CITIZEN
from eiso.core.dossiers.models import (
    Dossier,
    DossierAttachment,
    DossierEventRow,
    DossierStep,
    ProcedureRecord,
)
from eiso.tenants.scope import TenantScope

_KEY = "dossiers.loaders"
DossierKey = tuple[int, int]  # (province_id, dossier id)
Row = TypeVar("Row", DossierEventRow, DossierStep, DossierAttachment)  # the rows of one dossier
# What a timeline shows for an actor that is no staff account.
_NAMED = {CITIZEN: "Công dân (qua cổng dịch vụ công)", "system": "Hệ thống", "public": "Công dân"}


class DossierLoaders:
    def __init__(self, context: Any) -> None:  # graphql/server/context.py's Context
        self.context = context
        self.procedures = DataLoader(self._procedures)
        self.timelines = DataLoader(self._timelines)
        self.steps = DataLoader(self._steps)
        self.attachments = DataLoader(self._attachments)
        self.names = DataLoader(self._names)
        self.personal = DataLoader(self._personal)

    async def _procedures(self, codes: list[str]) -> list[ProcedureRecord | None]:
        # The catalogue is global reference data.
        async with self.context.resources.session(TenantScope.nation()) as session:
            rows = await session.execute(
                select(ProcedureRecord).where(col(ProcedureRecord.code).in_(set(codes)))
            )
            found = {row.code: row for row in rows.scalars()}
        return [found.get(code) for code in codes]

    async def _timelines(self, keys: list[DossierKey]) -> list[list[DossierEventRow]]:
        """The timeline rows the caller's scope shows (its agencies' own records), in order."""
        order = (col(DossierEventRow.at), col(DossierEventRow.id))
        return await self._per_dossier(DossierEventRow, keys, order)

    async def _steps(self, keys: list[DossierKey]) -> list[list[DossierStep]]:
        """The steps the caller's scope shows (the ones its agencies hold), by index."""
        return await self._per_dossier(DossierStep, keys, (col(DossierStep.step_index),))

    async def _attachments(self, keys: list[DossierKey]) -> list[list[DossierAttachment]]:
        """The files filed with each dossier, in filing order (its agency's only: RLS)."""
        order = (col(DossierAttachment.position),)
        return await self._per_dossier(DossierAttachment, keys, order)

    async def _per_dossier(
        self, model: type[Row], keys: list[DossierKey], order: tuple[Any, ...]
    ) -> list[list[Row]]:
        """The rows of each dossier in one statement, in the caller's scope."""
        async with self.context.resources.session(self.context.principal.tenant) as session:
            # Two plain IN lists (ix_dossier_events_dossier leads with dossier_id,
            # uq_dossier_steps_dossier_index with the pair); the pairs are matched below.
            rows = await session.execute(
                select(model)
                .where(
                    col(model.dossier_id).in_({key[1] for key in keys}),
                    col(model.province_id).in_({key[0] for key in keys}),
                )
                .order_by(*order)
            )
            found: dict[DossierKey, list[Row]] = defaultdict(list)
            for row in rows.scalars():
                found[(row.province_id, row.dossier_id)].append(row)
        return [found.get(key, []) for key in keys]

    async def _personal(self, keys: list[DossierKey]) -> list[Dossier | None]:
        """The dossiers whose applicant and sector data the caller reads (graphql/dossiers/
        desk.py checks it may), each read recorded in the audit trail (the code only), in one
        transaction: the entries of one agency's chain follow one another."""
        principal = self.context.principal
        async with (
            self.context.resources.session(principal.tenant) as session,
            session.begin(),
        ):
            rows = await session.execute(
                select(Dossier).where(
                    col(Dossier.id).in_({key[1] for key in keys}),
                    col(Dossier.province_id).in_({key[0] for key in keys}),
                )
            )
            found = {(row.province_id, row.id): row for row in rows.scalars()}
            for key in keys:
                dossier = found.get(key)
                if dossier is None:
                    continue
                await audit.append(
                    session,
                    province_id=dossier.province_id,
                    agency_id=dossier.agency_id,
                    actor=principal.subject,
                    action="dossier.personal_data_read",
                    entity_type="dossier",
                    entity_id=dossier.id,
                    data={"code": dossier.code},
                )
        return [found.get(key) for key in keys]

    async def _names(self, subjects: list[str]) -> list[str]:
        """Display names of staff accounts (an actor is the account's id) the caller's scope
        holds: an id typed as an assignee never names another agency's officer. Others as
        they are."""
        scope = self.context.principal.tenant
        ids = {int(s) for s in subjects if s.isdigit()}
        names: dict[str, str] = {}
        if ids:
            async with self.context.resources.session(scope) as session:
                users = await session.execute(select(User).where(col(User.id).in_(ids)))
                names = {
                    str(u.id): u.display_name or u.username
                    for u in users.scalars()
                    if scope.allows(u.province_id, u.agency_id)
                }
        return [names.get(s) or _NAMED.get(s, s) for s in subjects]


def dossier_loaders(info: strawberry.Info) -> DossierLoaders:
    extras = info.context.extras
    if _KEY not in extras:
        extras[_KEY] = DossierLoaders(info.context)
    return extras[_KEY]
