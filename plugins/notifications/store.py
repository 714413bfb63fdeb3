"""Sổ gửi thông báo / The deliveries, kept in the module's own store of each province
(`eiso.core.sdk.module_store`: in the database, per module and province, the same for every
worker, through restarts and Redis outages).

Keys of one province's store:
- `seq`: a counter; each delivery takes the next number `n`, and its record lives at
  `d:<R-n>` (R = 10^12: keys sort ascending, so the newest delivery comes first);
- `claim:<event id>:<channel>` → `d:<R-n>`: written once (`add_once`), so an event that is
  delivered again sends nothing again on that channel, whichever worker gets it;
- `agency:<agency id>:<R-n>` and `dossier:<dossier code>:<R-n>` → `d:<R-n>`: the indexes an
  agency's and a dossier's listing read;
- `sending:<R-n>` → `d:<R-n>`: the deliveries still `sending`, gone once sent or failed (what
  the hook's sweep for expired leases reads);
- `lease:<event id>:<channel>:<k>` → `d:<R-n>`: lease k (2, 3, ...) of a delivery reclaimed
  after the one before expired, written once (`add_once`): one reclaimer per lease.
"""

from __future__ import annotations

from typing import Any

from eiso.core.sdk import Caller, DossierEvent, ModuleStore, module_store
from eiso.plugins.notifications.delivery import Delivery

NAME = "notifications"
REVERSED = 10**12
MAX_FIRST = 200
SWEPT = 20  # deliveries still sending a sweep looks at (the oldest claims first)


class StoreBook:
    """The `DeliveryBook` of a hook: the event's province's store."""

    async def claim(self, event: DossierEvent, delivery: Delivery) -> bool:
        store = module_store(event, NAME)
        number = await store.incr("seq")
        suffix = f"{REVERSED - number:012d}"
        ref = f"d:{suffix}"
        if not await store.add_once(f"claim:{delivery.key}", ref):
            return False
        delivery.ref = ref
        await store.set(ref, delivery.to_dict())
        await store.set(f"agency:{delivery.agency_id}:{suffix}", ref)
        await store.set(f"dossier:{delivery.dossier_code}:{suffix}", ref)
        await store.set(f"sending:{suffix}", ref)
        return True

    async def save(self, event: DossierEvent, delivery: Delivery) -> None:
        store = module_store(event, NAME)
        await store.set(delivery.ref, delivery.to_dict())
        if delivery.status != "sending":
            await store.delete("sending:" + delivery.ref.removeprefix("d:"))

    async def sending(self, event: DossierEvent) -> list[Delivery]:
        store = module_store(event, NAME)
        # Keys sort newest first (R-n): the oldest claims are the last keys.
        index = await store.keys("sending:", limit=1000)
        refs = [str(r) for r in (await store.get_many(index[-SWEPT:])).values()]
        found = await _records(store, sorted(refs, reverse=True))
        return [d for d in found if d.status == "sending"]

    async def reclaim(self, event: DossierEvent, delivery: Delivery, at: str) -> bool:
        store = module_store(event, NAME)
        if not await store.add_once(f"lease:{delivery.key}:{delivery.lease + 1}", delivery.ref):
            return False
        delivery.lease += 1
        delivery.claimed_at = delivery.updated_at = at
        await store.set(delivery.ref, delivery.to_dict())
        return True


def book() -> StoreBook:
    return StoreBook()


async def _records(store: ModuleStore, refs: list[str]) -> list[Delivery]:
    found = await store.get_many(refs)
    return [Delivery.from_dict(_dict(found[r])) for r in refs if isinstance(found.get(r), dict)]


def _dict(value: Any) -> dict[str, Any]:
    return dict(value)


async def deliveries(
    caller: Caller, *, dossier_code: str | None, first: int, province_id: int | None = None
) -> list[Delivery]:
    """The caller's deliveries, newest first: an agency's callers see their agency's, the
    province's (administrator, ISO secretary, ...) all of the province; `module_store` keeps
    every caller inside their own province."""
    first = max(1, min(first, MAX_FIRST))
    store = module_store(caller, NAME, province_id=province_id)
    principal = caller.principal
    agency_id = getattr(principal, "agency_id", None)
    if dossier_code is not None:
        index = await store.keys(f"dossier:{dossier_code}:", limit=1000)
        refs = [str(r) for r in (await store.get_many(index)).values()]
        rows = [d for d in await _records(store, refs) if agency_id in (None, d.agency_id)]
        return rows[:first]
    if agency_id is not None:
        index = await store.keys(f"agency:{agency_id}:", limit=first)
        refs = [str(r) for r in (await store.get_many(index)).values()]
        return await _records(store, sorted(refs))
    return await _records(store, await store.keys("d:", limit=first))
