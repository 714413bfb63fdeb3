"""Module activation is data per province, with history; switching off keeps the row."""

from sqlalchemy import select

from eiso.core.plugins.activation import enabled_modules, set_module
from eiso.tenants.modules import ModuleActivationEvent
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code


async def test_enable_disable_with_history(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Thử")
        await set_module(session, province.id, "land_use_rights", True, by="admin")
        await set_module(session, province.id, "land_use_rights", True, by="admin")  # no-op
        await set_module(session, province.id, "birth_registration", True, by="admin")
        await set_module(session, province.id, "land_use_rights", False, by="other")
        assert await enabled_modules(session, province.id) == {"birth_registration"}
        events = (
            await session.execute(
                select(ModuleActivationEvent.module, ModuleActivationEvent.enabled)
                .where(ModuleActivationEvent.province_id == province.id)
                .order_by(ModuleActivationEvent.id)
            )
        ).all()
    assert [tuple(e) for e in events] == [
        ("land_use_rights", True),
        ("birth_registration", True),
        ("land_use_rights", False),
    ]
