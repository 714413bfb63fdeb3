"""Per-request dataloaders, so nested agencies and provinces load in one query per level.

A list resolver that knows its nodes' relations are wanted (graphql/shared/selections.py) calls
`prime_relations` in its own session: the relations load there, in the same transaction as
the page, and the nested fields complete from the primed loaders without a session each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.dataloader import DataLoader

from eiso.core.dossiers.models import ProcedureAdoption
from eiso.tenants.models import Agency, Province

_KEY = "tenants.loaders"
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Fetch = Callable[[AsyncSession, Iterable[K]], Awaitable[dict[K, V]]]


async def _agencies(
    session: AsyncSession, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Agency]:
    """Agencies by (province_id, id), inside the session's scope: others are missing."""
    rows = await session.execute(select(Agency).where(col(Agency.id).in_({key[1] for key in keys})))
    return {(row.province_id, row.id): row for row in rows.scalars()}


async def _provinces(session: AsyncSession, ids: Iterable[int]) -> dict[int, Province]:
    rows = await session.execute(select(Province).where(col(Province.id).in_(set(ids))))
    return {row.id: row for row in rows.scalars() if row.id is not None}


async def _adoptions(
    session: AsyncSession, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[str]]:
    """The procedure codes each agency (province_id, id) adopted, inside the session's scope."""
    rows = await session.execute(
        select(
            col(ProcedureAdoption.province_id),
            col(ProcedureAdoption.agency_id),
            col(ProcedureAdoption.procedure_code),
        ).where(col(ProcedureAdoption.agency_id).in_({key[1] for key in keys}))
    )
    found: dict[tuple[int, int], list[str]] = {}
    for province_id, agency_id, code in rows:
        found.setdefault((province_id, agency_id), []).append(code)
    return found


class TenantLoaders:
    def __init__(self, context: Any) -> None:  # graphql/server/context.py's Context
        self.context = context
        self.agencies = DataLoader(self._load_agencies)
        self.provinces = DataLoader(self._load_provinces)
        self.adoptions = DataLoader(self._load_adoptions)

    async def _load(self, fetch: Fetch[K, V], keys: list[K]) -> list[V | None]:
        """`fetch` in the caller's scope, answered in the order of `keys` (None: not found)."""
        async with self.context.resources.session(self.context.principal.tenant) as session:
            found = await fetch(session, keys)
        return [found.get(key) for key in keys]

    async def _load_agencies(self, keys: list[tuple[int, int]]) -> list[Agency | None]:
        return await self._load(_agencies, keys)

    async def _load_provinces(self, ids: list[int]) -> list[Province | None]:
        return await self._load(_provinces, ids)

    async def _load_adoptions(self, keys: list[tuple[int, int]]) -> list[list[str]]:
        return [codes or [] for codes in await self._load(_adoptions, keys)]

    async def prime_relations(
        self, session: AsyncSession, rows: list[Agency], *, parents: bool, provinces: bool
    ) -> None:
        """Prime the loaders with `rows` (loaded in the caller's scope) and, as asked, with
        their parents and provinces, read in `session` (whose scope must be the caller's)."""
        for row in rows:
            self.agencies.prime((row.province_id, row.id), row)
        if parents:
            await _prime(
                self.agencies,
                _agencies,
                session,
                {(r.province_id, r.parent_id) for r in rows if r.parent_id is not None},
            )
        if provinces:
            await _prime(self.provinces, _provinces, session, {r.province_id for r in rows})


async def _prime(
    loader: DataLoader[K, V | None], fetch: Fetch[K, V], session: AsyncSession, keys: set[K]
) -> None:
    """Prime `loader` with the rows of `keys` it does not hold yet, read in `session` (None
    for a key not found there)."""
    wanted = {key for key in keys if not _held(loader, key)}
    if wanted:
        found = await fetch(session, wanted)
        for key in wanted:
            loader.prime(key, found.get(key))


def _held(loader: DataLoader[K, Any], key: K) -> bool:
    return loader.cache_map.get(key) is not None


def loaders(info: strawberry.Info) -> TenantLoaders:
    extras = info.context.extras
    if _KEY not in extras:
        extras[_KEY] = TenantLoaders(info.context)
    return extras[_KEY]
