"""Where deliveries are kept (placeholder until the SDK's module storage lands): in memory."""

from __future__ import annotations

from eiso.core.sdk import DossierEvent
from eiso.plugins.notifications.delivery import Delivery


class MemoryBook:
    def __init__(self) -> None:
        self.claimed: set[tuple[int, str]] = set()
        self.rows: dict[tuple[int, str], Delivery] = {}

    async def claim(self, event: DossierEvent, key: str) -> bool:
        if (event.province_id, key) in self.claimed:
            return False
        self.claimed.add((event.province_id, key))
        return True

    async def save(self, event: DossierEvent, delivery: Delivery) -> None:
        self.rows[(event.province_id, delivery.key)] = delivery

    async def list(self, province_id: int) -> list[Delivery]:
        return [d for (p, _), d in self.rows.items() if p == province_id]


_BOOK = MemoryBook()


def book() -> MemoryBook:
    return _BOOK


async def deliveries(caller: object, *, dossier_code: str | None, first: int) -> list[Delivery]:
    principal = getattr(caller, "principal", None)
    province_id = getattr(principal, "province_id", None)
    if province_id is None:
        return []
    agency_id = getattr(principal, "agency_id", None)
    rows = [
        d
        for d in await _BOOK.list(province_id)
        if (agency_id is None or d.agency_id == agency_id)
        and (dossier_code is None or d.dossier_code == dossier_code)
    ]
    return sorted(rows, key=lambda d: d.updated_at, reverse=True)[:first]
