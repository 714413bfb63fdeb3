"""A province that switches a module off takes no new dossier of its procedures
(MODULE_DISABLED) while those already in flight finish their moves; the module's hook gets
their events once the province switches it on again, in order, once each. Another province
is not affected. When two modules offer one procedure code, the receipt check and the events
name the module the catalogue kept."""

from __future__ import annotations

import pytest

from eiso.core.dossiers import catalogue, engine, service
from eiso.core.dossiers.hooks import HookWorkers
from eiso.core.dossiers.models import ProcedureRecord
from eiso.core.errors import DomainError
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry, PluginSource
from eiso.core.sdk import LocalizedText, ModuleInfo, Procedure, TimeLimit, hookimpl
from eiso.infra.clock import utcnow
from eiso.infra.relay import Relay
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_dossier_engine import APPLICANT, CAL, DATA, Birth, _step
from tests.test_dossier_graphql import Caller
from tests.test_dossier_hooks import agency_with


class ProcedureModule:
    """A module offering procedure `code` and recording the events its hook hears."""

    def __init__(self, name: str, code: str) -> None:
        self.name, self.code = name, code
        self.calls: list = []

    @hookimpl
    def eiso_module(self):
        return ModuleInfo(
            name=self.name,
            title=LocalizedText(vi="Mô-đun có thủ tục", en="With a procedure"),
            version="1.0",
            sector="test",
        )

    @hookimpl
    def eiso_procedures(self):
        return [
            Procedure(
                code=self.code,
                name=LocalizedText(vi="Đăng ký khai sinh", en="Birth registration"),
                sector="ho_tich",
                time_limit=TimeLimit(amount=3),
                result=LocalizedText(vi="Giấy khai sinh", en="Birth certificate"),
                steps=(_step("review", "Thẩm định"),),
                data_model=Birth,
            )
        ]

    @hookimpl
    async def eiso_on_dossier_event(self, event):
        self.calls.append(event)


def registry_of(*modules: ProcedureModule) -> PluginRegistry:
    return PluginRegistry.load(None, [PluginSource.of(m.name, m) for m in modules])


def scope(agency: Agency) -> TenantScope:
    return TenantScope.agencies([agency.id], [agency.province_id])


async def switch(resources, province_id: int, module: str, enabled: bool) -> None:
    async with resources.session(TenantScope.province(province_id)) as session:
        await set_module(session, province_id, module, enabled, by="test")
        await session.commit()


async def office(resources, registry: PluginRegistry, code: str, enabled: list[str]) -> Agency:
    """A fresh province enabling `enabled`, and an agency of it that adopted `code`."""
    return await agency_with(resources, enabled, registry, code)


async def receive(resources, agency: Agency, code: str, key: str | None = None):
    async with resources.session(scope(agency)) as session, session.begin():
        return await engine.receive(
            session,
            agency=agency,
            procedure_code=code,
            applicant=APPLICANT,
            sector_data=DATA,
            actor="officer-1",
            calendar=CAL,
            data_model=Birth,
            idempotency_key=key,
            now=utcnow(),
        )


async def assign(resources, agency: Agency, dossier):
    return await service.act(
        resources,
        scope(agency),
        dossier.id,
        dossier.version,
        engine.assign,
        actor="officer-1",
        assignee="officer-2",
    )


async def hooks_run(resources, registry: PluginRegistry) -> dict[str, int]:
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    return await HookWorkers(resources, registry).run_once()


async def test_a_switched_off_module_takes_no_receipt_and_hears_in_flight_moves_later(
    resources,
):
    code = unique_code("7.")
    module = ProcedureModule("offon_" + unique_code().lower(), code)
    registry = registry_of(module)
    mine = await office(resources, registry, code, [module.name])
    other = await office(resources, registry, code, [module.name])
    in_flight = (await receive(resources, mine, code, key="k-1")).dossier
    await hooks_run(resources, registry)
    assert [(e.dossier_code, e.data["action"]) for e in module.calls] == [
        (in_flight.code, "received")
    ]

    await switch(resources, mine.province_id, module.name, False)
    with pytest.raises(DomainError) as refused:
        await receive(resources, mine, code)
    assert (
        refused.value.code == "MODULE_DISABLED"
        and refused.value.details["field"] == "procedureCode"
    )
    assert "chưa được bật" in refused.value.message_vi
    # A retry of the receipt made before the switch still answers its dossier.
    replay = await receive(resources, mine, code, key="k-1")
    assert replay.replayed and replay.dossier.id == in_flight.id
    moved = await assign(resources, mine, in_flight)  # a dossier in flight finishes its moves
    theirs = (await receive(resources, other, code)).dossier  # province B: untouched
    assert await hooks_run(resources, registry) == {module.name: 1}
    assert [e.dossier_code for e in module.calls[1:]] == [theirs.code]

    await switch(resources, mine.province_id, module.name, True)
    await hooks_run(resources, registry)
    assert [(e.dossier_code, e.data["action"], e.module) for e in module.calls[2:]] == [
        (in_flight.code, "assigned", module.name)
    ]
    assert await hooks_run(resources, registry) == {module.name: 0}  # once each

    # Kept events come before newer ones of the province.
    await switch(resources, mine.province_id, module.name, False)
    await service.act(
        resources,
        scope(mine),
        moved.id,
        moved.version,
        engine.complete_step,
        actor="officer-2",
    )
    await hooks_run(resources, registry)
    await switch(resources, mine.province_id, module.name, True)
    fresh = (await receive(resources, mine, code)).dossier
    await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
    await HookWorkers(resources, registry).run_once()
    assert [(e.dossier_code, e.data["action"]) for e in module.calls[3:]] == [
        (in_flight.code, "processed"),
        (fresh.code, "received"),
    ]


async def test_module_disabled_over_graphql_names_the_code(resources, app, callers):
    from eiso.core.auth.principal import Principal, Role

    code = unique_code("7.")
    module = ProcedureModule("gqloff_" + unique_code().lower(), code)
    registry = registry_of(module)
    agency = await office(resources, registry, code, [])  # never switched on
    officer = Principal(
        f"officer-{agency.code}",
        scope(agency),
        frozenset({Role.officer}),
        province_id=agency.province_id,
        agency_id=agency.id,
    )
    gql = Caller(app, callers.issue(officer))
    body = await gql(
        "mutation($p: String!) { receiveDossier(input: {procedureCode: $p, applicant: "
        '{fullName: "Lê Văn An"}, sectorData: {child_name: "Lê Minh", birth_date: '
        '"2026-11-01"}}) { dossier { code } } }',
        {"p": code},
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "MODULE_DISABLED"
    assert error["extensions"]["field"] == "procedureCode"
    assert error["extensions"]["message_vi"].startswith("thủ tục")


async def test_two_modules_offering_one_code_events_name_the_kept_one(resources):
    code, suffix = unique_code("7."), unique_code().lower()
    kept = ProcedureModule("dupa_" + suffix, code)  # first by name: the catalogue keeps it
    other = ProcedureModule("dupb_" + suffix, code)
    registry = registry_of(other, kept)
    assert registry.procedure_owners()[code] == kept.name
    agency = await office(resources, registry, code, [other.name])
    async with resources.session(TenantScope.nation()) as session:
        row = (await catalogue.get_procedure(session, code)).module
    assert row == kept.name
    with pytest.raises(DomainError) as refused:  # the owner is off: the other does not count
        await receive(resources, agency, code)
    assert refused.value.code == "MODULE_DISABLED"

    await switch(resources, agency.province_id, kept.name, True)
    received = (await receive(resources, agency, code)).dossier
    await hooks_run(resources, registry)
    assert [(e.dossier_code, e.module) for e in kept.calls] == [(received.code, kept.name)]
    assert other.calls == []  # not its procedure in the catalogue: it did not ask for all


def test_procedure_owner_is_the_catalogue_rule():
    """`procedure_owners` and the catalogue sync share one rule: the first module by name."""
    assert ProcedureRecord.__tablename__ == "procedures"
    code = unique_code("7.")
    a, b = ProcedureModule("own_a", code), ProcedureModule("own_b", code)
    assert registry_of(b, a).procedure_owners() == {code: "own_a"}
