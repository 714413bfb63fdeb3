"""`eiso demo` switches the bundled modules on for Quảng Ninh (22) and Hưng Yên (33), once."""

from __future__ import annotations

from sqlalchemy import func, select

from eiso.core.demo.load import load_demo
from eiso.core.plugins.activation import enabled_modules
from eiso.tenants.modules import ModuleActivationEvent
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import get_province

ALL_FOUR = {
    "land_use_rights",
    "construction_permits",
    "business_registration",
    "birth_registration",
}


async def test_demo_enables_the_bundled_modules_idempotently(resources):
    first = await load_demo(resources)
    async with resources.session(TenantScope.nation()) as session:
        events = await session.scalar(select(func.count()).select_from(ModuleActivationEvent))
    second = await load_demo(resources)
    assert first["modules"] == second["modules"] == 6
    async with resources.session(TenantScope.nation()) as session:
        qn, hy = await get_province(session, "22"), await get_province(session, "33")
        assert await enabled_modules(session, qn.id) >= ALL_FOUR
        assert await enabled_modules(session, hy.id) & ALL_FOUR == {
            "business_registration",
            "birth_registration",
        }
        # The second run changed nothing: no new activation history.
        assert (
            await session.scalar(select(func.count()).select_from(ModuleActivationEvent)) == events
        )
