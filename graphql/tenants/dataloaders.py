"""Per-request dataloaders, so nested agencies and provinces load in one query per level.

A list resolver that knows its nodes' relations are wanted (graphql/shared/selections.py) calls
`prime_relations` in its own session: the relations load there, in the same transaction as
the page, and the nested fields complete from the primed loaders without a session each."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from eiso.tenants.models import Agency, Province

_KEY = "tenants.loaders"


async def _agencies(session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Agency]:
    """Agencies by (province_id, id), inside the session's scope: others are missing."""
    rows = await session.execute(select(Agency).where(Agency.id.in_({key[1] for key in keys})))
    return {(row.province_id, row.id): row for row in rows.scalars()}


async def _provinces(session, ids: Iterable[int]) -> dict[int, Province]:
    rows = await session.execute(select(Province).where(Province.id.in_(set(ids))))
    return {row.id: row for row in rows.scalars()}


class TenantLoaders:
    def __init__(self, context) -> None:
        self.context = context
        self.agencies = DataLoader(self._load_agencies)
        self.provinces = DataLoader(self._load_provinces)

    async def _load_agencies(self, keys: list[tuple[int, int]]) -> list[Agency | None]:
        async with self.context.resources.session(self.context.principal.tenant) as session:
            found = await _agencies(session, keys)
        return [found.get(key) for key in keys]

    async def _load_provinces(self, ids: list[int]) -> list[Province | None]:
        async with self.context.resources.session(self.context.principal.tenant) as session:
            found = await _provinces(session, ids)
        return [found.get(key) for key in ids]

    async def prime_relations(
        self, session, rows: list[Agency], *, parents: bool, provinces: bool
    ) -> None:
        """Prime the loaders with `rows` (loaded in the caller's scope) and, as asked, with
        their parents and provinces, read in `session` (whose scope must be the caller's)."""
        for row in rows:
            self.agencies.prime((row.province_id, row.id), row)
        if parents:
            wanted = {
                (r.province_id, r.parent_id)
                for r in rows
                if r.parent_id is not None
                and not _held(self.agencies, (r.province_id, r.parent_id))
            }
            if wanted:
                found = await _agencies(session, wanted)
                for key in wanted:
                    self.agencies.prime(key, found.get(key))
        if provinces:
            wanted = {r.province_id for r in rows if not _held(self.provinces, r.province_id)}
            if wanted:
                found = await _provinces(session, wanted)
                for key in wanted:
                    self.provinces.prime(key, found.get(key))


def _held(loader: DataLoader, key) -> bool:
    return loader.cache_map.get(key) is not None


def loaders(info) -> TenantLoaders:
    extras = info.context.extras
    if _KEY not in extras:
        extras[_KEY] = TenantLoaders(info.context)
    return extras[_KEY]
