"""Per-request dataloaders, so nested agencies and provinces load in one query per level."""

from __future__ import annotations

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from eiso.tenants.models import Agency, Province

_KEY = "tenants.loaders"


class TenantLoaders:
    def __init__(self, context) -> None:
        self.context = context
        self.agencies = DataLoader(self._load_agencies)
        self.provinces = DataLoader(self._load_provinces)

    async def _load_agencies(self, keys: list[tuple[int, int]]) -> list[Agency | None]:
        """Agencies by (province_id, id), inside the caller's scope: others come back None."""
        async with self.context.resources.session(self.context.principal.tenant) as session:
            rows = await session.execute(select(Agency).where(Agency.id.in_({key[1] for key in keys})))
            found = {(row.province_id, row.id): row for row in rows.scalars()}
        return [found.get(key) for key in keys]

    async def _load_provinces(self, ids: list[int]) -> list[Province | None]:
        async with self.context.resources.session(self.context.principal.tenant) as session:
            rows = await session.execute(select(Province).where(Province.id.in_(set(ids))))
            found = {row.id: row for row in rows.scalars()}
        return [found.get(key) for key in ids]


def loaders(info) -> TenantLoaders:
    extras = info.context.extras
    if _KEY not in extras:
        extras[_KEY] = TenantLoaders(info.context)
    return extras[_KEY]
