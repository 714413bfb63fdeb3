"""Shared checks for the bundled sector modules (tests/test_module_*.py)."""

from __future__ import annotations

import httpx

from eiso.core.auth.principal import Principal, Role
from eiso.core.plugins import PluginRegistry
from eiso.core.sdk import Procedure, TimeLimit
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code

HOURS_PER_DAY = 8


def hours(limit: TimeLimit) -> int:
    """A budget in working hours (working days count 8 hours); calendar days stay days."""
    return limit.amount * HOURS_PER_DAY if limit.unit == "working_days" else limit.amount


def assert_steps_add_up(procedure: Procedure) -> None:
    units = {step.budget.unit for step in procedure.steps}
    if procedure.time_limit.unit == "days":
        assert units == {"days"}, procedure.code
        assert sum(s.budget.amount for s in procedure.steps) == procedure.time_limit.amount
    else:
        assert "days" not in units, procedure.code
        assert sum(hours(s.budget) for s in procedure.steps) == hours(procedure.time_limit), procedure.code


def assert_loads_through_entry_point(module: str) -> PluginRegistry:
    registry = PluginRegistry.load([module])
    record = registry.records[module]
    assert record.loaded, record.reason
    assert record.info is not None and record.info.name == module
    return registry


def officer(province_id: int) -> Principal:
    return Principal(subject=f"officer-{province_id}", tenant=TenantScope.province(province_id),
                     roles=frozenset({Role.officer}), province_id=province_id)


def admin(province_id: int) -> Principal:
    return Principal(subject=f"admin-{province_id}", tenant=TenantScope.province(province_id),
                     roles=frozenset({Role.province_admin}), province_id=province_id)


async def post(app, query: str, headers=None) -> dict:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": query}, headers=headers or {})
    return response.json()


async def enabled_vs_other(resources, nation_session, callers, module: str, query: str) -> tuple[dict, dict]:
    """Enable `module` for a fresh province A and not for B; return both answers to `query`."""
    from eiso.core.app import create_app

    ids = []
    for _ in range(2):
        code = unique_code("SM")
        ids.append((await ensure_province(nation_session, code, f"Tỉnh Thử {code}")).id)
    await nation_session.commit()
    a, b = ids
    app = create_app(resources.settings, resources, authenticator=callers.authenticate,
                     plugins=PluginRegistry.load([module]))
    async with app.router.lifespan_context(app):
        enabled = await post(app, f'mutation {{ enableModule(module: "{module}") {{ name }} }}',
                             callers.issue(admin(a)))
        assert enabled == {"data": {"enableModule": {"name": module}}}, enabled
        return (await post(app, query, callers.issue(officer(a))),
                await post(app, query, callers.issue(officer(b))))


def assert_imports_only_the_sdk(module) -> None:
    """A bundled module uses eiso exactly as a vendor would: `eiso.core.sdk` and nothing else."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(module))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {n for n in names if n.split(".")[0] == "eiso"} == {"eiso.core.sdk"}, names
    allowed = {"__future__", "datetime", "enum", "re", "unicodedata", "pydantic", "strawberry", "eiso"}
    assert {n.split(".")[0] for n in names} <= allowed, names
